"""Time classifier-guided sampling in PyTorch, as a reference for the ONNX engine.

    python -m studio_tools bench-reference --config CONFIG.json --unet UNET.pt \
        --classifier CLS.pt --batch 16 64 --variant eager channels-last compile \
        --steps ddim50 --scale 4 --threads 2 [--flops] [--matmul-peak]
    python -m studio_tools bench-reference --model-folder models/fashion-mnist \
        --cache .cache/bench-weights/fashion-mnist …

runs one batch of DDIM (or ``--sampler ddpm``) sampling with the classifier's gradient
(mode ``unconditional+classifier`` when the UNet has a null class or no labels, else
``conditional+classifier``) per batch size and variant:

* ``eager``: the modules as they are;
* ``channels-last``: weights and images in NHWC memory format, which oneDNN's
  convolutions prefer on x86;
* ``compile``: ``torch.compile`` (inductor, default mode, static shapes) of the UNet and of
  the classifier, whose backward pass AOTAutograd compiles too: three Inductor graphs per
  batch size; its compile time is reported, not timed.

Each run follows an untimed two-step run of the same batch (allocator, oneDNN primitive
choice, compilation). Neither network computes weight gradients: the classifier's
parameters are frozen, as in the engine's gradient graph. It prints one JSON line::

    {"runs": [{"variant": …, "batch": …, "seconds_per_image": …, "unet_ms_per_step": …,
               "classifier_ms_per_step": …, "total_s": …, "warmup_s": …}, …],
     "seconds_per_image": …, "unet_ms_per_step": …, … (the first run's figures),
     "flops": {"unet_per_image": …, "classifier_gradient_per_image": …} (with --flops),
     "matmul_peak_flops_per_s": … (with --matmul-peak), "weights": {…} (with --model-folder)}

where the per-step figures are the time of one batched network call. FLOPs are counted by
``torch.utils.flop_counter.FlopCounterMode`` (2 per multiply-add of convolutions and
matrix products; elementwise work is not counted). The matmul peak is the best rate of a
2048² float32 ``torch.mm`` on the same threads.

With ``--serve`` it loads the weights once and answers JSON-lines requests on stdin
instead ("warm up variant V at batch B", "time one sampling run", …; the protocol is in
``studio_tools.bench.reference_server``), so the bench can alternate it with the engine
round by round. ``--compile-cache DIR`` keeps Inductor's FX graph and AOTAutograd caches
in DIR (``studio_tools.bench.compile_cache``), so a later run's compile warm-up loads what
an earlier one built.

CONFIG.json is the model configuration written beside the weights (architecture
arguments of the UNet and the classifier, diffusion settings, classes); its format is
documented in ``studio_tools.diffusion.torch_model``. UNET.pt and CLS.pt are state_dicts.
With ``--model-folder`` the weights are rebuilt from the folder's ONNX graphs and checked
against onnxruntime (``studio_tools.bench.weights_from_onnx``), cached in ``--cache``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..diffusion import guided_functions, sample
from ..diffusion.sampling import GuidanceMode
from ..diffusion.torch_model import ModelConfig, load_models, read_config
from .compile_cache import use_compile_cache
from .reference_server import ReferenceServer, SamplingRun, serve_stdio
from .weights_from_onnx import cached_or_rebuilt

VARIANTS = ("eager", "channels-last", "compile")
WARMUP_STEPS = "ddim2"
MATMUL_SIZE = 2048

Fn = TypeVar("Fn", bound=Callable[..., torch.Tensor])


class Stopwatch:
    """Accumulates the wall time of the calls it wraps."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def wrap(self, fn: Fn) -> Fn:
        def timed(*args: torch.Tensor) -> torch.Tensor:
            start = time.perf_counter()
            result = fn(*args)
            self.seconds += time.perf_counter() - start
            self.calls += 1
            return result

        return timed  # type: ignore[return-value]

    @property
    def ms_per_call(self) -> float:
        return 1000.0 * self.seconds / max(self.calls, 1)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time classifier-guided sampling in PyTorch.")
    weights = parser.add_argument_group("weights: --config, --unet and --classifier, or --model-folder and --cache")
    weights.add_argument("--config", type=Path, help="config.json beside the weights")
    weights.add_argument("--unet", type=Path, help="UNet state_dict (.pt)")
    weights.add_argument("--classifier", type=Path, help="classifier state_dict (.pt)")
    weights.add_argument("--model-folder", type=Path, help="model folder to rebuild the weights from")
    weights.add_argument("--cache", type=Path, help="where the rebuilt weights are kept")
    parser.add_argument("--batch", type=int, nargs="+", default=[16], help="batch sizes, e.g. 16 64")
    parser.add_argument("--variant", choices=VARIANTS, nargs="+", default=["eager"])
    parser.add_argument("--steps", default="ddim50", help='respacing: "50", "ddim50" or "10,20,20"')
    parser.add_argument("--sampler", choices=("ddim", "ddpm"), default="ddim")
    parser.add_argument("--scale", type=float, default=4.0)
    parser.add_argument("--eta", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--flops", action="store_true", help="count the FLOPs of one call of each network")
    parser.add_argument("--matmul-peak", action="store_true", help="time a float32 matrix product on the threads")
    parser.add_argument("--serve", action="store_true",
                        help="answer JSON-lines requests on stdin (--batch and --variant are then ignored)")
    parser.add_argument("--compile-cache", type=Path,
                        help="folder for Inductor's on-disk caches, e.g. .cache/torchinductor")
    args = parser.parse_args(argv)
    from_files = (args.config, args.unet, args.classifier)
    if args.model_folder is not None:
        if args.cache is None or any(path is not None for path in from_files):
            parser.error("--model-folder takes --cache and no --config, --unet or --classifier")
    elif any(path is None for path in from_files):
        parser.error("give --config, --unet and --classifier, or --model-folder and --cache")
    if any(batch < 1 for batch in args.batch) or args.threads < 1:
        parser.error("--batch and --threads take positive integers, e.g. --batch 16 64 --threads 2")
    return args


ModuleT = TypeVar("ModuleT", bound=torch.nn.Module)


def frozen(module: ModuleT) -> ModuleT:
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module.eval()


def variant_of(network: torch.nn.Module, variant: str) -> torch.nn.Module:
    if variant == "channels-last":
        return network.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    if variant == "compile":
        # Static shapes: each batch size gets its own graph and its own cache entry, the same
        # whichever batches ran before. Left to itself, Dynamo recompiles at the second batch
        # size with symbolic shapes, so what `--batch 64` alone compiles and caches differs from
        # what `--batch 16 64` does. OptimizedModule is a Module; torch types the result loosely.
        return torch.compile(network, dynamic=False)  # type: ignore[return-value]
    return network


def run_once(
    config: ModelConfig, unet: torch.nn.Module, classifier: torch.nn.Module, args: argparse.Namespace,
    batch: int, steps: str, channels_last: bool,
) -> tuple[float, Stopwatch, Stopwatch, int]:
    class_cond = config.unet.num_classes is not None
    null_class = config.classes.null_class
    mode: GuidanceMode = "conditional+classifier" if class_cond and null_class is None else "unconditional+classifier"
    diffusion = config.diffusion.build(steps)
    generator = torch.Generator().manual_seed(args.seed)
    size, channels = config.unet.image_size, config.unet.in_channels
    y = torch.randint(0, config.classes.count, (batch,), generator=generator)
    x_T = torch.randn(batch, channels, size, size, generator=generator)
    denoise, gradient_fn = guided_functions(
        unet, classifier, mode, y, args.scale, class_cond=class_cond, null_class=null_class
    )
    assert gradient_fn is not None, "a classifier-guided mode binds the classifier's gradient"
    if channels_last:
        plain_denoise, plain_gradient = denoise, gradient_fn

        def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return plain_denoise(x.contiguous(memory_format=torch.channels_last), t)

        def gradient_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return plain_gradient(x.contiguous(memory_format=torch.channels_last), t)

    unet_time, classifier_time = Stopwatch(), Stopwatch()
    start = time.perf_counter()
    with torch.no_grad():
        for _ in sample(
            diffusion, args.sampler, unet_time.wrap(denoise), x_T, clip_denoised=True,
            gradient_fn=classifier_time.wrap(gradient_fn), eta=args.eta, generator=generator,
        ):
            pass
    return time.perf_counter() - start, unet_time, classifier_time, diffusion.num_timesteps


def timed_runs(config: ModelConfig, unet_path: Path, classifier_path: Path, args: argparse.Namespace) -> list[dict]:
    runs = []
    for variant in args.variant:
        # Fresh modules per variant: channels-last converts them in place.
        unet, classifier = load_models(config, unet_path, classifier_path)
        assert classifier is not None, "the reference samples with the classifier's guidance"
        unet_variant, classifier_variant = variant_of(frozen(unet), variant), variant_of(frozen(classifier), variant)
        for batch in args.batch:
            channels_last = variant == "channels-last"
            warmup_s, *_ = run_once(config, unet_variant, classifier_variant, args, batch, WARMUP_STEPS, channels_last)
            timed = run_once(config, unet_variant, classifier_variant, args, batch, args.steps, channels_last)
            total, unet_time, classifier_time, steps = timed
            runs.append({
                "variant": variant,
                "batch": batch,
                "seconds_per_image": total / batch,
                "unet_ms_per_step": unet_time.ms_per_call,
                "classifier_ms_per_step": classifier_time.ms_per_call,
                "total_s": total,
                "warmup_s": warmup_s,
                "steps": steps,
            })
    return runs


def flops_per_image(config: ModelConfig, unet: torch.nn.Module, classifier: torch.nn.Module) -> dict[str, int]:
    size, channels = config.unet.image_size, config.unet.in_channels
    x = torch.randn(1, channels, size, size)
    t = torch.tensor([500])
    y = torch.tensor([0])
    counts = {}
    with FlopCounterMode(display=False) as counter:
        with torch.no_grad():
            unet(x, t, y if config.unet.num_classes is not None else None)
    counts["unet_per_image"] = counter.get_total_flops()
    # backward() rather than autograd.grad: the counter's module hooks do not support the latter.
    x.requires_grad_(True)
    with FlopCounterMode(display=False) as counter:
        torch.log_softmax(classifier(x, t), dim=-1).gather(1, y[:, None]).sum().backward()
    counts["classifier_gradient_per_image"] = counter.get_total_flops()
    return counts


def matmul_peak(size: int = MATMUL_SIZE, repeats: int = 8) -> float:
    """FLOP/s of the fastest of `repeats` float32 size×size matrix products, after one untimed."""
    generator = torch.Generator().manual_seed(0)
    a, b = torch.randn(size, size, generator=generator), torch.randn(size, size, generator=generator)
    out = torch.empty(size, size)
    torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def weight_files(args: argparse.Namespace) -> tuple[Path, Path, Path, dict[str, Any]]:
    """config.json, the UNet's and the classifier's state_dicts, and (when rebuilt) where they came from."""
    if args.model_folder is None:
        return args.config, args.unet, args.classifier, {}
    weights = cached_or_rebuilt(args.model_folder, args.cache)
    return weights.config, weights.unet, weights.classifier, {"weights": {
        "folder": str(weights.folder), "reused": weights.reused,
        "unet_relative_error": weights.unet_relative_error,
        "classifier_relative_error": weights.classifier_relative_error,
    }}


def reference_server(args: argparse.Namespace) -> tuple[ReferenceServer, dict[str, Any]]:
    config_path, unet_path, classifier_path, about = weight_files(args)
    config = read_config(config_path)

    def run_sampling(
        unet: torch.nn.Module, classifier: torch.nn.Module, batch: int, steps: str, channels_last: bool
    ) -> SamplingRun:
        total, unet_time, classifier_time, step_count = run_once(
            config, unet, classifier, args, batch, steps, channels_last
        )
        return SamplingRun(total, unet_time.ms_per_call, classifier_time.ms_per_call, step_count)

    server = ReferenceServer(
        config, unet_path, classifier_path, steps=args.steps, warmup_steps=WARMUP_STEPS, variants=VARIANTS,
        prepare=lambda network, variant: variant_of(frozen(network), variant), run_sampling=run_sampling,
        flops=flops_per_image, matmul_peak=matmul_peak,
    )
    server.networks_of("eager")  # now, so that weights that do not load are reported on the ready line
    return server, {**about, "compile_cache_folder": str(args.compile_cache) if args.compile_cache else None}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.compile_cache is not None:
        args.compile_cache = use_compile_cache(args.compile_cache)
    if args.serve:
        return serve_stdio(lambda: reference_server(args), args)
    config_path, unet_path, classifier_path, report = weight_files(args)
    config = read_config(config_path)
    runs = timed_runs(config, unet_path, classifier_path, args)
    first = runs[0]
    report = {
        **{key: first[key] for key in ("seconds_per_image", "unet_ms_per_step", "classifier_ms_per_step", "total_s")},
        "batch": first["batch"],
        "steps": first["steps"],
        "sampler": args.sampler,
        "mode": "conditional+classifier" if config.unet.num_classes is not None and config.classes.null_class is None
        else "unconditional+classifier",
        "threads": args.threads,
        "runs": runs,
        **report,
    }
    if args.flops:
        unet, classifier = load_models(config, unet_path, classifier_path)
        assert classifier is not None, "the reference samples with the classifier's guidance"
        report["flops"] = flops_per_image(config, frozen(unet), frozen(classifier))
    if args.matmul_peak:
        report["matmul_peak_flops_per_s"] = matmul_peak()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
