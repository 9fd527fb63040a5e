"""Inception-v3 (Szegedy et al. 2016) as a feature network for FID, IS and precision/recall.

The module and parameter names follow torchvision's ``Inception3`` exactly, so a state dict
saved from torchvision (``inception_v3_google-*.pth``) or pytorch-fid's FID Inception weights
(``pt_inception-2015-12-05-*.pth``) loads unchanged. ``variant="fid"`` reproduces the
TensorFlow graph the FID literature uses: average pools that exclude padding, a max pool in
the last block and 1008 classes. ``width_divisor`` shrinks every layer for tests.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Variant = Literal["torchvision", "fid"]

FEATURE_DIMENSION = 2048
CLASSES = {"torchvision": 1000, "fid": 1008}
INPUT_SIZE = 299


class BasicConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, **conv: object) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **conv)  # type: ignore[arg-type]
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class _Widths:
    """Channel counts divided by ``divisor`` (at least 1), so a stand-in keeps the topology."""

    def __init__(self, divisor: int) -> None:
        self.divisor = divisor

    def __call__(self, channels: int) -> int:
        return max(1, channels // self.divisor)


def _average_pool(x: torch.Tensor, variant: Variant) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=variant != "fid")


class InceptionA(nn.Module):
    def __init__(self, in_channels: int, pool_features: int, w: _Widths, variant: Variant) -> None:
        super().__init__()
        self.variant = variant
        self.branch1x1 = BasicConv2d(in_channels, w(64), kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, w(48), kernel_size=1)
        self.branch5x5_2 = BasicConv2d(w(48), w(64), kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, w(64), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(64), w(96), kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(w(96), w(96), kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(_average_pool(x, self.variant))
        return torch.cat([self.branch1x1(x), branch5x5, branch3x3dbl, branch_pool], 1)


class InceptionB(nn.Module):
    def __init__(self, in_channels: int, w: _Widths) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, w(384), kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, w(64), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(64), w(96), kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(w(96), w(96), kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), branch3x3dbl, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, in_channels: int, channels_7x7: int, w: _Widths, variant: Variant) -> None:
        super().__init__()
        self.variant = variant
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, w(192), kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, w(192), kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, w(192), kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, w(192), kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = x
        for layer in (
            self.branch7x7dbl_1,
            self.branch7x7dbl_2,
            self.branch7x7dbl_3,
            self.branch7x7dbl_4,
            self.branch7x7dbl_5,
        ):
            branch7x7dbl = layer(branch7x7dbl)
        branch_pool = self.branch_pool(_average_pool(x, self.variant))
        return torch.cat([self.branch1x1(x), branch7x7, branch7x7dbl, branch_pool], 1)


class InceptionD(nn.Module):
    def __init__(self, in_channels: int, w: _Widths) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, w(192), kernel_size=1)
        self.branch3x3_2 = BasicConv2d(w(192), w(320), kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, w(192), kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(w(192), w(192), kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(w(192), w(192), kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(w(192), w(192), kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([branch3x3, branch7x7x3, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    def __init__(self, in_channels: int, w: _Widths, variant: Variant, max_pool_branch: bool) -> None:
        super().__init__()
        self.variant = variant
        # The FID graph's last block pools with max instead of average (a quirk of the TF release).
        self.max_pool_branch = max_pool_branch
        self.branch1x1 = BasicConv2d(in_channels, w(320), kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, w(384), kernel_size=1)
        self.branch3x3_2a = BasicConv2d(w(384), w(384), kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(w(384), w(384), kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, w(448), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(448), w(384), kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(w(384), w(384), kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(w(384), w(384), kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, w(192), kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1)
        if self.max_pool_branch:
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            pooled = _average_pool(x, self.variant)
        return torch.cat([self.branch1x1(x), branch3x3, branch3x3dbl, self.branch_pool(pooled)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: only present so torchvision's weights load strictly; never run."""

    def __init__(self, in_channels: int, num_classes: int, w: _Widths) -> None:
        super().__init__()
        self.conv0 = BasicConv2d(in_channels, w(128), kernel_size=1)
        self.conv1 = BasicConv2d(w(128), w(768), kernel_size=5)
        self.fc = nn.Linear(w(768), num_classes)


class InceptionV3(nn.Module):
    """Input: [B, 3, 299, 299] in [-1, 1]. Output: pool features [B, 2048] and logits [B, classes]."""

    def __init__(self, variant: Variant = "torchvision", aux_logits: bool = True, width_divisor: int = 1) -> None:
        super().__init__()
        w = _Widths(width_divisor)
        num_classes = CLASSES[variant]
        self.variant = variant
        self.Conv2d_1a_3x3 = BasicConv2d(3, w(32), kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(w(32), w(32), kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(w(32), w(64), kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(w(64), w(80), kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(w(80), w(192), kernel_size=3)
        self.Mixed_5b = InceptionA(w(192), w(32), w, variant)
        a_out = lambda pool: w(64) + w(64) + w(96) + pool  # noqa: E731 - channel count of an InceptionA output
        self.Mixed_5c = InceptionA(a_out(w(32)), w(64), w, variant)
        self.Mixed_5d = InceptionA(a_out(w(64)), w(64), w, variant)
        b_in = a_out(w(64))
        self.Mixed_6a = InceptionB(b_in, w)
        c_in = w(384) + w(96) + b_in
        self.Mixed_6b = InceptionC(c_in, w(128), w, variant)
        self.Mixed_6c = InceptionC(4 * w(192), w(160), w, variant)
        self.Mixed_6d = InceptionC(4 * w(192), w(160), w, variant)
        self.Mixed_6e = InceptionC(4 * w(192), w(192), w, variant)
        if aux_logits:
            self.AuxLogits = InceptionAux(4 * w(192), num_classes, w)
        d_in = 4 * w(192)
        self.Mixed_7a = InceptionD(d_in, w)
        e_in = w(320) + w(192) + d_in
        e_out = w(320) + 2 * w(384) + 2 * w(384) + w(192)
        self.Mixed_7b = InceptionE(e_in, w, variant, max_pool_branch=False)
        self.Mixed_7c = InceptionE(e_out, w, variant, max_pool_branch=variant == "fid")
        self.feature_dimension = e_out
        self.fc = nn.Linear(e_out, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        features = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return features, self.fc(features)


def load_inception(weights_path: str, variant: Variant = "torchvision", width_divisor: int = 1) -> InceptionV3:
    """Builds the network and loads a state dict saved from torchvision or pytorch-fid."""
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ValueError(f"{weights_path} does not hold a state dict (a mapping of parameter names to tensors).")
    has_aux = any(key.startswith("AuxLogits.") for key in state)
    model = InceptionV3(variant=variant, aux_logits=has_aux, width_divisor=width_divisor)
    fc = state.get("fc.weight")
    if fc is not None and fc.shape[0] != CLASSES[variant]:
        other = "fid" if variant == "torchvision" else "torchvision"
        raise ValueError(
            f"{weights_path} has {fc.shape[0]} classes but the {variant} variant has {CLASSES[variant]}; "
            f"use --variant {other}.")
    result = model.load_state_dict(state, strict=False)
    missing = [key for key in result.missing_keys if not key.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise ValueError(
            f"{weights_path} is not an Inception-v3 state dict: missing {missing[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}. Supply torchvision's or pytorch-fid's Inception-v3 weights.")
    return model.eval()
