"""The lean classifier-gradient decompositions: each backward rule against autograd, the traced
graph against autograd, and the exported graph's operators."""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import numpy_helper
from torch.nn import functional as F

from studio_tools.adm import ClassifierConfig
from studio_tools.export import export_classifier_grad
from studio_tools.export.gradient import (
    _avg_pool2d_input_grad,
    _convolution_input_grad,
    _group_norm,
    _group_norm_input_grad,
    _silu_input_grad,
    trace_log_prob_gradient,
)
from studio_tools.export.random_weights import randomize
from studio_tools.export.weights_from_onnx import classifier_from_gradient_graph

SIZE = 8
CLASSES = 5


def relative_error(got: torch.Tensor | np.ndarray, expected: torch.Tensor | np.ndarray) -> float:
    got = torch.as_tensor(got).detach().double()
    expected = torch.as_tensor(expected).detach().double()
    return float((got - expected).abs().max() / expected.abs().max())


def autograd_input_grad(forward, x: torch.Tensor, grad_output: torch.Tensor) -> torch.Tensor:
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(forward(x), x, grad_output)
    return grad


@pytest.mark.parametrize(
    ("dims", "kernel", "padding", "dilation"),
    [(2, 3, 1, 1), (2, 1, 0, 1), (1, 1, 0, 1), (2, 3, 2, 2), (2, 5, 1, 1)],
)
def test_stride_one_convolution_input_grad_is_a_flipped_kernel_convolution(dims, kernel, padding, dilation) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, *([9] * dims), generator=generator, dtype=torch.float64)
    weight = torch.randn(6, 4, *([kernel] * dims), generator=generator, dtype=torch.float64)
    convolve = F.conv2d if dims == 2 else F.conv1d
    y = convolve(x, weight, padding=padding, dilation=dilation)
    grad_output = torch.randn(y.shape, generator=generator, dtype=torch.float64)
    ones, zeros = [1] * dims, [0] * dims
    grad, _, _ = _convolution_input_grad(
        grad_output, x, weight, None, ones, [padding] * dims, [dilation] * dims, False, zeros, 1, [True, False, False]
    )
    expected = autograd_input_grad(lambda v: convolve(v, weight, padding=padding, dilation=dilation), x, grad_output)
    assert grad is not None and grad.shape == x.shape
    assert relative_error(grad, expected) < 1e-12


@pytest.mark.parametrize("size", [8, 9])
def test_strided_convolution_input_grad_restores_the_rows_the_stride_skipped(size: int) -> None:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, size, size, generator=generator, dtype=torch.float64)
    weight = torch.randn(5, 3, 3, 3, generator=generator, dtype=torch.float64)
    y = F.conv2d(x, weight, stride=2, padding=1)
    grad_output = torch.randn(y.shape, generator=generator, dtype=torch.float64)
    grad, _, _ = _convolution_input_grad(
        grad_output, x, weight, None, [2, 2], [1, 1], [1, 1], False, [0, 0], 1, [True, False, False]
    )
    expected = autograd_input_grad(lambda v: F.conv2d(v, weight, stride=2, padding=1), x, grad_output)
    assert grad is not None and relative_error(grad, expected) < 1e-12


def test_convolution_weight_grad_is_refused() -> None:
    x, weight = torch.randn(1, 2, 4, 4), torch.randn(2, 2, 3, 3)
    with pytest.raises(NotImplementedError, match="only the input gradient"):
        _convolution_input_grad(
            torch.randn(1, 2, 4, 4), x, weight, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, True, False]
        )


@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_forward_and_closed_form_input_grad_match_autograd(affine: bool) -> None:
    generator = torch.Generator().manual_seed(2)
    x = 3 + 2 * torch.randn(3, 8, 5, 5, generator=generator, dtype=torch.float64)
    weight = 1 + 0.3 * torch.randn(8, generator=generator, dtype=torch.float64) if affine else None
    bias = 0.3 * torch.randn(8, generator=generator, dtype=torch.float64) if affine else None
    grad_output = torch.randn(x.shape, generator=generator, dtype=torch.float64)
    out, mean, rstd = _group_norm(x, weight, bias, 3, 8, 25, 4, 1e-5)
    assert relative_error(out, F.group_norm(x, 4, weight, bias, 1e-5)) < 1e-12
    grad, _, _ = _group_norm_input_grad(grad_output, x, mean, rstd, weight, 3, 8, 25, 4, [True, False, False])
    expected = autograd_input_grad(lambda v: F.group_norm(v, 4, weight, bias, 1e-5), x, grad_output)
    assert grad is not None and relative_error(grad, expected) < 1e-10


