"""ONNX graphs the studio runs: the UNet, the classifier gradient and the evaluator.

Every graph takes float32 NCHW images in [-1, 1] with a dynamic batch dimension, uses
standard ONNX operators only (onnxruntime-node is an inference build) and keeps its
weights inside the .onnx file unless they pass the protobuf limit, when they go to
one external data file beside it.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import onnx
import onnx_ir
import onnxscript
import torch
from onnxscript.rewriter import onnx_fusions
from torch import nn

from ..adm import UNetModel
from .gradient import trace_log_prob_gradient
from .operators import assert_inference_operators

# Protobuf refuses messages over 2 GiB; stay clear of it including the graph itself.
EXTERNAL_DATA_THRESHOLD_BYTES = 1_800_000_000
OPSET = 18
MAX_BATCH = 4096

# The steps of an export, in order, for a caller that shows progress (the gradient graph traces first).
STEP_TRACE_GRADIENT = "trace the gradient"
STEP_EXPORT = "export to ONNX"
STEP_OPTIMISE = "optimise"
STEP_SAVE = "save"
EXPORT_STEPS = (STEP_EXPORT, STEP_OPTIMISE, STEP_SAVE)
GRADIENT_EXPORT_STEPS = (STEP_TRACE_GRADIENT, *EXPORT_STEPS)

#: Told the name of each step as it starts.
StepListener = Callable[[str], None]


@dataclass(frozen=True)
class ExportedGraph:
    path: Path
    #: Every file the graph consists of: the .onnx and its external data file, if any.
    files: tuple[Path, ...]
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]


def _parameter_bytes(module: nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters()) + sum(
        b.numel() * b.element_size() for b in module.buffers()
    )


def _example_inputs(image_size: int, channels: int, batch: int, num_classes: int | None) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, image_size, image_size, generator=generator)
    t = torch.randint(0, 1000, (batch,), generator=generator)
    if num_classes is None:
        return x, t
    return x, t, torch.randint(0, num_classes, (batch,), generator=generator)


def _no_step(step: str) -> None:
    pass


def _folds_without_copying_a_weight(node: onnx_ir.Node) -> bool | None:
    """Refuse to fold a rearrangement of a weight another node still reads as stored (a kernel
    flipped for its input gradient): folded, the file would hold the weight twice; onnxruntime
    folds it when it creates the session instead. None leaves the decision to the default rules."""
    for value in node.inputs:
        weight = None if value is None else value.const_value
        if weight is not None and len(weight.shape) >= 2 and len(value.uses()) > 1:
            return False
    return None


def _optimise(model: onnx_ir.Model) -> None:
    """What torch.onnx's optimize=True runs (constant folding, redundancy elimination, fusions), without
    ONNX shape inference: the exporter already gives every value its type and shape from the traced
    program, so inferring them again, node by node, finds nothing new at a cost that grows with the graph."""
    onnxscript.optimizer.optimize_ir(model, onnx_shape_inference=False, should_fold=_folds_without_copying_a_weight)
    onnx_fusions.fuse(model)


def _save(
    model: nn.Module | torch.fx.GraphModule,
    example: tuple[torch.Tensor, ...],
    path: Path,
    input_names: tuple[str, ...],
    output_names: tuple[str, ...],
    weight_bytes: int,
    on_step: StepListener = _no_step,
) -> ExportedGraph:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    external = weight_bytes > EXTERNAL_DATA_THRESHOLD_BYTES
    on_step(STEP_EXPORT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        program = torch.onnx.export(
            model,
            example,
            input_names=list(input_names),
            output_names=list(output_names),
            dynamo=True,
            opset_version=OPSET,
            dynamic_shapes=tuple({0: batch} for _ in example),
            # Optimised below, as a step of its own.
            optimize=False,
            verbose=False,
        )
        assert program is not None, "torch.onnx.export(dynamo=True) returns the exported program"
        on_step(STEP_OPTIMISE)
        _optimise(program.model)
    on_step(STEP_SAVE)
    data_path = path.with_name(path.name + ".data")
    data_path.unlink(missing_ok=True)
    program.save(path, external_data=external)
    files = (path, data_path) if external else (path,)
    assert_inference_operators(onnx.load(path, load_external_data=False))
    return ExportedGraph(path, files, input_names, output_names)


class _UNetGraph(nn.Module):
    """Names the graph inputs x, t (, y) whatever the network's own argument names."""

    def __init__(self, unet: nn.Module):
        super().__init__()
        self.unet = unet

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.unet(x, t) if y is None else self.unet(x, t, y)


