"""Reference trajectories for the ``linear-8px`` test model from the PyTorch reference sampler.

The networks of ``linear-8px`` are re-written here in PyTorch (ε = 0.1·x + 0.001·t + 0.01·y,
v = tanh(x); logits = W·flatten(x) with W read from the ONNX file) and sampled with
``studio_tools.diffusion`` (the model tooling's reference sampler), so the engine's goldens
come from an implementation independent of it. Layout as ``test/fixtures/golden``.

Run: ``.venv/bin/python test/electron/inference/models/make_reference_trajectories.py``
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from studio_tools.diffusion import GaussianDiffusion, guided_functions, sample

HERE = Path(__file__).parent
MODEL = HERE / "linear-8px"
OUT = HERE / "linear-8px-golden"
NULL_CLASS = 3

CASES = {
    # name: sampler, steps, eta, scale, mode, classes; schedule and T are the manifest's.
    "ddpm-25-unconditional-classifier": ("ddpm", "25", 0.0, 3.0, "unconditional+classifier", (1, 2)),
    "ddpm-sections-conditional-classifier": ("ddpm", "3,4,3", 0.0, 2.0, "conditional+classifier", (0, 0)),
    "ddim-ddim10-eta0-unconditional-classifier": ("ddim", "ddim10", 0.0, 4.0, "unconditional+classifier", (2, 2)),
    "ddim-20-eta05-conditional": ("ddim", "20", 0.5, 0.0, "conditional", (1, 0)),
}


class LinearUNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        # The reference sampler reads the network's dtype from its parameters.
        self.dtype_anchor = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        shape = (-1, 1, 1, 1)
        eps = 0.1 * x + 0.001 * t.to(x.dtype).view(shape) + 0.01 * y.to(x.dtype).view(shape)
        return torch.cat([eps, torch.tanh(x)], dim=1)


class LinearClassifier(torch.nn.Module):
    def __init__(self, weights: np.ndarray) -> None:
        super().__init__()
        self.weights = torch.nn.Parameter(torch.from_numpy(weights))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.weights


def classifier_weights() -> np.ndarray:
    graph = onnx.load(MODEL / "classifier_grad.onnx").graph
    return next(numpy_helper.to_array(init) for init in graph.initializer if init.name == "W").astype(np.float32)


def main() -> None:
    manifest = json.loads((MODEL / "manifest.json").read_text())
    schedule, T = manifest["diffusion"]["noise_schedule"], manifest["diffusion"]["steps"]
    unet, classifier = LinearUNet(), LinearClassifier(classifier_weights())
    if OUT.exists():
        shutil.rmtree(OUT)
    for index, (name, (sampler, steps, eta, scale, mode, classes)) in enumerate(CASES.items()):
        diffusion = GaussianDiffusion.from_settings(schedule=schedule, num_timesteps=T, respacing=steps, learn_sigma=True)
        rng = np.random.default_rng([2024, index])
        x_T = rng.standard_normal((len(classes), 1, 8, 8), dtype=np.float32)
        noise = rng.standard_normal((diffusion.num_timesteps, len(classes), 1, 8, 8), dtype=np.float32)
        y = torch.tensor(classes, dtype=torch.int64)
        denoise, gradient_fn = guided_functions(unet, classifier, mode, y, scale, class_cond=True, null_class=NULL_CLASS)
        trajectory = list(
            sample(diffusion, sampler, denoise, torch.from_numpy(x_T).double(), torch.from_numpy(noise).double(),
                   clip_denoised=True, gradient_fn=gradient_fn, eta=eta)
        )
        folder = OUT / name
        folder.mkdir(parents=True)
        case = {"sampler": sampler, "steps": steps, "eta": eta, "scale": scale, "mode": mode, "schedule": schedule,
                "T": T, "clip_denoised": True, "classes": list(classes),
                "timestep_map": [int(k) for k in diffusion.timestep_map]}
        (folder / "case.json").write_text(json.dumps(case, indent=2) + "\n")
        np.save(folder / "x_T.npy", x_T)
        np.save(folder / "noise.npy", noise)
        np.save(folder / "xt.npy", np.stack([s.xt.numpy() for s in trajectory]).astype(np.float32))
        np.save(folder / "pred_x0.npy", np.stack([s.pred_xstart.numpy() for s in trajectory]).astype(np.float32))


if __name__ == "__main__":
    main()
