"""Manifests are checked against the JSON Schema emitted from the engine's zod schema (kept fresh
by the emitting script), plus the cross-field rules; model folders carry correct sha256s."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from studio_tools.diffusion.torch_model import DiffusionSettings
from studio_tools.export import (
    ModelFolderError,
    SamplingDefaults,
    build_manifest,
    consistency_errors,
    schema_errors,
    verify_model_folder,
    write_model_folder,
)
from studio_tools.export.manifest import SCHEMA_RESOURCE

REPO = Path(__file__).resolve().parents[2]
EMIT_SCRIPT = REPO / "build" / "scripts" / "emit-manifest-schema.ts"
COMMITTED_SCHEMA = REPO / "models" / "tools" / "src" / "studio_tools" / "data" / SCHEMA_RESOURCE
TSX = REPO / "node_modules" / ".bin" / "tsx"


def emit_schema(*args: str) -> subprocess.CompletedProcess[str]:
    assert TSX.exists(), f"{TSX} is missing; run `npm ci` in {REPO} first"
    return subprocess.run([str(TSX), str(EMIT_SCRIPT), *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def valid_manifest() -> dict[str, Any]:
    manifest = build_manifest(
        model_id="imagenet-64",
        name="ImageNet 64×64",
        source="test",
        license="MIT",
        image_size=64,
        channels=3,
        class_names=["tench", "goldfish"],
        class_synonyms=[["Tinca tinca"], []],
        diffusion=DiffusionSettings(steps=1000, noise_schedule="cosine", learn_sigma=True),
        class_cond=True,
        fp16=False,
        classifier=True,
        evaluator=False,
        defaults=SamplingDefaults(mode="conditional+classifier", sampler="ddpm", steps="250", scale=1.0),
    )
    manifest["files"] = {"unet.onnx": "0" * 64, "classifier_grad.onnx": "f" * 64}
    return manifest


BUILTIN_LIKE: dict[str, Any] = {
    "model_id": "fashion-like",
    "name": "Fashion-like",
    "source": "test",
    "license": "MIT",
    "image_size": 32,
    "channels": 1,
    "class_names": ["shirt", "boot", "bag"],
    "null_class": 3,
    "diffusion": DiffusionSettings(steps=1000, noise_schedule="cosine", learn_sigma=True, rescale_timesteps=True),
    "class_cond": True,
    "fp16": True,
    "classifier": True,
    "evaluator": True,
    "defaults": SamplingDefaults(mode="conditional+classifier", sampler="ddpm", steps="50", scale=2.0),
}


def with_value(manifest: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(manifest)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def test_committed_schema_is_the_one_the_zod_schema_gives() -> None:
    result = emit_schema("--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_stale_schema_is_refused_with_the_command_that_refreshes_it(tmp_path: Path) -> None:
    stale = tmp_path / "manifest.schema.json"
    schema = json.loads(COMMITTED_SCHEMA.read_text(encoding="utf-8"))
    del schema["properties"]["license"]
    stale.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    result = emit_schema("--check", "--schema", str(stale))
    assert result.returncode == 1
    assert "does not match common/models/manifest.ts" in result.stderr
    assert "npx tsx build/scripts/emit-manifest-schema.ts" in result.stderr


def test_the_emitted_schema_is_written_byte_for_byte_as_committed(tmp_path: Path) -> None:
    fresh = tmp_path / "manifest.schema.json"
    result = emit_schema("--schema", str(fresh))
    assert result.returncode == 0, result.stderr
    assert fresh.read_bytes() == COMMITTED_SCHEMA.read_bytes()


def test_a_valid_manifest_passes() -> None:
    assert schema_errors(valid_manifest()) == []
    assert consistency_errors(valid_manifest()) == []


@pytest.mark.parametrize(
    ("path", "value", "complaint"),
    [
        (("format",), 2, "manifest.format: 1 was expected"),
        (("id",), "ImageNet 64", "manifest.id: 'ImageNet 64' does not match"),
        (("id",), "", "manifest.id: must not be empty"),
        (("id",), "a" * 201, "manifest.id: at most 200 characters (got 201"),
        (("name",), "", "manifest.name: must not be empty"),
        (("source",), 7, "manifest.source: 7 is not of type 'string'"),
        (("image", "size"), 0, "manifest.image.size: 0 is less than the minimum of 1"),
        (("image", "size"), 2048, "manifest.image.size: 2048 is greater than the maximum of 1024"),
        (("image", "size"), 6.5, "manifest.image.size: 6.5 is not of type 'integer'"),
        (("image", "channels"), True, "manifest.image.channels: expected number, got True"),
        (("image", "channels"), 2, "manifest.image.channels: expected 1 or 3, got 2"),
        (("classes", "count"), 0, "manifest.classes.count: 0 is less than the minimum of 1"),
        (("classes", "names"), ["tench", ""], "manifest.classes.names[1]: must not be empty"),
        (("classes", "synonyms"), [["x" * 101], []], "manifest.classes.synonyms[0][0]: at most 100 characters"),
        (("classes", "null_class"), -1, "manifest.classes.null_class: -1 is less than the minimum of 0"),
        (("classes", "null_class"), 1.5, "manifest.classes.null_class: expected integer or null, got 1.5"),
        (("diffusion", "steps"), 100_001, "manifest.diffusion.steps: 100001 is greater than the maximum"),
        (("diffusion", "noise_schedule"), "sigmoid", "manifest.diffusion.noise_schedule: 'sigmoid' is not one of"),
        (("diffusion", "learn_sigma"), "yes", "manifest.diffusion.learn_sigma: 'yes' is not of type 'boolean'"),
        (("diffusion", "predict"), "x0", "manifest.diffusion.predict: 'eps' was expected"),
        (("unet", "file"), "", "manifest.unet.file: must not be empty"),
        (("unet", "fp16_file"), 3, "manifest.unet.fp16_file: expected null or string, got 3"),
        (("unet", "inputs"), {"x": "x", "t": "t"}, "manifest.unet.inputs.y: missing"),
        (("unet", "batch"), [], "manifest.unet.batch: at least 1 item (got 0)"),
        (("unet", "batch"), [0], "manifest.unet.batch[0]: 0 is less than or equal to the minimum of 0"),
        (("unet", "batch"), "any", "manifest.unet.batch: 'dynamic' was expected"),
        (("classifier",), "yes", "manifest.classifier: expected null or object, got 'yes'"),
        (("classifier", "outputs"), {"grad": "grad"}, "manifest.classifier.outputs.logits: missing"),
        (("evaluator",), {"file": "e.onnx"}, "manifest.evaluator.input: missing"),
        (("defaults", "mode"), "classifier", "manifest.defaults.mode: 'classifier' is not one of"),
        (("defaults", "sampler"), "euler", "manifest.defaults.sampler: 'euler' is not one of"),
        (("defaults", "scale"), -1, "manifest.defaults.scale: -1 is less than the minimum of 0"),
        (("defaults", "eta"), 1.5, "manifest.defaults.eta: 1.5 is greater than the maximum of 1"),
        (("files",), {"unet.onnx": "ABC"}, "manifest.files.unet.onnx: 'ABC' does not match"),
        (("files",), {"": "0" * 64}, "manifest.files key '': must not be empty"),
        (("files",), [], "manifest.files: [] is not of type 'object'"),
    ],
)
def test_each_rule_of_the_schema_names_the_field(path: tuple[str, ...], value: Any, complaint: str) -> None:
    errors = schema_errors(with_value(valid_manifest(), path, value))
    assert any(error.startswith(complaint) for error in errors), errors


@pytest.mark.parametrize(
    "path",
    [("unet", "file"), ("unet", "fp16_file"), ("classifier", "file"), ("evaluator", "file"),
     ("evaluator", "reference", "mu"), ("evaluator", "reference", "sigma"), ("evaluator", "reference", "features")],
)
@pytest.mark.parametrize("name", ["../unet.onnx", "sub/unet.onnx", "sub\\unet.onnx", ".", ".."])
def test_file_names_that_leave_the_folder_are_refused(path: tuple[str, ...], name: str) -> None:
    manifest = valid_manifest()
    manifest["evaluator"] = build_manifest(**BUILTIN_LIKE)["evaluator"]
    errors = schema_errors(with_value(manifest, path, name))
    assert f"manifest.{'.'.join(path)}: {name!r} must be a plain file name inside the model folder" in errors, errors


@pytest.mark.parametrize("name", ["a/unet.onnx", "..", "c:\\unet.onnx"])
def test_hashed_file_names_that_leave_the_folder_are_refused(name: str) -> None:
    errors = schema_errors(with_value(valid_manifest(), ("files",), {name: "0" * 64}))
    assert f"manifest.files key {name!r}: must be a plain file name inside the model folder" in errors, errors


def test_a_huge_value_is_quoted_short() -> None:
    errors = schema_errors(with_value(valid_manifest(), ("classes", "names"), ["x" * 100_000]))
    assert errors == ["manifest.classes.names[0]: at most 100 characters (got 100000, starting '" + "x" * 40 + "')"]
    errors = schema_errors(with_value(valid_manifest(), ("classes", "names"), ["tench"] * 100_001))
    assert errors == ["manifest.classes.names: at most 100000 items (got 100001)"]


def test_a_manifest_that_is_no_object_is_refused() -> None:
    assert schema_errors([]) == ["manifest: [] is not of type 'object'"]


@pytest.mark.parametrize("key", sorted(valid_manifest()))
def test_every_top_level_key_is_required(key: str) -> None:
    manifest = valid_manifest()
    del manifest[key]
    assert schema_errors(manifest) == [f"manifest.{key}: missing"]


def test_a_missing_section_is_named_once_per_key() -> None:
    errors = schema_errors(with_value(valid_manifest(), ("classifier",), {"file": "classifier_grad.onnx"}))
    assert errors == ["manifest.classifier.inputs: missing", "manifest.classifier.outputs: missing"]


@pytest.mark.parametrize(
    ("path", "value", "complaint"),
    [
        (("classes", "count"), 3, "classes.names has 2 names for 3 classes"),
        (("classes", "synonyms"), [[]], "classes.synonyms has 1 lists for 2 classes"),
        (("classes", "null_class"), 1, "classes.null_class 1 is one of the real classes 0..1"),
        (("unet", "inputs", "y"), None, "unet.inputs.y must be named exactly when unet.class_cond is true"),
        (("classifier",), None, "defaults.mode 'conditional+classifier' needs a classifier"),
    ],
)
def test_each_cross_field_rule_is_enforced(path: tuple[str, ...], value: Any, complaint: str) -> None:
    manifest = with_value(valid_manifest(), path, value)
    assert schema_errors(manifest) == []
    assert complaint in consistency_errors(manifest)


def test_rescaled_timesteps_need_a_thousand_steps() -> None:
    manifest = with_value(valid_manifest(), ("diffusion", "rescale_timesteps"), True)
    assert consistency_errors(manifest) == []
    manifest["diffusion"]["steps"] = 4000
    assert schema_errors(manifest) == []
    assert consistency_errors(manifest) == ["diffusion.rescale_timesteps needs diffusion.steps 1000 (got 4000)"]


def test_a_conditional_mode_needs_a_class_conditional_unet() -> None:
    manifest = with_value(valid_manifest(), ("unet", "class_cond"), False)
    manifest["unet"]["inputs"]["y"] = None
    assert consistency_errors(manifest) == ["defaults.mode 'conditional+classifier' needs a class-conditional UNet"]


def test_the_builder_names_the_exporters_files_and_graph_names() -> None:
    manifest = build_manifest(**BUILTIN_LIKE)
    assert manifest["classes"] == {"count": 3, "names": ["shirt", "boot", "bag"], "synonyms": [[], [], []],
                                   "null_class": 3}
    assert manifest["diffusion"] == {"steps": 1000, "noise_schedule": "cosine", "learn_sigma": True, "predict": "eps",
                                     "rescale_timesteps": True}
    assert manifest["unet"] == {"file": "unet.onnx", "fp16_file": "unet_fp16.onnx", "class_cond": True,
                                "inputs": {"x": "x", "t": "t", "y": "y"}, "output": "out", "batch": "dynamic"}
    assert manifest["evaluator"] == {
        "file": "evaluator.onnx", "input": "x", "outputs": {"features": "features", "logits": "logits"},
        "reference": {"mu": "reference_mu.npy", "sigma": "reference_sigma.npy", "features": "reference_features.npy"}}
    assert manifest["defaults"] == {"mode": "conditional+classifier", "sampler": "ddpm", "steps": "50", "scale": 2.0,
                                    "eta": 0}
    assert "files" not in manifest
    assert schema_errors({**manifest, "files": {}}) == [] and consistency_errors(manifest) == []


def test_an_unconditional_unet_without_classifier_or_evaluator() -> None:
    manifest = build_manifest(**{**BUILTIN_LIKE, "class_cond": False, "fp16": False, "classifier": False,
                                 "evaluator": False, "null_class": None,
                                 "defaults": SamplingDefaults(mode="unconditional+classifier", sampler="ddim",
                                                              steps="ddim25", scale=0)})
    assert manifest["unet"]["inputs"] == {"x": "x", "t": "t", "y": None}
    assert manifest["unet"]["fp16_file"] is None
    assert manifest["classifier"] is None and manifest["evaluator"] is None
    assert schema_errors({**manifest, "files": {}}) == []
    assert consistency_errors(manifest) == ["defaults.mode 'unconditional+classifier' needs a classifier"]


def write_files(folder: Path) -> None:
    (folder / "unet.onnx").write_bytes(b"unet graph")
    (folder / "classifier_grad.onnx").write_bytes(b"classifier graph")


def test_written_folder_lists_the_sha256_of_each_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
    assert sorted(path.name for path in tmp_path.iterdir()) == ["classifier_grad.onnx", "manifest.json", "unet.onnx"]

    (tmp_path / "unet.onnx").write_bytes(b"changed")
    with pytest.raises(ModelFolderError, match="unet.onnx does not match its sha256"):
        verify_model_folder(tmp_path)


def test_writer_refuses_missing_files_and_contradictions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("studio_tools.export.model_folder.external_data_files", lambda path: [])
    manifest = valid_manifest()
    del manifest["files"]
    with pytest.raises(ModelFolderError, match="names unet.onnx, but"):
        write_model_folder(tmp_path, manifest)
    write_files(tmp_path)
    wrong_count = with_value(manifest, ("classes", "count"), 3)
    with pytest.raises(ModelFolderError, match="2 names for 3 classes"):
        write_model_folder(tmp_path, wrong_count)
    no_classifier = with_value(manifest, ("classifier",), None)
    with pytest.raises(ModelFolderError, match="needs a classifier"):
        write_model_folder(tmp_path, no_classifier)
    bad_schedule = with_value(manifest, ("diffusion", "noise_schedule"), "sigmoid")
    with pytest.raises(ModelFolderError, match="manifest.diffusion.noise_schedule: 'sigmoid' is not one of"):
        write_model_folder(tmp_path, bad_schedule)
    assert not (tmp_path / "manifest.json").exists()


def test_a_damaged_manifest_on_disk_is_refused_with_the_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("studio_tools.export.model_folder.external_data_files", lambda path: [])
    write_files(tmp_path)
    manifest = valid_manifest()
    del manifest["files"]
    write_model_folder(tmp_path, manifest)
    on_disk = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    on_disk["image"]["size"] = 0
    (tmp_path / "manifest.json").write_text(json.dumps(on_disk), encoding="utf-8")
    with pytest.raises(ModelFolderError, match=r"manifest.image.size: 0 is less than the minimum of 1"):
        verify_model_folder(tmp_path)
