"""Quality report of the built-in model set, measured with its evaluator.

    python -m studio_tools.quality.report --samples 1000 --json quality-report.json

It measures the exported model folder (`--model`, default models/fashion-mnist): its ONNX
graphs, run by onnxruntime, drive the PyTorch reference sampler. For each setting
(guidance mode × scale × sampler) it draws `--samples` images with balanced classes
(sample i has class i mod 10), stores them as 8-bit pixels the way the studio's gallery
does, and prints: class accuracy (the evaluator agrees with the requested class), FID
against the folder's reference statistics of the 10,000 test images, precision and
recall (k = 3) against their features, the Inception Score, and the FID floor (1,000
training images against the test set; with fewer samples, also the floor at that count,
since FID's bias grows as the sample count falls). The closing Markdown table sorts the
rows by sampler, guidance mode and scale, and gives each FID as a multiple of the floor at
the same sample count. Rows of mode "classifier-free" draw with classifier-free guidance
alone, ε(x, ∅) + w·(ε(x, y) − ε(x, ∅)) in one doubled UNet call, and their scale is the
weight w; by default they are drawn with DDIM 50 only.

With `--json` every finished setting is written at once, and a later run on the same
model (its UNet's SHA-256), sample count and seed skips the settings already there, so a
long report can be stopped and resumed. The setting under way is saved after each batch
(beside the JSON as .in-progress.pt, else in the images folder), so a stopped run loses at most one batch and
draws the same images when it goes on. `--save-images DIR` keeps each setting's pixels
as [N, 1, 32, 32] uint8 .npy files, with the draw they came from beside each (.json); a
later run of the same draw scores those pixels instead of drawing them again.

On a machine with a GPU, `--torch-weights DIR` draws with the PyTorch weights the export
wrote (config.json, unet.pt, classifier.pt; checked against the ONNX graphs first) on
`--device`. With `--draw-only` a run only draws and saves, so a GPU machine without the
dataset can draw, and the scoring can run where the dataset is:

    python -m studio_tools.quality.report --torch-weights checkpoints/fashion-mnist/torch \
        --device cuda --draw-only --save-images images
    python -m studio_tools.quality.report --save-images images --json quality-report.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..diffusion.sampling import SamplerName, sample
from ..files import write_json_atomically
from ..metrics.numpy_reference import frechet_distance, inception_score, precision_recall, radii, statistics
from ..train.data import from_uint8, load_split, to_uint8
from ..train.loop import atomic_save
from .onnx_model_set import REPORT_MODES, OnnxModelSet, ReportMode
from .torch_sampling import TorchSampling

SAMPLERS: dict[str, tuple[SamplerName, str]] = {"ddim50": ("ddim", "ddim50"), "ddpm250": ("ddpm", "250")}
#: Neighbourhood size of the precision and recall manifolds, as in the reference evaluator.
K = 3
#: Training images of the FID floor: the FID a sampler that draws the data itself would get.
FLOOR_IMAGES = 1000
#: Guidance modes in the table: the classifier alone, the UNet's label alone, then both.
#: Classifier-free guidance comes last: its scale column is the weight w of
#: ε(x, ∅) + w·(ε(x, y) − ε(x, ∅)), so both trade-offs read off one table.
TABLE_MODE_ORDER = ("unconditional+classifier", "conditional", "conditional+classifier", "classifier-free")
DEFAULT_SETTINGS = [
    ("unconditional+classifier", 0.0),
    ("unconditional+classifier", 1.0),
    ("unconditional+classifier", 2.0),
    ("unconditional+classifier", 4.0),
    ("unconditional+classifier", 8.0),
    ("conditional", 0.0),
    ("conditional+classifier", 2.0),
    ("classifier-free", 0.5),
    ("classifier-free", 1.0),
    ("classifier-free", 2.0),
    ("classifier-free", 4.0),
]
#: Samplers the default settings of a mode are limited to (the rest run with every sampler).
DEFAULT_SAMPLERS_OF_MODE: dict[str, tuple[str, ...]] = {"classifier-free": ("ddim50",)}


@dataclass
class Row:
    sampler: str
    mode: str
    scale: float
    samples: int
    class_accuracy: float
    fid: float
    precision: float
    recall: float
    inception_score: float
    seconds: float
    images: str | None = None
    drawn_with: str | None = None


@dataclass
class Partial:
    """The batches of a setting drawn so far, and the generator's state after them."""

    samples: torch.Tensor
    generator_state: torch.Tensor


