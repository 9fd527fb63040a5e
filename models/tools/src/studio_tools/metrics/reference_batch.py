"""Imports a reference batch in the guided-diffusion evaluator's ``.npz`` format into a model folder.

The batch holds ``arr_0`` (real images, [N, H, W, 3] uint8) and usually ``mu`` and ``sigma``
(Inception pool statistics of those images). The model folder gets (docs/model-format.md):

- ``reference_mu.npy`` [D] and ``reference_sigma.npy`` [D, D], float64: the batch's ``mu`` and
  ``sigma`` when present, else estimated from the features below;
- ``reference_features.npy`` [M, D] float32: the evaluator's features of (up to ``limit``)
  reference images, which precision and recall need;
- the evaluator graph itself, and a manifest whose ``evaluator`` entry and ``files`` hashes
  name all of them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ..export.manifest import EVALUATOR_FILE, REFERENCE_FILES, evaluator_entry
from ..export.model_folder import sha256_of
from ..files import write_json_atomically


def images_to_model_input(images: np.ndarray, channels: int) -> np.ndarray:
    """uint8 [N, H, W, C] -> float32 [N, channels, H, W] in [-1, 1]."""
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(
            f"arr_0 must hold uint8 images of shape [N, H, W, C], got {images.dtype} {list(images.shape)}."
        )
    x = images.astype(np.float32) / 127.5 - 1.0
    x = np.transpose(x, (0, 3, 1, 2))
    if x.shape[1] == channels:
        return np.ascontiguousarray(x)
    if channels == 1 and x.shape[1] == 3:
        return np.ascontiguousarray(x.mean(axis=1, keepdims=True))
    raise ValueError(f"The reference images have {x.shape[1]} channels but the model's images have {channels}.")


def evaluator_features(evaluator: Path, inputs: np.ndarray, batch_size: int = 50) -> np.ndarray:
    session = ort.InferenceSession(str(evaluator), providers=["CPUExecutionProvider"])
    batches = [session.run(["features"], {"x": inputs[start:start + batch_size]})[0]
               for start in range(0, len(inputs), batch_size)]
    return np.concatenate(batches, axis=0).astype(np.float32)


def import_reference_batch(npz_path: Path, model_dir: Path, evaluator: Path, limit: int = 10_000,
                           batch_size: int = 50) -> dict[str, object]:
    manifest_path = model_dir / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{model_dir} has no manifest.json; convert or export the model into that folder first."
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    with np.load(npz_path) as batch:
        if "arr_0" not in batch.files:
            raise ValueError(f"{npz_path} has no arr_0 (the reference images); it is not a reference batch.")
        images = batch["arr_0"]
        mu = batch["mu"].astype(np.float64) if "mu" in batch.files else None
        sigma = batch["sigma"].astype(np.float64) if "sigma" in batch.files else None
    if (mu is None) != (sigma is None):
        raise ValueError(f"{npz_path} holds only one of mu and sigma; it needs both or neither.")
    size = manifest["image"]["size"]
    if images.shape[1:3] != (size, size):
        raise ValueError(
            f"The reference images are {images.shape[2]}×{images.shape[1]} but the model makes {size}×{size} images."
        )

    chosen = images if len(images) <= limit else images[np.linspace(0, len(images) - 1, limit).astype(np.int64)]
    features = evaluator_features(evaluator, images_to_model_input(chosen, manifest["image"]["channels"]), batch_size)
    if mu is None or sigma is None:
        mu = features.astype(np.float64).mean(axis=0)
        sigma = np.cov(features.astype(np.float64), rowvar=False)
    if mu.shape != (features.shape[1],) or sigma.shape != (features.shape[1], features.shape[1]):
        raise ValueError(
            f"The batch's statistics are {mu.shape[0]}-dimensional "
            f"but the evaluator gives {features.shape[1]} features; "
            "export the evaluator from the Inception-v3 the statistics were computed with."
        )

    evaluator_target = model_dir / EVALUATOR_FILE
    if evaluator.resolve() != evaluator_target.resolve():
        shutil.copyfile(evaluator, evaluator_target)
    np.save(model_dir / REFERENCE_FILES["mu"], np.ascontiguousarray(mu))
    np.save(model_dir / REFERENCE_FILES["sigma"], np.ascontiguousarray(sigma))
    np.save(model_dir / REFERENCE_FILES["features"], np.ascontiguousarray(features))

    manifest["evaluator"] = evaluator_entry()
    files = dict(manifest.get("files", {}))
    for name in [EVALUATOR_FILE, *REFERENCE_FILES.values()]:
        files[name] = sha256_of(model_dir / name)
    manifest["files"] = files
    write_json_atomically(manifest_path, manifest, ensure_ascii=False)
    return {"images": int(len(images)), "reference_features": int(len(features)), "dimension": int(features.shape[1])}
