"""The model folder's manifest.json: the same rules as the engine's zod schema
(common/models/manifest.ts), checked before a folder is written."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

FORMAT = 1
GUIDANCE_MODES = ("conditional", "unconditional+classifier", "conditional+classifier")
SAMPLERS = ("ddpm", "ddim")
NOISE_SCHEDULES = ("linear", "cosine")

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

Check = Callable[[Any, str, list[str]], None]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _when(predicate: Callable[[Any], bool], expected: str) -> Check:
    def check(value: Any, path: str, errors: list[str]) -> None:
        if not predicate(value):
            errors.append(f"{path}: expected {expected}, got {value!r}")

    return check


STRING = _when(lambda v: isinstance(v, str), "a string")
NON_EMPTY_STRING = _when(lambda v: isinstance(v, str) and len(v) > 0, "a non-empty string")
BOOLEAN = _when(lambda v: isinstance(v, bool), "true or false")
POSITIVE_INT = _when(lambda v: _is_int(v) and v > 0, "a positive integer")
LOCAL_FILE = _when(
    lambda v: isinstance(v, str) and len(v) > 0 and not re.search(r"[\\/]", v) and v not in (".", ".."),
    "a plain file name inside the model folder",
)


def _nullable(check: Check) -> Check:
    def nullable(value: Any, path: str, errors: list[str]) -> None:
        if value is not None:
            check(value, path, errors)

    nullable.fields = getattr(check, "fields", {})  # type: ignore[attr-defined]
    return nullable


def _one_of(*choices: Any) -> Check:
    return _when(lambda v: v in choices, " or ".join(repr(c) for c in choices))


def _list_of(item: Check, min_length: int = 0) -> Check:
    def check(value: Any, path: str, errors: list[str]) -> None:
        if not isinstance(value, list) or len(value) < min_length:
            errors.append(f"{path}: expected a list of at least {min_length} items, got {value!r:.80}")
            return
        for index, element in enumerate(value):
            item(element, f"{path}[{index}]", errors)

    return check


def _record(key: Check, value_check: Check) -> Check:
    def check(value: Any, path: str, errors: list[str]) -> None:
        if not isinstance(value, dict):
            errors.append(f"{path}: expected an object, got {value!r:.80}")
            return
        for name, element in value.items():
            key(name, f"{path} key {name!r}", errors)
            value_check(element, f"{path}.{name}", errors)

    return check


def _object(**fields: Check) -> Check:
    def check(value: Any, path: str, errors: list[str]) -> None:
        if not isinstance(value, dict):
            errors.append(f"{path}: expected an object, got {value!r:.80}")
            return
        for name, field_check in fields.items():
            if name not in value:
                errors.append(f"{path}.{name}: missing")
            else:
                field_check(value[name], f"{path}.{name}", errors)

    check.fields = fields  # type: ignore[attr-defined]
    return check


MANIFEST = _object(
    format=_one_of(FORMAT),
    id=_when(lambda v: isinstance(v, str) and bool(_ID.match(v)), 'lowercase letters, digits, ".", "_" and "-"'),
    name=NON_EMPTY_STRING,
    source=STRING,
    license=STRING,
    image=_object(size=POSITIVE_INT, channels=POSITIVE_INT),
    classes=_object(
        count=POSITIVE_INT,
        names=_list_of(NON_EMPTY_STRING),
        synonyms=_list_of(_list_of(STRING)),
        null_class=_nullable(_when(lambda v: _is_int(v) and v >= 0, "a non-negative integer")),
    ),
    diffusion=_object(
        steps=POSITIVE_INT,
        noise_schedule=_one_of(*NOISE_SCHEDULES),
        learn_sigma=BOOLEAN,
        predict=_one_of("eps"),
        rescale_timesteps=BOOLEAN,
    ),
    unet=_object(
        file=LOCAL_FILE,
        fp16_file=_nullable(LOCAL_FILE),
        class_cond=BOOLEAN,
        inputs=_object(x=STRING, t=STRING, y=_nullable(STRING)),
        output=STRING,
        batch=lambda v, path, errors: (
            None if v == "dynamic" else _list_of(POSITIVE_INT, min_length=1)(v, path, errors)
        ),
    ),
    classifier=_nullable(
        _object(
            file=LOCAL_FILE,
            inputs=_object(x=STRING, t=STRING, y=STRING),
            outputs=_object(grad=STRING, logits=STRING),
        )
    ),
    evaluator=_nullable(
        _object(
            file=LOCAL_FILE,
            input=STRING,
            outputs=_object(features=STRING, logits=STRING),
            reference=_object(mu=LOCAL_FILE, sigma=LOCAL_FILE, features=LOCAL_FILE),
        )
    ),
    defaults=_object(
        mode=_one_of(*GUIDANCE_MODES),
        sampler=_one_of(*SAMPLERS),
        steps=STRING,
        scale=_when(lambda v: _is_number(v) and v >= 0, "a non-negative number"),
        eta=_when(lambda v: _is_number(v) and 0 <= v <= 1, "a number in [0, 1]"),
    ),
    files=_record(LOCAL_FILE, _when(lambda v: isinstance(v, str) and bool(_SHA256.match(v)), "a lowercase hex sha256")),
)


def schema_keys(check: Check = MANIFEST) -> dict[str, Any]:
    """The nested key structure the schema requires, e.g. {"image": {"size": {}, "channels": {}}, ...}."""
    return {name: schema_keys(child) for name, child in getattr(check, "fields", {}).items()}


def schema_errors(manifest: Any) -> list[str]:
    """Why the engine's schema would refuse this manifest (empty when it accepts it)."""
    errors: list[str] = []
    MANIFEST(manifest, "manifest", errors)
    return errors


def consistency_errors(manifest: dict[str, Any]) -> list[str]:
    """Contradictions the schema alone does not catch."""
    errors = []
    classes = manifest["classes"]
    if len(classes["names"]) != classes["count"]:
        errors.append(f"classes.names has {len(classes['names'])} names for {classes['count']} classes")
    if len(classes["synonyms"]) != classes["count"]:
        errors.append(f"classes.synonyms has {len(classes['synonyms'])} lists for {classes['count']} classes")
    null_class = classes["null_class"]
    if null_class is not None and null_class < classes["count"]:
        errors.append(f"classes.null_class {null_class} is one of the real classes 0..{classes['count'] - 1}")
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
