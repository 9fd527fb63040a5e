"""ADM networks (Dhariwal & Nichol, 2021) with the release's parameter names."""

from .config import ClassifierConfig, UNetConfig
from .unet import EncoderUNetModel, UNetModel

__all__ = ["ClassifierConfig", "EncoderUNetModel", "UNetConfig", "UNetModel"]
