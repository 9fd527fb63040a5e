"""A picture grid of the built-in model: one row per class, one column per sample.

    python -m studio_tools.quality.grid --model models/fashion-mnist --out docs/fashion-mnist-grid.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..diffusion.sampling import SamplerName
from ..train.data import to_uint8
from .onnx_model_set import OnnxModelSet
from .report import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio_tools.quality.grid", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/fashion-mnist"), help="exported model folder")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--mode", default="conditional+classifier")
    parser.add_argument("--scale", type=float, default=2.0)
    parser.add_argument("--steps", default="50", help="respacing; \"ddimN\" samples with DDIM, anything else with DDPM")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--zoom", type=int, default=2)
    args = parser.parse_args(argv)

    model = OnnxModelSet(args.model)
    classes = model.manifest["classes"]["count"]
    labels = torch.arange(classes).repeat_interleave(args.columns)
    sampler: SamplerName = "ddim" if args.steps.startswith("ddim") else "ddpm"
    images = generate(model, sampler, args.steps, args.mode, args.scale, labels, 100, args.seed)
    _, height, width = model.image_shape
    tiles = to_uint8(images)[..., 0].reshape(classes, args.columns, height, width)
    grid = np.concatenate([np.concatenate(list(row), axis=1) for row in tiles], axis=0)
    picture = Image.fromarray(grid, mode="L")
    picture = picture.resize((picture.width * args.zoom, picture.height * args.zoom), Image.Resampling.NEAREST)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
