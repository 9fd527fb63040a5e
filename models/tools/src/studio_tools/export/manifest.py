"""The model folder's manifest.json: built in one place, and checked before a folder is written
against the JSON Schema emitted from the engine's zod schema (common/models/manifest.ts by
build/scripts/emit-manifest-schema.ts), plus the few cross-field rules JSON Schema cannot say."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from ..diffusion.torch_model import DiffusionSettings

FORMAT = 1
SCHEMA_RESOURCE = "manifest.schema.json"

# The names the exporters in onnx_graphs.py give the graphs' inputs and outputs, and the files
# a model folder keeps them in.
UNET_FILE = "unet.onnx"
UNET_FP16_FILE = "unet_fp16.onnx"
CLASSIFIER_FILE = "classifier_grad.onnx"
EVALUATOR_FILE = "evaluator.onnx"
REFERENCE_FILES = {"mu": "reference_mu.npy", "sigma": "reference_sigma.npy", "features": "reference_features.npy"}

# How much of an offending value an error repeats: a class list can hold a thousand names.
_QUOTED_CHARACTERS = 120


@dataclass(frozen=True)
class SamplingDefaults:
    """What the studio's settings start at for this model."""

    mode: str
    sampler: str
    steps: str
    scale: float
    eta: float = 0


def evaluator_entry() -> dict[str, Any]:
    """The manifest's `evaluator` entry for an evaluator exported by onnx_graphs.export_evaluator."""
    return {
        "file": EVALUATOR_FILE,
        "input": "x",
        "outputs": {"features": "features", "logits": "logits"},
        "reference": dict(REFERENCE_FILES),
    }


def build_manifest(
    *,
    model_id: str,
    name: str,
    source: str,
    license: str,
    image_size: int,
    channels: int,
    class_names: Sequence[str],
    class_synonyms: Sequence[Sequence[str]] | None = None,
    null_class: int | None = None,
    diffusion: DiffusionSettings,
    class_cond: bool,
    fp16: bool,
    classifier: bool,
    evaluator: bool,
    defaults: SamplingDefaults,
) -> dict[str, Any]:
    """A manifest (everything but `files`, which write_model_folder fills in) for graphs written
    by the exporters in onnx_graphs.py under the standard file names above."""
    synonyms = [[] for _ in class_names] if class_synonyms is None else class_synonyms
    return {
        "format": FORMAT,
        "id": model_id,
        "name": name,
        "source": source,
        "license": license,
        "image": {"size": image_size, "channels": channels},
        "classes": {
            "count": len(class_names),
            "names": list(class_names),
            "synonyms": [list(entry) for entry in synonyms],
            "null_class": null_class,
        },
        "diffusion": {
            "steps": diffusion.steps,
            "noise_schedule": diffusion.noise_schedule,
            "learn_sigma": diffusion.learn_sigma,
            "predict": "eps",
            "rescale_timesteps": diffusion.rescale_timesteps,
        },
        "unet": {
            "file": UNET_FILE,
            "fp16_file": UNET_FP16_FILE if fp16 else None,
            "class_cond": class_cond,
            "inputs": {"x": "x", "t": "t", "y": "y" if class_cond else None},
            "output": "out",
            "batch": "dynamic",
        },
        "classifier": {
            "file": CLASSIFIER_FILE,
            "inputs": {"x": "x", "t": "t", "y": "y"},
            "outputs": {"grad": "grad", "logits": "logits"},
        }
        if classifier
        else None,
        "evaluator": evaluator_entry() if evaluator else None,
        "defaults": {
            "mode": defaults.mode,
            "sampler": defaults.sampler,
            "steps": defaults.steps,
            "scale": defaults.scale,
            "eta": defaults.eta,
        },
    }


@cache
def manifest_schema() -> dict[str, Any]:
    """The committed JSON Schema of manifest.json."""
    text = resources.files("studio_tools.data").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    schema = manifest_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _where(path: Iterable[str | int]) -> str:
    where = "manifest"
    for segment in path:
        where += f"[{segment}]" if isinstance(segment, int) else f".{segment}"
    return where


