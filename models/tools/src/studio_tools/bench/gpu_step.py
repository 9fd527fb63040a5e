"""One classifier-guided step of the released architectures on a CUDA GPU, timed in PyTorch.

    python -m studio_tools bench-gpu-step [--batch 1 16 64] [--repeats 10]

builds the UNet and the classifier of the 64×64 preset (random weights from a fixed seed) and
times one guided step (the UNet forward pass and the classifier gradient s·∇ₓ log p(y | xₜ))
per batch size in float32 and float16, eagerly and under ``torch.compile``; then the 256×256
preset at batch 4. Each figure is the median of ``--repeats`` steps after warm-up steps. The
FLOPs of a step come from ``torch.utils.flop_counter`` and the GPU's own rate from a large
matrix product in each precision, so every row reads as a share of what the GPU reaches.
It prints one JSON line::

    {"device": …, "gemm_tflops": {"fp32": …, "fp16": …},
     "rows": [{"preset": "64", "batch": 1, "precision": "fp32", "mode": "eager", "step_s": …,
               "tflops": …, "share_of_gemm": …} | {…, "unavailable": "<reason>"}, …]}

or, where PyTorch has no CUDA device, ``{"unavailable": "<reason>"}`` (and exits 0).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from ..adm import ClassifierConfig, EncoderUNetModel, UNetConfig, UNetModel
from ..convert.presets import preset_named
from ..diffusion import guided_functions
from ..export.random_weights import randomize

UNET_SEED, CLASSIFIER_SEED = 0, 1
#: A mid-schedule timestep: the networks' cost does not depend on it.
TIMESTEP = 500
PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16}


def unavailable_reason() -> str | None:
    """Why this machine cannot run the benchmark, or None when it can."""
    if not torch.cuda.is_available():
        built_with = torch.version.cuda
        if built_with is None:
            return f"PyTorch {torch.__version__} was built without CUDA"
        return f"PyTorch {torch.__version__} (CUDA {built_with}) finds no CUDA device"
    return None


def networks(preset_name: str) -> tuple[UNetModel, EncoderUNetModel]:
    preset = preset_named(preset_name)
    unet = UNetConfig.from_flags(dict(preset.diffusion_flags)).build()
    classifier = ClassifierConfig.from_flags(dict(preset.classifier_flags)).build()
    randomize(unet, seed=UNET_SEED)
    randomize(classifier, seed=CLASSIFIER_SEED)
    return unet.eval(), classifier.eval()


def guided_step(unet: Any, classifier: Any, batch: int, dtype: torch.dtype, scale: float) -> Callable[[], None]:
    """One guided step on fixed inputs: the UNet's ε (no gradient) and s·∇ₓ log p(y | xₜ)."""
    generator = torch.Generator().manual_seed(batch)
    size, channels = unet.image_size, unet.in_channels
    x = torch.randn(batch, channels, size, size, generator=generator).to("cuda", dtype)
    t = torch.full((batch,), TIMESTEP, dtype=torch.int64, device="cuda")
    y = torch.randint(0, unet.num_classes or 1000, (batch,), generator=generator).to("cuda")
    denoise, gradient = guided_functions(unet, classifier, "conditional+classifier", y, scale,
                                         class_cond=unet.num_classes is not None, null_class=None)
    assert gradient is not None, "a classifier-guided mode binds the classifier's gradient"

    def step() -> None:
        with torch.no_grad():
            denoise(x, t)
        gradient(x, t)

    return step


def seconds_per_step(step: Callable[[], None], warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def step_flops(step: Callable[[], None]) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return int(counter.get_total_flops())


def gemm_tflops(dtype: torch.dtype, size: int = 8192, repeats: int = 10) -> float:
    """The GPU's rate on a large square matrix product: the reference each row is a share of."""
    a = torch.randn(size, size, device="cuda", dtype=dtype)
    b = torch.randn(size, size, device="cuda", dtype=dtype)

    def product() -> None:
        torch.matmul(a, b)

    seconds = seconds_per_step(product, warmup=3, repeats=repeats)
    return 2 * size**3 / seconds / 1e12


def time_row(preset: str, unet: Any, classifier: Any, batch: int, precision: str, mode: str, repeats: int,
             gemm: dict[str, float]) -> dict[str, Any]:
    row: dict[str, Any] = {"preset": preset, "batch": batch, "precision": precision, "mode": mode}
    try:
        step = guided_step(unet, classifier, batch, PRECISIONS[precision], preset_named(preset).scale)
        flops = step_flops(step)
        # torch.compile's first calls compile; more warm-up keeps that out of the figure.
        seconds = seconds_per_step(step, warmup=3 if mode == "eager" else 6, repeats=repeats)
    except Exception as error:  # noqa: BLE001 - a row that cannot run says why and the others go on
        return {**row, "unavailable": f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"}
    tflops = flops / seconds / 1e12
    return {**row, "step_s": seconds, "tflops": tflops, "share_of_gemm": tflops / gemm[precision]}


def rows_for(preset: str, batches: list[int], repeats: int, gemm: dict[str, float],
             compiled: bool) -> list[dict[str, Any]]:
    unet32, classifier32 = networks(preset)
    rows = []
    for precision, dtype in PRECISIONS.items():
        unet = unet32.to("cuda", dtype)
        classifier = classifier32.to("cuda", dtype)
        modes: dict[str, tuple[Any, Any]] = {"eager": (unet, classifier)}
        if compiled:
            modes["compile"] = (torch.compile(unet), torch.compile(classifier))
        for mode, (unet_fn, classifier_fn) in modes.items():
            rows += [time_row(preset, unet_fn, classifier_fn, batch, precision, mode, repeats, gemm)
                     for batch in batches]
        unet32, classifier32 = unet.float(), classifier.float()
    del unet32, classifier32
    torch.cuda.empty_cache()
    return rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m studio_tools bench-gpu-step",
                                     description="Time one guided step of the released architectures on a CUDA GPU.")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 16, 64], help="batch sizes of the 64×64 preset")
    parser.add_argument("--large-batch", type=int, default=4, help="batch size of the 256×256 preset")
    parser.add_argument("--repeats", type=int, default=10, help="timed steps per row (the median is kept)")
    parser.add_argument("--no-compile", action="store_true", help="leave out the torch.compile rows")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if any(b < 1 for b in [*args.batch, args.large_batch]) or args.repeats < 1:
        raise SystemExit("bench-gpu-step: --batch, --large-batch and --repeats take positive integers")
    reason = unavailable_reason()
    if reason is not None:
        print(json.dumps({"unavailable": reason}))
        return 0
    torch.backends.cudnn.benchmark = True
    gemm = {precision: gemm_tflops(dtype) for precision, dtype in PRECISIONS.items()}
    rows = rows_for("64", args.batch, args.repeats, gemm, compiled=not args.no_compile)
    rows += rows_for("256", [args.large_batch], args.repeats, gemm, compiled=False)
    device = torch.cuda.get_device_name()
    print(json.dumps({"device": device, "torch": torch.__version__, "gemm_tflops": gemm, "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
