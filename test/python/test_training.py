"""The training loop is deterministic for a seed and resumes to the same weights."""

import json
from pathlib import Path

import pytest
import torch

from studio_tools.diffusion.gaussian_diffusion import GaussianDiffusion
from studio_tools.train.architectures import NULL_CLASS, Evaluator, classifier_config, unet_config
from studio_tools.train.data import DEFAULT_ROOT, load_split
from studio_tools.train.loop import LoopSettings, batch_indices, run_loop
from studio_tools.train.tasks import StepLoss, diffusion_loss, evaluator_loss, noisy_classifier_loss


def _data(n: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.rand((n, 1, 32, 32), generator=generator) * 2 - 1, torch.randint(0, 10, (n,), generator=generator)


def _evaluator_run(out: Path, total_steps: int, anneal_lr: bool) -> tuple[LoopSettings, Evaluator, StepLoss]:
    images, labels = _data()
    torch.manual_seed(123)  # a different initialisation each call would be caught by the comparison
    model = Evaluator()
    settings = LoopSettings(out_dir=out, total_steps=total_steps, batch_size=16, seed=7, lr=1e-3, checkpoint_every=2,
                            log_every=2, anneal_lr=anneal_lr)
    return settings, model, evaluator_loss(model, images, labels, 16, seed=7)


def _train_evaluator(out: Path, total_steps: int, anneal_lr: bool = False) -> dict[str, torch.Tensor]:
    settings, model, loss = _evaluator_run(out, total_steps, anneal_lr)
    return run_loop(settings, model, loss, {"network": "evaluator"}).state_dict()


def _interrupt_evaluator(out: Path, total_steps: int, stop_at: int, anneal_lr: bool) -> None:
    """Train toward `total_steps` and break off at step `stop_at`, as a killed run would."""
    settings, model, loss = _evaluator_run(out, total_steps, anneal_lr)

    def breaking_loss(step: int) -> dict[str, torch.Tensor]:
        if step == stop_at:
            raise KeyboardInterrupt
        return loss(step)

    with pytest.raises(KeyboardInterrupt):
        run_loop(settings, model, breaking_loss, {"network": "evaluator"})


@pytest.mark.parametrize("anneal_lr", [False, True])
def test_resumed_run_matches_uninterrupted_run(tmp_path: Path, anneal_lr: bool) -> None:
    straight = _train_evaluator(tmp_path / "straight", 4, anneal_lr=anneal_lr)
    _interrupt_evaluator(tmp_path / "resumed", 4, stop_at=2, anneal_lr=anneal_lr)
    resumed = _train_evaluator(tmp_path / "resumed", 4, anneal_lr=anneal_lr)
    for key, value in straight.items():
        assert torch.equal(value, resumed[key]), key
    assert (tmp_path / "resumed" / "log.jsonl").read_text().count("\n") >= 2


def test_annealed_learning_rate_falls_linearly_to_zero(tmp_path: Path) -> None:
    _train_evaluator(tmp_path / "run", 4, anneal_lr=True)
    logged = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    # Steps 2 and 4 log the rate of their last update, steps 1 and 3 of 4 (0-based): 1e-3·(1 − 1/4), 1e-3·(1 − 3/4).
    assert [entry["step"] for entry in logged] == [2, 4]
    assert [entry["lr"] for entry in logged] == pytest.approx([7.5e-4, 2.5e-4], rel=1e-12)


def test_batches_cover_each_epoch_once() -> None:
    seen = torch.cat([batch_indices(seed=3, step=s, batch_size=10, dataset_size=50) for s in range(5)])
    assert sorted(seen.tolist()) == list(range(50))
    assert not torch.equal(batch_indices(3, 0, 10, 50), batch_indices(3, 5, 10, 50))


def test_losses_are_finite_for_the_builtin_networks() -> None:
    images, labels = _data(32)
    diffusion = GaussianDiffusion.from_settings(schedule="cosine", num_timesteps=1000, learn_sigma=True)
    unet = unet_config().build()
    terms = diffusion_loss(unet, diffusion, images, labels, 8, seed=0, label_dropout=0.5)(0)
    assert set(terms) == {"loss", "mse", "vb"} and all(torch.isfinite(v) for v in terms.values())
    # The UNet takes the null class as a label of its own.
    assert unet.label_emb.num_embeddings == NULL_CLASS + 1
    classifier = classifier_config().build()
    terms = noisy_classifier_loss(classifier, diffusion, images, labels, 8, seed=0)(0)
    assert torch.isfinite(terms["loss"]) and 0 <= float(terms["accuracy"]) <= 1


@pytest.mark.skipif(
    not DEFAULT_ROOT.exists(), reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
)
def test_fashion_mnist_is_padded_to_32_and_scaled() -> None:
    images, labels = load_split("test")
    assert images.shape == (10000, 1, 32, 32) and labels.shape == (10000,)
    assert images.min() == -1.0 and images.max() == 1.0
    assert torch.all(images[:, :, :2, :] == -1.0) and torch.all(images[:, :, :, -2:] == -1.0)
    assert torch.bincount(labels).tolist() == [1000] * 10


def test_run_json_keeps_each_stage_of_a_resumed_run(tmp_path: Path) -> None:
    _interrupt_evaluator(tmp_path, 2, stop_at=1, anneal_lr=False)
    _train_evaluator(tmp_path, 2)  # the same settings again: still one stage
    _train_evaluator(tmp_path, 4, anneal_lr=True)  # extended and annealed: a second stage from step 2
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["network"] == "evaluator"
    assert run["stages"] == [
        {"from_step": 0, "steps": 2, "batch": 16, "lr": 1e-3, "anneal_lr": False, "seed": 7},
        {"from_step": 2, "steps": 4, "batch": 16, "lr": 1e-3, "anneal_lr": True, "seed": 7},
    ]
