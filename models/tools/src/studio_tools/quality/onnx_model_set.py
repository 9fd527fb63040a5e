"""An exported model folder run with onnxruntime: the very graphs the studio ships, driven by
the PyTorch reference sampler, for the quality report and the picture grid."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import numpy as np
import onnxruntime as ort
import torch

from ..diffusion.gaussian_diffusion import GaussianDiffusion
from ..diffusion.sampling import GUIDANCE_MODES, DenoiseFn, GradientFn, GuidanceMode, unet_label

#: The report's modes: the sampler's, and classifier-free guidance alone, whose scale is its weight w.
ReportMode = GuidanceMode | Literal["classifier-free"]
REPORT_MODES: tuple[ReportMode, ...] = (*GUIDANCE_MODES, "classifier-free")


class OnnxModelSet:
    def __init__(self, folder: Path, threads: int | None = None) -> None:
        self.folder = folder
        self.manifest = json.loads((folder / "manifest.json").read_text())
        for name, sha256 in self.manifest["files"].items():
            if hashlib.sha256((folder / name).read_bytes()).hexdigest() != sha256:
                raise ValueError(f"{folder / name} does not match the sha256 in its manifest; export the model again.")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads

        # CUDA where this onnxruntime build has it (onnxruntime-gpu), else the CPU.
        available = ort.get_available_providers()
        self.providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]

        def session(name: str) -> ort.InferenceSession:
            return ort.InferenceSession(str(folder / name), options, providers=self.providers)

        self.unet = session(self.manifest["unet"]["file"])
        classifier = self.manifest.get("classifier")
        self.classifier = session(classifier["file"]) if classifier else None
        evaluator = self.manifest.get("evaluator")
        self.evaluator = session(evaluator["file"]) if evaluator else None

    @property
    def unet_sha256(self) -> str:
        return self.manifest["files"][self.manifest["unet"]["file"]]

    @property
    def classifier_sha256(self) -> str | None:
        classifier = self.manifest.get("classifier")
        return None if classifier is None else self.manifest["files"][classifier["file"]]

    @property
    def description(self) -> str:
        return f"onnxruntime {ort.__version__} ({self.providers[0]})"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        image = self.manifest["image"]
        return image["channels"], image["size"], image["size"]

    def diffusion(self, respacing: str) -> GaussianDiffusion:
        settings = self.manifest["diffusion"]
        return GaussianDiffusion.from_settings(schedule=settings["noise_schedule"], num_timesteps=settings["steps"],
                                               respacing=respacing, learn_sigma=settings["learn_sigma"])

    def guided_functions(
        self, mode: ReportMode, y: torch.Tensor, scale: float
    ) -> tuple[DenoiseFn, GradientFn | None]:
        if mode == "classifier-free":
            return self.classifier_free_denoise(y, scale), None
        unet, classes = self.manifest["unet"], self.manifest["classes"]
        label = unet_label(mode, y, class_cond=unet["class_cond"], null_class=classes["null_class"],
                           has_classifier=self.classifier is not None)
        names = unet["inputs"]

        def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            feeds = {names["x"]: x.float().numpy(), names["t"]: t.numpy().astype(np.int64)}
            if label is not None:
                feeds[names["y"]] = label.numpy().astype(np.int64)
            (out,) = self.unet.run([unet["output"]], feeds)
            return torch.from_numpy(out).to(x.dtype)

        if mode == "conditional" or self.classifier is None or scale == 0:
            # At scale 0 the guidance term vanishes; the classifier need not run.
            return denoise, None
        session = self.classifier
        classifier = self.manifest["classifier"]
        inputs, grad_name = classifier["inputs"], classifier["outputs"]["grad"]

        def gradient(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            feeds = {inputs["x"]: x.float().numpy(), inputs["t"]: t.numpy().astype(np.int64),
                     inputs["y"]: y.numpy().astype(np.int64)}
            (grad,) = session.run([grad_name], feeds)
            return torch.from_numpy(grad).to(x.dtype) * scale

        return denoise, gradient

    def classifier_free_denoise(self, y: torch.Tensor, weight: float) -> DenoiseFn:
        """ε̃ = (1 − w)·ε(x, ∅) + w·ε(x, y) from one UNet call on [x, x] with labels [y, ∅], as the
        studio's engine runs it; the variance channels come from the conditional half."""
        unet, null_class = self.manifest["unet"], self.manifest["classes"]["null_class"]
        if not unet["class_cond"] or null_class is None:
            raise ValueError(
                f"The UNet of {self.folder} has no null class, so classifier-free guidance cannot run on it."
            )
        names = unet["inputs"]
        labels = np.concatenate([y.numpy(), np.full(len(y), null_class)]).astype(np.int64)
        learn_sigma = self.manifest["diffusion"]["learn_sigma"]

        def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            doubled = torch.cat([x, x]).float().numpy()
            feeds = {names["x"]: doubled, names["t"]: torch.cat([t, t]).numpy().astype(np.int64), names["y"]: labels}
            (out,) = self.unet.run([unet["output"]], feeds)
            conditional, unconditional = torch.from_numpy(out).to(x.dtype).chunk(2)
            channels = x.shape[1]
            eps = (1.0 - weight) * unconditional[:, :channels] + weight * conditional[:, :channels]
            return torch.cat([eps, conditional[:, channels:]], dim=1) if learn_sigma else eps

        return denoise

    def evaluate(self, images: torch.Tensor, batch: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """Evaluator features and logits of images in model space, [N, C, H, W]."""
        if self.evaluator is None:
            raise ValueError(f"The model in {self.folder} has no evaluator network, so its samples cannot be scored.")
        evaluator = self.manifest["evaluator"]
        outputs = [evaluator["outputs"]["features"], evaluator["outputs"]["logits"]]
        features, logits = [], []
        for start in range(0, len(images), batch):
            feature_batch, logit_batch = self.evaluator.run(
                outputs, {evaluator["input"]: images[start : start + batch].float().numpy()}
            )
            features.append(feature_batch)
            logits.append(logit_batch)
        return np.concatenate(features), np.concatenate(logits)

    def reference(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, covariance and features of the real images, as the model folder stores them."""
        files = self.manifest["evaluator"]["reference"]
        return tuple(np.load(self.folder / files[key]) for key in ("mu", "sigma", "features"))
