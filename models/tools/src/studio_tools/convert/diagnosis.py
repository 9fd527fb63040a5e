"""Why a checkpoint does not fit: the other presets and single-flag changes that would make it fit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..adm import ClassifierConfig, UNetConfig
from .checkpoint import compare, shapes_of
from .presets import PRESETS, Preset

# Flags whose wrong value changes parameter names or shapes, with the user's way to set them.
DIFFUSION_TOGGLES = ("class_cond", "resblock_updown", "learn_sigma", "use_scale_shift_norm")
CLASSIFIER_TOGGLES = ("classifier_resblock_updown", "classifier_use_scale_shift_norm")


def _fits(state_shapes: Mapping[str, tuple[int, ...]], role: str, flags: dict[str, Any]) -> bool:
    try:
        config = ClassifierConfig.from_flags(flags) if role == "classifier" else UNetConfig.from_flags(flags)
        with torch.device("meta"):
            model = config.build()
    except (ValueError, KeyError, ZeroDivisionError):
        return False
    return compare(state_shapes, shapes_of(model)).fits


def _looks_like_other_role(state_shapes: Mapping[str, tuple[int, ...]], role: str) -> str | None:
    has_decoder = any(key.startswith("output_blocks.") for key in state_shapes)
    if role == "diffusion" and not has_decoder:
        return "this is a classifier checkpoint (it has no output_blocks); pass it with --classifier"
    if role == "classifier" and has_decoder:
        return "this is a diffusion checkpoint (it has output_blocks); pass it with --diffusion"
    return None


def likely_causes(state: Mapping[str, torch.Tensor], role: str, preset: Preset, flags: dict[str, Any]) -> str:
    state_shapes = shapes_of(state)
    swapped = _looks_like_other_role(state_shapes, role)
    if swapped:
        return swapped
    for other in PRESETS.values():
        other_flags = other.classifier_flags if role == "classifier" else other.diffusion_flags
        if other is not preset and _fits(state_shapes, role, other_flags):
            released = other.classifier_checkpoint if role == "classifier" else other.diffusion_checkpoint
            return f"it fits preset {other.name!r} (the release's {released}); use --preset {other.name}"
    option = "--classifier-flag" if role == "classifier" else "--flag"
    for name in CLASSIFIER_TOGGLES if role == "classifier" else DIFFUSION_TOGGLES:
        toggled = {**flags, name: not bool(flags.get(name, False))}
        if _fits(state_shapes, role, toggled):
            setting = f"{name}={str(toggled[name]).lower()}"
            return f"it was trained with {setting}; pass {option} {setting}"
    hints = []
    if role == "diffusion" and "time_embed.0.weight" in state_shapes:
        channels = state_shapes["time_embed.0.weight"][1]
        if channels != int(flags["num_channels"]):
            hints.append(f"it has {channels} base channels where the preset has {flags['num_channels']} (num_channels)")
        if "label_emb.weight" in state_shapes and not flags.get("class_cond"):
            hints.append("it is class-conditional (class_cond)")
    if not hints:
        hints.append(
            "a different preset or a model trained with other flags "
            "(num_channels, num_res_blocks, channel_mult, attention_resolutions, resblock_updown, class_cond)"
        )
    return "; ".join(hints)
