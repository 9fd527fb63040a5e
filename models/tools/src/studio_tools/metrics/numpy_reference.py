"""Sample-quality metrics in NumPy and SciPy alone: the independent reference the studio's
metrics are checked against, and what the built-in model's quality report measures with.

They follow the reference evaluator of guided-diffusion: ``np.cov`` statistics and
``scipy.linalg.sqrtm`` of Σ₁Σ₂ for FID, squared Euclidean k-NN radii for precision and
recall (Kynkäänniemi et al. 2019), the improved-GAN formula for the Inception Score.
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


def inception_score(logits: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) ‖ p(y))) on each of `splits` parts (no more parts than samples, part i
    spanning ⌊i·N/splits⌋ to ⌊(i+1)·N/splits⌋): mean and standard deviation over parts."""
    x = np.asarray(logits, dtype=np.float64)
    x = x - x.max(axis=1, keepdims=True)
    probabilities = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    n = len(probabilities)
    splits = min(splits, n)
    scores = []
    for part in range(splits):
        chunk = probabilities[part * n // splits : (part + 1) * n // splits]
        marginal = chunk.mean(axis=0, keepdims=True)
        kl = chunk * (np.log(chunk) - np.log(marginal))
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return float(np.mean(scores)), float(np.std(scores))
