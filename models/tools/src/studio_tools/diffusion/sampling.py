"""Ancestral (DDPM), DDIM and DPM-Solver++(2M) sampling with classifier guidance
(Dhariwal & Nichol 2021) and classifier-free guidance (Ho & Salimans 2021).

Every sampler has one signature: it takes the diffusion, the UNet as a function of
(x, original timestep, label), the starting noise x_T and the per-step noise, and
yields one ``SampleStep`` per reverse step. Guidance is a function handed in
(``GradientFn``): DDPM applies it with ``condition_mean`` (Algorithm 1), DDIM with
``condition_score`` (Algorithm 2), DPM-Solver++ on ε before x̂₀ is formed
(``condition_eps``). A ``GuidanceSchedule`` sets the classifier scale per step. The
networks always see original timestep indices.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from .gaussian_diffusion import GaussianDiffusion, ReverseStep, extract

SamplerName = Literal["ddpm", "ddim", "dpmpp2m"]
GuidanceMode = Literal["conditional", "unconditional+classifier", "conditional+classifier"]
GUIDANCE_MODES: tuple[GuidanceMode, ...] = ("conditional", "unconditional+classifier", "conditional+classifier")

# (x, original timesteps) -> UNet output; the label is bound in by ``guided_functions``.
DenoiseFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# (x, original timesteps) -> s·∇ₓ log p(y | x).
GradientFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class GuidanceSchedule:
    """The classifier scale over original timestep indices t.

    ``constant``: s everywhere. ``interval``: s for t_lo ≤ t ≤ t_hi, 0 (no classifier pass)
    elsewhere (Kynkäänniemi et al. 2024). ``ramp``: s times a factor linear in t, ``start``
    at t = T−1 and ``end`` at t = 0.
    """

    kind: Literal["constant", "interval", "ramp"] = "constant"
    t_lo: int = 0
    t_hi: int = 0
    start: float = 1.0
    end: float = 1.0

    def factor(self, t: int, original_steps: int) -> float:
        """The multiple of s at original timestep t."""
        if self.kind == "constant":
            return 1.0
        if self.kind == "interval":
            return 1.0 if self.t_lo <= t <= self.t_hi else 0.0
        fraction = t / (original_steps - 1) if original_steps > 1 else 0.0
        return self.end + (self.start - self.end) * fraction


CONSTANT_GUIDANCE = GuidanceSchedule()


@dataclass(frozen=True)
class SampleStep:
    step: int
    t: int
    xt: torch.Tensor
    pred_xstart: torch.Tensor


def condition_mean(step: ReverseStep, gradient: torch.Tensor) -> torch.Tensor:
    """μ' = μ + σ²·s·∇ₓ log p(y|x_t)."""
    return step.mean + step.variance * gradient


def condition_score(
    diffusion: GaussianDiffusion, step: ReverseStep, x_t: torch.Tensor, t: torch.Tensor, gradient: torch.Tensor
) -> torch.Tensor:
    """x̂₀ from ε' = ε − √(1−ᾱₜ)·s·∇ₓ log p(y|x_t), ε being re-derived from the (clipped) x̂₀."""
    eps = diffusion.predict_eps_from_xstart(x_t, t, step.pred_xstart)
    eps = eps - extract(diffusion.sqrt_one_minus_alphas_cumprod, t, x_t) * gradient
    return diffusion.predict_xstart_from_eps(x_t, t, eps)


def condition_eps(
    diffusion: GaussianDiffusion, eps: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, gradient: torch.Tensor
) -> torch.Tensor:
    """ε' = ε − √(1−ᾱₜ)·s·∇ₓ log p(y|x_t), before x̂₀ is formed (DPM-Solver's guidance_type="classifier")."""
    return eps - extract(diffusion.sqrt_one_minus_alphas_cumprod, t, x_t) * gradient


