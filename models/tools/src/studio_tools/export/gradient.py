"""The classifier-gradient graph ∇ₓ Σᵢ log softmax(f(xᵢ, tᵢ))[yᵢ] as a forward-only FX graph.

ONNX has no autograd, so the backward pass is traced into ordinary operators: `make_fx`
records `torch.autograd.grad`, and the decompositions below give every backward ATen op
of the ADM classifier a closed form in forward operators that inference runtimes run
fast:

- a stride-1 convolution's input gradient is a convolution with the kernel flipped
  spatially and its in/out channels swapped; the graph flips the stored kernel, so the
  file holds each weight once, and onnxruntime folds the flip into a constant when it
  creates the session; a strided one stays a transposed convolution;
- group norm's input gradient is rstd·(g − mean(g) − x̂·mean(g·x̂)) per group, with
  g = ∂L/∂y·γ, sharing x̂ and rstd with the forward pass, in five full-size operations;
- SiLU's is g·(s + y·(1 − s)), sharing s = σ(x) and y = x·s with the forward pass;
- non-overlapping average pooling's spreads g/k² over each window (a broadcast).

The shared values come from one common-subexpression pass over the traced graph.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import fx, nn
from torch._decomp import core_aten_decompositions
from torch.fx.experimental.proxy_tensor import make_fx
from torch.fx.passes.dialect.common.cse_pass import CSEPass

aten = torch.ops.aten

DecompositionTable = dict[torch._ops.OperatorBase, Callable]


class LogProbGradient(nn.Module):
    """(x, t, y) → (∇ₓ Σᵢ log p(yᵢ | xᵢ, tᵢ), logits) for a noisy classifier f(x, t)."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            logits = self.classifier(x, t)
            log_probs = torch.log_softmax(logits, dim=-1)
            # Summing over the batch gives each xᵢ its own gradient: the samples do not interact.
            selected = log_probs.gather(1, y[:, None]).sum()
            (grad,) = torch.autograd.grad(selected, x)
        return grad, logits.detach()


