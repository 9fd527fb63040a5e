"""Quality report of the built-in model set, measured with its evaluator.

    python -m studio_tools.quality.report --runs checkpoints/fashion-mnist --samples 1000

For each setting (guidance mode × scale × sampler) it draws `--samples` images with
balanced classes and prints: class accuracy (the evaluator agrees with the requested
class), FID against the 10,000 test images, precision and recall (k = 3), and the FID
floor (1,000 training images against the test set).
"""

from __future__ import annotations

import argparse
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
from ..train.data import load_split
from .metrics import fid, precision_recall

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
    seconds: float


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio_tools.quality.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=Path("checkpoints/fashion-mnist"))
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--samplers", default="ddim50,ddpm250")
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    unet, unet_config, unet_steps = load_unet(args.runs / "unet")
    classifier, _, classifier_steps = load_classifier(args.runs / "classifier")
    evaluator, _ = load_evaluator(args.runs / "evaluator")
    test_images, _ = load_split("test")
    train_images, _ = load_split("train")
    real_features, _ = evaluate_images(evaluator, test_images)
    floor_index = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(args.seed))[:1000]
    floor_features, _ = evaluate_images(evaluator, train_images[floor_index])
    floor = fid(floor_features, real_features)
    labels = torch.arange(args.samples) % NUM_CLASSES
    print(f"UNet {unet_steps} steps, classifier {classifier_steps} steps; FID floor (1,000 train vs test) {floor:.3f}",
          file=sys.stderr, flush=True)

    rows: list[Row] = []
    for sampler_key in args.samplers.split(","):
        sampler, steps = SAMPLERS[sampler_key]
        diffusion = GaussianDiffusion.from_settings(schedule="cosine", num_timesteps=1000, respacing=steps,
                                                    learn_sigma=unet_config.learn_sigma)
        for mode, scale in DEFAULT_SETTINGS:
            started = time.monotonic()
            images = generate(unet, classifier, diffusion, sampler, mode, scale, labels, args.batch, args.seed)
            features, logits = evaluate_images(evaluator, images)
            accuracy = float((logits.argmax(axis=1) == labels.numpy()).mean())
            precision, recall = precision_recall(real_features, features, k=3)
            row = Row(sampler_key, mode, scale, len(labels), accuracy, fid(features, real_features), precision,
                      recall, time.monotonic() - started)
            rows.append(row)
            print(f"{row.sampler} {row.mode} s={row.scale:g}: acc {row.class_accuracy:.3f} fid {row.fid:.2f} "
                  f"P {row.precision:.3f} R {row.recall:.3f} ({row.seconds:.0f}s)", file=sys.stderr, flush=True)

    print(f"| sampler | mode | scale | class accuracy | FID (floor {floor:.2f}) | precision | recall |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row.sampler} | {row.mode} | {row.scale:g} | {row.class_accuracy:.3f} | {row.fid:.2f} | "
              f"{row.precision:.3f} | {row.recall:.3f} |")
    if args.json:
        args.json.write_text(json.dumps({"fid_floor": floor, "unet_steps": unet_steps,
                                         "classifier_steps": classifier_steps,
                                         "rows": [asdict(r) for r in rows]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
