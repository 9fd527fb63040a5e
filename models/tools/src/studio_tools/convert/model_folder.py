"""Released checkpoints → a model folder the studio runs (manifest + ONNX graphs)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from ..adm import ClassifierConfig, UNetConfig
from ..diffusion.torch_model import DiffusionSettings
from ..export import (
    SamplingDefaults,
    build_manifest,
    export_classifier_grad,
    export_unet,
    export_unet_fp16,
    write_model_folder,
)
from .checkpoint import CheckpointError, compare, load_into, load_state_dict, shapes_of
from .diagnosis import likely_causes
from .presets import Preset

SOURCE = "openai/guided-diffusion release (Dhariwal & Nichol 2021, Diffusion Models Beat GANs on Image Synthesis)"
LICENSE = "MIT"


@dataclass(frozen=True)
class Conversion:
    preset: Preset
    diffusion: Path
    classifier: Path | None
    out: Path
    id: str | None = None
    name: str | None = None
    scale: float | None = None
    sampler: str | None = None
    steps: str | None = None
    fp16: bool = True
    diffusion_overrides: dict[str, Any] = field(default_factory=dict)
    classifier_overrides: dict[str, Any] = field(default_factory=dict)


def imagenet_classes() -> tuple[list[str], list[list[str]]]:
    data = json.loads(resources.files("studio_tools.data").joinpath("imagenet_classes.json").read_text("utf-8"))
    return data["names"], data["synonyms"]


def _checked_model(config: UNetConfig | ClassifierConfig, state: dict[str, torch.Tensor], role: str,
                   path: Path, preset: Preset, flags: dict[str, Any]) -> torch.nn.Module:
    with torch.device("meta"):
        model = config.build()
    mismatch = compare(shapes_of(state), shapes_of(model))
    if not mismatch.fits:
        causes = likely_causes(state, role, preset, flags)
        raise CheckpointError(
            f"{path.name} does not fit the {role} of preset {preset.name!r}: {mismatch.describe()}. "
            f"Likely cause: {causes}"
        )
    return load_into(model, state)


def _defaults(conversion: Conversion) -> SamplingDefaults:
    preset = conversion.preset
    return SamplingDefaults(
        mode=preset.mode if conversion.classifier else "conditional",
        sampler=conversion.sampler or preset.sampler,
        steps=conversion.steps or preset.steps,
        scale=conversion.scale if conversion.scale is not None else preset.scale,
    )


def convert(conversion: Conversion) -> dict[str, Any]:
    """Check both checkpoints against the preset, export the graphs and write the folder; returns the manifest."""
    preset = conversion.preset
    unet_flags = {**preset.diffusion_flags, **conversion.diffusion_overrides}
    classifier_flags = {**preset.classifier_flags, **conversion.classifier_overrides}
    unet_config = UNetConfig.from_flags(unet_flags)
    if conversion.classifier is None and unet_config.num_classes is None:
        raise CheckpointError("an unconditional UNet can only be guided by a classifier; pass --classifier")
    unet_state = load_state_dict(conversion.diffusion, "diffusion")
    classifier_state = load_state_dict(conversion.classifier, "classifier") if conversion.classifier else None
    unet = _checked_model(unet_config, unet_state, "diffusion", conversion.diffusion, preset, unet_flags)
    del unet_state
    classifier = None
    if classifier_state is not None and conversion.classifier is not None:
        classifier_config = ClassifierConfig.from_flags(classifier_flags)
        if classifier_config.image_size != unet_config.image_size:
            raise CheckpointError(
                f"the classifier reads {classifier_config.image_size}×{classifier_config.image_size} images but the "
                f"UNet makes {unet_config.image_size}×{unet_config.image_size}; give both the same image_size"
            )
        classifier = _checked_model(
            classifier_config, classifier_state, "classifier", conversion.classifier, preset, classifier_flags
        )

    out = conversion.out
    out.mkdir(parents=True, exist_ok=True)
    export_unet(unet, out / "unet.onnx")
    if conversion.fp16:
        export_unet_fp16(unet, out / "unet_fp16.onnx")
    if classifier is not None:
        export_classifier_grad(
            classifier, out / "classifier_grad.onnx", image_size=classifier_config.image_size,
            channels=classifier_config.in_channels, num_classes=classifier_config.out_channels,
        )
    names, synonyms = imagenet_classes()
    manifest = build_manifest(
        model_id=conversion.id or f"imagenet-{preset.name}",
        name=conversion.name or preset.title,
        source=SOURCE,
        license=LICENSE,
        image_size=unet_config.image_size,
        channels=unet_config.in_channels,
        class_names=names,
        class_synonyms=synonyms,
        diffusion=DiffusionSettings(
            steps=int(unet_flags.get("diffusion_steps", 1000)),
            noise_schedule=str(unet_flags.get("noise_schedule", "linear")),
            learn_sigma=unet_config.learn_sigma,
            rescale_timesteps=bool(unet_flags.get("rescale_timesteps", False)),
        ),
        class_cond=unet_config.num_classes is not None,
        fp16=conversion.fp16,
        classifier=classifier is not None,
        evaluator=False,
        defaults=_defaults(conversion),
    )
    return write_model_folder(out, manifest)
