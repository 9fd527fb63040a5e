"""The device path's step graphs: committed as generated, each step equal to the PyTorch reference sampler's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from studio_tools.diffusion.gaussian_diffusion import GaussianDiffusion
from studio_tools.diffusion.sampling import ddim_step, ddpm_step
from studio_tools.export import step_graphs

REPO = Path(__file__).resolve().parents[2]
STEP_GRAPHS = REPO / "electron" / "inference" / "step-graphs"
SHAPE = (2, 3, 4, 4)
StepFn = Callable[..., tuple[torch.Tensor, torch.Tensor]]


def test_committed_step_graphs_are_current() -> None:
    assert sorted(path.name for path in STEP_GRAPHS.glob("*.onnx")) == sorted(step_graphs.graph_bytes())
    for name, data in step_graphs.graph_bytes().items():
        assert (STEP_GRAPHS / name).read_bytes() == data, f"{name} is stale; run python -m studio_tools step-graphs"


def test_the_generator_writes_the_graphs_into_a_folder(tmp_path: Path) -> None:
    assert step_graphs.main([str(tmp_path / "graphs")]) == 0
    for name, data in step_graphs.graph_bytes().items():
        assert (tmp_path / "graphs" / name).read_bytes() == data
        onnx.checker.check_model(onnx.load(tmp_path / "graphs" / name), full_check=True)


def _run(name: str, feeds: Mapping[str, np.ndarray | float]) -> dict[str, np.ndarray]:
    session = onnxruntime.InferenceSession(str(STEP_GRAPHS / name), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    types = {value.name: np.float64 if value.type == "tensor(double)" else np.float32 for value in session.get_inputs()}
    results = session.run(None, {key: np.asarray(value, dtype=types[key]) for key, value in feeds.items()})
    return dict(zip(names, results, strict=True))


def _inputs(output_channels: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    batch, channels, height, width = SHAPE
    return {
        "x": rng.standard_normal(SHAPE).astype(np.float32),
        "modelOutput": rng.uniform(-1, 1, (batch, output_channels * channels, height, width)).astype(np.float32),
        "grad": rng.standard_normal(SHAPE).astype(np.float32),
        "noise": rng.standard_normal(SHAPE).astype(np.float32),
    }


def _reference(diffusion: GaussianDiffusion, step: StepFn, index: int, tensors: dict[str, np.ndarray], scale: float,
               eta: float) -> tuple[np.ndarray, np.ndarray]:
    x = torch.from_numpy(tensors["x"]).double()
    out = torch.from_numpy(tensors["modelOutput"]).double()
    grad = torch.from_numpy(tensors["grad"]).double()
    t = torch.full((SHAPE[0],), index, dtype=torch.long)
    x_next, pred_x0 = step(diffusion, lambda *_: out, x, t, torch.from_numpy(tensors["noise"]).double(),
                           clip_denoised=True, gradient_fn=lambda *_: scale * grad, eta=eta)
    return x_next.numpy(), pred_x0.numpy()


@pytest.mark.parametrize("suffix", ["", ".f32"])
@pytest.mark.parametrize("index", [0, 12, 24])
def test_a_guided_ddim_step_is_the_reference_step(suffix: str, index: int) -> None:
    diffusion = GaussianDiffusion.from_settings(schedule="linear", num_timesteps=100, respacing="ddim25",
                                                learn_sigma=False)
    scale, eta = 3.0, 0.5
    tensors = _inputs(1)
    expected_x, expected_x0 = _reference(diffusion, ddim_step, index, tensors, scale, eta)
    alpha_bar, alpha_bar_prev = diffusion.alphas_cumprod[index], diffusion.alphas_cumprod_prev[index]
    sigma = eta * np.sqrt((1 - alpha_bar_prev) / (1 - alpha_bar)) * np.sqrt(1 - alpha_bar / alpha_bar_prev)
    outputs = _run(f"ddimStep{suffix}.onnx", {
        **tensors,
        "sqrtRecipAlphaBar": diffusion.sqrt_recip_alphas_cumprod[index],
        "sqrtRecipm1AlphaBar": diffusion.sqrt_recipm1_alphas_cumprod[index],
        "clipBound": 1.0,
        "scoreShift": diffusion.sqrt_recipm1_alphas_cumprod[index] * np.sqrt(1 - alpha_bar) * scale,
        "sqrtAlphaBarPrev": np.sqrt(alpha_bar_prev),
        "directionWeight": np.sqrt(1 - alpha_bar_prev - sigma**2),
        "noiseWeight": sigma if index > 0 else 0.0,
    })
    tolerance = 1e-6 if suffix == "" else 1e-4
    assert np.abs(outputs["xNext"] - expected_x).max() <= tolerance * np.abs(expected_x).max()
    assert np.abs(outputs["predX0"] - expected_x0).max() <= tolerance * np.abs(expected_x0).max()
    expected_norm = np.sqrt((tensors["grad"].astype(np.float64) ** 2).sum(axis=(1, 2, 3)))
    np.testing.assert_allclose(outputs["gradNorm"], expected_norm, rtol=1e-6)
    np.testing.assert_array_equal(outputs["finiteness"], np.zeros(SHAPE[0]))


@pytest.mark.parametrize("suffix", ["", ".f32"])
@pytest.mark.parametrize("index", [0, 12, 24])
def test_a_guided_learned_range_ddpm_step_is_the_reference_step(suffix: str, index: int) -> None:
    diffusion = GaussianDiffusion.from_settings(schedule="cosine", num_timesteps=100, respacing="25", learn_sigma=True)
    scale = 2.0
    tensors = _inputs(2)
    expected_x, expected_x0 = _reference(diffusion, ddpm_step, index, tensors, scale, 0.0)
    outputs = _run(f"ddpmStepLearnedRange{suffix}.onnx", {
        **tensors,
        "sqrtRecipAlphaBar": diffusion.sqrt_recip_alphas_cumprod[index],
        "sqrtRecipm1AlphaBar": diffusion.sqrt_recipm1_alphas_cumprod[index],
        "clipBound": 1.0,
        "posteriorMeanCoef1": diffusion.posterior_mean_coef1[index],
        "posteriorMeanCoef2": diffusion.posterior_mean_coef2[index],
        "minLogVariance": diffusion.posterior_log_variance_clipped[index],
        "maxLogVariance": diffusion.log_betas[index],
        "gradientScale": scale,
        "noiseWeight": 1.0 if index > 0 else 0.0,
    })
    tolerance = 1e-6 if suffix == "" else 1e-4
    assert np.abs(outputs["xNext"] - expected_x).max() <= tolerance * np.abs(expected_x).max()
    assert np.abs(outputs["predX0"] - expected_x0).max() <= tolerance * np.abs(expected_x0).max()


def test_a_fixed_variance_ddpm_step_is_the_reference_step() -> None:
    diffusion = GaussianDiffusion.from_settings(schedule="linear", num_timesteps=100, respacing="25", learn_sigma=False)
    index, scale = 10, 1.5
    tensors = _inputs(1)
    expected_x, _ = _reference(diffusion, ddpm_step, index, tensors, scale, 0.0)
    outputs = _run("ddpmStepFixedVariance.onnx", {
        **tensors,
        "sqrtRecipAlphaBar": diffusion.sqrt_recip_alphas_cumprod[index],
        "sqrtRecipm1AlphaBar": diffusion.sqrt_recipm1_alphas_cumprod[index],
        "clipBound": 1.0,
        "posteriorMeanCoef1": diffusion.posterior_mean_coef1[index],
        "posteriorMeanCoef2": diffusion.posterior_mean_coef2[index],
        "logVariance": diffusion.posterior_log_variance_clipped[index],
        "gradientScale": scale,
        "noiseWeight": 1.0,
    })
    assert np.abs(outputs["xNext"] - expected_x).max() <= 1e-6 * np.abs(expected_x).max()


@pytest.mark.parametrize("suffix", ["", ".f32"])
@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_a_diverged_sample_is_marked_per_sample(suffix: str, bad_value: float) -> None:
    tensors = _inputs(1)
    tensors["modelOutput"][1, 0, 2, 2] = bad_value
    coefficients = {"sqrtRecipAlphaBar": 2.0, "sqrtRecipm1AlphaBar": 1.5, "clipBound": np.inf, "scoreShift": 0.0,
                    "sqrtAlphaBarPrev": 0.7, "directionWeight": 0.7, "noiseWeight": 0.0}
    finiteness = _run(f"ddimStep{suffix}.onnx", {**tensors, **coefficients})["finiteness"]
    assert finiteness[0] == 0.0
    assert np.isnan(finiteness[1])
