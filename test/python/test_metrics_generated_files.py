"""The committed metric fixtures and linear-algebra graphs are what their generators write."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from studio_tools.metrics import fixtures, linalg_graphs, numpy_reference

REPO = Path(__file__).resolve().parents[2]


def test_committed_fixtures_are_reproducible(tmp_path: Path) -> None:
    fixtures.build(tmp_path)
    committed = REPO / "test" / "fixtures" / "metrics"
    assert json.loads((tmp_path / "expected.json").read_text()) == json.loads((committed / "expected.json").read_text())
    for path in tmp_path.glob("*.npy"):
        np.testing.assert_array_equal(np.load(path), np.load(committed / path.name))


def test_fixture_fid_of_a_set_against_itself_is_zero() -> None:
    x = np.random.default_rng(0).standard_normal((100, 8))
    mu, sigma = numpy_reference.statistics(x)
    assert abs(numpy_reference.frechet_distance(mu, sigma, mu, sigma)) < 1e-9


def test_precision_recall_do_not_depend_on_the_chunk_size(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    reference, generated = rng.standard_normal((60, 5)), rng.standard_normal((45, 5)) + 0.3
    whole = numpy_reference.precision_recall(reference, generated, k=3)
    monkeypatch.setattr(numpy_reference, "CHUNK", 7)
    assert numpy_reference.precision_recall(reference, generated, k=3) == whole
    assert 0 < whole[0] < 1 and 0 < whole[1] < 1


LINALG_GRAPHS = REPO / "electron" / "inference" / "linalg-graphs"


def test_committed_linalg_graphs_are_current() -> None:
    assert sorted(path.name for path in LINALG_GRAPHS.glob("*.onnx")) == sorted(linalg_graphs.graph_bytes())
    for name, data in linalg_graphs.graph_bytes().items():
        assert (LINALG_GRAPHS / name).read_bytes() == data, f"{name} is stale; run python -m studio_tools linalg-graphs"


def test_the_generator_writes_the_graphs_into_a_folder(tmp_path: Path) -> None:
    assert linalg_graphs.main([str(tmp_path / "graphs")]) == 0
    for name, data in linalg_graphs.graph_bytes().items():
        assert (tmp_path / "graphs" / name).read_bytes() == data
        onnx.checker.check_model(onnx.load(tmp_path / "graphs" / name), full_check=True)
