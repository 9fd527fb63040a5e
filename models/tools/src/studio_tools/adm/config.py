"""Architecture configurations, and their derivation from guided-diffusion's flags.

A configuration is plain data (it round-trips through JSON), so a model folder or a
training run can record exactly which network its weights belong to.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .unet import EncoderUNetModel, UNetModel

IMAGENET_CLASSES = 1000

# Channel multipliers the release uses for each image size.
CHANNEL_MULT_BY_SIZE: dict[int, tuple[float, ...]] = {
    512: (0.5, 1, 1, 2, 2, 4, 4),
    256: (1, 1, 2, 2, 4, 4),
    128: (1, 1, 2, 3, 4),
    64: (1, 2, 3, 4),
    32: (1, 2, 2, 2),
}


def attention_downsample_rates(image_size: int, resolutions: str) -> tuple[int, ...]:
    """"32,16,8" at 64×64 → (2, 4, 8): the downsampling factors where attention sits."""
    return tuple(image_size // int(r) for r in resolutions.split(",") if r.strip())


def _channel_mult(image_size: int, spec: str | None) -> tuple[float, ...]:
    if spec:
        return tuple(float(m) if "." in m else int(m) for m in spec.split(","))
    if image_size not in CHANNEL_MULT_BY_SIZE:
        raise ValueError(f"no default channel_mult for {image_size}×{image_size}; pass channel_mult")
    return CHANNEL_MULT_BY_SIZE[image_size]


def _with_tuples(data: dict[str, Any]) -> dict[str, Any]:
    """JSON lists back to the tuples a configuration holds."""
    return {**data, "attention_resolutions": tuple(data["attention_resolutions"]),
            "channel_mult": tuple(data["channel_mult"])}


@dataclass
class UNetConfig:
    image_size: int
    in_channels: int
    model_channels: int
    out_channels: int
    num_res_blocks: int
    attention_resolutions: tuple[int, ...]
    channel_mult: tuple[float, ...]
    num_classes: int | None = None
    dropout: float = 0.0
    num_heads: int = 4
    num_head_channels: int = -1
    num_heads_upsample: int = -1
    use_scale_shift_norm: bool = True
    resblock_updown: bool = False
    use_new_attention_order: bool = False

    @property
    def learn_sigma(self) -> bool:
        return self.out_channels == 2 * self.in_channels

    def build(self) -> UNetModel:
        return UNetModel(**asdict(self))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UNetConfig:
        return cls(**_with_tuples(data))

    @classmethod
    def from_flags(cls, flags: dict[str, Any], in_channels: int = 3, num_classes: int = IMAGENET_CLASSES) -> UNetConfig:
        """The UNet that guided-diffusion's `create_model` builds for these flags."""
        size = int(flags["image_size"])
        return cls(
            image_size=size,
            in_channels=in_channels,
            model_channels=int(flags["num_channels"]),
            out_channels=in_channels * (2 if flags.get("learn_sigma", False) else 1),
            num_res_blocks=int(flags["num_res_blocks"]),
            attention_resolutions=attention_downsample_rates(size, flags.get("attention_resolutions", "16,8")),
            channel_mult=_channel_mult(size, flags.get("channel_mult")),
            num_classes=num_classes if flags.get("class_cond", False) else None,
            dropout=float(flags.get("dropout", 0.0)),
            num_heads=int(flags.get("num_heads", 4)),
            num_head_channels=int(flags.get("num_head_channels", -1)),
            num_heads_upsample=int(flags.get("num_heads_upsample", -1)),
            use_scale_shift_norm=bool(flags.get("use_scale_shift_norm", True)),
            resblock_updown=bool(flags.get("resblock_updown", False)),
            use_new_attention_order=bool(flags.get("use_new_attention_order", False)),
        )


@dataclass
class ClassifierConfig:
    image_size: int
    in_channels: int
    model_channels: int
    out_channels: int
    num_res_blocks: int
    attention_resolutions: tuple[int, ...]
    channel_mult: tuple[float, ...]
    num_head_channels: int = 64
    use_scale_shift_norm: bool = True
    resblock_updown: bool = True
    use_new_attention_order: bool = False
    pool: str = "attention"
    dropout: float = 0.0

    def build(self) -> EncoderUNetModel:
        return EncoderUNetModel(**asdict(self))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClassifierConfig:
        return cls(**_with_tuples(data))

    @classmethod
    def from_flags(
        cls, flags: dict[str, Any], in_channels: int = 3, num_classes: int = IMAGENET_CLASSES
    ) -> ClassifierConfig:
        """The classifier that guided-diffusion's `create_classifier` builds for these flags."""
        size = int(flags["image_size"])
        return cls(
            image_size=size,
            in_channels=in_channels,
            model_channels=int(flags.get("classifier_width", 128)),
            out_channels=num_classes,
            num_res_blocks=int(flags.get("classifier_depth", 2)),
            attention_resolutions=attention_downsample_rates(
                size, flags.get("classifier_attention_resolutions", "32,16,8")
            ),
            channel_mult=_channel_mult(size, flags.get("classifier_channel_mult")),
            num_head_channels=64,
            use_scale_shift_norm=bool(flags.get("classifier_use_scale_shift_norm", True)),
            resblock_updown=bool(flags.get("classifier_resblock_updown", True)),
            pool=str(flags.get("classifier_pool", "attention")),
        )
