"""The Gaussian diffusion process of Ho et al. (2020) with the learned variance of
Nichol & Dhariwal (2021) and timestep respacing.

Every per-timestep quantity is a float64 numpy array indexed by the (respaced) step
index; ``extract`` converts it to the tensor's dtype only when it is used, so a float64
trajectory stays float64 throughout.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from .likelihood import discretized_gaussian_log_likelihood, normal_kl
from .respace import respace_betas, space_timesteps
from .schedule import get_named_beta_schedule

FixedVariance = Literal["small", "large"]
Model = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class PosteriorMeanVariance:
    mean: torch.Tensor
    variance: torch.Tensor
    log_variance: torch.Tensor


@dataclass(frozen=True)
class ReverseStep:
    """p(x_{t−1} | x_t) with the x̂₀ and ε it was derived from."""

    mean: torch.Tensor
    variance: torch.Tensor
    log_variance: torch.Tensor
    pred_xstart: torch.Tensor
    eps: torch.Tensor


def extract(values: np.ndarray, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """values[t] as a [B, 1, …, 1] tensor of ``like``'s dtype and device."""
    picked = torch.from_numpy(values).to(like.device)[t.long()].to(like.dtype)
    return picked.reshape(-1, *([1] * (like.dim() - 1)))


def mean_flat(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.mean(dim=tuple(range(1, tensor.dim())))


class GaussianDiffusion:
    """Forward and reverse process over ``betas``, optionally respaced to ``use_timesteps``.

    With ``use_timesteps`` the process keeps only those original steps (betas recomputed
    from ᾱ), and ``timestep_map[i]`` is the original index of respaced step i: the UNet and
    the classifier always receive original indices (``model_timesteps``).
    """

    def __init__(
        self,
        betas: np.ndarray,
        *,
        learn_sigma: bool = True,
        fixed_variance: FixedVariance = "small",
        use_timesteps: Sequence[int] | None = None,
        rescale_timesteps: bool = False,
        rescale_learned_sigmas: bool = True,
    ) -> None:
        original_betas = np.asarray(betas, dtype=np.float64)
        if original_betas.ndim != 1 or not ((original_betas > 0) & (original_betas < 1)).all():
            raise ValueError("betas must be a 1-D array of values in (0, 1).")
        self.original_num_steps = len(original_betas)
        if use_timesteps is None:
            self.timestep_map = np.arange(self.original_num_steps, dtype=np.int64)
            betas64 = original_betas
        else:
            kept = sorted(set(int(k) for k in use_timesteps))
            if not kept or kept[0] < 0 or kept[-1] >= self.original_num_steps:
                raise ValueError(
                    f"Kept timesteps must lie in 0..{self.original_num_steps - 1}, got {kept[:1]}…{kept[-1:]}."
                )
            self.timestep_map = np.asarray(kept, dtype=np.int64)
            betas64 = respace_betas(np.cumprod(1.0 - original_betas), kept)

        self.learn_sigma = learn_sigma
        self.fixed_variance = fixed_variance
        self.rescale_timesteps = rescale_timesteps
        self.rescale_learned_sigmas = rescale_learned_sigmas
        self.betas = betas64
        self.num_timesteps = len(betas64)

        alphas = 1.0 - betas64
        self.alphas_cumprod = np.cumprod(alphas)
        self.alphas_cumprod_prev = np.append(1.0, self.alphas_cumprod[:-1])
        self.sqrt_alphas_cumprod = np.sqrt(self.alphas_cumprod)
        self.sqrt_one_minus_alphas_cumprod = np.sqrt(1.0 - self.alphas_cumprod)
        self.sqrt_recip_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod)
        self.sqrt_recipm1_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod - 1.0)

        # β̃ₜ = βₜ(1−ᾱₜ₋₁)/(1−ᾱₜ); β̃₀ = 0, so its log uses β̃₁.
        self.posterior_variance = betas64 * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        if self.num_timesteps > 1:
            clipped = np.append(self.posterior_variance[1], self.posterior_variance[1:])
        else:
            clipped = betas64.copy()
        self.posterior_log_variance_clipped = np.log(clipped)
        self.posterior_mean_coef1 = betas64 * np.sqrt(self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        self.posterior_mean_coef2 = (1.0 - self.alphas_cumprod_prev) * np.sqrt(alphas) / (1.0 - self.alphas_cumprod)
        self.log_betas = np.log(betas64)

    @classmethod
    def from_settings(
        cls,
        *,
        schedule: str,
        num_timesteps: int,
        respacing: str | None = None,
        learn_sigma: bool = True,
        **options,
    ) -> GaussianDiffusion:
        """Build from the named schedule and a respacing string ("", "N", "ddimN", "a,b,c")."""
        betas = get_named_beta_schedule(schedule, num_timesteps)
        kept = space_timesteps(num_timesteps, respacing) if respacing else None
        return cls(betas, learn_sigma=learn_sigma, use_timesteps=kept, **options)

    # Timesteps the networks see -------------------------------------------------

    def model_timesteps(self, t: torch.Tensor) -> torch.Tensor:
        """Original timestep indices for respaced indices ``t`` (times 1000/T if rescaled)."""
        original = torch.from_numpy(self.timestep_map).to(t.device)[t.long()]
        if self.rescale_timesteps:
            return original.to(torch.float32) * (1000.0 / self.original_num_steps)
        return original

    # Forward process q ----------------------------------------------------------

    def q_sample(self, x_start: torch.Tensor, t: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """x_t = √ᾱₜ·x₀ + √(1−ᾱₜ)·ε."""
        if noise is None:
            noise = torch.randn_like(x_start)
        return (
            extract(self.sqrt_alphas_cumprod, t, x_start) * x_start
            + extract(self.sqrt_one_minus_alphas_cumprod, t, x_start) * noise
        )

    def q_posterior_mean_variance(
        self, x_start: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor
    ) -> PosteriorMeanVariance:
        """q(x_{t−1} | x_t, x₀) = N(c₁x₀ + c₂x_t, β̃ₜ)."""
        mean = (
            extract(self.posterior_mean_coef1, t, x_t) * x_start
            + extract(self.posterior_mean_coef2, t, x_t) * x_t
        )
        variance = extract(self.posterior_variance, t, x_t).expand_as(x_t)
        log_variance = extract(self.posterior_log_variance_clipped, t, x_t).expand_as(x_t)
        return PosteriorMeanVariance(mean, variance, log_variance)

    # Reverse process p ----------------------------------------------------------

    def predict_xstart_from_eps(self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x̂₀ = √(1/ᾱₜ)·x_t − √(1/ᾱₜ−1)·ε."""
        return (
            extract(self.sqrt_recip_alphas_cumprod, t, x_t) * x_t
            - extract(self.sqrt_recipm1_alphas_cumprod, t, x_t) * eps
        )

    def predict_eps_from_xstart(self, x_t: torch.Tensor, t: torch.Tensor, pred_xstart: torch.Tensor) -> torch.Tensor:
        """ε = (√(1/ᾱₜ)·x_t − x̂₀) / √(1/ᾱₜ−1)."""
        return (extract(self.sqrt_recip_alphas_cumprod, t, x_t) * x_t - pred_xstart) / extract(
            self.sqrt_recipm1_alphas_cumprod, t, x_t
        )

    def p_mean_variance(
        self,
        model_output: torch.Tensor,
        x_t: torch.Tensor,
        t: torch.Tensor,
        clip_denoised: bool = True,
    ) -> ReverseStep:
        """p(x_{t−1} | x_t) from the UNet output (ε, or ε and v when ``learn_sigma``)."""
        channels = x_t.shape[1]
        if self.learn_sigma:
            if model_output.shape[1] != 2 * channels:
                raise ValueError(
                    f"A learn_sigma model must output {2 * channels} channels (ε and v), got {model_output.shape[1]}."
                )
            eps, v = torch.split(model_output.to(x_t.dtype), channels, dim=1)
            # log σ² = frac·log βₜ + (1−frac)·log β̃ₜ with frac = (v+1)/2.
            frac = (v + 1.0) / 2.0
            max_log = extract(self.log_betas, t, x_t)
            min_log = extract(self.posterior_log_variance_clipped, t, x_t)
            log_variance = frac * max_log + (1.0 - frac) * min_log
            variance = torch.exp(log_variance)
        else:
            eps = model_output.to(x_t.dtype)
            if self.fixed_variance == "large":
                # βₜ, with β̃₁ at t=0 for a better decoder likelihood.
                large = np.append(self.posterior_variance[1], self.betas[1:]) if self.num_timesteps > 1 else self.betas
                variance = extract(large, t, x_t).expand_as(x_t)
                log_variance = extract(np.log(large), t, x_t).expand_as(x_t)
            else:
                variance = extract(self.posterior_variance, t, x_t).expand_as(x_t)
                log_variance = extract(self.posterior_log_variance_clipped, t, x_t).expand_as(x_t)

        pred_xstart = self.predict_xstart_from_eps(x_t, t, eps)
        if clip_denoised:
            pred_xstart = pred_xstart.clamp(-1.0, 1.0)
        mean = self.q_posterior_mean_variance(pred_xstart, x_t, t).mean
        return ReverseStep(mean, variance, log_variance, pred_xstart, eps)

    # Training -------------------------------------------------------------------

    def vb_terms_bpd(
        self,
        step: ReverseStep,
        x_start: torch.Tensor,
        x_t: torch.Tensor,
        t: torch.Tensor,
    ) -> torch.Tensor:
        """One term of the variational bound in bits per dimension, per sample.

        L_{t−1} = KL(q(x_{t−1}|x_t,x₀) ‖ p(x_{t−1}|x_t)) for t > 0, and the discretised
        decoder NLL −log p(x₀|x₁) at t = 0.
        """
        true = self.q_posterior_mean_variance(x_start, x_t, t)
        kl = mean_flat(normal_kl(true.mean, true.log_variance, step.mean, step.log_variance)) / math.log(2.0)
        decoder_nll = -discretized_gaussian_log_likelihood(
            x_start, means=step.mean, log_scales=0.5 * step.log_variance
        )
        decoder_nll = mean_flat(decoder_nll) / math.log(2.0)
        return torch.where(t == 0, decoder_nll, kl)

    def training_losses(
        self,
        model: Model,
        x_start: torch.Tensor,
        t: torch.Tensor,
        model_kwargs: dict | None = None,
        noise: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Per-sample losses: ``mse`` on ε, and for ``learn_sigma`` the hybrid L_simple + λ·L_vb.

        The VB term sees the ε prediction through a stop-gradient so it trains only the
        variance (Nichol & Dhariwal 2021, §3.1); with ``rescale_learned_sigmas`` it is
        scaled by T/1000 as in their RESCALED_MSE loss.
        """
        if noise is None:
            noise = torch.randn_like(x_start)
        x_t = self.q_sample(x_start, t, noise=noise)
        model_output = model(x_t, self.model_timesteps(t), **(model_kwargs or {}))
        channels = x_start.shape[1]
        terms: dict[str, torch.Tensor] = {}
        if self.learn_sigma:
            eps, v = torch.split(model_output, channels, dim=1)
            frozen = torch.cat([eps.detach(), v], dim=1)
            step = self.p_mean_variance(frozen, x_t, t, clip_denoised=False)
            vb = self.vb_terms_bpd(step, x_start, x_t, t)
            if self.rescale_learned_sigmas:
                vb = vb * (self.num_timesteps / 1000.0)
            terms["vb"] = vb
        else:
            eps = model_output
        terms["mse"] = mean_flat((noise - eps) ** 2)
        terms["loss"] = terms["mse"] + terms["vb"] if "vb" in terms else terms["mse"]
        return terms
