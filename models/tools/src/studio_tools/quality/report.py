"""Quality report of the built-in model set, measured with its evaluator.

    python -m studio_tools.quality.report --runs checkpoints/fashion-mnist --samples 1000 \\
        --json checkpoints/fashion-mnist/quality-report.json

For each setting (guidance mode × scale × sampler) it draws `--samples` images with
balanced classes (sample i has class i mod 10), stores them as 8-bit pixels the way the
studio's gallery does, and prints: class accuracy (the evaluator agrees with the requested
class), FID against the 10,000 test images, precision and recall (k = 3), the Inception
Score, and the FID floor (1,000 training images against the test set).

With `--json` every finished setting is written at once, and a later run with the same
checkpoints, sample count and seed skips the settings already there, so a long report can
be stopped and resumed. `--save-images DIR` keeps each setting's pixels as
[N, 1, 32, 32] uint8 .npy files; `--model DIR` records which exported folder the
checkpoints belong to (its UNet file's SHA-256).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..diffusion.gaussian_diffusion import GaussianDiffusion
from ..diffusion.sampling import guided_functions, sample
from ..train.architectures import NULL_CLASS, NUM_CLASSES
from ..train.checkpoints import load_classifier, load_evaluator, load_unet
from ..train.data import from_uint8, load_split, to_uint8
from ..metrics.numpy_reference import fid, inception_score, precision_recall

SAMPLERS = {"ddim50": ("ddim", "ddim50"), "ddpm250": ("ddpm", "250")}
DEFAULT_SETTINGS = [
    ("unconditional+classifier", 0.0),
    ("unconditional+classifier", 1.0),
    ("unconditional+classifier", 2.0),
    ("unconditional+classifier", 4.0),
    ("unconditional+classifier", 8.0),
    ("conditional", 0.0),
    ("conditional+classifier", 2.0),
]


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


@torch.no_grad()
def evaluate_images(evaluator: torch.nn.Module, images: torch.Tensor, batch: int = 500) -> tuple[np.ndarray, np.ndarray]:
    features, logits = [], []
    for start in range(0, len(images), batch):
        f, l = evaluator(images[start : start + batch])
        features.append(f.numpy())
        logits.append(l.numpy())
    return np.concatenate(features), np.concatenate(logits)


def generate(
    unet: torch.nn.Module,
    classifier: torch.nn.Module,
    diffusion: GaussianDiffusion,
    sampler: str,
    mode: str,
    scale: float,
    labels: torch.Tensor,
    batch: int,
    seed: int,
) -> torch.Tensor:
    outputs = []
    generator = torch.Generator().manual_seed(seed)
    for start in range(0, len(labels), batch):
        y = labels[start : start + batch]
        denoise, gradient_fn = guided_functions(
            unet, classifier, mode, y, scale, class_cond=True, null_class=NULL_CLASS
        )
        x_T = torch.randn((len(y), 1, 32, 32), generator=generator)
        final = None
        for step in sample(diffusion, sampler, denoise, x_T, gradient_fn=gradient_fn, generator=generator):
            final = step.xt
        outputs.append(final.clamp(-1, 1))
    return torch.cat(outputs)


def parse_settings(text: str) -> list[tuple[str, float]]:
    settings = []
    for item in text.split(","):
        mode, _, scale = item.partition(":")
        if mode not in {m for m, _ in DEFAULT_SETTINGS} or not scale:
            raise argparse.ArgumentTypeError(f'"{item}" is not "mode:scale" with a mode of {sorted({m for m, _ in DEFAULT_SETTINGS})}')
        settings.append((mode, float(scale)))
    return settings


def images_file_name(sampler: str, mode: str, scale: float) -> str:
    return f"{sampler}_{mode}_{scale:g}.npy"


def previous_rows(path: Path | None, identity: dict) -> list[Row]:
    """Rows of an earlier run of the same report (same checkpoints, samples and seed)."""
    if path is None or not path.exists():
        return []
    data = json.loads(path.read_text())
    if any(data.get(key) != value for key, value in identity.items()):
        return []
    return [Row(**row) for row in data["rows"]]


def write_report(path: Path, identity: dict, floor: float, rows: list[Row]) -> None:
    temporary = path.with_suffix(".partial")
    temporary.write_text(json.dumps({**identity, "fid_floor": floor, "rows": [asdict(r) for r in rows]}, indent=2))
    temporary.replace(path)


def unet_sha256(model_dir: Path) -> str:
    manifest = json.loads((model_dir / "manifest.json").read_text())
    return hashlib.sha256((model_dir / manifest["unet"]["file"]).read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio_tools.quality.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=Path("checkpoints/fashion-mnist"))
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--samplers", default="ddim50,ddpm250")
    parser.add_argument("--settings", type=parse_settings, default=DEFAULT_SETTINGS,
                        help='comma-separated "mode:scale" pairs (default: the seven of the table)')
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the rows as JSON after each setting; resume from it")
    parser.add_argument("--save-images", type=Path, default=None, help="folder for each setting's uint8 pixels (.npy)")
    parser.add_argument("--model", type=Path, default=None, help="exported model folder these checkpoints belong to")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    unet, unet_config, unet_steps = load_unet(args.runs / "unet")
    classifier, _, classifier_steps = load_classifier(args.runs / "classifier")
    evaluator, _ = load_evaluator(args.runs / "evaluator")
    identity = {"unet_steps": unet_steps, "classifier_steps": classifier_steps, "samples": args.samples,
                "seed": args.seed, "unet_sha256": unet_sha256(args.model) if args.model else None}
    test_images, _ = load_split("test")
    train_images, _ = load_split("train")
    real_features, _ = evaluate_images(evaluator, test_images)
    floor_index = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(args.seed))[:1000]
    floor_features, _ = evaluate_images(evaluator, train_images[floor_index])
    floor = fid(floor_features, real_features)
    labels = torch.arange(args.samples) % NUM_CLASSES
    print(f"UNet {unet_steps} steps, classifier {classifier_steps} steps; FID floor (1,000 train vs test) {floor:.3f}",
          file=sys.stderr, flush=True)
    if args.save_images:
        args.save_images.mkdir(parents=True, exist_ok=True)

    rows = previous_rows(args.json, identity)
    done = {(row.sampler, row.mode, row.scale) for row in rows}
    for sampler_key in args.samplers.split(","):
        sampler, steps = SAMPLERS[sampler_key]
        diffusion = GaussianDiffusion.from_settings(schedule="cosine", num_timesteps=1000, respacing=steps,
                                                    learn_sigma=unet_config.learn_sigma)
        for mode, scale in args.settings:
            if (sampler_key, mode, scale) in done:
                continue
            started = time.monotonic()
            pixels = to_uint8(generate(unet, classifier, diffusion, sampler, mode, scale, labels, args.batch, args.seed))
            features, logits = evaluate_images(evaluator, from_uint8(pixels))
            accuracy = float((logits.argmax(axis=1) == labels.numpy()).mean())
            precision, recall = precision_recall(real_features, features, k=3)
            images = None
            if args.save_images:
                images = images_file_name(sampler_key, mode, scale)
                np.save(args.save_images / images, np.ascontiguousarray(pixels.transpose(0, 3, 1, 2)))
            row = Row(sampler_key, mode, scale, len(labels), accuracy, fid(features, real_features), precision,
                      recall, inception_score(logits)[0], time.monotonic() - started, images)
            rows.append(row)
            if args.json:
                write_report(args.json, identity, floor, rows)
            print(f"{row.sampler} {row.mode} s={row.scale:g}: acc {row.class_accuracy:.3f} fid {row.fid:.2f} "
                  f"P {row.precision:.3f} R {row.recall:.3f} IS {row.inception_score:.2f} ({row.seconds:.0f}s)",
                  file=sys.stderr, flush=True)

    print(f"| sampler | mode | scale | class accuracy | FID (floor {floor:.2f}) | precision | recall | IS |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row.sampler} | {row.mode} | {row.scale:g} | {row.class_accuracy:.3f} | {row.fid:.2f} | "
              f"{row.precision:.3f} | {row.recall:.3f} | {row.inception_score:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