def generate(
    model: OnnxModelSet | TorchSampling,
    sampler: SamplerName,
    respacing: str,
    mode: ReportMode,
    scale: float,
    labels: torch.Tensor,
    batch: int,
    seed: int,
    resume: Partial | None = None,
    on_batch: Callable[[Partial], None] | None = None,
) -> torch.Tensor:
    """Samples in [-1, 1], one per label, drawn batch by batch from one seeded generator.

    `on_batch` gets the samples so far after each batch; passing one of those back as
    `resume` goes on from there and draws what an uninterrupted call would.
    """
    diffusion = model.diffusion(respacing)
    generator = torch.Generator().manual_seed(seed)
    outputs = []
    if resume is not None:
        outputs.append(resume.samples)
        generator.set_state(resume.generator_state)
    for start in range(len(resume.samples) if resume else 0, len(labels), batch):
        y = labels[start : start + batch]
        denoise, gradient_fn = model.guided_functions(mode, y, scale)
        x_T = torch.randn((len(y), *model.image_shape), generator=generator)
        final: torch.Tensor | None = None
        for step in sample(diffusion, sampler, denoise, x_T, gradient_fn=gradient_fn, generator=generator):
            final = step.xt
        assert final is not None, f"respacing {respacing!r} keeps no step"
        outputs.append(final.clamp(-1, 1))
        if on_batch is not None:
            on_batch(Partial(torch.cat(outputs), generator.get_state()))
    return torch.cat(outputs)


class SettingInProgress:
    """The file that keeps a setting's finished batches, for the setting it names only."""

    def __init__(self, path: Path, key: dict) -> None:
        self.path, self.key = path, key

    def load(self) -> tuple[Partial, float] | None:
        """The batches saved for this setting and the seconds they took, or None."""
        if not self.path.exists():
            return None
        saved = torch.load(self.path, weights_only=True)
        if saved["key"] != self.key:
            return None
        return Partial(saved["samples"], saved["generator_state"]), float(saved["seconds"])

    def save(self, partial: Partial, seconds: float) -> None:
        atomic_save({"key": self.key, "samples": partial.samples, "generator_state": partial.generator_state,
                     "seconds": seconds}, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class DrawnImages:
    """A setting's 8-bit samples in the images folder, and beside them (.json) the draw they
    came from: reused only by a run that would draw the very same images."""

    def __init__(self, folder: Path, sampler: str, mode: str, scale: float, key: dict) -> None:
        self.name = images_file_name(sampler, mode, scale)
        self.pixels_path = folder / self.name
        self.draw_path = self.pixels_path.with_suffix(".json")
        self.key = key

    def load(self) -> tuple[np.ndarray, str, float] | None:
        """Pixels [N, H, W, C], what drew them and the seconds it took, or None."""
        if not (self.pixels_path.exists() and self.draw_path.exists()):
            return None
        draw = json.loads(self.draw_path.read_text())
        if draw.get("key") != self.key:
            return None
        pixels = np.load(self.pixels_path)
        return np.ascontiguousarray(pixels.transpose(0, 2, 3, 1)), draw["drawn_with"], float(draw["seconds"])

    def save(self, pixels: np.ndarray, drawn_with: str, seconds: float) -> None:
        np.save(self.pixels_path, np.ascontiguousarray(pixels.transpose(0, 3, 1, 2)))
        write_json_atomically(self.draw_path, {"key": self.key, "drawn_with": drawn_with, "seconds": seconds})


def parse_settings(text: str) -> list[tuple[ReportMode, float]]:
    settings: list[tuple[ReportMode, float]] = []
    for item in text.split(","):
        mode, _, scale = item.partition(":")
        if mode not in REPORT_MODES or not scale:
            raise argparse.ArgumentTypeError(f'"{item}" is not "mode:scale" with a mode of {", ".join(REPORT_MODES)}')
        settings.append((mode, float(scale)))
    return settings


def images_file_name(sampler: str, mode: str, scale: float) -> str:
    return f"{sampler}_{mode}_{scale:g}.npy"


def previous_rows(path: Path | None, identity: dict) -> list[Row]:
    """Rows of an earlier run of the same report (same model, samples and seed)."""
    if path is None or not path.exists():
        return []
    data = json.loads(path.read_text())
    if any(data.get(key) != value for key, value in identity.items()):
        return []
    return [Row(**row) for row in data["rows"]]


def fid_floors(model: OnnxModelSet, reference_mu: np.ndarray, reference_sigma: np.ndarray, samples: int,
               seed: int) -> dict[str, float]:
    """FID of training images against the test set: FLOOR_IMAGES of them, and `samples` of them."""
    train_images, _ = load_split("train")
    order = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(seed))
    features, _ = model.evaluate(train_images[order[: max(FLOOR_IMAGES, samples)]])

    def floor(count: int) -> float:
        return frechet_distance(*statistics(features[:count]), reference_mu, reference_sigma)

    at_floor_images = floor(FLOOR_IMAGES)
    return {
        "fid_floor": at_floor_images,
        "fid_floor_at_samples": at_floor_images if samples == FLOOR_IMAGES else floor(samples),
    }


