"""Noise schedules β₁…β_T, computed in float64."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

SCHEDULE_NAMES = ("linear", "cosine")


def get_named_beta_schedule(name: str, num_timesteps: int) -> np.ndarray:
    """Return the float64 betas of the named schedule for ``num_timesteps`` steps.

    ``linear``: Ho et al. (2020) extended to any T by scaling both ends with 1000/T.
    ``cosine``: Nichol & Dhariwal (2021), eq. 17, with β clipped at 0.999.
    """
    if num_timesteps < 1:
        raise ValueError(f"The number of diffusion steps must be at least 1, got {num_timesteps}.")
    if name == "linear":
        scale = 1000.0 / num_timesteps
        if scale * 0.02 >= 1.0:
            raise ValueError(
                "The linear schedule needs more than 20 steps (its last beta, 20/T, must stay below 1); "
                f"got T={num_timesteps}."
            )
        return np.linspace(scale * 1e-4, scale * 0.02, num_timesteps, dtype=np.float64)
    if name == "cosine":
        return betas_for_alpha_bar(
            num_timesteps, lambda s: math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2
        )
    raise ValueError(
        f"Unknown noise schedule {name!r}; use one of {', '.join(SCHEDULE_NAMES)}."
    )


def betas_for_alpha_bar(
    num_timesteps: int, alpha_bar: Callable[[float], float], max_beta: float = 0.999
) -> np.ndarray:
    """Discretise a continuous ᾱ(s), s ∈ [0, 1]: βₜ = min(1 − ᾱ((t+1)/T) / ᾱ(t/T), max_beta)."""
    betas = [
        min(1.0 - alpha_bar((t + 1) / num_timesteps) / alpha_bar(t / num_timesteps), max_beta)
        for t in range(num_timesteps)
    ]
    return np.array(betas, dtype=np.float64)
