"""The Python manifest check mirrors the engine's zod schema, and model folders carry correct sha256s."""

import copy
import hashlib
import json
import re
from pathlib import Path

import pytest

from studio_tools.export import ModelFolderError, schema_errors, verify_model_folder, write_model_folder
from studio_tools.export.manifest import schema_keys

MANIFEST_TS = Path(__file__).parents[2] / "common" / "models" / "manifest.ts"


def zod_keys() -> dict:
    """Key tree of `ModelManifest = z.object({...})`, read from the TypeScript source by indentation."""
    source = MANIFEST_TS.read_text(encoding="utf-8")
    body = source[source.index("export const ModelManifest = z.object({") :]
    body = body[: body.index("\n});")]
    root: dict = {}
    stack: list[tuple[int, dict]] = [(-1, root)]
    for line in body.splitlines()[1:]:
        match = re.match(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*): ", line)
        if not match:
            continue
        indent = len(match.group(1))
        while stack[-1][0] >= indent:
            stack.pop()
        node: dict = {}
        stack[-1][1][match.group(2)] = node
        stack.append((indent, node))
        inline = re.search(r"z\.object\(\{(.*)\}\)", line)
        if inline:
            node.update({key: {} for key in re.findall(r"([A-Za-z_][A-Za-z0-9_]*): ", inline.group(1))})
    return root


def valid_manifest() -> dict:
    return {
        "format": 1,
        "id": "imagenet-64",
        "name": "ImageNet 64×64",
        "source": "test",
        "license": "MIT",
        "image": {"size": 64, "channels": 3},
        "classes": {"count": 2, "names": ["tench", "goldfish"], "synonyms": [["Tinca tinca"], []], "null_class": None},
        "diffusion": {"steps": 1000, "noise_schedule": "cosine", "learn_sigma": True, "predict": "eps",
                      "rescale_timesteps": False},
        "unet": {"file": "unet.onnx", "fp16_file": None, "class_cond": True,
                 "inputs": {"x": "x", "t": "t", "y": "y"}, "output": "out", "batch": "dynamic"},
        "classifier": {"file": "classifier_grad.onnx", "inputs": {"x": "x", "t": "t", "y": "y"},
                       "outputs": {"grad": "grad", "logits": "logits"}},
        "evaluator": None,
        "defaults": {"mode": "conditional+classifier", "sampler": "ddpm", "steps": "250", "scale": 1.0, "eta": 0},
        "files": {"unet.onnx": "0" * 64, "classifier_grad.onnx": "f" * 64},
    }


def test_python_check_requires_the_same_keys_as_the_zod_schema() -> None:
    assert schema_keys() == zod_keys()


def test_a_valid_manifest_passes() -> None:
    assert schema_errors(valid_manifest()) == []


@pytest.mark.parametrize(
    ("path", "value", "complaint"),
    [
        (("format",), 2, "manifest.format"),
        (("id",), "ImageNet 64", "manifest.id"),
        (("image", "size"), 0, "manifest.image.size"),
        (("image", "channels"), True, "manifest.image.channels"),
        (("classes", "names"), ["tench", ""], "manifest.classes.names[1]"),
        (("classes", "null_class"), -1, "manifest.classes.null_class"),
        (("diffusion", "noise_schedule"), "sigmoid", "manifest.diffusion.noise_schedule"),
        (("diffusion", "predict"), "x0", "manifest.diffusion.predict"),
        (("unet", "file"), "../unet.onnx", "manifest.unet.file"),
        (("unet", "batch"), [], "manifest.unet.batch"),
        (("unet", "batch"), "any", "manifest.unet.batch"),
        (("classifier", "outputs"), {"grad": "grad"}, "manifest.classifier.outputs.logits: missing"),
        (("defaults", "mode"), "classifier", "manifest.defaults.mode"),
        (("defaults", "eta"), 1.5, "manifest.defaults.eta"),
        (("files",), {"unet.onnx": "ABC"}, "manifest.files.unet.onnx"),
        (("files",), {"a/unet.onnx": "0" * 64}, "manifest.files key"),
    ],
)
def test_each_rule_of_the_schema_is_enforced(path: tuple[str, ...], value, complaint: str) -> None:
    manifest = valid_manifest()
    target = manifest
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    errors = schema_errors(manifest)
    assert any(error.startswith(complaint) for error in errors), errors


@pytest.mark.parametrize("key", sorted(zod_keys()))
def test_every_top_level_key_is_required(key: str) -> None:
    manifest = valid_manifest()
    del manifest[key]
    assert f"manifest.{key}: missing" in schema_errors(manifest)


def test_fixed_batch_sizes_and_an_evaluator_are_accepted() -> None:
    manifest = valid_manifest()
    manifest["unet"]["batch"] = [1, 4]
    manifest["evaluator"] = {"file": "evaluator.onnx", "input": "x", "outputs": {"features": "f", "logits": "l"},
                             "reference": {"mu": "mu.npy", "sigma": "sigma.npy", "features": "features.npy"}}
    assert schema_errors(manifest) == []


def write_files(folder: Path) -> None:
    (folder / "unet.onnx").write_bytes(b"unet graph")
    (folder / "classifier_grad.onnx").write_bytes(b"classifier graph")


def test_written_folder_lists_the_sha256_of_each_file(tmp_path: Path, monkeypatch) -> None:
    write_files(tmp_path)
    # Stand-in graphs are not ONNX; they have no external data to look for.
    monkeypatch.setattr("studio_tools.export.model_folder.external_data_files", lambda path: [])
    manifest = valid_manifest()
    del manifest["files"]
    written = write_model_folder(tmp_path, manifest)
    on_disk = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == written
    assert on_disk["files"] == {
        "unet.onnx": hashlib.sha256(b"unet graph").hexdigest(),
        "classifier_grad.onnx": hashlib.sha256(b"classifier graph").hexdigest(),
    }
    assert verify_model_folder(tmp_path) == written

    (tmp_path / "unet.onnx").write_bytes(b"changed")
    with pytest.raises(ModelFolderError, match="unet.onnx does not match its sha256"):
        verify_model_folder(tmp_path)


def test_writer_refuses_missing_files_and_contradictions(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("studio_tools.export.model_folder.external_data_files", lambda path: [])
    manifest = valid_manifest()
    del manifest["files"]
    with pytest.raises(ModelFolderError, match="names unet.onnx, but"):
        write_model_folder(tmp_path, manifest)
    write_files(tmp_path)
    wrong_count = copy.deepcopy(manifest)
    wrong_count["classes"]["count"] = 3
    with pytest.raises(ModelFolderError, match="2 names for 3 classes"):
        write_model_folder(tmp_path, wrong_count)
    no_classifier = copy.deepcopy(manifest)
    no_classifier["classifier"] = None
    with pytest.raises(ModelFolderError, match="needs a classifier"):
        write_model_folder(tmp_path, no_classifier)
    assert not (tmp_path / "manifest.json").exists()
