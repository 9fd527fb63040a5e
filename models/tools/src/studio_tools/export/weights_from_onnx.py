"""A noisy classifier's PyTorch weights read back out of an exported classifier_grad.onnx.

The export folds some weights into other shapes (a linear layer's transpose, a norm's
scale as [C, 1, 1]), so the initializers do not map onto the parameters by name. The
map is found by exporting the same architecture once with every parameter entry set to
its own index: each initializer that holds only such indices says which entries it
carries, and where.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from ..adm import ClassifierConfig, EncoderUNetModel
from . import onnx_graphs
from .gradient import trace_log_prob_gradient

# float32 holds every integer up to 2²⁴ exactly.
MAX_LABELLED_ENTRIES = 2**24 - 1


def _label_entries(model: torch.nn.Module) -> int:
    """Set entry j of the flattened parameters to j + 1; returns the entry count."""
    count = 0
    with torch.no_grad():
        for parameter in model.parameters():
            n = parameter.numel()
            parameter.copy_(torch.arange(count + 1, count + 1 + n, dtype=torch.float64).reshape(parameter.shape))
            count += n
    return count


def _initializers(path: Path) -> dict[str, np.ndarray]:
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}


def _labelled_graph(config: ClassifierConfig, lean: bool, folder: Path) -> tuple[dict[str, np.ndarray], int]:
    model = config.build().eval()
    count = _label_entries(model)
    if count > MAX_LABELLED_ENTRIES:
        raise ValueError(f"the classifier has {count:,} weights; at most {MAX_LABELLED_ENTRIES:,} can be labelled")
    example = onnx_graphs._example_inputs(config.image_size, config.in_channels, 2, config.out_channels)
    graph = trace_log_prob_gradient(model, example, lean=lean)
    path = folder / "labelled.onnx"
    onnx_graphs._save(graph, example, path, ("x", "t", "y"), ("grad", "logits"))
    return _initializers(path), count


def classifier_from_gradient_graph(path: Path, config: ClassifierConfig, *, lean: bool) -> EncoderUNetModel:
    """The classifier whose weights the graph at ``path`` holds; ``lean`` names the table it was traced with.

    Raises ValueError when the graph's initializers do not fit the architecture or miss weights.
    """
    stored = _initializers(path)
    with tempfile.TemporaryDirectory() as folder:
        labelled, count = _labelled_graph(config, lean, Path(folder))
    entries = np.full(count + 1, np.nan, dtype=np.float32)
    for name, labels in labelled.items():
        if labels.dtype != np.float32 or labels.size < 2 or not np.all(labels == np.round(labels)):
            continue
        if labels.min() < 1 or labels.max() > count or len(np.unique(labels)) != labels.size:
            continue
        if name not in stored or stored[name].shape != labels.shape:
            raise ValueError(f"{path} has no initializer {name} of shape {labels.shape}: not this architecture's graph")
        index = labels.astype(np.int64).ravel()
        values = stored[name].ravel()
        seen = ~np.isnan(entries[index])
        if np.any(entries[index][seen] != values[seen]):
            raise ValueError(f"{path}: initializer {name} disagrees with another copy of the same weights")
        entries[index] = values
    missing = int(np.isnan(entries[1:]).sum())
    if missing:
        raise ValueError(f"{path} does not hold {missing:,} of the classifier's {count:,} weights")
    model = config.build()
    start = 1
    with torch.no_grad():
        for parameter in model.parameters():
            n = parameter.numel()
            parameter.copy_(torch.from_numpy(entries[start : start + n].reshape(parameter.shape)))
            start += n
    return model.eval()
