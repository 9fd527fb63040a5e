"""Timestep respacing: which of the T original steps a shorter sampler keeps."""

from __future__ import annotations

import numpy as np


def space_timesteps(num_timesteps: int, spec: str | list[int]) -> list[int]:
    """Return the sorted original timestep indices kept by ``spec``.

    ``"ddimN"``: the smallest integer stride whose ``range(0, T, stride)`` has N elements.
    ``"N"`` or ``"a,b,c"``: T is split into equal sections (the first ``T % len`` get one
    more step) and section i keeps its count at fractional stride (len−1)/(count−1),
    rounded half to even like Python's ``round``.
    """
    if isinstance(spec, str):
        text = spec.strip()
        if text.startswith("ddim"):
            return _ddim_stride(num_timesteps, _parse_count(text[len("ddim"):], spec))
        counts = [_parse_count(part, spec) for part in text.split(",")]
    else:
        counts = [int(count) for count in spec]
    return _sections(num_timesteps, counts, spec)


def respace_betas(alphas_cumprod: np.ndarray, kept: list[int]) -> np.ndarray:
    """βᵢ = 1 − ᾱ(kᵢ)/ᾱ(kᵢ₋₁) at the kept steps, with ᾱ(k₋₁) = 1."""
    kept_alpha_bar = alphas_cumprod[np.asarray(kept, dtype=np.int64)]
    previous = np.concatenate([[1.0], kept_alpha_bar[:-1]])
    return 1.0 - kept_alpha_bar / previous


def _parse_count(text: str, spec: object) -> int:
    try:
        count = int(text)
    except ValueError:
        raise ValueError(
            f"Cannot read the step setting {spec!r}; write a count like \"50\", "
            "\"ddim50\" or per-section counts like \"10,15,20\"."
        ) from None
    if count < 1:
        raise ValueError(f"The step setting {spec!r} asks for {count} steps; use at least 1.")
    return count


def _ddim_stride(num_timesteps: int, count: int) -> list[int]:
    if count == num_timesteps:
        return list(range(num_timesteps))
    for stride in range(1, num_timesteps):
        steps = range(0, num_timesteps, stride)
        if len(steps) == count:
            return list(steps)
    raise ValueError(
        f"ddim{count} is impossible with T={num_timesteps}: no integer stride gives exactly "
        f"{count} steps; pick another count or use \"{count}\" (fractional stride)."
    )


def _sections(num_timesteps: int, counts: list[int], spec: object) -> list[int]:
    if not counts:
        raise ValueError(f"The step setting {spec!r} names no sections.")
    size_per, extra = divmod(num_timesteps, len(counts))
    start = 0
    kept: list[int] = []
    for index, count in enumerate(counts):
        size = size_per + (1 if index < extra else 0)
        if count > size:
            raise ValueError(
                f"The step setting {spec!r} asks for {count} steps in a section of only "
                f"{size} of the {num_timesteps} timesteps; lower the count."
            )
        stride = 1.0 if count <= 1 else (size - 1) / (count - 1)
        position = 0.0
        for _ in range(count):
            kept.append(start + round(position))
            position += stride
        start += size
    return sorted(set(kept))