def _transposed_convolution_input_grad(
    grad_output: torch.Tensor,
    input: torch.Tensor,
    weight: torch.Tensor,
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    groups: int,
) -> torch.Tensor:
    """∂L/∂input as the transposed convolution of ∂L/∂output with the same kernel."""
    kernel = weight.shape[2:]
    # The transposed convolution maps back to the input size, up to the rows a stride skipped.
    restore = [
        input.shape[2 + i]
        - ((grad_output.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + 1)
        for i in range(len(kernel))
    ]
    return aten.convolution.default(grad_output, weight, None, stride, padding, dilation, True, restore, groups)


def _convolution_input_grad(
    grad_output: torch.Tensor,
    input: torch.Tensor,
    weight: torch.Tensor,
    bias_sizes: Sequence[int] | None,
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    transposed: bool,
    output_padding: Sequence[int],
    groups: int,
    output_mask: Sequence[bool],
) -> tuple[torch.Tensor | None, None, None]:
    """∂L/∂input of a convolution: a plain convolution with the flipped kernel when the stride is 1.

    For y = W ⋆ x (cross-correlation, padding p), ∂L/∂x = W' ⋆ ∂L/∂y with W' the kernel
    rotated by 180° and its channel axes swapped, padded by d·(k − 1) − p. Runtimes run a
    plain convolution far faster than a transposed one, whose col2im scatter dominates: on the
    full-size 64×64 classifier onnxruntime's ConvTranspose took 1.2–2.5× the Conv's kernel time
    on every 3×3 layer at batch 1 and 4, and no 1×1 layer was faster by it at both batch sizes,
    so every stride-1 layer convolves.
    """
    if transposed or output_mask[1] or output_mask[2]:
        raise NotImplementedError("only the input gradient of a plain convolution is traced")
    if not output_mask[0]:
        return None, None, None
    kernel = weight.shape[2:]
    spatial = list(range(2, weight.dim()))
    flipped_padding = [dilation[i] * (kernel[i] - 1) - padding[i] for i in range(len(kernel))]
    if any(s != 1 for s in stride) or groups != 1 or any(p < 0 for p in flipped_padding):
        grad = _transposed_convolution_input_grad(grad_output, input, weight, stride, padding, dilation, groups)
        return grad, None, None
    flipped = weight.flip(spatial).transpose(0, 1)
    ones = [1] * len(kernel)
    grad = aten.convolution.default(
        grad_output, flipped, None, ones, flipped_padding, dilation, False, [0] * len(kernel), 1
    )
    return grad, None, None


def _per_channel(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A [C] vector shaped to broadcast over the channel axis of an [N, C, …] tensor."""
    return values.reshape(values.shape[0], *([1] * (like.dim() - 2)))


def _grouped(input: torch.Tensor, group: int) -> torch.Tensor:
    return input.reshape(input.shape[0], group, -1)


def _normalized(input: torch.Tensor, mean: torch.Tensor, rstd: torch.Tensor, group: int) -> torch.Tensor:
    """x̂ = (x − μ)·rstd per group, as [N, G, C/G·H·W]; the forward and backward passes trace it alike."""
    return (_grouped(input, group) - mean[..., None]) * rstd[..., None]


def _group_norm(
    input: torch.Tensor,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    N: int,
    C: int,
    HxW: int,
    group: int,
    eps: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """y = x̂·γ + β with the statistics (μ, rstd) the backward pass reuses."""
    grouped = _grouped(input, group)
    mean = grouped.mean(-1)
    centred = grouped - mean[..., None]
    rstd = torch.rsqrt((centred * centred).mean(-1) + eps)
    out = _normalized(input, mean, rstd, group).reshape(input.shape)
    if weight is not None:
        out = out * _per_channel(weight, input)
    if bias is not None:
        out = out + _per_channel(bias, input)
    return out, mean, rstd


def _group_norm_input_grad(
    grad_output: torch.Tensor,
    input: torch.Tensor,
    mean: torch.Tensor,
    rstd: torch.Tensor,
    weight: torch.Tensor | None,
    N: int,
    C: int,
    HxW: int,
    group: int,
    output_mask: Sequence[bool],
) -> tuple[torch.Tensor | None, None, None]:
    """∂L/∂x = rstd·(g − mean(g) − x̂·mean(g·x̂)) per group, g = ∂L/∂y·γ.

    Written as a·∂L/∂y − b − x̂·c with a = rstd·γ per channel and b = rstd·mean(g), c = rstd·mean(g·x̂)
    per group: γ enters through per-channel means of ∂L/∂y and ∂L/∂y·x̂ rather than as a product
    of its own over the whole tensor, and the tensors stay [N, G, C/G, H·W] so every
    coefficient broadcasts without being expanded.
    """
    if output_mask[1] or output_mask[2]:
        raise NotImplementedError("only the input gradient of a group norm is traced")
    if not output_mask[0]:
        return None, None, None
    n, channels_per_group = input.shape[0], C // group
    grad_y = grad_output.reshape(n, group, channels_per_group, -1)
    normalized = _normalized(input, mean, rstd, group).reshape(grad_y.shape)
    # Every channel of a group has H·W entries: the group's mean is the mean of its channels' means.
    per_channel_grad = grad_y.mean(-1, keepdim=True)
    per_channel_grad_normalized = (grad_y * normalized).mean(-1, keepdim=True)
    # From the forward pass's [C, 1, …] view of γ, so that the file stores γ once.
    gamma = None if weight is None else _per_channel(weight, input).reshape(group, channels_per_group, 1)
    if gamma is not None:
        per_channel_grad = per_channel_grad * gamma
        per_channel_grad_normalized = per_channel_grad_normalized * gamma
    group_rstd = rstd.reshape(n, group, 1, 1)
    a = group_rstd if gamma is None else group_rstd * gamma
    b = group_rstd * per_channel_grad.mean(-2, keepdim=True)
    c = group_rstd * per_channel_grad_normalized.mean(-2, keepdim=True)
    return (grad_y * a - b - normalized * c).reshape(input.shape), None, None


def _silu(input: torch.Tensor) -> torch.Tensor:
    return input * torch.sigmoid(input)


def _silu_input_grad(grad_output: torch.Tensor, input: torch.Tensor) -> torch.Tensor:
    """d/dx x·σ(x) = s + y·(1 − s) with s = σ(x), y = x·s, both already computed by the forward pass."""
    s = torch.sigmoid(input)
    y = input * s
    return grad_output * (s + y * (1 - s))


def _avg_pool2d_input_grad(
    grad_output: torch.Tensor,
    input: torch.Tensor,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> torch.Tensor:
    """Non-overlapping k×k average pooling spreads each output gradient evenly over its window."""
    if list(kernel_size) != list(stride) or any(padding) or ceil_mode or divisor_override:
        raise NotImplementedError("only non-overlapping, unpadded average pooling is traced")
    if any(input.shape[2 + i] != grad_output.shape[2 + i] * k for i, k in enumerate(kernel_size)):
        raise NotImplementedError("average pooling over a size its window does not divide")
    # Scaling before spreading touches k² times fewer values; a broadcast spreads it as one Expand.
    scaled = grad_output * (1.0 / math.prod(kernel_size))
    n, c, h, w = scaled.shape
    (kh, kw) = kernel_size
    spread = scaled.reshape(n, c, h, 1, w, 1).expand(n, c, h, kh, w, kw)
    return spread.reshape(n, c, h * kh, w * kw)


def core_backward_decompositions() -> DecompositionTable:
    """PyTorch's core table with only the two rewrites ONNX lacks a translation for.

    The graphs exported up to now were traced with this table; it stays as the
    reference the lean table is checked against and to re-derive their weights.
    """
    table = dict(core_aten_decompositions())
    table[aten.convolution_backward.default] = _convolution_input_grad_transposed
    table[aten.avg_pool2d_backward.default] = _avg_pool2d_input_grad_repeated
    return table


def backward_decompositions() -> DecompositionTable:
    table = dict(core_aten_decompositions())
    table[aten.convolution_backward.default] = _convolution_input_grad
    table[aten.native_group_norm.default] = _group_norm
    table[aten.native_group_norm_backward.default] = _group_norm_input_grad
    table[aten.silu.default] = _silu
    table[aten.silu_backward.default] = _silu_input_grad
    table[aten.avg_pool2d_backward.default] = _avg_pool2d_input_grad
    return table


def _convolution_input_grad_transposed(
    grad_output: torch.Tensor,
    input: torch.Tensor,
    weight: torch.Tensor,
    bias_sizes: Sequence[int] | None,
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    transposed: bool,
    output_padding: Sequence[int],
    groups: int,
    output_mask: Sequence[bool],
) -> tuple[torch.Tensor | None, None, None]:
    if transposed or output_mask[1] or output_mask[2]:
        raise NotImplementedError("only the input gradient of a plain convolution is traced")
    grad = _transposed_convolution_input_grad(grad_output, input, weight, stride, padding, dilation, groups)
    return (grad if output_mask[0] else None), None, None


def _avg_pool2d_input_grad_repeated(
    grad_output: torch.Tensor,
    input: torch.Tensor,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> torch.Tensor:
    if list(kernel_size) != list(stride) or any(padding) or ceil_mode or divisor_override:
        raise NotImplementedError("only non-overlapping, unpadded average pooling is traced")
    grad = grad_output
    for dim, k in enumerate(kernel_size):
        grad = grad.repeat_interleave(k, dim=2 + dim)
    return grad / (kernel_size[0] * kernel_size[1])


def _fold_constants(graph_module: fx.GraphModule) -> None:
    """Evaluate every op whose inputs are all constants that nothing else reads.

    An op is folded only when its result replaces its inputs in the file: no larger than
    them (no broadcast of a weight over a fixed shape), and none of them still needed by
    another op. A weight the forward pass reads as it is and the backward pass reads
    rearranged (a kernel flipped for its input gradient, a linear layer's transpose) is
    stored once and rearranged by the graph, which onnxruntime folds into a constant when
    it creates the session.
    """
    constants: dict[fx.Node, torch.Tensor] = {}
    for node in list(graph_module.graph.nodes):
        if node.op == "get_attr":
            value = getattr(graph_module, str(node.target))
            if isinstance(value, torch.Tensor):
                constants[node] = value
            continue
        inputs = node.all_input_nodes
        if node.op != "call_function" or not inputs or any(n not in constants for n in inputs):
            continue
        if any(set(n.users) != {node} for n in inputs):
            continue
        args, kwargs = fx.node.map_arg((node.args, node.kwargs), lambda n: constants[n])
        with torch.no_grad():
            value = node.target(*args, **kwargs)
        if not isinstance(value, torch.Tensor) or value.numel() > sum(constants[n].numel() for n in inputs):
            continue
        name = f"_folded_constant{len(constants)}"
        graph_module.register_buffer(name, value.contiguous())
        with graph_module.graph.inserting_before(node):
            folded = graph_module.graph.get_attr(name)
        folded.meta = dict(node.meta)
        node.replace_all_uses_with(folded)
        graph_module.graph.erase_node(node)
        constants[folded] = value
    graph_module.graph.eliminate_dead_code()
    graph_module.recompile()


def trace_log_prob_gradient(
    classifier: nn.Module,
    example: tuple[torch.Tensor, ...],
    *,
    lean: bool = True,
) -> fx.GraphModule:
    """A forward-only graph of LogProbGradient(classifier), symbolic in every input dimension.

    ``lean=False`` traces with `core_backward_decompositions`, as the graphs of earlier releases were.
    """
    was_training = classifier.training
    trainable = [p for p in classifier.parameters() if p.requires_grad]
    classifier.eval()
    # Only ∂/∂x is wanted; weights that require grad would trace their own backward ops.
    for parameter in trainable:
        parameter.requires_grad_(False)
    try:
        graph_module = make_fx(
            LogProbGradient(classifier),
            # torch types the table's keys as OperatorBase, make_fx as OpOverload; the entries are OpOverloads.
            decomposition_table=backward_decompositions() if lean else core_backward_decompositions(),  # type: ignore[arg-type]
            tracing_mode="symbolic",
            # The weights stay real tensors and become constants of the graph.
            _allow_non_fake_inputs=True,
        )(*example)
    finally:
        for parameter in trainable:
            parameter.requires_grad_(True)
        classifier.train(was_training)
    if lean:
        _share_constants(graph_module)
        graph_module = _shared_subexpressions(graph_module)
        _fold_constants(graph_module)
    return graph_module


def _share_constants(graph_module: fx.GraphModule) -> None:
    """One graph constant per weight: the tracer names a weight anew each time it is read."""
    first_read: dict[int, fx.Node] = {}
    renamed: set[str] = set()
    for node in list(graph_module.graph.nodes):
        if node.op != "get_attr":
            continue
        value = getattr(graph_module, str(node.target))
        if not isinstance(value, torch.Tensor):
            continue
        first = first_read.setdefault(id(value), node)
        if first is not node:
            node.replace_all_uses_with(first)
            graph_module.graph.erase_node(node)
            renamed.add(str(node.target))
    still_read = {str(node.target) for node in graph_module.graph.nodes if node.op == "get_attr"}
    for name in renamed - still_read:
        delattr(graph_module, name)
    graph_module.recompile()


def _shared_subexpressions(graph_module: fx.GraphModule) -> fx.GraphModule:
    """One node per repeated computation: the backward pass's x̂, rstd, σ(x) are the forward pass's."""
    # Autograd saves tensors through aliases; seen through, the recomputations match their originals.
    for node in list(graph_module.graph.nodes):
        if node.op == "call_function" and node.target is aten.alias.default:
            node.replace_all_uses_with(node.args[0])
            graph_module.graph.erase_node(node)
    result = CSEPass()(graph_module)
    assert result is not None and isinstance(result.graph_module, fx.GraphModule)
    return result.graph_module
