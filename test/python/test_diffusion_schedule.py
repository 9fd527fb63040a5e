"""Schedules, respacing and the variational-bound term against closed forms from the
papers (Ho et al. 2020; Nichol & Dhariwal 2021) computed independently with numpy/scipy."""

import math
from typing import Any

import numpy as np
import pytest
import torch
from scipy.stats import norm

from studio_tools.diffusion import GaussianDiffusion, get_named_beta_schedule, space_timesteps


def test_linear_schedule_runs_from_1e4_to_002_at_t1000_and_scales_with_t():
    betas = get_named_beta_schedule("linear", 1000)
    assert betas.dtype == np.float64
    assert betas[0] == pytest.approx(1e-4, abs=1e-15)
    assert betas[-1] == pytest.approx(0.02, abs=1e-15)
    assert np.allclose(np.diff(betas), (0.02 - 1e-4) / 999, atol=1e-15)
    short = get_named_beta_schedule("linear", 100)
    assert short[0] == pytest.approx(1e-3) and short[-1] == pytest.approx(0.2)


def test_cosine_schedule_telescopes_to_the_closed_form_alpha_bar():
    T = 1000
    betas = get_named_beta_schedule("cosine", T)

    def f(s):
        return np.cos((s + 0.008) / 1.008 * np.pi / 2) ** 2

    alpha_bar = np.cumprod(1.0 - betas)
    expected = f(np.arange(1, T + 1) / T) / f(0.0)
    unclipped = betas < 0.999
    assert np.allclose(alpha_bar[unclipped], expected[unclipped], rtol=1e-12, atol=1e-300)
    assert betas[-1] == 0.999
    assert betas.max() <= 0.999


def test_unknown_schedule_is_refused_with_the_valid_names():
    with pytest.raises(ValueError, match="linear, cosine"):
        get_named_beta_schedule("quadratic", 10)


def test_ddim25_keeps_every_40th_step():
    assert space_timesteps(1000, "ddim25") == list(range(0, 1000, 40))


def test_250_steps_use_a_fractional_stride_that_ends_at_999():
    kept = space_timesteps(1000, "250")
    assert len(kept) == 250
    assert kept[:4] == [0, 4, 8, 12]
    assert kept[-2:] == [995, 999]
    stride = 999 / 249
    assert kept == [round(i * stride) for i in range(250)]


def test_sections_split_t_evenly_with_the_remainder_first():
    # T=100 into 3 sections of 34, 33, 33 steps.
    assert space_timesteps(100, "3,4,3") == [0, 16, 33, 34, 45, 55, 66, 67, 83, 99]
    kept = space_timesteps(300, "10,15,20")
    assert len(kept) == 45
    assert kept[:10] == [0, 11, 22, 33, 44, 55, 66, 77, 88, 99]
    assert kept[-1] == 299


@pytest.mark.parametrize(
    "spec, message",
    [("ddim30", "no integer stride"), ("40,40,40", "section of only"), ("fast", "Cannot read"), ("0", "at least 1")],
)
def test_impossible_step_settings_say_what_to_change(spec, message):
    with pytest.raises(ValueError, match=message):
        space_timesteps(100, spec)


def test_respacing_keeps_alpha_bar_at_the_kept_steps_and_maps_to_original_indices():
    full = GaussianDiffusion.from_settings(schedule="cosine", num_timesteps=1000)
    spaced = GaussianDiffusion.from_settings(schedule="cosine", num_timesteps=1000, respacing="ddim25")
    kept = np.arange(0, 1000, 40)
    assert spaced.num_timesteps == 25
    assert np.allclose(spaced.alphas_cumprod, full.alphas_cumprod[kept], rtol=1e-13)
    assert spaced.timestep_map.tolist() == kept.tolist()
    assert spaced.model_timesteps(torch.tensor([0, 24])).tolist() == [0, 960]


def _vb_case(t_index: int, delta: float, v: float):
    diffusion = GaussianDiffusion.from_settings(schedule="linear", num_timesteps=40)
    x_start = torch.zeros(1, 1, 2, 2, dtype=torch.float64)
    noise = torch.full_like(x_start, 0.3)
    t = torch.tensor([t_index])
    x_t = diffusion.q_sample(x_start, t, noise)
    output = torch.cat([noise + delta, torch.full_like(noise, v)], dim=1)
    step = diffusion.p_mean_variance(output, x_t, t, clip_denoised=False)
    return diffusion, diffusion.vb_terms_bpd(step, x_start, x_t, t).item()


