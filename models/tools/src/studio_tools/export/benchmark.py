"""Export figures for a full-size released architecture with random weights.

    python -m studio_tools.export.benchmark --preset 64 --graph unet --out /tmp/bench

Prints export time, file sizes, peak resident memory of this process (one graph per
run, so the figure is that graph's) and the onnxruntime-vs-PyTorch error.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from ..adm import ClassifierConfig, UNetConfig
from ..convert.presets import preset_named
from .gradient import LogProbGradient
from .onnx_graphs import export_classifier_grad, export_unet, export_unet_fp16
from .random_weights import randomize

GRAPHS = ("unet", "unet-fp16", "classifier")


def peak_memory_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def _timed(figures: dict[str, float]) -> Iterator[None]:
    """Wall-clock and CPU seconds: on a shared machine the CPU figure is the one that carries over."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    figures["export_wall_s"] = time.perf_counter() - wall
    figures["export_cpu_s"] = time.process_time() - cpu


def _inputs(size: int, channels: int, batch: int, classes: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        "x": rng.standard_normal((batch, channels, size, size), dtype=np.float32),
        "t": rng.integers(0, 1000, batch).astype(np.int64),
        "y": rng.integers(0, classes, batch).astype(np.int64),
    }


def run(preset_name: str, graph: str, out: Path, batch: int) -> dict[str, float]:
    preset = preset_named(preset_name)
    out.mkdir(parents=True, exist_ok=True)
    figures: dict[str, float] = {}
    if graph == "classifier":
        config = ClassifierConfig.from_flags(preset.classifier_flags)
        model = randomize(config.build())
        with _timed(figures):
            exported = export_classifier_grad(
                model, out / "classifier_grad.onnx", image_size=config.image_size, channels=config.in_channels,
                num_classes=config.out_channels,
            )
        feeds = _inputs(config.image_size, config.in_channels, batch, config.out_channels)
        grad, logits = LogProbGradient(model)(*(torch.from_numpy(v) for v in feeds.values()))
        got_grad, got_logits = ort.InferenceSession(str(exported.path)).run(None, feeds)
        figures["grad_error_rel_norm"] = float(np.abs(got_grad - grad.numpy()).max() / np.linalg.norm(grad.numpy()))
        figures["logits_max_abs_error"] = float(np.abs(got_logits - logits.numpy()).max())
    else:
        unet_config = UNetConfig.from_flags(preset.diffusion_flags)
        model = randomize(unet_config.build())
        export = export_unet if graph == "unet" else export_unet_fp16
        with _timed(figures):
            exported = export(model, out / ("unet.onnx" if graph == "unet" else "unet_fp16.onnx"))
        feeds = _inputs(unet_config.image_size, unet_config.in_channels, batch, unet_config.num_classes or 1)
        if unet_config.num_classes is None:
            del feeds["y"]
        with torch.no_grad():
            expected = model(*(torch.from_numpy(v) for v in feeds.values())).numpy()
        try:
            (got,) = ort.InferenceSession(str(exported.path)).run(None, feeds)
            figures["out_max_abs_error"] = float(np.abs(got - expected).max())
        except Exception as error:  # noqa: BLE001 - a CPU build may lack float16 kernels; report, do not fail
            print(f"onnxruntime could not run {exported.path.name} here: {str(error).splitlines()[0]}")
    for path in exported.files:
        figures[f"{path.name}_MiB"] = path.stat().st_size / 2**20
    figures["peak_rss_MiB"] = peak_memory_mib()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="64")
    parser.add_argument("--graph", choices=GRAPHS, default="unet")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args(argv)
    for name, value in run(args.preset, args.graph, args.out, args.batch).items():
        print(f"{args.preset} {args.graph} {name}: {value:.4g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
