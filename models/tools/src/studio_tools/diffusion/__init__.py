"""Gaussian diffusion in PyTorch: schedules, respacing, the forward/reverse process and
training losses, following Ho et al. (2020), Nichol & Dhariwal (2021) and
Dhariwal & Nichol (2021)."""

from .gaussian_diffusion import GaussianDiffusion, PosteriorMeanVariance, ReverseStep, extract, mean_flat
from .likelihood import approx_standard_normal_cdf, discretized_gaussian_log_likelihood, normal_kl
from .respace import respace_betas, space_timesteps
from .sampling import (
    GUIDANCE_MODES,
    SampleStep,
    condition_mean,
    condition_score,
    ddim_step,
    ddpm_step,
    guided_functions,
    sample,
)
from .schedule import SCHEDULE_NAMES, betas_for_alpha_bar, get_named_beta_schedule

__all__ = [
    "GUIDANCE_MODES",
    "GaussianDiffusion",
    "PosteriorMeanVariance",
    "ReverseStep",
    "SCHEDULE_NAMES",
    "SampleStep",
    "approx_standard_normal_cdf",
    "betas_for_alpha_bar",
    "condition_mean",
    "condition_score",
    "ddim_step",
    "ddpm_step",
    "discretized_gaussian_log_likelihood",
    "extract",
    "get_named_beta_schedule",
    "guided_functions",
    "mean_flat",
    "normal_kl",
    "respace_betas",
    "sample",
    "space_timesteps",
]