def ddpm_step(
    diffusion: GaussianDiffusion,
    denoise: DenoiseFn,
    x_t: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    *,
    clip_denoised: bool,
    gradient_fn: GradientFn | None = None,
    eta: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One ancestral step x_t → x_{t−1}; returns (x_{t−1}, x̂₀). ``eta`` is DDIM's and ignored here."""
    model_t = diffusion.model_timesteps(t)
    # 1. p(x_{t−1}|x_t): μ_θ, σ²_θ and x̂₀ from the UNet's ε and v.
    step = diffusion.p_mean_variance(denoise(x_t, model_t), x_t, t, clip_denoised)
    # 2. Guidance shifts the mean by σ²·s·∇ₓ log p(y|x_t).
    mean = step.mean if gradient_fn is None else condition_mean(step, gradient_fn(x_t, model_t).to(x_t.dtype))
    # 3. x_{t−1} = μ' + σ·z, without noise at t = 0.
    nonzero = (t != 0).to(x_t.dtype).reshape(-1, *([1] * (x_t.dim() - 1)))
    return mean + nonzero * torch.exp(0.5 * step.log_variance) * noise, step.pred_xstart


def ddim_step(
    diffusion: GaussianDiffusion,
    denoise: DenoiseFn,
    x_t: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    *,
    clip_denoised: bool,
    gradient_fn: GradientFn | None = None,
    eta: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One DDIM step x_t → x_{t−1} (Song et al. 2021, eq. 12); returns (x_{t−1}, x̂₀)."""
    model_t = diffusion.model_timesteps(t)
    # 1. x̂₀ from the UNet's ε (clipped when asked).
    step = diffusion.p_mean_variance(denoise(x_t, model_t), x_t, t, clip_denoised)
    pred_xstart = step.pred_xstart
    # 2. Guidance on the score: x̂₀ from ε' = ε − √(1−ᾱₜ)·s·∇ₓ log p(y|x_t).
    if gradient_fn is not None:
        pred_xstart = condition_score(diffusion, step, x_t, t, gradient_fn(x_t, model_t).to(x_t.dtype))
    # 3. ε consistent with x̂₀.
    eps = diffusion.predict_eps_from_xstart(x_t, t, pred_xstart)
    # 4. σ = η·√((1−ᾱₜ₋₁)/(1−ᾱₜ))·√(1−ᾱₜ/ᾱₜ₋₁).
    alpha_bar = extract(diffusion.alphas_cumprod, t, x_t)
    alpha_bar_prev = extract(diffusion.alphas_cumprod_prev, t, x_t)
    sigma = eta * torch.sqrt((1 - alpha_bar_prev) / (1 - alpha_bar)) * torch.sqrt(1 - alpha_bar / alpha_bar_prev)
    # 5. x_{t−1} = √ᾱₜ₋₁·x̂₀ + √(1−ᾱₜ₋₁−σ²)·ε + σz, without noise at t = 0.
    nonzero = (t != 0).to(x_t.dtype).reshape(-1, *([1] * (x_t.dim() - 1)))
    mean = pred_xstart * torch.sqrt(alpha_bar_prev) + torch.sqrt(1 - alpha_bar_prev - sigma**2) * eps
    return mean + nonzero * sigma * noise, pred_xstart


STEPS = {"ddpm": ddpm_step, "ddim": ddim_step}


def sample(
    diffusion: GaussianDiffusion,
    sampler: SamplerName,
    denoise: DenoiseFn,
    x_T: torch.Tensor,
    noise: Sequence[torch.Tensor] | torch.Tensor | None = None,
    *,
    clip_denoised: bool = True,
    gradient_fn: GradientFn | None = None,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    guidance_schedule: GuidanceSchedule = CONSTANT_GUIDANCE,
    start_step: int = 0,
) -> Iterator[SampleStep]:
    """Run the reverse process from x_T, yielding x_{t−1} and x̂₀ after each step.

    ``noise[k]`` is the z of the k-th step in sampling order (t = S−1 first); without it,
    z is drawn from ``generator``. DPM-Solver++(2M) is deterministic and draws none.

    With ``start_step`` k the run continues a trajectory: ``x_T`` is then x before step k
    (what step k − 1 left), the steps from k on are taken, and step k uses ``noise[k]``, as a
    whole run would. DPM-Solver++(2M) has no x̂₀ of the step before and restarts first order.
    """
    if not 0 <= start_step < diffusion.num_timesteps:
        raise ValueError(f"start_step must be from 0 to {diffusion.num_timesteps - 1}, got {start_step}.")
    if sampler not in (*STEPS, "dpmpp2m"):
        raise ValueError(f"Unknown sampler {sampler!r}; use \"ddpm\", \"ddim\" or \"dpmpp2m\".")
    if noise is not None and len(noise) != diffusion.num_timesteps:
        raise ValueError(f"Expected noise for {diffusion.num_timesteps} steps, got {len(noise)}.")
    if sampler == "dpmpp2m":
        yield from dpmpp2m_sample(
            diffusion, denoise, x_T, clip_denoised=clip_denoised, gradient_fn=gradient_fn,
            guidance_schedule=guidance_schedule, start_step=start_step,
        )
        return
    step_fn = STEPS[sampler]
    x = x_T
    batch = x_T.shape[0]
    for k, index in enumerate(range(diffusion.num_timesteps - 1, -1, -1)):
        if k < start_step:
            continue
        t = torch.full((batch,), index, dtype=torch.int64, device=x.device)
        z = (
            noise[k].to(x.dtype)
            if noise is not None
            else torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        )
        with torch.no_grad():
            x, pred_xstart = step_fn(
                diffusion, denoise, x, t, z, clip_denoised=clip_denoised,
                gradient_fn=scheduled_gradient(diffusion, gradient_fn, guidance_schedule, index), eta=eta,
            )
        yield SampleStep(step=k, t=index, xt=x, pred_xstart=pred_xstart)


def scheduled_gradient(
    diffusion: GaussianDiffusion, gradient_fn: GradientFn | None, schedule: GuidanceSchedule, index: int
) -> GradientFn | None:
    """The step's guidance: s·∇ times the schedule's factor at the original t, or None where it is 0."""
    if gradient_fn is None:
        return None
    factor = schedule.factor(int(diffusion.timestep_map[index]), diffusion.original_num_steps)
    if factor == 0.0:
        return None
    if factor == 1.0:
        return gradient_fn
    return lambda x, t: factor * gradient_fn(x, t)


def dpmpp2m_sample(
    diffusion: GaussianDiffusion,
    denoise: DenoiseFn,
    x_T: torch.Tensor,
    *,
    clip_denoised: bool,
    gradient_fn: GradientFn | None = None,
    guidance_schedule: GuidanceSchedule = CONSTANT_GUIDANCE,
    start_step: int = 0,
) -> Iterator[SampleStep]:
    """DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2) over the kept timesteps, x̂₀ form.

    αₜ = √ᾱₜ, σₜ = √(1−ᾱₜ), λₜ = log(αₜ/σₜ). First order at the first step, at the step
    onto the smallest kept timestep (lower_order_final: λ jumps most there and the
    extrapolation overshoots) and at the last, which goes to σ = 0 and lands on x̂₀
    (denoise_to_zero); second order (multistep) in between.
    """
    x = x_T
    batch = x_T.shape[0]
    # A run continued from ``start_step`` has no earlier x̂₀, so it restarts first order.
    previous: tuple[float, torch.Tensor] | None = None
    for k, index in enumerate(range(diffusion.num_timesteps - 1, -1, -1)):
        if k < start_step:
            continue
        t = torch.full((batch,), index, dtype=torch.int64, device=x.device)
        model_t = diffusion.model_timesteps(t)
        alpha_bar = float(diffusion.alphas_cumprod[index])
        alpha_bar_next = float(diffusion.alphas_cumprod_prev[index])
        with torch.no_grad():
            # 1. ε from the UNet (the variance channels are not used by the ODE).
            eps = diffusion.p_mean_variance(denoise(x, model_t), x, t, clip_denoised=False).eps
            # 2. ε' = ε − √(1−ᾱₜ)·s·∇ₓ log p(y|x_t).
            step_gradient = scheduled_gradient(diffusion, gradient_fn, guidance_schedule, index)
            if step_gradient is not None:
                eps = condition_eps(diffusion, eps, x, t, step_gradient(x, model_t).to(x.dtype))
            # 3. x̂₀ from ε', clipped when asked.
            pred_xstart = diffusion.predict_xstart_from_eps(x, t, eps)
            if clip_denoised:
                pred_xstart = pred_xstart.clamp(-1.0, 1.0)
            # 4. λ and h = λ_next − λₜ; the last step (σ_next = 0) returns x̂₀.
            lam = 0.5 * math.log(alpha_bar / (1.0 - alpha_bar))
            if index == 0:
                x = pred_xstart
            else:
                h = 0.5 * math.log(alpha_bar_next / (1.0 - alpha_bar_next)) - lam
                # 5. D = (1 + 1/(2r))·x̂₀ − 1/(2r)·x̂₀_prev, r = h_prev/h; D = x̂₀ at the first and last steps.
                d = pred_xstart
                if previous is not None and index > 1:
                    half_recip_r = h / (2.0 * (lam - previous[0]))
                    d = (1.0 + half_recip_r) * pred_xstart - half_recip_r * previous[1]
                # 6. x_next = (σ_next/σₜ)·xₜ − α_next·(e^{−h} − 1)·D.
                sigma_ratio = math.sqrt((1.0 - alpha_bar_next) / (1.0 - alpha_bar))
                x = sigma_ratio * x - math.sqrt(alpha_bar_next) * math.expm1(-h) * d
            previous = (lam, pred_xstart)
        yield SampleStep(step=k, t=index, xt=x, pred_xstart=pred_xstart)


def classifier_gradient(
    classifier: torch.nn.Module, y: torch.Tensor, scale: float
) -> GradientFn:
    """s·∇ₓ Σᵢ log softmax(f(xᵢ, tᵢ))[yᵢ], evaluated in the classifier's dtype."""
    dtype = next(classifier.parameters()).dtype

    def gradient(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            x_in = x.detach().to(dtype).requires_grad_(True)
            log_probs = torch.log_softmax(classifier(x_in, t), dim=-1)
            selected = log_probs[torch.arange(len(y), device=y.device), y]
            (grad,) = torch.autograd.grad(selected.sum(), x_in)
        return grad.to(x.dtype) * scale

    return gradient


def unet_label(
    mode: GuidanceMode, y: torch.Tensor, *, class_cond: bool, null_class: int | None, has_classifier: bool
) -> torch.Tensor | None:
    """The label the UNet gets in a guidance mode (None: an unconditional UNet gets none).

    ``conditional``: the UNet gets y, no classifier. ``unconditional+classifier``: the
    UNet gets the null class when it was trained with one (else no label) and the
    classifier steers. ``conditional+classifier``: both get y.
    """
    if mode not in GUIDANCE_MODES:
        raise ValueError(f"Unknown guidance mode {mode!r}; use one of {', '.join(GUIDANCE_MODES)}.")
    if mode == "conditional" and not class_cond:
        raise ValueError("Conditional sampling needs a class-conditional UNet; use unconditional+classifier.")
    if mode != "conditional" and not has_classifier:
        raise ValueError(f"Guidance mode {mode} needs a classifier, and this model has none.")
    if not class_cond:
        return None
    if mode == "unconditional+classifier":
        if null_class is None:
            raise ValueError(
                "This class-conditional UNet has no null class, so it cannot sample unconditionally; "
                "use conditional or conditional+classifier."
            )
        return torch.full_like(y, null_class)
    return y


def classifier_free_denoise(
    unet: torch.nn.Module, y: torch.Tensor, null_class: int, weight: float, *, learn_sigma: bool
) -> DenoiseFn:
    """ε̃ = ε(x, ∅) + w·(ε(x, y) − ε(x, ∅)) from one UNet call on [x, x] with labels [y, ∅].

    Written (1 − w)·ε(x, ∅) + w·ε(x, y), which is exactly the unconditional ε at w = 0 and
    the conditional one at w = 1. A learn_sigma UNet's variance channels come from the
    conditional half, as GLIDE's sampler keeps them: v only sets the step's noise level,
    which the conditional model learned for the class being drawn.
    """
    dtype = next(unet.parameters()).dtype
    labels = torch.cat([y, torch.full_like(y, null_class)])

    def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        both = unet(torch.cat([x, x]).to(dtype), torch.cat([t, t]), y=labels).to(x.dtype)
        conditional, unconditional = both.chunk(2)
        channels = x.shape[1]
        eps = (1.0 - weight) * unconditional[:, :channels] + weight * conditional[:, :channels]
        return torch.cat([eps, conditional[:, channels:]], dim=1) if learn_sigma else eps

    return denoise


def guided_functions(
    unet: torch.nn.Module,
    classifier: torch.nn.Module | None,
    mode: GuidanceMode,
    y: torch.Tensor,
    scale: float,
    *,
    class_cond: bool,
    null_class: int | None,
    cfg_scale: float | None = None,
    learn_sigma: bool = True,
) -> tuple[DenoiseFn, GradientFn | None]:
    """Bind the class into the UNet and the classifier as the guidance mode asks (see ``unet_label``).

    With ``cfg_scale`` w the UNet runs classifier-free guidance between y and the null
    class instead (modes ``conditional`` and ``conditional+classifier``).
    """
    label = unet_label(mode, y, class_cond=class_cond, null_class=null_class, has_classifier=classifier is not None)
    dtype = next(unet.parameters()).dtype

    def plain_denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        kwargs = {} if label is None else {"y": label}
        return unet(x.to(dtype), t, **kwargs).to(x.dtype)

    denoise: DenoiseFn = plain_denoise
    if cfg_scale is not None:
        if mode == "unconditional+classifier" or null_class is None:
            raise ValueError(
                "Classifier-free guidance needs a class-conditional UNet with a null class, "
                "in mode conditional or conditional+classifier."
            )
        denoise = classifier_free_denoise(unet, y, null_class, cfg_scale, learn_sigma=learn_sigma)

    gradient_fn = None
    if mode != "conditional" and classifier is not None:
        gradient_fn = classifier_gradient(classifier, y, scale)
    return denoise, gradient_fn
