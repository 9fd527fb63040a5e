"""A model as PyTorch weights: ``config.json`` beside ``unet.pt`` and ``classifier.pt``.

``config.json`` (``format`` 1)::

    {
      "format": 1,
      "unet": {UNetConfig fields: image_size, in_channels, model_channels, out_channels,
               num_res_blocks, attention_resolutions (downsampling rates, e.g. [2, 4]),
               channel_mult, num_classes (null when unconditional; includes the null class),
               dropout, num_heads, num_head_channels, num_heads_upsample,
               use_scale_shift_norm, resblock_updown, use_new_attention_order},
      "classifier": {ClassifierConfig fields: image_size, in_channels, model_channels,
                     out_channels (number of classes), num_res_blocks, attention_resolutions,
                     channel_mult, num_head_channels, use_scale_shift_norm, resblock_updown,
                     use_new_attention_order, pool, dropout} or null,
      "diffusion": {"steps": T, "noise_schedule": "linear" | "cosine",
                    "learn_sigma": bool, "rescale_timesteps": bool},
      "classes": {"count": K, "names": [K names], "null_class": index or null}
    }

``unet.pt`` and ``classifier.pt`` hold plain ``state_dict``s (``torch.save``), read back
with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch

from ..adm import ClassifierConfig, EncoderUNetModel, UNetConfig, UNetModel
from .gaussian_diffusion import GaussianDiffusion

CONFIG_FORMAT = 1


@dataclass(frozen=True)
class DiffusionSettings:
    steps: int
    noise_schedule: str
    learn_sigma: bool
    rescale_timesteps: bool = False

    def build(self, respacing: str | None = None) -> GaussianDiffusion:
        return GaussianDiffusion.from_settings(
            schedule=self.noise_schedule,
            num_timesteps=self.steps,
            respacing=respacing,
            learn_sigma=self.learn_sigma,
            rescale_timesteps=self.rescale_timesteps,
        )


@dataclass(frozen=True)
class ClassSettings:
    count: int
    names: list[str]
    null_class: int | None


@dataclass(frozen=True)
class ModelConfig:
    unet: UNetConfig
    classifier: ClassifierConfig | None
    diffusion: DiffusionSettings
    classes: ClassSettings

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CONFIG_FORMAT,
            "unet": self.unet.to_json(),
            "classifier": None if self.classifier is None else self.classifier.to_json(),
            "diffusion": asdict(self.diffusion),
            "classes": asdict(self.classes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelConfig:
        if data.get("format") != CONFIG_FORMAT:
            raise ValueError(
                f"config.json has format {data.get('format')!r}; this version reads format {CONFIG_FORMAT}."
            )
        try:
            return cls(
                unet=UNetConfig.from_json(data["unet"]),
                classifier=None if data.get("classifier") is None else ClassifierConfig.from_json(data["classifier"]),
                diffusion=DiffusionSettings(**data["diffusion"]),
                classes=ClassSettings(**data["classes"]),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(
                f"config.json does not describe a model ({error}); see the format in {__name__}."
            ) from None


def write_config(path: Path, config: ModelConfig) -> None:
    path.write_text(json.dumps(config.to_json(), indent=2) + "\n")


def read_config(path: Path) -> ModelConfig:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"Cannot read the model configuration {path}: {error}.") from None
    return ModelConfig.from_json(data)


ModuleT = TypeVar("ModuleT", bound=torch.nn.Module)


def load_weights(module: ModuleT, path: Path) -> ModuleT:
    """Load a state_dict saved with ``torch.save`` into ``module`` (strict) and set eval mode."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    module.load_state_dict(state)
    return module.eval()


def load_models(
    config: ModelConfig, unet_path: Path, classifier_path: Path | None
) -> tuple[UNetModel, EncoderUNetModel | None]:
    unet = load_weights(config.unet.build(), unet_path)
    classifier = None
    if classifier_path is not None:
        if config.classifier is None:
            raise ValueError("A classifier file was given but config.json has no \"classifier\" section.")
        classifier = load_weights(config.classifier.build(), classifier_path)
    return unet, classifier
