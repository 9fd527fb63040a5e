"""Train the built-in Fashion-MNIST model set.

    python -m studio_tools.train unet --out checkpoints/fashion-mnist/unet --steps 20000
    python -m studio_tools.train classifier --out checkpoints/fashion-mnist/classifier --steps 3000
    python -m studio_tools.train evaluator --out checkpoints/fashion-mnist/evaluator --steps 2000

Each run resumes from `<out>/last.pt`, is deterministic for its seed, and writes the
final weights with their architecture to `<out>/final.pt` (see `load_trained`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from ..adm import ClassifierConfig, UNetConfig
from ..diffusion.gaussian_diffusion import GaussianDiffusion
from .architectures import Evaluator, classifier_config, unet_config
from .data import load_split
from .loop import LoopSettings, run_loop
from .tasks import diffusion_loss, evaluator_loss, noisy_classifier_loss, test_accuracy

SCHEDULE = "cosine"
TIMESTEPS = 1000


def _diffusion() -> GaussianDiffusion:
    return GaussianDiffusion.from_settings(schedule=SCHEDULE, num_timesteps=TIMESTEPS, learn_sigma=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio_tools.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("network", choices=["unet", "classifier", "evaluator"])
    parser.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, log, final weights)")
    parser.add_argument("--steps", type=int, required=True, help="total optimisation steps")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument(
        "--anneal-lr",
        action="store_true",
        help="anneal the learning rate linearly to zero over --steps (as the reference classifier training)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, default=None, help="model_channels of the UNet or classifier")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--checkpoint-every", type=int, default=250)
    args = parser.parse_args(argv)

    images, labels = load_split("train")
    device = torch.device(args.device)
    images, labels = images.to(device), labels.to(device)
    torch.manual_seed(args.seed)

    model: torch.nn.Module
    config: UNetConfig | ClassifierConfig
    if args.network == "unet":
        config = unet_config(args.width or 32)
        model = config.build().to(device)
        loss = diffusion_loss(model, _diffusion(), images, labels, args.batch, args.seed, label_dropout=0.1)
        lr, ema, arch = args.lr or 2e-4, 0.9995, {"unet": config.to_json()}
    elif args.network == "classifier":
        config = classifier_config(args.width or 32)
        model = config.build().to(device)
        loss = noisy_classifier_loss(model, _diffusion(), images, labels, args.batch, args.seed)
        lr, ema, arch = args.lr or 3e-4, None, {"classifier": config.to_json()}
    else:
        model = Evaluator().to(device)
        loss = evaluator_loss(model, images, labels, args.batch, args.seed)
        lr, ema, arch = args.lr or 1e-3, None, {"evaluator": {"features": Evaluator.FEATURES}}

    settings = LoopSettings(
        out_dir=args.out, total_steps=args.steps, batch_size=args.batch, seed=args.seed, lr=lr,
        checkpoint_every=args.checkpoint_every, ema_rate=ema, threads=args.threads, anneal_lr=args.anneal_lr,
    )
    describe = {"network": args.network, "steps": args.steps, "batch": args.batch, "lr": lr,
                "anneal_lr": args.anneal_lr, "seed": args.seed,
                "schedule": SCHEDULE, "timesteps": TIMESTEPS, "device": args.device, **arch}
    trained = run_loop(settings, model, loss, describe)

    report: dict[str, float] = {}
    if args.network == "evaluator":
        test_images, test_labels = load_split("test")
        report["test_accuracy"] = test_accuracy(trained.cpu(), test_images, test_labels)
        print(f"evaluator test accuracy: {report['test_accuracy']:.4f}", file=sys.stderr)
    torch.save({"architecture": arch, "state_dict": trained.cpu().state_dict(), "report": report,
                "steps": args.steps}, args.out / "final.pt")
    (args.out / "final.json").write_text(json.dumps({"architecture": arch, "report": report, "steps": args.steps}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
