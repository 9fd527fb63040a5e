"""Every released guided-diffusion checkpoint's parameter names and shapes match our modules."""

import json
from pathlib import Path

import pytest
import torch

from studio_tools.adm import ClassifierConfig, UNetConfig

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "adm-checkpoints.json").read_text())["checkpoints"]


def build_for(name: str, flags: dict) -> torch.nn.Module:
    config = ClassifierConfig.from_flags(flags) if "classifier" in name else UNetConfig.from_flags(flags)
    with torch.device("meta"):
        return config.build()


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_state_dict_names_and_shapes(name: str) -> None:
    expected = {key: list(shape) for key, shape in REFERENCE[name]["state_dict"].items()}
    model = build_for(name, REFERENCE[name]["flags"])
    actual = {key: list(tensor.shape) for key, tensor in model.state_dict().items()}
    missing = sorted(set(expected) - set(actual))
    unexpected = sorted(set(actual) - set(expected))
    assert not missing and not unexpected, f"missing {missing[:5]}, unexpected {unexpected[:5]}"
    wrong = [(k, actual[k], expected[k]) for k in expected if actual[k] != expected[k]]
    assert not wrong, f"shape mismatches: {wrong[:5]}"
    assert sum(p.numel() for p in model.parameters()) == REFERENCE[name]["parameters"]


def test_nine_checkpoints_are_covered() -> None:
    assert len(REFERENCE) == 9
