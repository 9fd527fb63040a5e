"""The built-in classifier_grad.onnx, re-traced with the lean backward decompositions, gives the
outputs of the graph first released, and is the leaner graph."""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from studio_tools.export import verify_model_folder
from studio_tools.export.graph_outputs import TIMESTEPS, graph_outputs
from studio_tools.train.architectures import classifier_config

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "models" / "fashion-mnist"
GRAPH = FOLDER / "classifier_grad.onnx"
PREVIOUS = ROOT / "test" / "fixtures" / "builtin-classifier-grad" / "previous_graph_outputs.npz"
# The graph traced with PyTorch's core backward table had this many nodes, and onnxruntime ran as many.
PREVIOUS_NODE_COUNT = 1367


@pytest.fixture(scope="module")
def previous_and_current() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    with np.load(PREVIOUS) as stored:
        previous = dict(stored)
    current = graph_outputs(GRAPH, {name: previous[name] for name in ("x", "t", "y")})
    return previous, current


@pytest.mark.parametrize("t", TIMESTEPS)
def test_gradient_equals_the_previous_graphs_at_every_timestep(previous_and_current, t: int) -> None:
    previous, current = previous_and_current
    rows = previous["t"] == t
    expected, got = previous["grad"][rows], current["grad"][rows]
    assert rows.sum() >= 2 and np.abs(expected).max() > 0
    assert np.abs(got - expected).max() <= 1e-5 * np.abs(expected).max()


def test_logits_equal_the_previous_graphs(previous_and_current) -> None:
    previous, current = previous_and_current
    expected = previous["logits"]
    assert np.abs(current["logits"] - expected).max() <= 1e-5 * np.abs(expected).max()


def nodes_onnxruntime_runs(path: Path, folder: Path) -> list[str]:
    """The op types left after onnxruntime's portable optimisations (constant folding among them)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folder / "basic.onnx")
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return [node.op_type for node in onnx.load(str(folder / "basic.onnx")).graph.node]


def test_graph_is_lean_and_its_sha256_is_in_the_manifest(tmp_path: Path) -> None:
    op_types = [node.op_type for node in onnx.load(str(GRAPH)).graph.node]
    assert "ConvTranspose" not in op_types and "InstanceNormalization" not in op_types
    # The file rearranges the stored kernels in the graph, which onnxruntime folds into
    # constants when it creates the session: what is run is what counts.
    assert len(nodes_onnxruntime_runs(GRAPH, tmp_path)) < 0.75 * PREVIOUS_NODE_COUNT
    verify_model_folder(FOLDER)


def test_graph_stores_each_weight_once() -> None:
    model = onnx.load(str(GRAPH))
    # The kernels and matrices (float, rank ≥ 2), not the shapes and scalars.
    weights = [a for a in map(numpy_helper.to_array, model.graph.initializer) if a.dtype == np.float32 and a.ndim >= 2]
    values = [np.sort(a.ravel()).tobytes() for a in weights]
    assert len(set(values)) == len(values), "a weight is stored twice"
    assert sum(a.size for a in weights) <= sum(p.numel() for p in classifier_config().build().parameters())