class _HalfPrecisionUNet(nn.Module):
    """The UNet with float16 convolutions in its trunk and float32 inputs and output.

    As the release's ``convert_to_fp16``: only the convolutions of the input, middle and
    output blocks run in half precision; the time and label embeddings, group norm
    statistics, attention softmax and the output head (norm, SiLU, last convolution) stay
    float32.
    """

    def __init__(self, unet: UNetModel):
        super().__init__()
        self.unet = copy.deepcopy(unet)
        for trunk in (self.unet.input_blocks, self.unet.middle_block, self.unet.output_blocks):
            for module in trunk.modules():
                if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
                    module.half()
        self.unet.trunk_dtype = torch.float16

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.unet(x, t) if y is None else self.unet(x, t, y)


def _unet_signature(unet: nn.Module) -> tuple[int, int, int | None]:
    model = cast(UNetModel, unet)
    return int(model.image_size), int(model.in_channels), model.num_classes


def export_unet(unet: nn.Module, path: Path, *, batch: int = 2, on_step: StepListener = _no_step) -> ExportedGraph:
    """unet.onnx: x [B,C,H,W] float32, t [B] int64, y [B] int64 when class-conditional → out."""
    unet = unet.eval()
    size, channels, num_classes = _unet_signature(unet)
    example = _example_inputs(size, channels, batch, num_classes)
    inputs = ("x", "t") if num_classes is None else ("x", "t", "y")
    return _save(_UNetGraph(unet), example, path, inputs, ("out",), _parameter_bytes(unet), on_step)


def export_unet_fp16(
    unet: nn.Module, path: Path, *, batch: int = 2, on_step: StepListener = _no_step
) -> ExportedGraph:
    """The UNet with float16 convolution weights for GPU providers; same inputs and output as unet.onnx."""
    unet = unet.eval()
    size, channels, num_classes = _unet_signature(unet)
    example = _example_inputs(size, channels, batch, num_classes)
    inputs = ("x", "t") if num_classes is None else ("x", "t", "y")
    if not isinstance(unet, UNetModel):
        raise TypeError(f"the float16 export takes an ADM UNetModel, got {type(unet).__name__}")
    half = _HalfPrecisionUNet(unet).eval()
    return _save(half, example, path, inputs, ("out",), _parameter_bytes(half), on_step)


def export_classifier_grad(
    classifier: nn.Module,
    path: Path,
    *,
    image_size: int,
    channels: int,
    num_classes: int,
    batch: int = 2,
    on_step: StepListener = _no_step,
) -> ExportedGraph:
    """classifier_grad.onnx: x, t, y → grad = ∇ₓ Σᵢ log softmax(f(xᵢ,tᵢ))[yᵢ], logits."""
    example = _example_inputs(image_size, channels, batch, num_classes)
    on_step(STEP_TRACE_GRADIENT)
    graph = trace_log_prob_gradient(classifier, example)
    return _save(graph, example, path, ("x", "t", "y"), ("grad", "logits"), _parameter_bytes(classifier), on_step)


class _EvaluatorGraph(nn.Module):
    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, logits = self.network(x)
        return features, logits


def export_evaluator(
    network: nn.Module, path: Path, *, image_size: int, channels: int, batch: int = 2
) -> ExportedGraph:
    """evaluator.onnx for a clean classifier whose forward(x) returns (features [B,D], logits [B,K])."""
    network = network.eval()
    (x, _) = _example_inputs(image_size, channels, batch, None)
    return _save(_EvaluatorGraph(network), (x,), path, ("x",), ("features", "logits"), _parameter_bytes(network))