def test_vb_term_is_the_gaussian_kl_in_bits_for_t_above_zero():
    t_index, delta = 5, 0.2
    diffusion, vb = _vb_case(t_index, delta, v=1.0)
    betas = np.linspace(2.5e-3, 0.5, 40)
    alpha_bar = np.cumprod(1 - betas)
    beta, ab, ab_prev = betas[t_index], alpha_bar[t_index], alpha_bar[t_index - 1]
    posterior_var = beta * (1 - ab_prev) / (1 - ab)
    # A wrong ε by δ moves x̂₀ by −√(1/ᾱ−1)·δ and the mean by c₁ times that.
    c1 = beta * np.sqrt(ab_prev) / (1 - ab)
    mean_gap = c1 * np.sqrt(1 / ab - 1) * delta
    model_var = beta  # v = 1 selects the upper end, βₜ.
    kl_nats = 0.5 * (np.log(model_var / posterior_var) + posterior_var / model_var + mean_gap**2 / model_var - 1)
    assert vb == pytest.approx(kl_nats / math.log(2), rel=1e-10)


def test_vb_term_at_t0_is_the_discretised_decoder_nll_in_bits():
    _, vb = _vb_case(0, delta=0.0, v=-1.0)
    betas = np.linspace(2.5e-3, 0.5, 40)
    alpha_bar = np.cumprod(1 - betas)
    # At t=0 the clipped log-variance is that of β̃₁.
    sigma = math.sqrt(betas[1] * (1 - alpha_bar[0]) / (1 - alpha_bar[1]))
    # x₀ = 0 sits in the middle of a bin of width 2/255 around the exact mean.
    bin_mass = norm.cdf(1 / 255 / sigma) - norm.cdf(-1 / 255 / sigma)
    # The tanh approximation of Φ is within ~2e-4 of the exact one.
    assert vb == pytest.approx(-math.log(bin_mass) / math.log(2), rel=1e-3)


def test_hybrid_loss_trains_the_mean_only_through_mse_and_the_variance_only_through_vb():
    diffusion = GaussianDiffusion.from_settings(schedule="cosine", num_timesteps=100)
    torch.manual_seed(0)
    x_start = torch.rand(3, 1, 4, 4) * 2 - 1
    noise = torch.randn_like(x_start)
    t = torch.tensor([0, 40, 99])
    parameters = torch.zeros(3, 2, 4, 4, requires_grad=True)

    def model(x, timesteps, y):
        return parameters + 0.0 * x

    losses = diffusion.training_losses(model, x_start, t, {"y": torch.zeros(3)}, noise=noise)
    assert set(losses) == {"loss", "mse", "vb"}
    assert losses["mse"].shape == (3,)
    assert torch.allclose(losses["mse"], (noise**2).mean(dim=(1, 2, 3)))
    assert torch.allclose(losses["loss"], losses["mse"] + losses["vb"])
    (grad_vb,) = torch.autograd.grad(losses["vb"].sum(), parameters, retain_graph=True)
    (grad_mse,) = torch.autograd.grad(losses["mse"].sum(), parameters)
    assert torch.count_nonzero(grad_vb[:, :1]) == 0 and torch.count_nonzero(grad_vb[:, 1:]) > 0
    assert torch.count_nonzero(grad_mse[:, 1:]) == 0 and torch.count_nonzero(grad_mse[:, :1]) > 0


def test_vb_is_scaled_by_t_over_1000_for_rescaled_learned_sigmas():
    kwargs: dict[str, Any] = {"schedule": "linear", "num_timesteps": 100}
    rescaled = GaussianDiffusion.from_settings(**kwargs)
    plain = GaussianDiffusion.from_settings(**kwargs, rescale_learned_sigmas=False)
    x_start = torch.zeros(2, 1, 2, 2)
    noise = torch.ones_like(x_start)
    t = torch.tensor([10, 50])

    def model(x, timesteps):
        return torch.cat([torch.zeros_like(x), torch.zeros_like(x)], dim=1)

    a = rescaled.training_losses(model, x_start, t, noise=noise)["vb"]
    b = plain.training_losses(model, x_start, t, noise=noise)["vb"]
    assert torch.allclose(a, b * 0.1)


def test_linear_schedule_too_short_for_its_last_beta_is_refused():
    with pytest.raises(ValueError, match="more than 20 steps"):
        get_named_beta_schedule("linear", 20)
