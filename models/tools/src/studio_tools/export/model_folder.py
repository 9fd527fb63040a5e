"""Writing and checking a model folder: manifest.json beside the files it names, each with its sha256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import onnx

from ..files import write_json_atomically
from .manifest import consistency_errors, named_files, schema_errors


class ModelFolderError(ValueError):
    """A model folder or manifest the engine would refuse."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def external_data_files(onnx_path: Path) -> list[str]:
    """Names of the external data files an ONNX graph refers to; they must lie beside it."""
    model = onnx.load(onnx_path, load_external_data=False)
    locations: set[str] = set()
    # The exporter writes weights as graph initializers; only those can live outside the file.
    for tensor in model.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            entries = {entry.key: entry.value for entry in tensor.external_data}
            locations.add(entries["location"])
    for location in locations:
        if Path(location).name != location:
            raise ModelFolderError(f"{onnx_path.name} keeps weights in {location!r}, outside the model folder")
    return sorted(locations)


def folder_files(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """The manifest's files plus the external data of its ONNX graphs."""
    files: list[str] = []
    for name in named_files(manifest):
        if not (folder / name).is_file():
            raise ModelFolderError(f"the manifest names {name}, but {folder} has no such file")
        files.append(name)
        if name.endswith(".onnx"):
            files += [data for data in external_data_files(folder / name) if data not in files]
    return files


def _refuse_if_invalid(manifest: dict[str, Any]) -> None:
    errors = schema_errors(manifest)
    if not errors:
        errors = consistency_errors(manifest)
    if errors:
        raise ModelFolderError("the manifest is not valid: " + "; ".join(errors[:10]))


def write_model_folder(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Hash the files `manifest` names (and their external data) and write folder/manifest.json.

    `manifest` is everything but `files`, which this fills in. Returns the written manifest.
    """
    folder = Path(folder)
    complete = {key: value for key, value in manifest.items() if key != "files"}
    complete["files"] = {name: sha256_of(folder / name) for name in folder_files(folder, complete)}
    _refuse_if_invalid(complete)
    write_json_atomically(folder / "manifest.json", complete, ensure_ascii=False)
    return complete


def verify_model_folder(folder: Path) -> dict[str, Any]:
    """Read folder/manifest.json and check it the way the engine will: schema, files present, sha256s."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise ModelFolderError(f"{folder} has no manifest.json")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    _refuse_if_invalid(manifest)
    for name in folder_files(folder, manifest):
        if name not in manifest["files"]:
            raise ModelFolderError(f"manifest.json lists no sha256 for {name}")
    for name, expected in manifest["files"].items():
        if not (folder / name).is_file():
            raise ModelFolderError(f"manifest.json lists {name}, but {folder} has no such file")
        if sha256_of(folder / name) != expected:
            raise ModelFolderError(f"{name} does not match its sha256 in manifest.json: the file changed or is damaged")
    return manifest
