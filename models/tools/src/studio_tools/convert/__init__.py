"""Released guided-diffusion checkpoints → studio model folders."""

from .checkpoint import CheckpointError, load_state_dict
from .model_folder import Conversion, convert, imagenet_classes
from .presets import PRESETS, Preset, preset_named

__all__ = [
    "PRESETS",
    "CheckpointError",
    "Conversion",
    "Preset",
    "convert",
    "imagenet_classes",
    "load_state_dict",
    "preset_named",
]
