"""Gaussian diffusion in PyTorch: schedules, respacing, the forward/reverse process and
training losses, following Ho et al. (2020), Nichol & Dhariwal (2021) and
Dhariwal & Nichol (2021)."""

from .gaussian_diffusion import GaussianDiffusion, PosteriorMeanVariance, ReverseStep, extract, mean_flat
from .likelihood import approx_standard_normal_cdf, discretized_gaussian_log_likelihood, normal_kl
from .respace import respace_betas, space_timesteps
from .sampling import (
    CONSTANT_GUIDANCE,
    GUIDANCE_MODES,
    GuidanceSchedule,
    SampleStep,
    classifier_free_denoise,
    condition_eps,
    condition_mean,
    condition_score,
    ddim_step,
    ddpm_step,
    dpmpp2m_sample,
    guided_functions,
    sample,
)
from .schedule import SCHEDULE_NAMES, betas_for_alpha_bar, get_named_beta_schedule

__all__ = [
    "CONSTANT_GUIDANCE",
    "GUIDANCE_MODES",
    "GaussianDiffusion",
    "GuidanceSchedule",
    "PosteriorMeanVariance",
    "ReverseStep",
    "SCHEDULE_NAMES",
    "SampleStep",
    "approx_standard_normal_cdf",
    "betas_for_alpha_bar",
    "classifier_free_denoise",
    "condition_eps",
    "condition_mean",
    "condition_score",
    "ddim_step",
    "ddpm_step",
    "discretized_gaussian_log_likelihood",
    "dpmpp2m_sample",
    "extract",
    "get_named_beta_schedule",
    "guided_functions",
    "mean_flat",
    "normal_kl",
    "respace_betas",
    "sample",
    "space_timesteps",
]
