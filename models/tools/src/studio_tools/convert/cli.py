"""Convert released guided-diffusion checkpoints into a studio model folder.

    python -m studio_tools convert --diffusion 256x256_diffusion_uncond.pt \\
        --classifier 256x256_classifier.pt --preset 256-uncond --out models/imagenet-256-uncond

Presets (the README's sampling flags and --classifier_scale of each released model):
  64, 128, 256, 256-uncond, 512
Any architecture flag can be overridden: --flag num_channels=128, --classifier-flag classifier_depth=4.
The attention order (use_new_attention_order) cannot be checked against a checkpoint,
since both orders have the same shapes: the presets set it as the release did (only 64
uses the new order); set it by hand only for checkpoints of your own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..export import ModelFolderError
from .checkpoint import CheckpointError
from .classifier_worker import WorkerError
from .model_folder import Conversion, convert
from .out_folder import OutFolderError
from .parity import ParityError
from .presets import PRESETS
from .progress import ConversionProgress
from .progress_display import MODES, sink_for
from .stages import conversion_stages

# Comma lists, which stay text even when they hold one number ("attention_resolutions=16").
LIST_FLAGS = frozenset({
    "attention_resolutions", "channel_mult", "classifier_attention_resolutions", "classifier_channel_mult",
})


def flag_value(text: str) -> Any:
    """"true" → True, "3" → 3, "0.1" → 0.1, anything else stays text ("32,16,8")."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return text


def parse_flags(pairs: list[str], option: str) -> dict[str, Any]:
    flags: dict[str, Any] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise ValueError(f"{option} {pair!r} is not NAME=VALUE, e.g. {option} num_channels=128")
        name = name.strip()
        flags[name] = value.strip() if name in LIST_FLAGS else flag_value(value)
    return flags


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m studio_tools convert", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--diffusion", type=Path, required=True, help="the diffusion checkpoint (.pt)")
    parser.add_argument("--classifier", type=Path, help="the noisy classifier checkpoint (.pt)")
    parser.add_argument("--preset", choices=sorted(PRESETS), required=True)
    parser.add_argument("--out", type=Path, required=True, help="the model folder to write")
    parser.add_argument("--id", help="manifest id (default imagenet-PRESET)")
    parser.add_argument("--name", help="manifest display name")
    parser.add_argument("--scale", type=float, help="default guidance scale (default: the preset's)")
    parser.add_argument("--steps", help='default respacing, e.g. "250" or "ddim25" (default: the preset\'s)')
    parser.add_argument("--sampler", choices=("ddpm", "ddim"), help="default sampler (default: the preset's)")
    parser.add_argument("--no-fp16", action="store_true", help="skip the float16 UNet for GPU providers")
    parser.add_argument("--overwrite", action="store_true", help="replace what an existing --out folder holds")
    parser.add_argument(
        "--progress", choices=MODES, default="auto",
        help="bars on a terminal, plain lines otherwise (auto); json: one object per line on stdout "
        "(stage, title, step, done, total, overall, elapsed_s, eta_s), the last with stage \"done\" or \"failed\"",
    )
    parser.add_argument("--flag", action="append", default=[], metavar="NAME=VALUE", help="override a model flag")
    parser.add_argument(
        "--classifier-flag", action="append", default=[], metavar="NAME=VALUE", help="override a classifier flag"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sink = sink_for(args.progress, stdout=sys.stdout, stderr=sys.stderr)
    plan = conversion_stages(fp16=not args.no_fp16, classifier=args.classifier is not None)
    progress = ConversionProgress(plan, sink)
    try:
        conversion = Conversion(
            preset=PRESETS[args.preset],
            diffusion=args.diffusion,
            classifier=args.classifier,
            out=args.out,
            id=args.id,
            name=args.name,
            scale=args.scale,
            sampler=args.sampler,
            steps=args.steps,
            fp16=not args.no_fp16,
            overwrite=args.overwrite,
            diffusion_overrides=parse_flags(args.flag, "--flag"),
            classifier_overrides=parse_flags(args.classifier_flag, "--classifier-flag"),
        )
        manifest = convert(conversion, progress)
    except (CheckpointError, ModelFolderError, OutFolderError, ParityError, WorkerError, ValueError) as error:
        progress.fail(str(error))
        print(f"convert: {error}", file=sys.stderr)
        return 2
    except BaseException:
        progress.fail("the conversion stopped unexpectedly; nothing was written to the out folder")
        raise
    summary = f"wrote {args.out / 'manifest.json'}: {', '.join(manifest['files'])}"
    progress.finish(summary)
    # With --progress json stdout carries only JSON lines; the last one holds this summary.
    print(summary, file=sys.stderr if args.progress == "json" else sys.stdout)
    return 0