def write_report(path: Path, identity: dict, floors: dict[str, float], rows: list[Row]) -> None:
    write_json_atomically(path, {**identity, **floors, "rows": [asdict(r) for r in rows]})


def format_table(rows: list[Row], floors: dict[str, float], samples: int) -> str:
    """The rows as a Markdown table, by sampler, guidance mode and scale, with each FID's
    multiple of the floor at the same sample count beside it."""
    floor = floors["fid_floor_at_samples"]
    order = {name: i for i, name in enumerate([*SAMPLERS, *TABLE_MODE_ORDER])}
    lines = [
        f"| sampler | mode | scale | class accuracy | FID | FID ÷ floor ({floor:.2f} at {samples:,}) "
        "| precision | recall | IS |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in sorted(rows, key=lambda r: (order.get(r.sampler, len(order)), order[r.mode], r.scale)):
        lines.append(f"| {row.sampler} | {row.mode} | {row.scale:g} | {row.class_accuracy:.3f} | {row.fid:.2f} | "
                     f"{row.fid / floor:.2f}× | {row.precision:.3f} | {row.recall:.3f} | {row.inception_score:.2f} |")
    return "\n".join(lines)


def in_progress_path(args: argparse.Namespace) -> Path | None:
    if args.json:
        return args.json.with_suffix(".in-progress.pt")
    if args.save_images:
        return args.save_images / "drawing.in-progress.pt"
    return None


def draw(drawer: OnnxModelSet | TorchSampling, sampler_key: str, mode: ReportMode, scale: float, labels: torch.Tensor,
         batch: int, seed: int, in_progress: SettingInProgress | None) -> tuple[np.ndarray, float]:
    """A setting's samples as 8-bit pixels [N, H, W, C] and the seconds they took, going on
    from the batches a stopped run saved."""
    sampler, respacing = SAMPLERS[sampler_key]
    started = time.monotonic()
    resume, earlier_seconds = None, 0.0
    saved = None if in_progress is None else in_progress.load()
    if saved is not None:
        resume, earlier_seconds = saved
        print(f"{sampler_key} {mode} s={scale:g}: going on after {len(resume.samples)} samples",
              file=sys.stderr, flush=True)

    def save_batches(partial: Partial) -> None:
        if in_progress is not None:
            in_progress.save(partial, earlier_seconds + time.monotonic() - started)

    samples = generate(drawer, sampler, respacing, mode, scale, labels, batch, seed, resume=resume,
                       on_batch=save_batches)
    return to_uint8(samples), earlier_seconds + time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio_tools.quality.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/fashion-mnist"), help="exported model folder")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--samplers", default="ddim50,ddpm250")
    parser.add_argument("--settings", type=parse_settings, default=DEFAULT_SETTINGS,
                        help='comma-separated "mode:scale" pairs; for classifier-free the scale is the weight w '
                             '(default: the eleven of the table)')
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--json", type=Path, default=None, help="write the rows as JSON after each setting; resume from it"
    )
    parser.add_argument("--save-images", type=Path, default=None,
                        help="folder for each setting's uint8 pixels (.npy) and their draw (.json)")
    parser.add_argument(
        "--torch-weights",
        type=Path,
        default=None,
        help="draw with these PyTorch weights (config.json, unet.pt, classifier.pt) instead of onnxruntime",
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="torch device that runs --torch-weights (default: cuda where there is one)")
    parser.add_argument(
        "--draw-only", action="store_true", help="draw and save the images (--save-images) without scoring them"
    )
    args = parser.parse_args(argv)
    if args.draw_only and not args.save_images:
        parser.error("--draw-only keeps nothing without --save-images DIR")
    if args.threads:
        torch.set_num_threads(args.threads)

    model = OnnxModelSet(args.model, threads=args.threads)
    drawer = model if args.torch_weights is None else TorchSampling(model, args.torch_weights, args.device)
    identity = {"model": model.manifest["id"], "source": model.manifest["source"], "unet_sha256": model.unet_sha256,
                "samples": args.samples, "seed": args.seed, "provider": model.providers[0]}
    class_count = model.manifest["classes"]["count"]
    labels = torch.arange(args.samples) % class_count
    print(f"{model.manifest['source']}\nDrawing with {drawer.description}", file=sys.stderr, flush=True)
    if not args.draw_only:
        reference_mu, reference_sigma, reference_features = model.reference()
        reference_radii = radii(reference_features, K)
        floors = fid_floors(model, reference_mu, reference_sigma, args.samples, args.seed)
        floor_text = f"floor {floors['fid_floor']:.2f} at {FLOOR_IMAGES:,}"
        if args.samples != FLOOR_IMAGES:
            floor_text += f", {floors['fid_floor_at_samples']:.2f} at {args.samples:,}"
        print(f"FID {floor_text} (train vs test)", file=sys.stderr, flush=True)
    if args.save_images:
        args.save_images.mkdir(parents=True, exist_ok=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)

    rows = [] if args.draw_only else previous_rows(args.json, identity)
    done = {(row.sampler, row.mode, row.scale) for row in rows}
    for sampler_key in args.samplers.split(","):
        for mode, scale in args.settings:
            if (sampler_key, mode, scale) in done:
                continue
            limited_to = DEFAULT_SAMPLERS_OF_MODE.get(mode, (sampler_key,))
            if args.settings is DEFAULT_SETTINGS and sampler_key not in limited_to:
                continue
            key = {"unet_sha256": model.unet_sha256, "classifier_sha256": model.classifier_sha256,
                   "samples": args.samples, "seed": args.seed, "batch": args.batch, "sampler": sampler_key,
                   "mode": mode, "scale": scale}
            drawn = None if args.save_images is None else DrawnImages(args.save_images, sampler_key, mode, scale, key)
            earlier = None if drawn is None else drawn.load()
            in_progress = None
            if earlier is not None:
                pixels, drawn_with, seconds = earlier
                print(f"{sampler_key} {mode} s={scale:g}: scoring the images {drawn_with} drew",
                      file=sys.stderr, flush=True)
            else:
                path = in_progress_path(args)
                if path is not None:
                    in_progress = SettingInProgress(path, {**identity, "sampler": sampler_key, "mode": mode,
                                                           "scale": scale, "batch": args.batch})
                pixels, seconds = draw(drawer, sampler_key, mode, scale, labels, args.batch, args.seed, in_progress)
                drawn_with = drawer.description
                if drawn is not None:
                    drawn.save(pixels, drawn_with, seconds)
            if args.draw_only:
                print(f"{sampler_key} {mode} s={scale:g}: drawn in {seconds:.0f}s", file=sys.stderr, flush=True)
            else:
                features, logits = model.evaluate(from_uint8(pixels))
                accuracy = float((logits.argmax(axis=1) == labels.numpy()).mean())
                precision, recall = precision_recall(reference_features, features, k=K,
                                                     reference_radii=reference_radii)
                fid = frechet_distance(*statistics(features), reference_mu, reference_sigma)
                row = Row(sampler_key, mode, scale, len(labels), accuracy, fid, precision, recall,
                          inception_score(logits), seconds, None if drawn is None else drawn.name, drawn_with)
                rows.append(row)
                if args.json:
                    write_report(args.json, identity, floors, rows)
                print(f"{row.sampler} {row.mode} s={row.scale:g}: acc {row.class_accuracy:.3f} fid {row.fid:.2f} "
                      f"P {row.precision:.3f} R {row.recall:.3f} IS {row.inception_score:.2f} ({row.seconds:.0f}s)",
                      file=sys.stderr, flush=True)
            if in_progress is not None:
                in_progress.clear()

    if not args.draw_only:
        print(format_table(rows, floors, args.samples))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
