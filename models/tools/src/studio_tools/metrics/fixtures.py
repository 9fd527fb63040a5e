"""Golden values for the studio's metrics, from numpy and scipy alone (``numpy_reference``).

Writes fixed features, logits and the expected FID, Inception Score, precision and recall to
``test/electron/metrics/fixtures``.

    python -m studio_tools.metrics.fixtures [output-folder]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .numpy_reference import frechet_distance, inception_score, precision_recall, statistics

SEED = 20210511
DIMENSION = 64
REFERENCE_COUNT = 400
GENERATED_COUNT = 300
CLASSES = 10
IS_SPLITS = 4
K = 3


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

    reference_mu, reference_sigma = statistics(reference)
    generated_mu, generated_sigma = statistics(generated)
    few_mu, few_sigma = statistics(few)
    precision, recall = precision_recall(reference, generated, K)
    is_mean, is_std = inception_score(logits, IS_SPLITS)

    arrays = {
        "reference_features": reference,
        "reference_mu": reference_mu,
        "reference_sigma": reference_sigma,
        "generated_features": generated,
        "generated_logits": logits,
        "symmetric_matrix": symmetric,
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
        "inception_score": is_mean,
        "inception_score_std": is_std,
        "inception_score_splits": IS_SPLITS,
        "symmetric_eigenvalues": np.linalg.eigvalsh(symmetric).tolist(),
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
    return expected


def main(argv: list[str] | None = None) -> int:
    repo_root = Path(__file__).resolve().parents[5]
    parser = argparse.ArgumentParser(prog="python -m studio_tools.metrics.fixtures", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, nargs="?", default=repo_root / "test" / "electron" / "metrics" / "fixtures")
    expected = build(parser.parse_args(argv).out)
    print(json.dumps({key: value for key, value in expected.items() if isinstance(value, float)}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
