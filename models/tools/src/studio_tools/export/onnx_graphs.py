"""ONNX graphs the studio runs: the UNet, the classifier gradient and the evaluator.

Every graph takes float32 NCHW images in [-1, 1] with a dynamic batch dimension, uses
standard ONNX operators only (onnxruntime-node is an inference build) and keeps its
weights inside the .onnx file unless they pass the protobuf limit, when they go to
one external data file beside it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import onnx
import onnx_ir
import onnx_ir.passes.common as common_passes
import onnxscript
import torch
from onnxscript import rewriter
from onnxscript.rewriter import onnx_fusions
from torch import nn

from ..adm import UNetModel
from .gradient import trace_log_prob_gradient
from .operators import assert_inference_operators

# Protobuf refuses messages over 2 GiB; stay clear of it including the graph itself.
EXTERNAL_DATA_THRESHOLD_BYTES = 1_800_000_000
OPSET = 18
MAX_BATCH = 4096
# The blocks the release runs in half precision (guided_diffusion's UNetModel.convert_to_fp16).
TRUNK_BLOCKS = frozenset({"input_blocks", "middle_block", "output_blocks"})

# The steps of an export, in order, for a caller that shows progress (the gradient graph traces first).
STEP_TRACE_GRADIENT = "trace the gradient"
STEP_EXPORT = "export to ONNX"
STEP_OPTIMISE = "optimise"
STEP_SAVE = "save"
STEP_HALF = "convert to float16"
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
        if value is not None and weight is not None and len(weight.shape) >= 2 and len(value.uses()) > 1:
            return False
    return None


# The rewrite rules of onnxscript's optimize_ir but SlicesSplit, which pairs Slice nodes by walking the whole
# graph once per Slice: quadratic in the graph's size, over four fifths of the optimiser's time on a gradient
# graph, where it merges nothing.
_REWRITE_RULES = rewriter.RewriteRuleSet(
    [rule for rule in rewriter._DEFAULT_REWRITE_RULES if rule.name != "SlicesSplit"]
)
_ROUNDS = 2


def _optimise(model: onnx_ir.Model) -> None:
    """What torch.onnx's optimize=True runs (onnxscript's optimize_ir: constant folding, rewrites, redundancy
    elimination, then fusions), without ONNX shape inference: the exporter already gives every value its type
    and shape from the traced program, so inferring them again, node by node, finds nothing new at a cost that
    grows with the graph; and without the SlicesSplit rewrite (above)."""
    common_passes.InlinePass()(model)
    for _ in range(_ROUNDS):
        folded = onnxscript.optimizer.fold_constants_ir(
            model, onnx_shape_inference=False, should_fold=_folds_without_copying_a_weight
        )
        rewritten = rewriter.RewritePass(_REWRITE_RULES)(model)
        for cleanup in (common_passes.RemoveUnusedNodesPass(), common_passes.RemoveUnusedFunctionsPass(),
                        common_passes.RemoveUnusedOpsetsPass()):
            cleanup(model)
        if not (folded.modified or rewritten.modified):
            break
    onnx_ir.passes.Sequential(
        common_passes.RemoveUnusedNodesPass(),
        common_passes.LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0),
        common_passes.LiftSubgraphInitializersToMainGraphPass(),
        common_passes.DeduplicateInitializersPass(),
        common_passes.CommonSubexpressionEliminationPass(),
        common_passes.OutputFixPass(),
        common_passes.NameFixPass(),
    )(model)
    onnx_fusions.fuse(model)


def _export(
    model: nn.Module | torch.fx.GraphModule,
    example: tuple[torch.Tensor, ...],
    input_names: tuple[str, ...],
    output_names: tuple[str, ...],
    on_step: StepListener,
) -> onnx_ir.Model:
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
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
    return program.model


def _weight_bytes(model: onnx_ir.Model) -> int:
    return sum(value.const_value.nbytes for value in model.graph.initializers.values() if value.const_value is not None)


def _refuse_nonstandard_operators(model: onnx_ir.Model) -> None:
    """The operator check, on the graph in memory: reading the written file back would parse every weight again."""
    kinds = {(node.domain, node.op_type) for node in onnx_ir.traversal.RecursiveGraphIterator(model.graph)}
    nodes = [onnx.helper.make_node(op_type, [], [], domain=domain) for domain, op_type in sorted(kinds)]
    functions = [onnx.helper.make_function(f.domain, f.name, [], [], [], []) for f in model.functions.values()]
    assert_inference_operators(onnx.helper.make_model(onnx.helper.make_graph(nodes, "operators", [], []),
                                                      functions=functions))


def _write(model: onnx_ir.Model, path: Path, on_step: StepListener) -> ExportedGraph:
    """One .onnx file, or a .onnx beside one .onnx.data file when the weights pass the protobuf limit."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    on_step(STEP_SAVE)
    data_path = path.with_name(path.name + ".data")
    data_path.unlink(missing_ok=True)
    external = _weight_bytes(model) > EXTERNAL_DATA_THRESHOLD_BYTES
    onnx_ir.save(model, path, external_data=data_path.name if external else None)
    files = (path, data_path) if external else (path,)
    _refuse_nonstandard_operators(model)
    inputs = tuple(value.name or "" for value in model.graph.inputs)
    outputs = tuple(value.name or "" for value in model.graph.outputs)
    return ExportedGraph(path, files, inputs, outputs)


