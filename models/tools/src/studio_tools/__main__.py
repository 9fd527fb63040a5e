"""python -m studio_tools COMMAND [ARGS...]: one entry point for the tools' commands.

Each command lives in its own module with a `main(argv) -> int`; add one by naming it below.
Every module here also runs on its own (`python -m studio_tools.quality.report`, …), as the
docs show.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "convert": ("studio_tools.convert.cli", "released guided-diffusion checkpoints → a model folder"),
    "train": ("studio_tools.train.__main__", "train the built-in models"),
    "export-builtin": ("studio_tools.train.export_builtin", "trained Fashion-MNIST runs → the built-in model folder"),
    "export-benchmark": ("studio_tools.export.benchmark", "time an exported preset graph in onnxruntime"),
    "gradient-benchmark": ("studio_tools.export.gradient_benchmark", "time gradient graphs against autograd"),
    "graph-outputs": ("studio_tools.export.graph_outputs", "a gradient graph's outputs on a fixed batch"),
    "metrics": ("studio_tools.metrics.__main__", "evaluator export and reference statistics"),
    "metrics-fixtures": ("studio_tools.metrics.fixtures", "golden metric values from numpy and scipy"),
    "report-scores": ("studio_tools.metrics.builtin_report_scores", "the built-in report's images scored, for tests"),
    "evaluator-fixture": ("studio_tools.metrics.evaluator_fixture", "small model folder with an evaluator, for tests"),
    "linalg-graphs": ("studio_tools.metrics.linalg_graphs", "write the metrics' linear-algebra graphs (.onnx)"),
    "step-graphs": ("studio_tools.export.step_graphs", "write the device sampling path's reverse-step graphs (.onnx)"),
    "fixtures": ("studio_tools.fixtures.golden", "golden sampler fixtures for the TypeScript engine"),
    "quality-report": ("studio_tools.quality.report", "quality report of the built-in model set"),
    "quality-grid": ("studio_tools.quality.grid", "picture grid of the built-in model, a row per class"),
    "bench-reference": ("studio_tools.bench.reference", "time guided sampling in PyTorch, the engine's reference"),
    "bench-imagenet64": ("studio_tools.bench.imagenet64", "time one guided step of the ImageNet 64×64 networks"),
    "bench-gpu-step": ("studio_tools.bench.gpu_step", "time a guided step on a CUDA GPU (eager, compiled; fp32, fp16)"),
    "imagenet-classes": ("studio_tools.data.make_imagenet_classes", "rebuild data/imagenet_classes.json from wheels"),
}


def usage() -> str:
    lines = ["usage: python -m studio_tools COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<20}{summary}" for name, (_, summary) in COMMANDS.items()]
    lines += ["", "python -m studio_tools COMMAND --help shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
