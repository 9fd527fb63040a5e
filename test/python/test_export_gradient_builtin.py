"""The built-in classifier_grad.onnx, re-traced with the lean backward decompositions, gives the
outputs of the graph first released, and is the leaner graph."""

from pathlib import Path

import numpy as np
import onnx
import pytest

from studio_tools.export import verify_model_folder
from studio_tools.export.graph_outputs import TIMESTEPS, graph_outputs

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "models" / "fashion-mnist"
GRAPH = FOLDER / "classifier_grad.onnx"
PREVIOUS = ROOT / "test" / "fixtures" / "builtin-classifier-grad" / "previous_graph_outputs.npz"
# The graph traced with PyTorch's core backward table had this many nodes.
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


def test_graph_is_lean_and_its_sha256_is_in_the_manifest() -> None:
    model = onnx.load(str(GRAPH))
    op_types = [node.op_type for node in model.graph.node]
    assert "ConvTranspose" not in op_types and "InstanceNormalization" not in op_types
    assert len(op_types) < 0.75 * PREVIOUS_NODE_COUNT
    verify_model_folder(FOLDER)
