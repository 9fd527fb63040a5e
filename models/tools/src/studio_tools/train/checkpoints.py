"""Load the trained built-in networks from their run folders."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..adm import ClassifierConfig, EncoderUNetModel, UNetConfig, UNetModel
from .architectures import Evaluator


def _state(run_dir: Path) -> tuple[dict, dict[str, torch.Tensor], int]:
    """(architecture, weights, steps): final weights when training finished, else the latest checkpoint (EMA first)."""
    final = run_dir / "final.pt"
    if final.exists():
        data = torch.load(final, weights_only=True)
        return data["architecture"], data["state_dict"], int(data["steps"])
    last = run_dir / "last.pt"
    if not last.exists():
        raise FileNotFoundError(f"No checkpoint in {run_dir}: train it first with `python -m studio_tools.train`.")
    architecture = json.loads((run_dir / "run.json").read_text())
    data = torch.load(last, weights_only=True)
    return architecture, data.get("ema", data["model"]), int(data["step"])


def load_unet(run_dir: Path) -> tuple[UNetModel, UNetConfig, int]:
    architecture, weights, steps = _state(run_dir)
    config = UNetConfig.from_json(architecture["unet"])
    model = config.build()
    model.load_state_dict(weights)
    return model.eval(), config, steps


def load_classifier(run_dir: Path) -> tuple[EncoderUNetModel, ClassifierConfig, int]:
    architecture, weights, steps = _state(run_dir)
    config = ClassifierConfig.from_json(architecture["classifier"])
    model = config.build()
    model.load_state_dict(weights)
    return model.eval(), config, steps


def load_evaluator(run_dir: Path) -> tuple[Evaluator, int]:
    _architecture, weights, steps = _state(run_dir)
    model = Evaluator()
    model.load_state_dict(weights)
    return model.eval(), steps
