"""Export the trained Fashion-MNIST set into the model folder the studio ships.

    python -m studio_tools.train.export_builtin --runs checkpoints/fashion-mnist --out models/fashion-mnist

Writes unet.onnx (and its fp16 variant), classifier_grad.onnx, evaluator.onnx, the
reference statistics of the 10,000 test images (evaluator feature mean, covariance and
the features themselves, for precision and recall) and manifest.json. The PyTorch
weights go beside the run folders (`<runs>/torch/`), in the format the PyTorch
reference sampler and benchmark read.

    python -m studio_tools.train.export_builtin --out models/fashion-mnist --reexport-classifier-grad core

re-traces only classifier_grad.onnx, from the weights the folder's graph holds (traced
with the core or the lean backward table), and rewrites the manifest's sha256s.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..diffusion.torch_model import ClassSettings, DiffusionSettings, ModelConfig, write_config
from ..export.manifest import SamplingDefaults, build_manifest
from ..export.model_folder import write_model_folder
from ..export.onnx_graphs import export_classifier_grad, export_evaluator, export_unet, export_unet_fp16
from ..export.weights_from_onnx import classifier_from_gradient_graph
from ..metrics.numpy_reference import statistics
from .architectures import IMAGE_SIZE, NULL_CLASS, NUM_CLASSES, classifier_config
from .checkpoints import load_classifier, load_evaluator, load_unet
from .data import CLASS_NAMES, CLASS_SYNONYMS, load_split

MODEL_ID = "fashion-mnist"


@torch.no_grad()
def evaluate_images(
    evaluator: torch.nn.Module, images: torch.Tensor, batch: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    features, logits = [], []
    for start in range(0, len(images), batch):
        feature_batch, logit_batch = evaluator(images[start : start + batch])
        features.append(feature_batch.numpy())
        logits.append(logit_batch.numpy())
    return np.concatenate(features), np.concatenate(logits)


BUILTIN_DIFFUSION = DiffusionSettings(steps=1000, noise_schedule="cosine", learn_sigma=True)


def manifest(unet_steps: int, classifier_steps: int, evaluator_accuracy: float) -> dict[str, Any]:
    return build_manifest(
        model_id=MODEL_ID,
        name="Fashion-MNIST 32×32 (built-in)",
        source=(
            "Trained by the Guided Diffusion Studio team on Fashion-MNIST (Zalando Research, MIT license): "
            f"UNet {unet_steps} steps, noisy classifier {classifier_steps} steps, "
            f"evaluator test accuracy {evaluator_accuracy:.4f}."
        ),
        license="MIT",
        image_size=IMAGE_SIZE,
        channels=1,
        class_names=CLASS_NAMES,
        class_synonyms=CLASS_SYNONYMS,
        null_class=NULL_CLASS,
        diffusion=BUILTIN_DIFFUSION,
        class_cond=True,
        fp16=True,
        classifier=True,
        evaluator=True,
        defaults=SamplingDefaults(mode="conditional+classifier", sampler="ddpm", steps="50", scale=2.0, eta=0.0),
    )


def reexport_classifier_grad(out: Path, traced_with: str) -> None:
    """classifier_grad.onnx traced again from its own weights, for when the checkpoint is not at hand."""
    path = out / "classifier_grad.onnx"
    classifier = classifier_from_gradient_graph(path, classifier_config(), lean=traced_with == "lean")
    export_classifier_grad(classifier, path, image_size=IMAGE_SIZE, channels=1, num_classes=NUM_CLASSES)
    write_model_folder(out, json.loads((out / "manifest.json").read_text()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio_tools.train.export_builtin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=Path("checkpoints/fashion-mnist"))
    parser.add_argument("--out", type=Path, default=Path("models/fashion-mnist"))
    parser.add_argument("--reexport-classifier-grad", choices=("core", "lean"), metavar="TRACED_WITH",
                        help="re-trace only classifier_grad.onnx from the weights it holds (core or lean)")
    args = parser.parse_args(argv)
    if args.reexport_classifier_grad:
        reexport_classifier_grad(args.out, args.reexport_classifier_grad)
        return 0

    unet, unet_config, unet_steps = load_unet(args.runs / "unet")
    classifier, classifier_config, classifier_steps = load_classifier(args.runs / "classifier")
    evaluator, _ = load_evaluator(args.runs / "evaluator")
    test_images, test_labels = load_split("test")
    features, logits = evaluate_images(evaluator, test_images)
    accuracy = float((logits.argmax(axis=1) == test_labels.numpy()).mean())

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    previous = out / "manifest.json"
    if previous.exists():
        # Replace the previous export: only the files its manifest named.
        for name in [*json.loads(previous.read_text())["files"], "manifest.json"]:
            (out / name).unlink(missing_ok=True)
    export_unet(unet, out / "unet.onnx")
    export_unet_fp16(unet, out / "unet_fp16.onnx")
    export_classifier_grad(classifier, out / "classifier_grad.onnx", image_size=IMAGE_SIZE, channels=1,
                           num_classes=NUM_CLASSES)
    export_evaluator(evaluator, out / "evaluator.onnx", image_size=IMAGE_SIZE, channels=1)
    mu, sigma = statistics(features)
    np.save(out / "reference_mu.npy", mu)
    np.save(out / "reference_sigma.npy", sigma)
    np.save(out / "reference_features.npy", features.astype(np.float32))
    write_model_folder(out, manifest(unet_steps, classifier_steps, accuracy))

    torch_dir = args.runs / "torch"
    torch_dir.mkdir(exist_ok=True)
    torch.save(unet.state_dict(), torch_dir / "unet.pt")
    torch.save(classifier.state_dict(), torch_dir / "classifier.pt")
    write_config(torch_dir / "config.json", ModelConfig(
        unet=unet_config,
        classifier=classifier_config,
        diffusion=BUILTIN_DIFFUSION,
        classes=ClassSettings(count=NUM_CLASSES, names=CLASS_NAMES, null_class=NULL_CLASS),
    ))
    sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
    print(json.dumps({"evaluator_test_accuracy": accuracy, "unet_steps": unet_steps,
                      "classifier_steps": classifier_steps, "bytes": sizes, "total_bytes": sum(sizes.values())},
                     indent=2), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