def _quoted(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _QUOTED_CHARACTERS else text[:_QUOTED_CHARACTERS] + "…"


def _is_type_mismatch(errors: list[ValidationError]) -> bool:
    return any(error.validator == "type" and not error.relative_path for error in errors)


def _union_sentences(error: ValidationError) -> list[str]:
    """A nullable field or a union: why the value fails the alternative of its own type."""
    alternatives: dict[Any, list[ValidationError]] = {}
    for sub_error in error.context or []:
        alternatives.setdefault(sub_error.relative_schema_path[0], []).append(sub_error)
    fitting = [errors for errors in alternatives.values() if not _is_type_mismatch(errors)]
    where = _where(error.absolute_path)
    if not fitting:
        expected = sorted(
            {str(e.validator_value) for errors in alternatives.values() for e in errors if e.validator == "type"}
        )
        return [f"{where}: expected {' or '.join(expected)}, got {_quoted(error.instance)}"]
    if len(fitting) > 1 and all(e.validator == "const" for errors in fitting for e in errors):
        choices = " or ".join(_quoted(e.validator_value) for errors in fitting for e in errors)
        return [f"{where}: expected {choices}, got {_quoted(error.instance)}"]
    return [sentence for sub_error in fitting[0] for sentence in _sentences(sub_error)]


def _sentences(error: ValidationError) -> list[str]:
    """An error as "manifest.a.b: what is wrong" sentences."""
    if error.context:
        return _union_sentences(error)
    where = _where(error.absolute_path)
    # The schema and the value the rule is about; jsonschema types both as possibly unset.
    limit: Any = error.validator_value
    instance: Any = error.instance
    if "propertyNames" in error.absolute_schema_path:
        where = f"{where} key {_quoted(instance)}"
    if error.validator == "required":
        return [f"{where}.{key}: missing" for key in limit if key not in instance]
    if error.validator == "maxItems":
        return [f"{where}: at most {limit} items (got {len(instance)})"]
    if error.validator == "minItems":
        return [f"{where}: at least {limit} item{'' if limit == 1 else 's'} (got {len(instance)})"]
    if error.validator == "maxLength":
        return [
            f"{where}: at most {limit} characters (got {len(instance)}, starting {_quoted(instance[:40])})"
        ]
    if error.validator == "minLength":
        return [f"{where}: must not be empty"]
    return [f"{where}: {error.message if len(error.message) <= 2 * _QUOTED_CHARACTERS else _quoted(instance)}"]


def schema_errors(manifest: Any) -> list[str]:
    """Why the engine's schema would refuse this manifest (empty when it accepts it)."""
    errors = sorted(_validator().iter_errors(manifest), key=lambda error: [str(p) for p in error.absolute_path])
    sentences = [sentence for error in errors for sentence in _sentences(error)] + local_file_errors(manifest)
    # One "missing" error comes per absent key, and each lists all of them.
    return list(dict.fromkeys(sentences))


def _leaves_the_folder(name: Any) -> bool:
    # Only names the schema accepts as strings; anything else is the schema's to report.
    return isinstance(name, str) and ("/" in name or "\\" in name or name in (".", ".."))


def local_file_errors(manifest: Any) -> list[str]:
    """File names that would leave the model folder. The zod schema refuses them with a refinement,
    which JSON Schema does not carry over."""
    if not isinstance(manifest, dict):
        return []
    named: list[tuple[str, Any]] = []
    for section, fields in (("unet", ("file", "fp16_file")), ("classifier", ("file",)), ("evaluator", ("file",))):
        entry = manifest.get(section)
        if isinstance(entry, dict):
            named += [(f"manifest.{section}.{field}", entry.get(field)) for field in fields if entry.get(field)]
    evaluator = manifest.get("evaluator")
    if isinstance(evaluator, dict) and isinstance(evaluator.get("reference"), dict):
        named += [(f"manifest.evaluator.reference.{key}", value) for key, value in evaluator["reference"].items()]
    errors = [f"{where}: {_quoted(value)} must be a plain file name inside the model folder"
              for where, value in named if _leaves_the_folder(value)]
    files = manifest.get("files")
    if isinstance(files, dict):
        errors += [f"manifest.files key {_quoted(name)}: must be a plain file name inside the model folder"
                   for name in files if _leaves_the_folder(name)]
    return errors


def consistency_errors(manifest: dict[str, Any]) -> list[str]:
    """Contradictions between fields, which a schema of each field alone does not catch."""
    errors = []
    classes = manifest["classes"]
    if len(classes["names"]) != classes["count"]:
        errors.append(f"classes.names has {len(classes['names'])} names for {classes['count']} classes")
    if len(classes["synonyms"]) != classes["count"]:
        errors.append(f"classes.synonyms has {len(classes['synonyms'])} lists for {classes['count']} classes")
    null_class = classes["null_class"]
    if null_class is not None and null_class < classes["count"]:
        errors.append(f"classes.null_class {null_class} is one of the real classes 0..{classes['count'] - 1}")
    diffusion = manifest["diffusion"]
    if diffusion["rescale_timesteps"] and diffusion["steps"] != 1000:
        # The graphs take whole-number t; t·1000/T is a fraction unless T = 1000.
        errors.append(f"diffusion.rescale_timesteps needs diffusion.steps 1000 (got {diffusion['steps']})")
    unet = manifest["unet"]
    if (unet["inputs"]["y"] is not None) != unet["class_cond"]:
        errors.append("unet.inputs.y must be named exactly when unet.class_cond is true")
    if manifest["classifier"] is None and "classifier" in manifest["defaults"]["mode"]:
        errors.append(f"defaults.mode {manifest['defaults']['mode']!r} needs a classifier")
    if not unet["class_cond"] and manifest["defaults"]["mode"].startswith("conditional"):
        errors.append(f"defaults.mode {manifest['defaults']['mode']!r} needs a class-conditional UNet")
    return errors


def named_files(manifest: dict[str, Any]) -> list[str]:
    """The files the manifest's graphs and statistics name, in a stable order."""
    names = [manifest["unet"]["file"]]
    if manifest["unet"]["fp16_file"]:
        names.append(manifest["unet"]["fp16_file"])
    if manifest["classifier"]:
        names.append(manifest["classifier"]["file"])
    if manifest["evaluator"]:
        evaluator = manifest["evaluator"]
        names += [evaluator["file"], *evaluator["reference"].values()]
    return names
