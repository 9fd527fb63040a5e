"""Golden fixtures for the TypeScript diffusion engine.

``python -m studio_tools.fixtures --out test/fixtures`` writes, from fixed seeds:

- ``tiny-model-torch/``: a tiny random-weight class-conditional learn_sigma UNet and a
  tiny attention-pooling classifier as PyTorch weights (``config.json``, ``unet.pt``,
  ``classifier.pt``; format in ``studio_tools.diffusion.torch_model``);
- ``tiny-model/``: the same networks as an ONNX model folder (``docs/model-format.md``);
- ``golden/<case>/``: sampling trajectories computed here in float64 around the float32
  networks: ``case.json``, ``x_T.npy``, ``noise.npy``, ``xt.npy``, ``pred_x0.npy``.

``test/fixtures/README.md`` describes the layout for the engine's tests.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .adm import ClassifierConfig, EncoderUNetModel, UNetConfig, UNetModel
from .diffusion import GaussianDiffusion, guided_functions, sample
from .diffusion.torch_model import ClassSettings, DiffusionSettings, ModelConfig, write_config

WEIGHT_SEED = 2021
NOISE_SEED = 1105
BATCH = 2
# The random classifier's logits barely depend on x; a sharper head makes the guidance
# term large enough for the goldens to test it.
CLASSIFIER_HEAD_GAIN = 40.0

# What the tiny UNet and classifier share: 8×8 grey images, two levels, attention at the
# lower one, scale-shift norm and resblock up/down sampling.
_TINY_TRUNK = dict(
    image_size=8,
    in_channels=1,
    model_channels=32,
    num_res_blocks=1,
    attention_resolutions=(2,),
    channel_mult=(1, 1),
    num_head_channels=16,
    use_scale_shift_norm=True,
    resblock_updown=True,
)

TINY_CONFIG = ModelConfig(
    # learn_sigma: ε and v; 3 classes and the null class 3.
    unet=UNetConfig(**_TINY_TRUNK, out_channels=2, num_classes=4, num_heads=1),
    classifier=ClassifierConfig(**_TINY_TRUNK, out_channels=3, pool="attention"),
    diffusion=DiffusionSettings(steps=100, noise_schedule="cosine", learn_sigma=True),
    classes=ClassSettings(count=3, names=["circle", "square", "cross"], null_class=3),
)


@dataclass(frozen=True)
class GoldenCase:
    name: str
    sampler: str
    steps: str
    eta: float
    scale: float
    mode: str
    schedule: str
    T: int
    clip_denoised: bool
    classes: tuple[int, ...]


GOLDEN_CASES = (
    GoldenCase("ddpm-cosine-t20-all-steps-conditional", "ddpm", "20", 0.0, 0.0, "conditional", "cosine", 20, True, (0, 2)),
    GoldenCase("ddpm-cosine-10-unconditional-classifier", "ddpm", "10", 0.0, 6.0, "unconditional+classifier", "cosine", 100, True, (1, 2)),
    GoldenCase("ddpm-cosine-sections-conditional-classifier", "ddpm", "3,4,3", 0.0, 3.0, "conditional+classifier", "cosine", 100, True, (2, 0)),
    GoldenCase("ddpm-linear-t1000-25-unconditional-classifier", "ddpm", "25", 0.0, 4.0, "unconditional+classifier", "linear", 1000, True, (0, 1)),
    GoldenCase("ddpm-cosine-10-conditional-noclip", "ddpm", "10", 0.0, 0.0, "conditional", "cosine", 100, False, (1, 1)),
    GoldenCase("ddim-cosine-ddim10-eta0-conditional", "ddim", "ddim10", 0.0, 0.0, "conditional", "cosine", 100, True, (0, 1)),
    GoldenCase("ddim-linear-ddim10-eta0-unconditional-classifier", "ddim", "ddim10", 0.0, 4.0, "unconditional+classifier", "linear", 100, True, (2, 1)),
    GoldenCase("ddim-cosine-10-eta05-conditional-classifier", "ddim", "10", 0.5, 2.0, "conditional+classifier", "cosine", 100, True, (0, 2)),
    GoldenCase("ddim-cosine-t1000-ddim25-eta0-unconditional-classifier", "ddim", "ddim25", 0.0, 4.0, "unconditional+classifier", "cosine", 1000, True, (1, 0)),
    GoldenCase("ddim-linear-t30-all-steps-eta05-noclip-conditional", "ddim", "30", 0.5, 0.0, "conditional", "linear", 30, False, (2, 2)),
    GoldenCase("ddim-cosine-sections-eta05-unconditional-classifier", "ddim", "3,4,3", 0.5, 5.0, "unconditional+classifier", "cosine", 100, True, (0, 0)),
)


def build_tiny_models(config: ModelConfig = TINY_CONFIG) -> tuple[UNetModel, EncoderUNetModel]:
    """The tiny networks with every weight random (no zero-initialised output layers)."""
    assert config.classifier is not None
    torch.manual_seed(WEIGHT_SEED)
    unet = config.unet.build()
    classifier = config.classifier.build()
    for module in [*unet.modules(), *classifier.modules()]:
        if isinstance(module, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Linear)):
            module.reset_parameters()
    with torch.no_grad():
        head = classifier.out[-1].c_proj
        head.weight.mul_(CLASSIFIER_HEAD_GAIN)
    return unet.eval(), classifier.eval()


def case_noise(index: int, shape: tuple[int, ...], steps: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([NOISE_SEED, index])
    x_T = rng.standard_normal((BATCH, *shape), dtype=np.float32)
    noise = rng.standard_normal((steps, BATCH, *shape), dtype=np.float32)
    return x_T, noise


def run_golden_case(
    index: int,
    case: GoldenCase,
    unet: UNetModel,
    classifier: EncoderUNetModel,
    config: ModelConfig = TINY_CONFIG,
    network_dtype: torch.dtype = torch.float32,
) -> dict[str, np.ndarray]:
    """The trajectory of one case: the sampler in float64, the networks in ``network_dtype``.

    The committed goldens use the float32 networks, as the engine's graphs do. float64
    networks (copies of the float32 weights) give the trajectory those networks would
    have without rounding, the same on every CPU.
    """
    unet, classifier = copy.deepcopy(unet).to(network_dtype), copy.deepcopy(classifier).to(network_dtype)
    diffusion = GaussianDiffusion.from_settings(
        schedule=case.schedule, num_timesteps=case.T, respacing=case.steps, learn_sigma=config.diffusion.learn_sigma
    )
    shape = (config.unet.in_channels, config.unet.image_size, config.unet.image_size)
    x_T, noise = case_noise(index, shape, diffusion.num_timesteps)
    y = torch.tensor(case.classes, dtype=torch.int64)
    denoise, gradient_fn = guided_functions(
        unet, classifier, case.mode, y, case.scale,
        class_cond=config.unet.num_classes is not None, null_class=config.classes.null_class,
    )
    steps = list(
        sample(
            diffusion, case.sampler, denoise, torch.from_numpy(x_T).double(), torch.from_numpy(noise).double(),
            clip_denoised=case.clip_denoised, gradient_fn=gradient_fn, eta=case.eta,
        )
    )
    return {
        "x_T": x_T,
        "noise": noise,
        "xt": np.stack([s.xt.numpy() for s in steps]).astype(np.float32),
        "pred_x0": np.stack([s.pred_xstart.numpy() for s in steps]).astype(np.float32),
        "timestep_map": diffusion.timestep_map,
    }


def write_golden_case(folder: Path, index: int, case: GoldenCase, unet: UNetModel, classifier: EncoderUNetModel) -> None:
    result = run_golden_case(index, case, unet, classifier)
    folder.mkdir(parents=True, exist_ok=True)
    description = {key: value for key, value in asdict(case).items() if key != "name"}
    description["classes"] = list(case.classes)
    description["timestep_map"] = result["timestep_map"].tolist()
    (folder / "case.json").write_text(json.dumps(description, indent=2) + "\n")
    for name in ("x_T", "noise", "xt", "pred_x0"):
        np.save(folder / f"{name}.npy", np.ascontiguousarray(result[name]))


def write_torch_model(folder: Path, unet: UNetModel, classifier: EncoderUNetModel, config: ModelConfig = TINY_CONFIG) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_config(folder / "config.json", config)
    torch.save(unet.state_dict(), folder / "unet.pt")
    torch.save(classifier.state_dict(), folder / "classifier.pt")


def tiny_manifest(config: ModelConfig = TINY_CONFIG) -> dict:
    classes = config.classes
    return {
        "format": 1,
        "id": "tiny-test",
        "name": "Tiny test model (random weights)",
        "source": f"Random weights from seed {WEIGHT_SEED} (studio_tools.fixtures), for engine tests only",
        "license": "MIT",
        "image": {"size": config.unet.image_size, "channels": config.unet.in_channels},
        "classes": {
            "count": classes.count,
            "names": classes.names,
            "synonyms": [[] for _ in classes.names],
            "null_class": classes.null_class,
        },
        "diffusion": {
            "steps": config.diffusion.steps,
            "noise_schedule": config.diffusion.noise_schedule,
            "learn_sigma": config.diffusion.learn_sigma,
            "predict": "eps",
            "rescale_timesteps": config.diffusion.rescale_timesteps,
        },
        "unet": {
            "file": "unet.onnx",
            "fp16_file": None,
            "class_cond": config.unet.num_classes is not None,
            "inputs": {"x": "x", "t": "t", "y": "y"},
            "output": "out",
            "batch": "dynamic",
        },
        "classifier": {
            "file": "classifier_grad.onnx",
            "inputs": {"x": "x", "t": "t", "y": "y"},
            "outputs": {"grad": "grad", "logits": "logits"},
        },
        "evaluator": None,
        "defaults": {"mode": "unconditional+classifier", "sampler": "ddim", "steps": "ddim10", "scale": 4, "eta": 0},
    }


def write_onnx_model(folder: Path, unet: UNetModel, classifier: EncoderUNetModel, config: ModelConfig = TINY_CONFIG) -> None:
    from .export import export_classifier_grad, export_unet, write_model_folder

    folder.mkdir(parents=True, exist_ok=True)
    export_unet(unet, folder / "unet.onnx")
    export_classifier_grad(
        classifier,
        folder / "classifier_grad.onnx",
        image_size=config.unet.image_size,
        channels=config.unet.in_channels,
        num_classes=config.classes.count,
    )
    write_model_folder(folder, tiny_manifest(config))


def write_fixtures(out: Path) -> None:
    unet, classifier = build_tiny_models()
    write_torch_model(out / "tiny-model-torch", unet, classifier)
    write_onnx_model(out / "tiny-model", unet, classifier)
    golden = out / "golden"
    if golden.exists():
        shutil.rmtree(golden)
    for index, case in enumerate(GOLDEN_CASES):
        write_golden_case(golden / case.name, index, case, unet, classifier)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="fixtures folder, e.g. test/fixtures")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    write_fixtures(args.out)


if __name__ == "__main__":
    main()
