"""Exports Inception-v3 as a model folder's evaluator graph (docs/model-format.md).

The graph takes the model's images, [B, C, H, W] in [-1, 1], resizes them bilinearly to
299×299 (grey images are repeated to three channels) and returns the 2048-dimensional pool
features (``features``, for FID and precision/recall) and the class logits (``logits``, for
the Inception Score).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .inception import INPUT_SIZE, InceptionV3

OPSET = 17


class EvaluatorGraph(nn.Module):
    def __init__(self, network: InceptionV3, channels: int, input_size: int = INPUT_SIZE) -> None:
        super().__init__()
        if channels not in (1, 3):
            raise ValueError(
                f"Inception-v3 reads RGB images; a model with {channels} channels cannot be evaluated with it."
            )
        self.network = network
        self.channels = channels
        self.input_size = input_size

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.channels == 1:
            x = x.repeat(1, 3, 1, 1)
        x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        return self.network(x)


def export_evaluator(network: InceptionV3, out_path: Path, image_size: int, channels: int,
                     input_size: int = INPUT_SIZE) -> Path:
    """Writes the evaluator ONNX graph (input ``x``, outputs ``features`` and ``logits``, dynamic batch)."""
    graph = EvaluatorGraph(network.eval(), channels, input_size).eval()
    example = torch.zeros(2, channels, image_size, image_size)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            graph, (example,), str(out_path), input_names=["x"], output_names=["features", "logits"],
            dynamic_axes={"x": {0: "batch"}, "features": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=OPSET, dynamo=False,
        )
    return out_path
