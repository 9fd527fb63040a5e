"""Sample-quality metrics in NumPy and SciPy alone: the independent reference the studio's
metrics are checked against, and what the built-in model's quality report measures with.

They follow the reference evaluator of guided-diffusion: ``np.cov`` statistics and
``scipy.linalg.sqrtm`` of Σ₁Σ₂ for FID, squared Euclidean k-NN radii for precision and
recall (Kynkäänniemi et al. 2019), the evaluator's splits of 5,000 for the Inception Score,
density and coverage after Naeem et al. 2020.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy import linalg

CHUNK = 1024


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of [N, D] features, in float64."""
    x = np.asarray(features, dtype=np.float64)
    return x.mean(axis=0), np.cov(x, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """‖μ₁−μ₂‖² + tr(Σ₁ + Σ₂ − 2(Σ₁Σ₂)^½) (Heusel et al. 2017)."""
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    covmean = np.real(covmean)
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    return frechet_distance(*statistics(features_a), *statistics(features_b))


def _distance_chunks(rows: np.ndarray, cols: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """Squared Euclidean distances ‖r‖² + ‖c‖² − 2 r·c of `rows` to `cols` in float64, CHUNK rows at a time."""
    rows, cols = rows.astype(np.float64), cols.astype(np.float64)
    col_norms = np.einsum("ij,ij->i", cols, cols)
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        distances = np.einsum("ij,ij->i", chunk, chunk)[:, None] + col_norms[None, :] - 2 * chunk @ cols.T
        yield start, np.maximum(distances, 0)


def radii(features: np.ndarray, k: int) -> np.ndarray:
    """Squared distance of each point to its k-th nearest other point (index 0 is the point itself)."""
    out = np.empty(len(features))
    for start, distances in _distance_chunks(features, features):
        out[start : start + len(distances)] = np.partition(distances, k, axis=1)[:, k]
    return out


def _coverage(manifold: np.ndarray, manifold_radii: np.ndarray, queries: np.ndarray) -> float:
    """Fraction of queries inside at least one ball of the manifold."""
    inside = 0
    for _, distances in _distance_chunks(queries, manifold):
        inside += int(np.any(distances <= manifold_radii[None, :], axis=1).sum())
    return inside / len(queries)


def precision_recall(
    reference: np.ndarray, generated: np.ndarray, k: int = 3, reference_radii: np.ndarray | None = None
) -> tuple[float, float]:
    """Precision: generated samples inside the reference manifold; recall: the converse.
    `reference_radii` (``radii(reference, k)``) can be passed in when many sets meet one reference."""
    if reference_radii is None:
        reference_radii = radii(reference, k)
    precision = _coverage(reference, reference_radii, generated)
    recall = _coverage(generated, radii(generated, k), reference)
    return precision, recall


def inception_score(logits: np.ndarray, split_size: int = 5000) -> float:
    """The Inception Score as guided-diffusion's ``evaluations/evaluator.py`` computes it: softmax
    of the logits; for each run of ``split_size`` rows in the given (drawing) order, the last one
    shorter, exp(mean over rows of KL(p(y|x) ‖ mean p(y))); the plain mean of those scores."""
    x = np.asarray(logits, dtype=np.float64)
    x = x - x.max(axis=1, keepdims=True)
    preds = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    scores = []
    for i in range(0, len(preds), split_size):
        part = preds[i : i + split_size]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        kl = np.mean(np.sum(kl, 1))
        scores.append(np.exp(kl))
    return float(np.mean(scores))


def inception_split_sizes(count: int, split_size: int = 5000) -> list[int]:
    return [min(split_size, count - i) for i in range(0, count, split_size)]


def density_coverage(reference: np.ndarray, generated: np.ndarray, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020) with the reference's k-NN balls:
    density = 1/(kM) Σⱼ Σᵢ 1[Yⱼ ∈ B(Xᵢ, NND_k(Xᵢ))], coverage = 1/N Σᵢ 1[∃ j: Yⱼ ∈ B(Xᵢ, NND_k(Xᵢ))]."""
    reference_radii = radii(reference, k)
    balls = 0
    covered = np.zeros(len(reference), dtype=bool)
    for _, distances in _distance_chunks(generated, reference):
        inside = distances <= reference_radii[None, :]
        balls += int(inside.sum())
        covered |= inside.any(axis=0)
    return balls / (k * len(generated)), float(covered.mean())
