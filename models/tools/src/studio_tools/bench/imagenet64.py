"""One classifier-guided step of the full-size ImageNet 64×64 architecture, timed in PyTorch.

    python -m studio_tools bench-imagenet64 --cache .cache/bench-imagenet64 --batch 1 4 --threads 2

builds the UNet and the classifier of the released 64×64 checkpoints (preset "64", random
weights from a fixed seed), keeps them in the cache folder as state_dicts (``torch/``) and as
a model folder the engine loads (``model/``, exported once through the converter), then
times one guided step per batch size after one untimed step: the UNet forward pass and the
classifier gradient s·∇ₓ log p(y | xₜ). It prints one JSON line::

    {"model_folder": …, "reused": …, "prepare_s": …, "unet_parameters": …, "classifier_parameters": …,
     "threads": …, "steps": [{"batch": 1, "unet_s": …, "classifier_s": …, "step_s": …}, …]}

The cache is reused when its recipe (flags and seed) is the same and every file still has
the sha256 recorded when it was written; otherwise it is rebuilt. At full size it takes
about 2.5 GB. ``--width``, ``--classifier-width`` and ``--depth`` shrink the networks for
quick checks while keeping their levels, attention and conditioning.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from ..adm import ClassifierConfig, EncoderUNetModel, UNetConfig, UNetModel
from ..convert.model_folder import Conversion, convert
from ..convert.presets import preset_named
from ..diffusion import guided_functions
from ..export import ModelFolderError, sha256_of, verify_model_folder
from ..export.random_weights import randomize

PRESET = preset_named("64")
RECIPE_FORMAT = 1
MODEL_ID = "imagenet-64-random"
UNET_SEED, CLASSIFIER_SEED = 0, 1
#: A mid-schedule timestep: the networks' cost does not depend on it.
TIMESTEP = 500


def architecture(width: int | None, classifier_width: int | None, depth: int | None) -> tuple[dict, dict]:
    """Preset 64's flags, optionally narrower or with fewer residual blocks per level."""
    unet = dict(PRESET.diffusion_flags)
    classifier = dict(PRESET.classifier_flags)
    if width is not None:
        # Heads of at most 64 channels, as released, that still divide every level's width.
        unet.update(num_channels=width, num_head_channels=min(64, width))
    if classifier_width is not None:
        classifier["classifier_width"] = classifier_width
    if depth is not None:
        unet["num_res_blocks"] = depth
        classifier["classifier_depth"] = depth
    return unet, classifier


def _changed(flags: dict[str, Any], preset_flags: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in flags.items() if preset_flags.get(key) != value}


class BenchCache:
    """``recipe.json`` beside ``torch/`` (unet.pt, classifier.pt) and ``model/`` (the engine's folder)."""

    def __init__(self, root: Path, recipe: dict[str, Any]):
        self.root = Path(root)
        self.recipe = recipe
        self.torch_dir = self.root / "torch"
        self.model_dir = self.root / "model"
        self.recipe_path = self.root / "recipe.json"

    @property
    def weights(self) -> dict[str, Path]:
        return {"unet": self.torch_dir / "unet.pt", "classifier": self.torch_dir / "classifier.pt"}

    def is_valid(self) -> bool:
        """The recipe is the one asked for and no file changed since it was written."""
        if not self.recipe_path.is_file():
            return False
        stored = json.loads(self.recipe_path.read_text(encoding="utf-8"))
        if stored.get("recipe") != self.recipe:
            return False
        try:
            verify_model_folder(self.model_dir)
        except ModelFolderError:
            return False
        recorded = stored.get("weights", {})
        return all(path.is_file() and recorded.get(path.name) == sha256_of(path) for path in self.weights.values())

    def build(self) -> None:
        """Random weights → state_dicts → the converter's model folder; the recipe is written last."""
        self.recipe_path.unlink(missing_ok=True)
        for folder in (self.torch_dir, self.model_dir):
            shutil.rmtree(folder, ignore_errors=True)
        self.torch_dir.mkdir(parents=True)
        unet_flags, classifier_flags = self.recipe["unet_flags"], self.recipe["classifier_flags"]
        unet = randomize(UNetConfig.from_flags(unet_flags).build(), seed=self.recipe["unet_seed"])
        torch.save(unet.state_dict(), self.weights["unet"])
        del unet
        classifier = randomize(
            ClassifierConfig.from_flags(classifier_flags).build(), seed=self.recipe["classifier_seed"]
        )
        torch.save(classifier.state_dict(), self.weights["classifier"])
        del classifier
        convert(Conversion(
            preset=PRESET,
            diffusion=self.weights["unet"],
            classifier=self.weights["classifier"],
            out=self.model_dir,
            id=MODEL_ID,
            name="ImageNet 64×64 architecture, random weights",
            fp16=False,
            diffusion_overrides=_changed(unet_flags, PRESET.diffusion_flags),
            classifier_overrides=_changed(classifier_flags, PRESET.classifier_flags),
        ))
        record = {"recipe": self.recipe, "weights": {path.name: sha256_of(path) for path in self.weights.values()}}
        self.recipe_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    def load(self) -> tuple[UNetModel, EncoderUNetModel]:
        unet = UNetConfig.from_flags(self.recipe["unet_flags"]).build()
        classifier = ClassifierConfig.from_flags(self.recipe["classifier_flags"]).build()
        for module, path in ((unet, self.weights["unet"]), (classifier, self.weights["classifier"])):
            module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return unet.eval(), classifier.eval()


