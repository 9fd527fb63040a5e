"""Loss functions of the three built-in networks, each a function of the step index."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from ..diffusion.gaussian_diffusion import GaussianDiffusion
from .architectures import NULL_CLASS
from .loop import batch_indices, step_generator

StepLoss = Callable[[int], dict[str, torch.Tensor]]


def diffusion_loss(
    model: torch.nn.Module,
    diffusion: GaussianDiffusion,
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    seed: int,
    label_dropout: float,
) -> StepLoss:
    """Hybrid loss (L_simple + L_vb) at uniform t, labels replaced by the null class with p = label_dropout."""

    def loss(step: int) -> dict[str, torch.Tensor]:
        idx = batch_indices(seed, step, batch_size, len(images))
        generator = step_generator(seed, step)
        x0, y = images[idx], labels[idx].clone()
        t = torch.randint(0, diffusion.num_timesteps, (len(idx),), generator=generator)
        noise = torch.randn(x0.shape, generator=generator)
        dropped = torch.rand(len(idx), generator=generator) < label_dropout
        y[dropped] = NULL_CLASS
        terms = diffusion.training_losses(model, x0, t, model_kwargs={"y": y}, noise=noise)
        return {key: value.mean() for key, value in terms.items()}

    return loss


def noisy_classifier_loss(
    model: torch.nn.Module,
    diffusion: GaussianDiffusion,
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    seed: int,
) -> StepLoss:
    """Cross-entropy of p(y | x_t, t) on x_t = q_sample(x_0, t) at uniform t."""

    def loss(step: int) -> dict[str, torch.Tensor]:
        idx = batch_indices(seed, step, batch_size, len(images))
        generator = step_generator(seed, step)
        x0, y = images[idx], labels[idx]
        t = torch.randint(0, diffusion.num_timesteps, (len(idx),), generator=generator)
        x_t = diffusion.q_sample(x0, t, noise=torch.randn(x0.shape, generator=generator))
        logits = model(x_t, t)
        ce = F.cross_entropy(logits, y)
        accuracy = (logits.argmax(dim=1) == y).float().mean()
        return {"loss": ce, "accuracy": accuracy}

    return loss


def evaluator_loss(
    model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int, seed: int
) -> StepLoss:
    """Cross-entropy on clean images with light augmentation (random shifts of up to 2 pixels, flips)."""

    def loss(step: int) -> dict[str, torch.Tensor]:
        idx = batch_indices(seed, step, batch_size, len(images))
        generator = step_generator(seed, step)
        x, y = images[idx], labels[idx]
        shifts = torch.randint(-2, 3, (2,), generator=generator)
        x = torch.roll(x, shifts=(int(shifts[0]), int(shifts[1])), dims=(2, 3))
        if bool(torch.rand((), generator=generator) < 0.5):
            x = torch.flip(x, dims=(3,))
        _features, logits = model(x)
        ce = F.cross_entropy(logits, y)
        return {"loss": ce, "accuracy": (logits.argmax(dim=1) == y).float().mean()}

    return loss


@torch.no_grad()
def test_accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 500) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(images), batch):
        _features, logits = model(images[start : start + batch])
        correct += int((logits.argmax(dim=1) == labels[start : start + batch]).sum())
    return correct / len(images)
