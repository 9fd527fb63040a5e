"""One preset per released guided-diffusion checkpoint pair.

Flags are those the openai/guided-diffusion README gives for sampling each model; the
guidance scale is the README's `--classifier_scale` for that model, and the sampler its
`--timestep_respacing 250` DDPM run (the paper's 250-step setting).

The attention order ("new" vs "legacy" qkv layout) cannot be read from a checkpoint:
both layouts have identical parameter shapes and differ only in how the qkv channels
are split into heads. The presets set it as the release did (only the 64×64 model uses
the new order); a wrong choice converts without complaint and produces noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_ADM_256_FLAGS: dict[str, Any] = {
    "attention_resolutions": "32,16,8",
    "class_cond": True,
    "diffusion_steps": 1000,
    "image_size": 256,
    "learn_sigma": True,
    "noise_schedule": "linear",
    "num_channels": 256,
    "num_head_channels": 64,
    "num_res_blocks": 2,
    "resblock_updown": True,
    "use_fp16": True,
    "use_scale_shift_norm": True,
}

_CLASSIFIER_FLAGS: dict[str, Any] = {
    "classifier_use_fp16": False,
    "classifier_width": 128,
    "classifier_depth": 2,
    "classifier_attention_resolutions": "32,16,8",
    "classifier_use_scale_shift_norm": True,
    "classifier_resblock_updown": True,
    "classifier_pool": "attention",
}


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    diffusion_checkpoint: str
    classifier_checkpoint: str
    diffusion_flags: dict[str, Any]
    classifier_flags: dict[str, Any]
    #: The README's --classifier_scale for this model.
    scale: float
    sampler: str = "ddpm"
    steps: str = "250"

    @property
    def mode(self) -> str:
        return "conditional+classifier" if self.diffusion_flags["class_cond"] else "unconditional+classifier"


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="64",
            title="ImageNet 64×64",
            diffusion_checkpoint="64x64_diffusion.pt",
            classifier_checkpoint="64x64_classifier.pt",
            diffusion_flags={
                "attention_resolutions": "32,16,8",
                "class_cond": True,
                "diffusion_steps": 1000,
                "dropout": 0.1,
                "image_size": 64,
                "learn_sigma": True,
                "noise_schedule": "cosine",
                "num_channels": 192,
                "num_head_channels": 64,
                "num_res_blocks": 3,
                "resblock_updown": True,
                "use_new_attention_order": True,
                "use_fp16": True,
                "use_scale_shift_norm": True,
            },
            classifier_flags={**_CLASSIFIER_FLAGS, "image_size": 64, "classifier_depth": 4},
            scale=1.0,
        ),
        Preset(
            name="128",
            title="ImageNet 128×128",
            diffusion_checkpoint="128x128_diffusion.pt",
            classifier_checkpoint="128x128_classifier.pt",
            diffusion_flags={
                **{k: v for k, v in _ADM_256_FLAGS.items() if k != "num_head_channels"},
                "image_size": 128,
                "num_heads": 4,
            },
            classifier_flags={**_CLASSIFIER_FLAGS, "image_size": 128},
            scale=0.5,
        ),
        Preset(
            name="256",
            title="ImageNet 256×256",
            diffusion_checkpoint="256x256_diffusion.pt",
            classifier_checkpoint="256x256_classifier.pt",
            diffusion_flags=dict(_ADM_256_FLAGS),
            classifier_flags={**_CLASSIFIER_FLAGS, "image_size": 256},
            scale=1.0,
        ),
        Preset(
            name="256-uncond",
            title="ImageNet 256×256, unconditional with classifier guidance",
            diffusion_checkpoint="256x256_diffusion_uncond.pt",
            classifier_checkpoint="256x256_classifier.pt",
            diffusion_flags={**_ADM_256_FLAGS, "class_cond": False},
            classifier_flags={**_CLASSIFIER_FLAGS, "image_size": 256},
            scale=10.0,
        ),
        Preset(
            name="512",
            title="ImageNet 512×512",
            diffusion_checkpoint="512x512_diffusion.pt",
            classifier_checkpoint="512x512_classifier.pt",
            diffusion_flags={**_ADM_256_FLAGS, "image_size": 512, "use_fp16": False},
            classifier_flags={**_CLASSIFIER_FLAGS, "image_size": 512},
            scale=4.0,
        ),
    )
}


def preset_named(name: str) -> Preset:
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