def time_guided_step(unet: UNetModel, classifier: EncoderUNetModel, batch: int) -> dict[str, float]:
    """Seconds of one UNet forward pass and one classifier gradient, after one untimed step."""
    generator = torch.Generator().manual_seed(batch)
    x = torch.randn(batch, unet.in_channels, unet.image_size, unet.image_size, generator=generator)
    t = torch.full((batch,), TIMESTEP, dtype=torch.int64)
    assert unet.num_classes is not None, "the released 64×64 UNet is class-conditional"
    y = torch.randint(0, unet.num_classes, (batch,), generator=generator)
    denoise, gradient = guided_functions(
        unet, classifier, "conditional+classifier", y, PRESET.scale, class_cond=True, null_class=None
    )

    assert gradient is not None, "a classifier-guided mode binds the classifier's gradient"

    def step() -> tuple[float, float]:
        start = time.perf_counter()
        with torch.no_grad():
            denoise(x, t)
        middle = time.perf_counter()
        gradient(x, t)
        return middle - start, time.perf_counter() - middle

    step()
    unet_s, classifier_s = step()
    return {"batch": batch, "unet_s": unet_s, "classifier_s": classifier_s, "step_s": unet_s + classifier_s}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time one guided step of the ImageNet 64×64 architecture in PyTorch.")
    parser.add_argument("--cache", type=Path, required=True, help="folder for the weights and the model folder")
    parser.add_argument("--batch", type=int, nargs="+", default=[1], help="batch sizes to time")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--width", type=int, help="UNet base channels (release: 192)")
    parser.add_argument("--classifier-width", type=int, help="classifier base channels (release: 128)")
    parser.add_argument("--depth", type=int, help="residual blocks per level of both networks (release: 3 and 4)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if any(b < 1 for b in args.batch) or args.threads < 1:
        raise SystemExit("bench-imagenet64: --batch and --threads take positive integers, e.g. --batch 1 4 --threads 2")
    torch.set_num_threads(args.threads)
    unet_flags, classifier_flags = architecture(args.width, args.classifier_width, args.depth)
    cache = BenchCache(args.cache, {
        "format": RECIPE_FORMAT,
        "unet_flags": unet_flags,
        "classifier_flags": classifier_flags,
        "unet_seed": UNET_SEED,
        "classifier_seed": CLASSIFIER_SEED,
    })
    start = time.perf_counter()
    reused = cache.is_valid()
    if not reused:
        cache.build()
    prepare_s = time.perf_counter() - start
    unet, classifier = cache.load()
    steps = [time_guided_step(unet, classifier, batch) for batch in args.batch]
    print(json.dumps({
        "model_folder": str(cache.model_dir.resolve()),
        "reused": reused,
        "prepare_s": prepare_s,
        "unet_parameters": sum(p.numel() for p in unet.parameters()),
        "classifier_parameters": sum(p.numel() for p in classifier.parameters()),
        "threads": args.threads,
        "steps": steps,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
