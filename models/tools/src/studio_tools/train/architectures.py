"""The built-in Fashion-MNIST model set: diffusion UNet, noisy classifier, clean evaluator."""

from __future__ import annotations

import torch
from torch import nn

from ..adm import ClassifierConfig, UNetConfig

NUM_CLASSES = 10
NULL_CLASS = NUM_CLASSES  # label used for "no class" (label dropout)
IMAGE_SIZE = 32


def unet_config(model_channels: int = 32) -> UNetConfig:
    return UNetConfig(
        image_size=IMAGE_SIZE,
        in_channels=1,
        model_channels=model_channels,
        out_channels=2,  # ε and the variance interpolation v
        num_res_blocks=2,
        attention_resolutions=(4,),  # 8×8
        channel_mult=(1, 2, 2),
        num_classes=NUM_CLASSES + 1,
        dropout=0.1,
        num_heads=4,
        num_head_channels=-1,
        use_scale_shift_norm=True,
        resblock_updown=True,
    )


def classifier_config(model_channels: int = 32) -> ClassifierConfig:
    return ClassifierConfig(
        image_size=IMAGE_SIZE,
        in_channels=1,
        model_channels=model_channels,
        out_channels=NUM_CLASSES,
        num_res_blocks=1,
        attention_resolutions=(4,),
        channel_mult=(1, 2, 2),
        num_head_channels=32,
        use_scale_shift_norm=True,
        resblock_updown=True,
        pool="attention",
    )


class Evaluator(nn.Module):
    """A clean (not time-conditioned) classifier playing Inception's part for the metrics.

    `forward` returns (features, logits): the penultimate activations feed FID, precision
    and recall; the softmax of the logits feeds the Inception Score.
    """

    FEATURES = 256

    def __init__(self, in_channels: int = 1, num_classes: int = NUM_CLASSES):
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1),
                nn.GroupNorm(8, cout),
                nn.SiLU(),
                nn.Conv2d(cout, cout, 3, padding=1),
                nn.GroupNorm(8, cout),
                nn.SiLU(),
                nn.AvgPool2d(2),
            )

        self.body = nn.Sequential(block(in_channels, 32), block(32, 64), block(64, 128))
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(128 * 4 * 4, self.FEATURES), nn.SiLU())
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(self.FEATURES, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.embed(self.body(x))
        return features, self.head(self.dropout(features))
