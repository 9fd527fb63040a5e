"""A classifier_grad.onnx's outputs on a fixed batch, kept to compare a re-export against.

    python -m studio_tools.export.graph_outputs models/fashion-mnist/classifier_grad.onnx OUT.npz

The batch is two images per timestep t ∈ {0, 100, 300, 500, 700, 999}, x ~ N(0, 1) from a
fixed seed, with classes 0, 1, 2, …; the file holds x, t, y, grad and logits.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnxruntime as ort

TIMESTEPS = (0, 100, 300, 500, 700, 999)
IMAGES_PER_TIMESTEP = 2


def fixed_batch(image_size: int, channels: int, num_classes: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20211)
    count = len(TIMESTEPS) * IMAGES_PER_TIMESTEP
    return {
        "x": rng.standard_normal((count, channels, image_size, image_size), dtype=np.float32),
        "t": np.repeat(np.array(TIMESTEPS, dtype=np.int64), IMAGES_PER_TIMESTEP),
        "y": (np.arange(count) % num_classes).astype(np.int64),
    }


def graph_outputs(path: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    options = ort.SessionOptions()
    # One thread: float32 reductions then sum in one order, run after run.
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    grad, logits = session.run(["grad", "logits"], feeds)
    return {"grad": grad, "logits": logits}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("graph", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--classes", type=int, default=10)
    args = parser.parse_args(argv)
    session = ort.InferenceSession(str(args.graph), providers=["CPUExecutionProvider"])
    _, channels, size, _ = session.get_inputs()[0].shape
    feeds = fixed_batch(int(size), int(channels), args.classes)
    arrays: dict[str, np.ndarray] = {**feeds, **graph_outputs(args.graph, feeds)}
    np.savez_compressed(args.out, allow_pickle=False, **arrays)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