def _save(
    model: nn.Module | torch.fx.GraphModule,
    example: tuple[torch.Tensor, ...],
    path: Path,
    input_names: tuple[str, ...],
    output_names: tuple[str, ...],
    on_step: StepListener = _no_step,
) -> ExportedGraph:
    return _write(_export(model, example, input_names, output_names, on_step), path, on_step)


class _UNetGraph(nn.Module):
    """Names the graph inputs x, t (, y) whatever the network's own argument names."""

    def __init__(self, unet: nn.Module):
        super().__init__()
        self.unet = unet

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.unet(x, t) if y is None else self.unet(x, t, y)


def _in_trunk(weight_name: str) -> bool:
    """A weight of the input, middle or output blocks ("unet.input_blocks.3.0.in_layers.2.weight")."""
    return weight_name.removeprefix("unet.").split(".", 1)[0] in TRUNK_BLOCKS


def _cast(value: onnx_ir.Value, dtype: onnx_ir.DataType) -> onnx_ir.Node:
    cast = onnx_ir.node("Cast", [value], {"to": dtype})
    cast.outputs[0].dtype = dtype
    cast.outputs[0].shape = value.shape
    return cast


def _to_float16(value: onnx_ir.Value) -> None:
    weight = value.const_value
    assert weight is not None, f"{value.name} is a weight of the graph"
    value.const_value = onnx_ir.tensor(weight.numpy().astype(np.float16), name=value.name)
    value.dtype = onnx_ir.DataType.FLOAT16


def _half_precision_trunk(model: onnx_ir.Model) -> int:
    """As the release's ``convert_to_fp16``: the convolutions of the input, middle and output blocks
    (their weights and biases) in float16; everything else (the time and label embeddings, group norm,
    the attention softmax, the output head) stays float32. Each such convolution reads its input cast to
    float16 and hands on its output cast back to float32, so the graph's inputs and output stay float32.
    Returns the number of convolutions converted."""
    graph = model.graph
    # One cast per activation, shared by the convolutions that read it.
    halves: dict[int, onnx_ir.Value] = {}
    converted = 0
    for node in list(graph):
        weight = node.inputs[1] if node.op_type == "Conv" and len(node.inputs) > 1 else None
        if weight is None or not weight.is_initializer() or not _in_trunk(weight.name or ""):
            continue
        parameters = [value for value in node.inputs[1:] if value is not None]
        if any(len(value.uses()) > 1 for value in parameters):
            raise RuntimeError(f"{weight.name} is read by more than one node; float16 would change the others")
        for value in parameters:
            _to_float16(value)
        activation = node.inputs[0]
        assert activation is not None, "a Conv reads an input"
        if id(activation) not in halves:
            cast_in = _cast(activation, onnx_ir.DataType.FLOAT16)
            graph.insert_before(node, cast_in)
            halves[id(activation)] = cast_in.outputs[0]
        node.replace_input_with(0, halves[id(activation)])
        output = node.outputs[0]
        uses = list(output.uses())
        output.dtype = onnx_ir.DataType.FLOAT16
        cast_out = _cast(output, onnx_ir.DataType.FLOAT)
        graph.insert_after(node, cast_out)
        for use in uses:
            use.node.replace_input_with(use.idx, cast_out.outputs[0])
        converted += 1
    return converted


def _unet_signature(unet: nn.Module) -> tuple[int, int, int | None]:
    model = cast(UNetModel, unet)
    return int(model.image_size), int(model.in_channels), model.num_classes


def _unet_program(unet: nn.Module, batch: int, on_step: StepListener) -> onnx_ir.Model:
    unet = unet.eval()
    size, channels, num_classes = _unet_signature(unet)
    example = _example_inputs(size, channels, batch, num_classes)
    inputs = ("x", "t") if num_classes is None else ("x", "t", "y")
    return _export(_UNetGraph(unet), example, inputs, ("out",), on_step)


class UNetProgram:
    """The UNet exported to ONNX once: unet.onnx is written from it and then its float16 variant,
    converted from the same graph rather than traced a second time."""

    def __init__(self, unet: nn.Module, *, batch: int = 2, on_step: StepListener = _no_step):
        self.model = _unet_program(unet, batch, on_step)
        self.half = False

    def save(self, path: Path, on_step: StepListener = _no_step) -> ExportedGraph:
        if self.half:
            raise RuntimeError("the graph is already float16; save the float32 graph before save_float16")
        return _write(self.model, path, on_step)

    def save_float16(self, path: Path, on_step: StepListener = _no_step) -> ExportedGraph:
        on_step(STEP_HALF)
        if not self.half:
            _half_precision_trunk(self.model)
            self.half = True
        return _write(self.model, path, on_step)


def export_unet(unet: nn.Module, path: Path, *, batch: int = 2, on_step: StepListener = _no_step) -> ExportedGraph:
    """unet.onnx: x [B,C,H,W] float32, t [B] int64, y [B] int64 when class-conditional → out."""
    return UNetProgram(unet, batch=batch, on_step=on_step).save(path, on_step)


def export_unet_fp16(
    unet: nn.Module, path: Path, *, batch: int = 2, on_step: StepListener = _no_step
) -> ExportedGraph:
    """The UNet with float16 convolution weights for GPU providers; same inputs and output as unet.onnx."""
    if not isinstance(unet, UNetModel):
        raise TypeError(f"the float16 export takes an ADM UNetModel, got {type(unet).__name__}")
    return UNetProgram(unet, batch=batch, on_step=on_step).save_float16(path, on_step)


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
    return _save(graph, example, path, ("x", "t", "y"), ("grad", "logits"), on_step)


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
    return _save(_EvaluatorGraph(network), (x,), path, ("x",), ("features", "logits"))
