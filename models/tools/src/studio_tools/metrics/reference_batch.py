"""Imports a reference batch in the guided-diffusion evaluator's ``.npz`` format into a model folder.

The batch holds ``arr_0`` (real images, [N, H, W, 3] uint8) and usually ``mu`` and ``sigma``
(Inception pool statistics of those images). The model folder gets (docs/model-format.md):

- ``reference_mu.npy`` [D] and ``reference_sigma.npy`` [D, D], float64: the batch's ``mu`` and
  ``sigma`` when present, else estimated from the features below;
- ``reference_features.npy`` [M, D] float32: the evaluator's features of (up to ``limit``)
  reference images, which precision and recall need;
- ``reference_spatial_mu.npy`` [S] and ``reference_spatial_sigma.npy`` [S, S], float64, from
  the batch's ``mu_s`` and ``sigma_s`` (the statistics of mixed_6/conv's first 7 channels that
  sFID compares), when the batch has them and the evaluator graph has a ``spatial`` output of
  that size; without such an output the studio has no sFID, so they are left out;
- the evaluator graph itself, and a manifest whose ``evaluator`` entry and ``files`` hashes
  name all of them.

The statistics are only comparable with features of the network they were computed with (the
reference evaluator's TF Inception graph); importing them beside another evaluator would
measure one network's samples against another's statistics.
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


SPATIAL_FILES = {"spatial_mu": "reference_spatial_mu.npy", "spatial_sigma": "reference_spatial_sigma.npy"}


def evaluator_features(evaluator: Path, inputs: np.ndarray, batch_size: int = 50) -> np.ndarray:
    session = ort.InferenceSession(str(evaluator), providers=["CPUExecutionProvider"])
    batches = [session.run(["features"], {"x": inputs[start:start + batch_size]})[0]
               for start in range(0, len(inputs), batch_size)]
    return np.concatenate(batches, axis=0).astype(np.float32)


def spatial_output_size(evaluator: Path) -> int | None:
    """Values per image of the graph's ``spatial`` output, or None when it has none."""
    session = ort.InferenceSession(str(evaluator), providers=["CPUExecutionProvider"])
    for output in session.get_outputs():
        if output.name == "spatial":
            size = output.shape[-1]
            return size if isinstance(size, int) else None
    return None


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
        mu_s = batch["mu_s"].astype(np.float64) if "mu_s" in batch.files else None
        sigma_s = batch["sigma_s"].astype(np.float64) if "sigma_s" in batch.files else None
    if (mu is None) != (sigma is None):
        raise ValueError(f"{npz_path} holds only one of mu and sigma; it needs both or neither.")
    if (mu_s is None) != (sigma_s is None):
        raise ValueError(f"{npz_path} holds only one of mu_s and sigma_s; it needs both or neither.")
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

    spatial_size = spatial_output_size(evaluator)
    spatial: str
    if mu_s is None or sigma_s is None:
        spatial = "the batch has no spatial statistics (mu_s, sigma_s), so there is no sFID"
    elif spatial_size is None:
        spatial = ("the evaluator has no spatial output, so the batch's mu_s and sigma_s were left out "
                   "and there is no sFID")
        mu_s = sigma_s = None
    elif mu_s.shape != (spatial_size,) or sigma_s.shape != (spatial_size, spatial_size):
        raise ValueError(
            f"The batch's spatial statistics are {mu_s.shape[0]}-dimensional but the evaluator's spatial output "
            f"gives {spatial_size} values; export the evaluator from the network the statistics were computed with."
        )
    else:
        spatial = "imported"

    evaluator_target = model_dir / EVALUATOR_FILE
    if evaluator.resolve() != evaluator_target.resolve():
        shutil.copyfile(evaluator, evaluator_target)
    np.save(model_dir / REFERENCE_FILES["mu"], np.ascontiguousarray(mu))
    np.save(model_dir / REFERENCE_FILES["sigma"], np.ascontiguousarray(sigma))
    np.save(model_dir / REFERENCE_FILES["features"], np.ascontiguousarray(features))

    entry = evaluator_entry()
    named = [EVALUATOR_FILE, *REFERENCE_FILES.values()]
    if mu_s is not None and sigma_s is not None:
        np.save(model_dir / SPATIAL_FILES["spatial_mu"], np.ascontiguousarray(mu_s))
        np.save(model_dir / SPATIAL_FILES["spatial_sigma"], np.ascontiguousarray(sigma_s))
        entry["outputs"]["spatial"] = "spatial"
        entry["reference"].update(SPATIAL_FILES)
        named += SPATIAL_FILES.values()
    manifest["evaluator"] = entry
    files = dict(manifest.get("files", {}))
    for name in named:
        files[name] = sha256_of(model_dir / name)
    manifest["files"] = files
    write_json_atomically(manifest_path, manifest, ensure_ascii=False)
    return {"images": int(len(images)), "reference_features": int(len(features)), "dimension": int(features.shape[1]),
            "spatial": spatial}