def test_silu_input_grad_matches_autograd() -> None:
    x = torch.linspace(-12, 12, 401, dtype=torch.float64)
    grad_output = torch.cos(x)
    assert relative_error(_silu_input_grad(grad_output, x), autograd_input_grad(F.silu, x, grad_output)) < 1e-14


def test_average_pool_input_grad_spreads_each_window_evenly() -> None:
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, 8, 6, generator=generator, dtype=torch.float64)
    grad_output = torch.randn(2, 3, 4, 3, generator=generator, dtype=torch.float64)
    grad = _avg_pool2d_input_grad(grad_output, x, [2, 2], [2, 2], [0, 0], False, True, None)
    assert relative_error(grad, autograd_input_grad(lambda v: F.avg_pool2d(v, 2), x, grad_output)) < 1e-14


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "size", "message"),
    [
        ([3, 3], [2, 2], [0, 0], 8, "non-overlapping"),
        ([2, 2], [2, 2], [1, 1], 8, "non-overlapping"),
        ([2, 2], [2, 2], [0, 0], 7, "does not divide"),
    ],
)
def test_average_pool_input_grad_refuses_what_it_does_not_spread(kernel, stride, padding, size, message) -> None:
    x = torch.randn(1, 1, size, size)
    with pytest.raises(NotImplementedError, match=message):
        _avg_pool2d_input_grad(torch.randn(1, 1, 3, 3), x, kernel, stride, padding, False, True, None)


def small_classifier(resblock_updown: bool) -> torch.nn.Module:
    config = ClassifierConfig(
        image_size=SIZE, in_channels=3, model_channels=32, out_channels=CLASSES, num_res_blocks=1,
        attention_resolutions=(2,), channel_mult=(1, 2), num_head_channels=32, use_scale_shift_norm=True,
        resblock_updown=resblock_updown, pool="attention",
    )
    return randomize(config.build(), seed=4)


def batch(size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(size)
    x = torch.randn(size, 3, SIZE, SIZE, generator=generator)
    return x, torch.linspace(0, 999, size).long(), torch.arange(size) % CLASSES


def autograd_reference(classifier: torch.nn.Module, x, t, y) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.detach().requires_grad_(True)
    logits = classifier(x, t)
    (grad,) = torch.autograd.grad(torch.log_softmax(logits, -1)[torch.arange(len(x)), y].sum(), x)
    return grad, logits.detach()


@pytest.mark.parametrize("resblock_updown", [True, False], ids=["average-pool", "strided-convolution"])
def test_traced_graph_matches_autograd_at_another_batch_size(resblock_updown: bool) -> None:
    classifier = small_classifier(resblock_updown)
    graph = trace_log_prob_gradient(classifier, batch(2))
    x, t, y = batch(5)
    grad, logits = graph(x, t, y)
    expected_grad, expected_logits = autograd_reference(classifier, x, t, y)
    assert relative_error(grad, expected_grad) <= 1e-5
    assert relative_error(logits, expected_logits) <= 1e-5


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path]:
    classifier = small_classifier(resblock_updown=True)
    path = tmp_path_factory.mktemp("lean") / "classifier_grad.onnx"
    export_classifier_grad(classifier, path, image_size=SIZE, channels=3, num_classes=CLASSES)
    return classifier, path


def test_exported_graph_matches_autograd(exported) -> None:
    classifier, path = exported
    x, t, y = batch(3)
    grad, logits = ort.InferenceSession(str(path)).run(None, {"x": x.numpy(), "t": t.numpy(), "y": y.numpy()})
    expected_grad, expected_logits = autograd_reference(classifier, x, t, y)
    assert relative_error(grad, expected_grad) <= 1e-5
    assert relative_error(logits, expected_logits) <= 1e-5


