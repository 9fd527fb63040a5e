"""The numpy reference's Inception Score follows guided-diffusion's evaluator (splits of 5,000 in
the given order, the last one shorter), and its density and coverage follow Naeem et al. 2020."""

from __future__ import annotations

import numpy as np
import pytest

from studio_tools.metrics import numpy_reference


def confident_logits(labels: np.ndarray, classes: int) -> np.ndarray:
    logits = np.zeros((len(labels), classes))
    logits[np.arange(len(labels)), labels] = 40.0
    return logits


def test_balanced_perfectly_classified_samples_in_drawing_order_score_the_class_count() -> None:
    labels = np.arange(12_000) % 10
    assert numpy_reference.inception_score(confident_logits(labels, 10)) == pytest.approx(10, rel=1e-9)
    assert numpy_reference.inception_split_sizes(12_000) == [5000, 5000, 2000]


def test_the_last_split_is_shorter_and_counts_as_one_split() -> None:
    # 5,000 samples of one class then 1,000 balanced over 10: split scores 1 and 10, mean 5.5.
    labels = np.concatenate([np.zeros(5000, dtype=int), np.arange(1000) % 10])
    assert numpy_reference.inception_score(confident_logits(labels, 10)) == pytest.approx(5.5, rel=1e-9)


def test_density_and_coverage_on_points_on_a_line() -> None:
    # Reference 0, 1, 2, 3 with k = 1: squared radii 1 each. Generated 0.5 lies in the balls of
    # 0 and 1, 10 in none: density = 2 / (1·2) = 1, coverage = 2 of 4 reference balls hold one.
    reference = np.array([[0.0], [1.0], [2.0], [3.0]])
    generated = np.array([[0.5], [10.0]])
    density, coverage = numpy_reference.density_coverage(reference, generated, k=1)
    assert density == pytest.approx(1.0)
    assert coverage == pytest.approx(0.5)


def test_density_and_coverage_do_not_depend_on_the_chunk_size(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    reference, generated = rng.standard_normal((60, 5)), rng.standard_normal((45, 5)) + 0.3
    whole = numpy_reference.density_coverage(reference, generated, k=5)
    monkeypatch.setattr(numpy_reference, "CHUNK", 7)
    assert numpy_reference.density_coverage(reference, generated, k=5) == whole
