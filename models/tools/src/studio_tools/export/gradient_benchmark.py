"""Two classifier_grad.onnx graphs of one architecture side by side, and PyTorch autograd.

    python -m studio_tools.export.gradient_benchmark --architecture builtin \\
        --graph before=OLD.onnx --graph after=models/fashion-mnist/classifier_grad.onnx --batch 1 16 64

Prints one JSON object: per graph its node count by op type and its onnxruntime
wall and CPU milliseconds per call at each batch size (medians of --repeats after a warm-up), the
kernel time by op type from onnxruntime's profiler at --profile-batch, and
PyTorch eager autograd's milliseconds per call on the same architecture. Timings do
not depend on the weights, so PyTorch runs the architecture with random weights.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch

from ..adm import ClassifierConfig
from ..convert.presets import preset_named
from ..train.architectures import classifier_config
from .gradient import LogProbGradient
from .random_weights import randomize


def architecture(name: str) -> ClassifierConfig:
    if name == "builtin":
        return classifier_config()
    return ClassifierConfig.from_flags(preset_named(name).classifier_flags)


def feeds(config: ClassifierConfig, batch: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(batch)
    return {
        "x": rng.standard_normal((batch, config.in_channels, config.image_size, config.image_size), dtype=np.float32),
        "t": rng.integers(0, 1000, batch).astype(np.int64),
        "y": rng.integers(0, config.out_channels, batch).astype(np.int64),
    }


def node_counts(path: Path) -> dict[str, int]:
    model = onnx.load(str(path), load_external_data=False)
    counts = collections.Counter(node.op_type for node in model.graph.node)
    return {"total": sum(counts.values()), **dict(counts.most_common())}


def _median_ms(call: Callable[[], object], repeats: int) -> dict[str, float]:
    """Median wall and CPU milliseconds of ``call`` after one warm-up call.

    On a shared machine the wall figure is mostly the wait for a core; the CPU figure
    (this process, all threads) is the work done and carries over between machines.
    """
    call()
    wall, cpu = [], []
    for _ in range(repeats):
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - wall_start) * 1000)
        cpu.append((time.process_time() - cpu_start) * 1000)
    return {"wall": round(statistics.median(wall), 2), "cpu": round(statistics.median(cpu), 2)}


def _session(path: Path, threads: int, profile_prefix: str | None = None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle threads that spin would count as CPU time without doing work.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def kernel_time_by_op(path: Path, values: dict[str, np.ndarray], threads: int, repeats: int) -> dict[str, float]:
    """Share of the kernel time per op type over ``repeats`` profiled calls."""
    session = _session(path, threads, profile_prefix=f"/tmp/{path.stem}-profile")
    session.run(None, values)
    for _ in range(repeats):
        session.run(None, values)
    events = json.loads(Path(session.end_profiling()).read_text())
    totals: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and str(event.get("name", "")).endswith("_kernel_time"):
            totals[event["args"]["op_name"]] += event["dur"]
    whole = sum(totals.values())
    return {op: round(100 * us / whole, 1) for op, us in totals.most_common()}


def run(
    config: ClassifierConfig,
    graphs: dict[str, Path],
    batches: list[int],
    profile_batch: int,
    threads: int,
    repeats: int,
) -> dict[str, Any]:
    torch.set_num_threads(threads)
    report: dict[str, Any] = {"threads": threads, "batches": batches, "graphs": {}}
    for name, path in graphs.items():
        session = _session(path, threads)

        def infer(batch: int, session: ort.InferenceSession = session) -> None:
            session.run(None, feeds(config, batch))

        report["graphs"][name] = {
            "file_MiB": round(path.stat().st_size / 2**20, 2),
            "nodes": node_counts(path),
            "ms_per_call": {b: _median_ms(partial(infer, b), repeats) for b in batches},
            f"kernel_time_percent_at_batch_{profile_batch}": kernel_time_by_op(
                path, feeds(config, profile_batch), threads, repeats
            ),
        }
    gradient = LogProbGradient(randomize(config.build()))

    def autograd(batch: int) -> None:
        values = {k: torch.from_numpy(v) for k, v in feeds(config, batch).items()}
        gradient(values["x"], values["t"], values["y"])

    eager = {b: _median_ms(partial(autograd, b), repeats) for b in batches}
    report["torch_autograd_eager_ms_per_call"] = eager
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--architecture", default="builtin", help="builtin, or a converter preset name (64, 128, …)")
    parser.add_argument("--graph", action="append", required=True, metavar="NAME=PATH")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--profile-batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    graphs = {}
    for entry in args.graph:
        name, separator, path = entry.partition("=")
        if not separator or not Path(path).is_file():
            parser.error(f"--graph takes NAME=PATH of an existing .onnx file, got {entry!r}")
        graphs[name] = Path(path)
    report = run(architecture(args.architecture), graphs, args.batch, args.profile_batch, args.threads, args.repeats)
    json.dump(report, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
