"""Evaluator tooling for ImageNet-style models.

    python -m studio_tools.metrics export-inception --weights inception.pth --out evaluator.onnx --image-size 64
    python -m studio_tools.metrics import-reference --npz VIRTUAL_imagenet64_labeled.npz \\
        --model-dir models/imagenet64 --evaluator evaluator.onnx
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .export_inception import export_evaluator
from .inception import INPUT_SIZE, load_inception
from .reference_batch import import_reference_batch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio_tools.metrics", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    export = commands.add_parser(
        "export-inception", help="export Inception-v3 weights you supply as an evaluator graph"
    )
    export.add_argument("--weights", type=Path, required=True,
                        help="state dict of torchvision's or pytorch-fid's Inception-v3 (.pth)")
    export.add_argument(
        "--variant",
        choices=["torchvision", "fid"],
        default="fid",
        help="fid: the TensorFlow FID graph (pytorch-fid weights, 1008 classes); torchvision: 1000 classes",
    )
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--image-size", type=int, required=True, help="side of the model's images")
    export.add_argument("--channels", type=int, default=3)
    export.add_argument("--input-size", type=int, default=INPUT_SIZE, help=argparse.SUPPRESS)
    export.add_argument("--width-divisor", type=int, default=1, help=argparse.SUPPRESS)

    reference = commands.add_parser("import-reference", help="import a reference batch (.npz with arr_0, mu, sigma)")
    reference.add_argument("--npz", type=Path, required=True)
    reference.add_argument("--model-dir", type=Path, required=True)
    reference.add_argument("--evaluator", type=Path, required=True, help="evaluator graph from export-inception")
    reference.add_argument("--limit", type=int, default=10_000, help="reference images kept for precision/recall")
    reference.add_argument("--batch-size", type=int, default=50)

    args = parser.parse_args(argv)
    try:
        if args.command == "export-inception":
            network = load_inception(str(args.weights), args.variant, args.width_divisor)
            path = export_evaluator(network, args.out, args.image_size, args.channels, args.input_size)
            print(f"wrote {path}")
        else:
            summary = import_reference_batch(args.npz, args.model_dir, args.evaluator, args.limit, args.batch_size)
            print(json.dumps(summary))
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
