"""The built-in model's figures on the quality report's committed samples, with the reference
evaluator's Inception Score (splits of 5,000 in drawing order) and density and coverage, from
onnxruntime's Python evaluator and ``numpy_reference``: the golden the studio's own scoring of
the same images is held against. The report's own ``inception_score`` used ten equal splits.

    python -m studio_tools.metrics.builtin_report_scores [output-file]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ..quality.onnx_model_set import OnnxModelSet
from .numpy_reference import density_coverage, inception_score, inception_split_sizes

REPO_ROOT = Path(__file__).resolve().parents[5]
REPORT_FOLDER = REPO_ROOT / "test" / "fixtures" / "builtin-quality"
MODEL_FOLDER = REPO_ROOT / "models" / "fashion-mnist"
DENSITY_K = 5


def ten_equal_splits(logits: np.ndarray) -> float:
    """The figure the studio and the report gave before: ten contiguous equal parts."""
    n = len(logits)
    parts = [logits[part * n // 10 : (part + 1) * n // 10] for part in range(10)]
    return float(np.mean([inception_score(part, split_size=n) for part in parts]))


def build() -> dict[str, object]:
    report = json.loads((REPORT_FOLDER / "report.json").read_text(encoding="utf-8"))
    model = OnnxModelSet(MODEL_FOLDER, threads=1)
    _, _, reference_features = model.reference()
    rows = []
    for row in report["rows"]:
        if row["images"] is None or not (REPORT_FOLDER / row["images"]).exists():
            continue
        pixels = np.load(REPORT_FOLDER / row["images"])
        features, logits = model.evaluate(torch.from_numpy(pixels.astype(np.float32) / 127.5 - 1.0))
        density, coverage = density_coverage(reference_features, features, DENSITY_K)
        rows.append({
            "images": row["images"],
            "inception_score": inception_score(logits),
            "inception_split_sizes": inception_split_sizes(len(logits)),
            "inception_score_ten_equal_splits": ten_equal_splits(logits),
            "density": density,
            "coverage": coverage,
        })
    return {"density_k": DENSITY_K, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio_tools.metrics.builtin_report_scores", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, nargs="?",
                        default=REPO_ROOT / "test" / "fixtures" / "metrics" / "builtin_report_scores.json")
    args = parser.parse_args(argv)
    scores = build()
    args.out.write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(scores, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
