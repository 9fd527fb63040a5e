"""The classifier-gradient graph ∇ₓ Σᵢ log softmax(f(xᵢ, tᵢ))[yᵢ] as a forward-only FX graph.

ONNX has no autograd, so the backward pass is traced into ordinary operators: `make_fx`
records `torch.autograd.grad`, and the decompositions below rewrite the backward ATen
ops that have no ONNX translation (convolution_backward, avg_pool2d_backward) into
forward ops (a transposed convolution, a repeat). The remaining backward ops
(group norm, softmax, log-softmax, gather) decompose through PyTorch's core table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import fx, nn
from torch._decomp import core_aten_decompositions
from torch.fx.experimental.proxy_tensor import make_fx

aten = torch.ops.aten


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
    """∂L/∂input of a convolution is the transposed convolution of ∂L/∂output with the same kernel."""
    if transposed or output_mask[1] or output_mask[2]:
        raise NotImplementedError("only the input gradient of a plain convolution is traced")
    kernel = weight.shape[2:]
    # The transposed convolution maps back to the input size, up to the rows a stride skipped.
    restore = [
        input.shape[2 + i]
        - ((grad_output.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + 1)
        for i in range(len(kernel))
    ]
    grad_input = aten.convolution.default(
        grad_output, weight, None, stride, padding, dilation, True, restore, groups
    )
    return (grad_input if output_mask[0] else None), None, None


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
    grad = grad_output
    for dim, k in enumerate(kernel_size):
        grad = grad.repeat_interleave(k, dim=2 + dim)
    return grad / (kernel_size[0] * kernel_size[1])


def backward_decompositions() -> dict[torch._ops.OperatorBase, Callable]:
    table = dict(core_aten_decompositions())
    table[aten.convolution_backward.default] = _convolution_input_grad
    table[aten.avg_pool2d_backward.default] = _avg_pool2d_input_grad
    return table


def trace_log_prob_gradient(classifier: nn.Module, example: tuple[torch.Tensor, ...]) -> fx.GraphModule:
    """A forward-only graph of LogProbGradient(classifier), symbolic in every input dimension."""
    was_training = classifier.training
    trainable = [p for p in classifier.parameters() if p.requires_grad]
    classifier.eval()
    # Only ∂/∂x is wanted; weights that require grad would trace their own backward ops.
    for parameter in trainable:
        parameter.requires_grad_(False)
    try:
        return make_fx(
            LogProbGradient(classifier),
            # torch types the table's keys as OperatorBase, make_fx as OpOverload; the entries are OpOverloads.
            decomposition_table=backward_decompositions(),  # type: ignore[arg-type]
            tracing_mode="symbolic",
            # The weights stay real tensors and become constants of the graph.
            _allow_non_fake_inputs=True,
        )(*example)
    finally:
        for parameter in trainable:
            parameter.requires_grad_(True)
        classifier.train(was_training)
