"""Time classifier-guided sampling in PyTorch, as a reference for the ONNX engine.

    python -m studio_tools bench-reference --config CONFIG.json --unet UNET.pt \
        --classifier CLS.pt --batch 16 --steps ddim50 --scale 4 --threads 2

runs one batch of DDIM (or ``--sampler ddpm``) sampling with the classifier's gradient
(mode ``unconditional+classifier`` when the UNet has a null class or no labels, else
``conditional+classifier``) and prints one JSON line::

    {"seconds_per_image": …, "unet_ms_per_step": …, "classifier_ms_per_step": …, "total_s": …, …}

where the per-step figures are the time of one batched network call.

CONFIG.json is the model configuration written beside the weights (architecture
arguments of the UNet and the classifier, diffusion settings, classes); its format is
documented in ``studio_tools.diffusion.torch_model``. UNET.pt and CLS.pt are state_dicts.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ..diffusion import guided_functions, sample
from ..diffusion.sampling import GuidanceMode
from ..diffusion.torch_model import load_models, read_config


class Stopwatch:
    """Accumulates the wall time of the calls it wraps."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def wrap(self, fn):
        def timed(*args):
            start = time.perf_counter()
            result = fn(*args)
            self.seconds += time.perf_counter() - start
            self.calls += 1
            return result

        return timed

    @property
    def ms_per_call(self) -> float:
        return 1000.0 * self.seconds / max(self.calls, 1)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time classifier-guided sampling in PyTorch.")
    parser.add_argument("--config", type=Path, required=True, help="config.json beside the weights")
    parser.add_argument("--unet", type=Path, required=True, help="UNet state_dict (.pt)")
    parser.add_argument("--classifier", type=Path, required=True, help="classifier state_dict (.pt)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", default="ddim50", help='respacing: "50", "ddim50" or "10,20,20"')
    parser.add_argument("--sampler", choices=("ddim", "ddpm"), default="ddim")
    parser.add_argument("--scale", type=float, default=4.0)
    parser.add_argument("--eta", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    config = read_config(args.config)
    unet, classifier = load_models(config, args.unet, args.classifier)
    class_cond = config.unet.num_classes is not None
    null_class = config.classes.null_class
    mode: GuidanceMode = "conditional+classifier" if class_cond and null_class is None else "unconditional+classifier"
    diffusion = config.diffusion.build(args.steps)

    generator = torch.Generator().manual_seed(args.seed)
    size, channels = config.unet.image_size, config.unet.in_channels
    y = torch.randint(0, config.classes.count, (args.batch,), generator=generator)
    x_T = torch.randn(args.batch, channels, size, size, generator=generator)
    denoise, gradient_fn = guided_functions(
        unet, classifier, mode, y, args.scale, class_cond=class_cond, null_class=null_class
    )
    unet_time, classifier_time = Stopwatch(), Stopwatch()
    start = time.perf_counter()
    for _ in sample(
        diffusion, args.sampler, unet_time.wrap(denoise), x_T, clip_denoised=True,
        gradient_fn=classifier_time.wrap(gradient_fn), eta=args.eta, generator=generator,
    ):
        pass
    total = time.perf_counter() - start
    print(json.dumps({
        "seconds_per_image": total / args.batch,
        "unet_ms_per_step": unet_time.ms_per_call,
        "classifier_ms_per_step": classifier_time.ms_per_call,
        "total_s": total,
        "batch": args.batch,
        "steps": diffusion.num_timesteps,
        "sampler": args.sampler,
        "mode": mode,
        "threads": args.threads,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
