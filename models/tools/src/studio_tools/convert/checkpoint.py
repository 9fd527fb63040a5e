"""Reading a released checkpoint and checking it fits the architecture a preset builds.

A checkpoint that does not fit is refused with the first differing names and shapes
and the most likely cause, found by comparing it with what each preset and each
architecture flag would produce.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

SHOWN = 5


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the chosen architecture."""


def load_state_dict(path: Path, role: str) -> dict[str, torch.Tensor]:
    """The tensors of a state_dict file, read without running any pickled code."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"the {role} checkpoint {path} does not exist; check the path")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(
            f"{path.name} could not be read as a PyTorch state_dict ({first_line}); "
            f"pass the released .pt file itself, not a renamed or partly downloaded one"
        ) from None
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path.name} holds a {type(state).__name__}, not a state_dict of tensors")
    return {str(key): value for key, value in state.items()}


def shapes_of(model_or_state: nn.Module | Mapping[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    return {key: tuple(tensor.shape) for key, tensor in state.items()}


@dataclass(frozen=True)
class Mismatch:
    missing: list[str]
    unexpected: list[str]
    wrong_shape: list[tuple[str, tuple[int, ...], tuple[int, ...]]]

    @property
    def fits(self) -> bool:
        return not (self.missing or self.unexpected or self.wrong_shape)

    @property
    def size(self) -> int:
        return len(self.missing) + len(self.unexpected) + len(self.wrong_shape)

    def describe(self) -> str:
        parts = []
        if self.missing:
            parts.append(f"missing from the checkpoint: {', '.join(self.missing[:SHOWN])}")
        if self.unexpected:
            parts.append(f"not expected by the preset: {', '.join(self.unexpected[:SHOWN])}")
        if self.wrong_shape:
            shown = [f"{key} is {tuple(got)} but the preset needs {tuple(want)}" for key, got, want in self.wrong_shape]
            parts.append("; ".join(shown[:SHOWN]))
        return "; ".join(parts)


def compare(checkpoint: Mapping[str, tuple[int, ...]], expected: Mapping[str, tuple[int, ...]]) -> Mismatch:
    return Mismatch(
        missing=[key for key in expected if key not in checkpoint],
        unexpected=[key for key in checkpoint if key not in expected],
        wrong_shape=[
            (key, checkpoint[key], expected[key])
            for key in expected
            if key in checkpoint and checkpoint[key] != expected[key]
        ],
    )


def load_into(model: nn.Module, state: Mapping[str, torch.Tensor]) -> nn.Module:
    """Adopt the checkpoint's tensors as the model's float32 weights (the model may live on the meta device)."""
    weights = {key: value.float() if value.is_floating_point() else value for key, value in state.items()}
    model.load_state_dict(weights, strict=True, assign=True)
    return model.eval()
