"""The sampling networks of an exported model folder as PyTorch modules on any torch device
(a CUDA GPU, say), so a long quality report draws in minutes rather than hours.

The weights are the ones the export writes beside its run folders (config.json, unet.pt,
classifier.pt). Before use they are checked against the folder's ONNX graphs on a probe
batch, so the report still measures the model the studio ships. The sampler's arithmetic
and its random draws stay on the CPU, as with onnxruntime: a seed draws the same noise on
either, and only the networks' rounding differs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..diffusion.gaussian_diffusion import GaussianDiffusion
from ..diffusion.sampling import DenoiseFn, GradientFn, GuidanceMode, guided_functions
from ..diffusion.torch_model import load_models, read_config
from .onnx_model_set import OnnxModelSet, ReportMode

#: Largest difference from the ONNX graphs, relative to the output's scale, that passes the check.
TOLERANCE = 1e-3


class TorchSampling:
    def __init__(self, model: OnnxModelSet, weights: Path, device: str = "cpu") -> None:
        classifier_file = weights / "classifier.pt" if model.classifier is not None else None
        needed = [weights / "config.json", weights / "unet.pt", *([classifier_file] if classifier_file else [])]
        missing = [path.name for path in needed if not path.is_file()]
        if missing:
            raise ValueError(f"{weights} lacks {', '.join(missing)}: the export writes the PyTorch weights beside "
                             "its run folders (python -m studio_tools.train.export_builtin writes <runs>/torch).")
        config = read_config(weights / "config.json")
        unet, classifier = load_models(config, weights / "unet.pt", classifier_file)
        self.device = torch.device(device)
        if self.device.type == "cuda":
            # Full fp32 arithmetic, as onnxruntime computes on the CPU.
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
        self.model, self.weights = model, weights
        self.unet = unet.to(self.device)
        self.classifier = None if classifier is None else classifier.to(self.device)
        self.image_shape = model.image_shape
        name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "CPU"
        self.description = f"torch {torch.__version__} on {name}"
        self.check_against_onnx()

    def diffusion(self, respacing: str) -> GaussianDiffusion:
        return self.model.diffusion(respacing)

    def guided_functions(
        self, mode: ReportMode, y: torch.Tensor, scale: float
    ) -> tuple[DenoiseFn, GradientFn | None]:
        """The networks bound to the labels, taking and returning CPU tensors."""
        classes = self.model.manifest["classes"]
        # Classifier-free guidance alone: the scale is its weight w, and no classifier runs.
        classifier_free = mode == "classifier-free"
        sampler_mode: GuidanceMode = "conditional" if mode == "classifier-free" else mode
        denoise, gradient = guided_functions(self.unet, self.classifier, sampler_mode,
                                             y.to(self.device), 0.0 if classifier_free else scale,
                                             class_cond=self.model.manifest["unet"]["class_cond"],
                                             null_class=classes["null_class"],
                                             cfg_scale=scale if classifier_free else None,
                                             learn_sigma=self.model.manifest["diffusion"]["learn_sigma"])
        if scale == 0 or classifier_free:
            # The guidance term vanishes; the classifier need not run.
            gradient = None

        def on_device(network):
            def run(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
                return network(x.to(self.device), t.to(self.device)).cpu()
            return run

        return on_device(denoise), None if gradient is None else on_device(gradient)

    def check_against_onnx(self) -> None:
        """Refuse weights that do not compute what the folder's ONNX graphs compute."""
        x = torch.randn((4, *self.image_shape), generator=torch.Generator().manual_seed(0))
        t = torch.tensor([999, 600, 200, 0])
        y = torch.arange(4) % self.model.manifest["classes"]["count"]
        mode: GuidanceMode = "conditional" if self.classifier is None else "conditional+classifier"
        expected = dict(zip(("unet", "classifier"), self.model.guided_functions(mode, y, 1.0), strict=True))
        got = dict(zip(("unet", "classifier"), self.guided_functions(mode, y, 1.0), strict=True))
        for name, network in got.items():
            if network is None:
                continue
            reference = expected[name]
            assert reference is not None, f"the ONNX folder has no {name} graph to compare with"
            with torch.no_grad():
                want, have = reference(x, t).numpy(), network(x, t).numpy()
            difference = float(np.abs(want - have).max())
            if not difference <= TOLERANCE * max(1.0, float(np.abs(want).max())):
                raise ValueError(
                    f"The PyTorch {name} weights in {self.weights} do not compute what the ONNX graphs in "
                    f"{self.model.folder} do (largest difference {difference:.3g}); export the model again "
                    "so both come from the same weights."
                )
