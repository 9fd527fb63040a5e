"""Golden values for the studio's metrics, from numpy and scipy alone (``numpy_reference``).

Writes fixed features, logits and the expected FID, sFID, Inception Score, precision, recall,
density and coverage to
``test/fixtures/metrics``.

    python -m studio_tools.metrics.fixtures [output-folder]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .numpy_reference import (
    density_coverage,
    frechet_distance,
    inception_score,
    inception_split_sizes,
    precision_recall,
    statistics,
)

SEED = 20210511
DIMENSION = 64
REFERENCE_COUNT = 400
GENERATED_COUNT = 300
CLASSES = 10
K = 3
DENSITY_K = 5
# More logits than two of the evaluator's 5,000-sample splits: two full splits and a short one.
LONG_LOGITS = 11_000
LONG_CLASSES = 4
# Spatial features: 7 channels of a 2×2 map, flattened, as sFID takes mixed_6/conv's first 7.
SPATIAL_DIMENSION = 28


def correlated_gaussian(rng: np.random.Generator, count: int, mean: np.ndarray, mixing: np.ndarray) -> np.ndarray:
    return (rng.standard_normal((count, len(mean))) @ mixing + mean).astype(np.float32)


def build(out: Path) -> dict[str, object]:
    rng = np.random.default_rng(SEED)
    mixing = rng.standard_normal((DIMENSION, DIMENSION)) / np.sqrt(DIMENSION)
    reference = correlated_gaussian(rng, REFERENCE_COUNT, np.zeros(DIMENSION), mixing)
    shifted_mixing = mixing + 0.3 * rng.standard_normal((DIMENSION, DIMENSION)) / np.sqrt(DIMENSION)
    generated = correlated_gaussian(rng, GENERATED_COUNT, 0.2 * rng.standard_normal(DIMENSION), shifted_mixing)
    # Fewer samples than dimensions: a singular covariance, as a small evaluation run has.
    few = generated[:40]
    logits = (3 * rng.standard_normal((GENERATED_COUNT, CLASSES))).astype(np.float32)
    symmetric = rng.standard_normal((DIMENSION, DIMENSION))
    symmetric = symmetric + symmetric.T
    # Drawn after everything above, so the earlier arrays (and their figures) stay as they were.
    long_logits = (2 * rng.standard_normal((LONG_LOGITS, LONG_CLASSES))).astype(np.float32)
    spatial_mixing = rng.standard_normal((SPATIAL_DIMENSION, SPATIAL_DIMENSION)) / np.sqrt(SPATIAL_DIMENSION)
    reference_spatial = correlated_gaussian(rng, REFERENCE_COUNT, np.zeros(SPATIAL_DIMENSION), spatial_mixing)
    spatial_shift = 0.3 * rng.standard_normal(SPATIAL_DIMENSION)
    generated_spatial = correlated_gaussian(rng, GENERATED_COUNT, spatial_shift, 1.2 * spatial_mixing)

    reference_mu, reference_sigma = statistics(reference)
    generated_mu, generated_sigma = statistics(generated)
    few_mu, few_sigma = statistics(few)
    precision, recall = precision_recall(reference, generated, K)
    density, coverage = density_coverage(reference, generated, DENSITY_K)
    reference_spatial_mu, reference_spatial_sigma = statistics(reference_spatial)

    arrays = {
        "reference_features": reference,
        "reference_mu": reference_mu,
        "reference_sigma": reference_sigma,
        "generated_features": generated,
        "generated_logits": logits,
        "symmetric_matrix": symmetric,
        "long_logits": long_logits,
        "reference_spatial": reference_spatial,
        "reference_spatial_mu": reference_spatial_mu,
        "reference_spatial_sigma": reference_spatial_sigma,
        "generated_spatial": generated_spatial,
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        np.save(out / f"{name}.npy", np.ascontiguousarray(array))
    expected = {
        "fid": frechet_distance(generated_mu, generated_sigma, reference_mu, reference_sigma),
        "fid_reference_first": frechet_distance(reference_mu, reference_sigma, generated_mu, generated_sigma),
        "fid_few_samples": frechet_distance(few_mu, few_sigma, reference_mu, reference_sigma),
        "few_samples_count": len(few),
        "generated_mu": generated_mu.tolist(),
        "generated_sigma_trace": float(np.trace(generated_sigma)),
        "precision": precision,
        "recall": recall,
        "k": K,
        "density": density,
        "coverage": coverage,
        "density_k": DENSITY_K,
        "sfid": frechet_distance(*statistics(generated_spatial), reference_spatial_mu, reference_spatial_sigma),
        "inception_score": inception_score(logits),
        "inception_score_split_sizes": inception_split_sizes(len(logits)),
        "inception_score_long": inception_score(long_logits),
        "inception_score_long_split_sizes": inception_split_sizes(len(long_logits)),
        "symmetric_eigenvalues": np.linalg.eigvalsh(symmetric).tolist(),
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
    return expected


def main(argv: list[str] | None = None) -> int:
    repo_root = Path(__file__).resolve().parents[5]
    parser = argparse.ArgumentParser(prog="python -m studio_tools.metrics.fixtures", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, nargs="?", default=repo_root / "test" / "fixtures" / "metrics")
    expected = build(parser.parse_args(argv).out)
    print(json.dumps({key: value for key, value in expected.items() if isinstance(value, float)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
