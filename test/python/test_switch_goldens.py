"""The golden cases with a switch part way: before the switch they are the run without it,
after it they leave that run far behind (so an engine ignoring the switch fails the 1e-4
golden test), and a continued DPM-Solver++(2M) restarts first order."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from studio_tools.diffusion import GaussianDiffusion, sample
from studio_tools.diffusion.torch_model import load_models, read_config
from studio_tools.fixtures import GOLDEN_CASES, run_golden_case

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TORCH_MODEL = FIXTURES / "tiny-model-torch"
GOLDEN = FIXTURES / "golden"

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SWITCH_CASES = [(index, case) for index, case in enumerate(GOLDEN_CASES) if case.switch is not None]


@pytest.fixture(scope="module")
def committed_models():
    config = read_config(TORCH_MODEL / "config.json")
    return load_models(config, TORCH_MODEL / "unet.pt", TORCH_MODEL / "classifier.pt")


def test_switch_cases_cover_a_class_switch_and_two_sampler_switches():
    switches = [case.switch for _, case in SWITCH_CASES if case.switch is not None]
    assert any(switch.classes is not None for switch in switches)
    assert {switch.sampler for switch in switches} >= {"ddim", "dpmpp2m"}


@pytest.mark.parametrize("index, case", SWITCH_CASES, ids=[c.name for _, c in SWITCH_CASES])
def test_switch_keeps_the_steps_before_it_and_changes_those_after(index, case, committed_models):
    unet, classifier = committed_models
    switched = np.load(GOLDEN / case.name / "xt.npy")
    plain = run_golden_case(index, dataclasses.replace(case, switch=None), unet, classifier)["xt"]
    k = case.switch.step
    np.testing.assert_allclose(switched[:k], plain[:k], rtol=0, atol=1e-5)
    after = np.abs(switched[k:] - plain[k:]).reshape(len(plain) - k, -1).max(axis=1)
    assert after.max() > 1e-2, (case.name, after)


def test_a_continued_dpm_solver_restarts_first_order():
    """From step k the second-order update needs the x̂₀ of step k − 1; a continued run has none,
    so its first step is DDIM's (η = 0), which is DPM-Solver++'s first-order step."""
    diffusion = GaussianDiffusion.from_settings(
        schedule="cosine", num_timesteps=100, respacing="ddim10", learn_sigma=False
    )
    rng = np.random.default_rng(5)
    x = torch.from_numpy(rng.standard_normal((2, 1, 4, 4))).double()
    weights = torch.from_numpy(rng.standard_normal((1, 1, 4, 4))).double()

    def denoise(x_t: torch.Tensor, _t: torch.Tensor) -> torch.Tensor:
        return 0.3 * x_t + weights

    (dpm,) = list(sample(diffusion, "dpmpp2m", denoise, x, clip_denoised=False, start_step=4))[:1]
    no_noise = torch.zeros(10, *x.shape, dtype=x.dtype)
    (ddim,) = list(sample(diffusion, "ddim", denoise, x, no_noise, clip_denoised=False, start_step=4))[:1]
    assert dpm.step == 4 and ddim.step == 4
    torch.testing.assert_close(dpm.xt, ddim.xt, rtol=1e-12, atol=1e-12)
