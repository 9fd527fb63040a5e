"""Released checkpoints → a model folder the studio runs (manifest + ONNX graphs)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..adm import ClassifierConfig, UNetConfig
from ..diffusion.torch_model import DiffusionSettings
from ..export import (
    SamplingDefaults,
    build_manifest,
    write_model_folder,
)
from ..export.manifest import CLASSIFIER_FILE, UNET_FILE, UNET_FP16_FILE
from ..export.onnx_graphs import STEP_TRACE_GRADIENT, UNetProgram
from . import stages
from .checkpoint import CheckpointError, compare, load_into, load_state_dict, shapes_of
from .classifier_worker import GradientJob, GradientWorker
from .diagnosis import likely_causes
from .out_folder import refuse_unless_writable, staged
from .parity import FLOAT16_TOLERANCE, check_unet, unet_reference
from .presets import Preset
from .progress import ConversionProgress, SilentSink

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
    #: Replace what an existing, non-empty out folder holds.
    overwrite: bool = False
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


@dataclass(frozen=True)
class _Architecture:
    unet_config: UNetConfig
    unet_flags: dict[str, Any]
    classifier_config: ClassifierConfig | None
    classifier_flags: dict[str, Any]


def _architecture(conversion: Conversion) -> _Architecture:
    """The networks the flags describe, refused before any checkpoint is read when they cannot work together."""
    preset = conversion.preset
    unet_flags = {**preset.diffusion_flags, **conversion.diffusion_overrides}
    classifier_flags = {**preset.classifier_flags, **conversion.classifier_overrides}
    unet_config = UNetConfig.from_flags(unet_flags)
    if conversion.classifier is None and unet_config.num_classes is None:
        raise CheckpointError("an unconditional UNet can only be guided by a classifier; pass --classifier")
    classifier_config = ClassifierConfig.from_flags(classifier_flags) if conversion.classifier else None
    if classifier_config is not None and classifier_config.image_size != unet_config.image_size:
        raise CheckpointError(
            f"the classifier reads {classifier_config.image_size}×{classifier_config.image_size} images but the "
            f"UNet makes {unet_config.image_size}×{unet_config.image_size}; give both the same image_size"
        )
    return _Architecture(unet_config, unet_flags, classifier_config, classifier_flags)


def _read_and_check(conversion: Conversion, architecture: _Architecture, progress: ConversionProgress) -> nn.Module:
    """The UNet with the checkpoint's weights, once both checkpoints are found to fit the architecture."""
    preset = conversion.preset
    progress.begin(stages.READ, stages.STEP_READ_DIFFUSION)
    unet_state = load_state_dict(conversion.diffusion, "diffusion")
    classifier_state = None
    if conversion.classifier is not None:
        progress.begin(stages.READ, stages.STEP_READ_CLASSIFIER)
        classifier_state = load_state_dict(conversion.classifier, "classifier")
    progress.begin(stages.CHECK, stages.STEP_CHECK)
    unet = _checked_model(architecture.unet_config, unet_state, "diffusion", conversion.diffusion, preset,
                          architecture.unet_flags)
    del unet_state
    classifier_config = architecture.classifier_config
    if classifier_config is not None and classifier_state is not None and conversion.classifier is not None:
        # The worker that exports it reads the checkpoint itself; here it is only checked.
        _checked_model(classifier_config, classifier_state, "classifier", conversion.classifier, preset,
                       architecture.classifier_flags)
    return unet


def _export_unets(unet: nn.Module, config: UNetConfig, folder: Path, fp16: bool,
                  progress: ConversionProgress) -> None:
    def unet_step(step: str) -> None:
        progress.begin(stages.UNET, step)

    def half_step(step: str) -> None:
        progress.begin(stages.UNET_FP16, step)

    program = UNetProgram(unet, on_step=unet_step)
    graph = program.save(folder / UNET_FILE, on_step=unet_step)
    progress.begin(stages.UNET, stages.STEP_COMPARE)
    # One PyTorch run serves both graphs: they come from the same network.
    reference = unet_reference(unet, image_size=config.image_size, channels=config.in_channels,
                               num_classes=config.num_classes)
    check_unet(reference, graph.path)
    if fp16:
        half = program.save_float16(folder / UNET_FP16_FILE, on_step=half_step)
        progress.begin(stages.UNET_FP16, stages.STEP_COMPARE)
        check_unet(reference, half.path, tolerance=FLOAT16_TOLERANCE)


def convert(conversion: Conversion, progress: ConversionProgress | None = None) -> dict[str, Any]:
    """Check both checkpoints against the preset, export the graphs (the classifier gradient in a worker
    process beside the UNets), compare each with PyTorch and write the folder; returns the manifest.
    Nothing is left at `out` unless all of it succeeds."""
    preset = conversion.preset
    out = conversion.out
    refuse_unless_writable(out, overwrite=conversion.overwrite)
    if progress is None:
        progress = ConversionProgress(
            stages.conversion_stages(fp16=conversion.fp16, classifier=conversion.classifier is not None), SilentSink()
        )
    architecture = _architecture(conversion)
    config = architecture.unet_config

    with staged(out) as folder:
        worker = None
        if conversion.classifier is not None:
            # Started first, so that both cores work from the first second; stopped if a check below fails.
            worker = GradientWorker(GradientJob(conversion.classifier, architecture.classifier_flags,
                                                folder / CLASSIFIER_FILE), progress)
            progress.begin(stages.CLASSIFIER, STEP_TRACE_GRADIENT)
            worker.start()
        try:
            unet = _read_and_check(conversion, architecture, progress)
            _export_unets(unet, config, folder, conversion.fp16, progress)
            del unet
            if worker is not None:
                worker.result()
        finally:
            if worker is not None:
                worker.stop()
        progress.begin(stages.WRITE, stages.STEP_HASH)
        names, synonyms = imagenet_classes()
        manifest = build_manifest(
            model_id=conversion.id or f"imagenet-{preset.name}",
            name=conversion.name or preset.title,
            source=SOURCE,
            license=LICENSE,
            image_size=config.image_size,
            channels=config.in_channels,
            class_names=names,
            class_synonyms=synonyms,
            diffusion=DiffusionSettings(
                steps=int(architecture.unet_flags.get("diffusion_steps", 1000)),
                noise_schedule=str(architecture.unet_flags.get("noise_schedule", "linear")),
                learn_sigma=config.learn_sigma,
                rescale_timesteps=bool(architecture.unet_flags.get("rescale_timesteps", False)),
            ),
            class_cond=config.num_classes is not None,
            fp16=conversion.fp16,
            classifier=conversion.classifier is not None,
            evaluator=False,
            defaults=_defaults(conversion),
        )
        written = write_model_folder(folder, manifest)
    return written
