"""Each converted graph run once in onnxruntime beside the PyTorch network it came from.

Two samples, at both ends of the schedule (t = 0 and t = 999), are enough to catch a graph
that computes something else; the exporter tests hold the precision over many more inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from ..export import LogProbGradient

# Largest difference allowed, relative to the largest reference value (at least 1).
FLOAT32_TOLERANCE = 1e-3
# Float16 keeps about three significant digits; this catches overflow and a wrong cast, not rounding.
FLOAT16_TOLERANCE = 5e-2
TIMESTEPS = (0, 999)


class ParityError(ValueError):
    """A converted graph that does not compute what the checkpoint's network computes."""


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    # The basic rewrites load a full-size graph in a fraction of the time of all of them, and change no result.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def probe_inputs(image_size: int, channels: int, num_classes: int | None, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    batch = len(TIMESTEPS)
    values: dict[str, np.ndarray] = {
        "x": rng.standard_normal((batch, channels, image_size, image_size), dtype=np.float32),
        "t": np.array(TIMESTEPS, dtype=np.int64),
    }
    if num_classes is not None:
        values["y"] = rng.integers(0, num_classes, batch).astype(np.int64)
    return values


def _refuse_if_apart(name: str, got: np.ndarray, expected: np.ndarray, tolerance: float, scale: float) -> float:
    error = float(np.abs(got.astype(np.float64) - expected).max()) if np.isfinite(got).all() else float("inf")
    allowed = tolerance * max(1.0, scale)
    if not error <= allowed:
        raise ParityError(
            f"{name} disagrees with the PyTorch network (largest difference {error:.3g}, at most {allowed:.3g} "
            f"allowed), so no manifest was written; the export went wrong: report it with the checkpoint's name "
            f"and the preset"
        )
    return error


@dataclass(frozen=True)
class UNetReference:
    """The PyTorch network's output on the probe inputs, computed once for every UNet graph made from it."""

    inputs: dict[str, np.ndarray]
    output: np.ndarray


def unet_reference(unet: nn.Module, *, image_size: int, channels: int, num_classes: int | None) -> UNetReference:
    values = probe_inputs(image_size, channels, num_classes)
    with torch.no_grad():
        expected = unet(*(torch.from_numpy(v) for v in values.values())).double().numpy()
    return UNetReference(values, expected)


def check_unet(reference: UNetReference, path: Path, *, tolerance: float = FLOAT32_TOLERANCE) -> float:
    """The largest difference between the graph's output and the network's on the probe inputs."""
    (got,) = _session(path).run(None, reference.inputs)
    return _refuse_if_apart(path.name, got, reference.output, tolerance, float(np.abs(reference.output).max()))


def check_classifier_gradient(classifier: nn.Module, path: Path, *, image_size: int, channels: int,
                              num_classes: int) -> float:
    """The largest difference of the gradient, relative to its norm, and refuses the logits if they differ."""
    values = probe_inputs(image_size, channels, num_classes)
    grad, logits = LogProbGradient(classifier.eval())(*(torch.from_numpy(v) for v in values.values()))
    got_grad, got_logits = _session(path).run(None, values)
    expected_logits = logits.double().numpy()
    _refuse_if_apart(f"{path.name} (logits)", got_logits, expected_logits, FLOAT32_TOLERANCE,
                     float(np.abs(expected_logits).max()))
    expected_grad = grad.double().numpy()
    # The gradient is compared against its norm: its entries are small where the image is large.
    norm = float(np.linalg.norm(expected_grad))
    return _refuse_if_apart(f"{path.name} (gradient)", got_grad / max(norm, 1e-30), expected_grad / max(norm, 1e-30),
                            FLOAT32_TOLERANCE, 0.0)
