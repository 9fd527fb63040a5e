"""A resumable, deterministic training loop with progress and ETA."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..files import write_atomically


@dataclass
class LoopSettings:
    out_dir: Path
    total_steps: int
    batch_size: int
    seed: int
    lr: float
    checkpoint_every: int = 250
    log_every: int = 25
    ema_rate: float | None = None
    threads: int | None = None
    anneal_lr: bool = False

    def lr_at(self, step: int) -> float:
        """The learning rate of step `step` (0-based): constant, or annealed linearly to zero over the run."""
        return self.lr * (1 - step / self.total_steps) if self.anneal_lr else self.lr


def batch_indices(seed: int, step: int, batch_size: int, dataset_size: int) -> torch.Tensor:
    """Indices of batch `step`: epoch-wise permutations drawn from the seed, so a resumed run sees the same data."""
    per_epoch = dataset_size // batch_size
    epoch, offset = divmod(step, per_epoch)
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(dataset_size, generator=generator)
    return order[offset * batch_size : (offset + 1) * batch_size]


def step_generator(seed: int, step: int) -> torch.Generator:
    """The generator of all randomness (t, noise, dropout labels) in one step."""
    return torch.Generator().manual_seed(seed * 7_919 + 17 + step * 104_729)


def atomic_save(obj: object, path: Path) -> None:
    """torch.save, so that a run killed while saving keeps its previous checkpoint."""
    write_atomically(path, lambda partial: torch.save(obj, partial))


def _format_eta(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _record_run(path: Path, describe: dict, settings: LoopSettings, step: int) -> None:
    """Write run.json: the run's description and each stage of settings it has trained under,
    so a run resumed with a new step count or learning rate keeps its history."""
    stages = json.loads(path.read_text()).get("stages", []) if path.exists() else []
    stage = {"steps": settings.total_steps, "batch": settings.batch_size, "lr": settings.lr,
             "anneal_lr": settings.anneal_lr, "seed": settings.seed}
    if not stages or {k: v for k, v in stages[-1].items() if k != "from_step"} != stage:
        stages.append({"from_step": step, **stage})
    path.write_text(json.dumps({**describe, "stages": stages}, indent=2))


def run_loop(
    settings: LoopSettings,
    model: torch.nn.Module,
    loss_fn: Callable[[int], dict[str, torch.Tensor]],
    describe: dict,
) -> torch.nn.Module:
    """Train `model` with `loss_fn(step)` until total_steps, resuming from `out_dir/last.pt`.

    Returns the weights to export: the EMA copy when `ema_rate` is set, else the model.
    """
    if settings.threads:
        torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=0.0)
    ema = None
    if settings.ema_rate is not None:
        ema = {k: v.detach().clone() for k, v in model.state_dict().items()}

    checkpoint_path = settings.out_dir / "last.pt"
    step = 0
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if ema is not None:
            ema = state["ema"]
        step = int(state["step"])
        print(f"resumed from step {step}", file=sys.stderr, flush=True)
    _record_run(settings.out_dir / "run.json", describe, settings, step)

    def save() -> None:
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step}
        if ema is not None:
            state["ema"] = ema
        atomic_save(state, checkpoint_path)

    model.train()
    started, started_step = time.monotonic(), step
    running: dict[str, float] = {}
    log_path = settings.out_dir / "log.jsonl"
    window = 0
    while step < settings.total_steps:
        # Reseed per step so dropout draws are the same whether or not the run was resumed.
        torch.manual_seed(settings.seed * 1_000_033 + step)
        losses = loss_fn(step)
        lr = settings.lr_at(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        if ema is not None and settings.ema_rate is not None:
            # Warm-up EMA: short runs are not dominated by the random initialisation.
            rate = min(settings.ema_rate, (1 + step) / (10 + step))
            with torch.no_grad():
                for key, value in model.state_dict().items():
                    if value.dtype.is_floating_point:
                        ema[key].mul_(rate).add_(value.detach(), alpha=1 - rate)
                    else:
                        ema[key].copy_(value)
        for key, value in losses.items():
            running[key] = running.get(key, 0.0) + float(value.detach())
        window += 1
        if step % settings.log_every == 0 or step == settings.total_steps:
            elapsed = time.monotonic() - started
            rate_s = elapsed / max(step - started_step, 1)
            means = {k: v / window for k, v in running.items()}
            running.clear()
            window = 0
            eta = _format_eta(rate_s * (settings.total_steps - step))
            text = " ".join(f"{k}={v:.4f}" for k, v in means.items())
            print(f"step {step}/{settings.total_steps} {text} lr={lr:.2e} {rate_s:.2f}s/step eta {eta}",
                  file=sys.stderr, flush=True)
            with log_path.open("a") as log:
                log.write(json.dumps({"step": step, **means, "lr": lr, "s_per_step": rate_s}) + "\n")
        if step % settings.checkpoint_every == 0:
            save()
    save()
    if ema is not None:
        model.load_state_dict(ema)
    return model