def stored_weights(model: onnx.ModelProto) -> list[tuple[str, np.ndarray]]:
    """The float initializers of rank ≥ 2: the kernels and matrices, not the shapes and scalars."""
    arrays = [(i.name, numpy_helper.to_array(i)) for i in model.graph.initializer]
    return [(name, array) for name, array in arrays if array.dtype == np.float32 and array.ndim >= 2]


def test_exported_graph_stores_each_weight_once(exported) -> None:
    classifier, path = exported
    weights = stored_weights(onnx.load(str(path)))
    # Random weights: two initializers with the same values are one weight stored twice, rearranged.
    values = [np.sort(array.ravel()).tobytes() for _, array in weights]
    assert len(set(values)) == len(values), "a weight is stored twice"
    parameter_entries = sum(p.numel() for p in classifier.parameters())
    assert sum(array.size for _, array in weights) <= parameter_entries


def onnxruntime_optimised(path: Path, folder: Path) -> onnx.ModelProto:
    """The graph as onnxruntime runs it, after the optimisations it applies when it creates a session."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.optimized_model_filepath = str(folder / "optimised.onnx")
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return onnx.load(str(folder / "optimised.onnx"))


def test_onnxruntime_folds_the_flipped_kernels_when_it_creates_the_session(exported, tmp_path: Path) -> None:
    classifier, path = exported
    stored = onnx.load(str(path))
    stored_initializers = {i.name for i in stored.graph.initializer}
    rearranged = [
        node for node in stored.graph.node
        if node.op_type in ("Slice", "Transpose") and node.input[0] in stored_initializers
    ]
    # The file flips the kernels in the graph, from the weights the forward pass reads.
    assert any(node.op_type == "Slice" for node in rearranged)
    optimised = onnxruntime_optimised(path, tmp_path)
    initializers = {i.name for i in optimised.graph.initializer}
    left = [node.op_type for node in optimised.graph.node if node.input and all(i in initializers for i in node.input)]
    assert left == [], f"onnxruntime left these ops on constants unfolded: {left}"
    convolutions = [node for node in optimised.graph.node if node.op_type in ("Conv", "FusedConv")]
    # Each layer runs forward once and backward once, except those the gradient never reaches
    # (the head's last projection only feeds the logits); every one convolves with a constant kernel.
    convolution_layers = sum(isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d)) for m in classifier.modules())
    assert len(convolutions) >= 2 * convolution_layers - 2
    assert all(node.input[1] in initializers for node in convolutions)


def test_exported_graph_has_no_transposed_convolution_or_norm_kernel(exported) -> None:
    _, path = exported
    op_types = [node.op_type for node in onnx.load(str(path)).graph.node]
    # Stride-1 convolutions and average pooling only: no transposed convolution, no norm kernel
    # whose statistics the backward pass would have to recompute.
    assert "ConvTranspose" not in op_types and "InstanceNormalization" not in op_types


def test_weights_read_back_from_an_exported_graph(exported) -> None:
    classifier, path = exported
    config = ClassifierConfig(
        image_size=SIZE, in_channels=3, model_channels=32, out_channels=CLASSES, num_res_blocks=1,
        attention_resolutions=(2,), channel_mult=(1, 2), num_head_channels=32, use_scale_shift_norm=True,
        resblock_updown=True, pool="attention",
    )
    rebuilt = classifier_from_gradient_graph(path, config, lean=True)
    for (name, expected), (_, got) in zip(classifier.state_dict().items(), rebuilt.state_dict().items(), strict=True):
        assert torch.equal(got, expected), name


def test_weights_of_another_architecture_are_refused(exported) -> None:
    _, path = exported
    wider = ClassifierConfig(
        image_size=SIZE, in_channels=3, model_channels=64, out_channels=CLASSES, num_res_blocks=1,
        attention_resolutions=(2,), channel_mult=(1, 2), num_head_channels=32, use_scale_shift_norm=True,
        resblock_updown=True, pool="attention",
    )
    with pytest.raises(ValueError, match="not this architecture's graph"):
        classifier_from_gradient_graph(path, wider, lean=True)
