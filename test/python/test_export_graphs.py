"""Exported graphs run in onnxruntime, use inference operators only, and agree with PyTorch."""

import hashlib
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from studio_tools.adm import ClassifierConfig, UNetConfig
from studio_tools.diffusion.torch_model import DiffusionSettings
from studio_tools.export import (
    SamplingDefaults,
    build_manifest,
    export_classifier_grad,
    export_unet,
    export_unet_fp16,
    nonstandard_operators,
    onnx_graphs,
    verify_model_folder,
    write_model_folder,
)
from studio_tools.export.random_weights import randomize

CLASSES = 10
SIZE = 16


def small_unet(class_cond: bool) -> torch.nn.Module:
    config = UNetConfig(
        image_size=SIZE, in_channels=3, model_channels=32, out_channels=6, num_res_blocks=1,
        attention_resolutions=(2,), channel_mult=(1, 2), num_classes=CLASSES if class_cond else None,
        num_head_channels=32, resblock_updown=True, use_new_attention_order=class_cond,
    )
    return randomize(config.build(), seed=1)


def small_classifier() -> torch.nn.Module:
    config = ClassifierConfig(
        image_size=SIZE, in_channels=3, model_channels=32, out_channels=CLASSES, num_res_blocks=1,
        attention_resolutions=(2, 4), channel_mult=(1, 2, 2), num_head_channels=32,
    )
    return randomize(config.build(), seed=2)


def feeds(batch: int, class_cond: bool = True) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(batch)
    values: dict[str, np.ndarray] = {
        "x": rng.standard_normal((batch, 3, SIZE, SIZE), dtype=np.float32),
        "t": rng.integers(0, 1000, batch).astype(np.int64),
        "y": rng.integers(0, CLASSES, batch).astype(np.int64),
    }
    if not class_cond:
        del values["y"]
    return values


def autograd_reference(classifier: torch.nn.Module, values: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """∇ₓ Σᵢ log softmax(f(xᵢ, tᵢ))[yᵢ] straight from PyTorch autograd."""
    x = torch.from_numpy(values["x"]).requires_grad_(True)
    logits = classifier(x, torch.from_numpy(values["t"]))
    chosen = torch.log_softmax(logits, dim=-1)[torch.arange(len(x)), torch.from_numpy(values["y"])]
    (grad,) = torch.autograd.grad(chosen.sum(), x)
    return grad.numpy(), logits.detach().numpy()


@pytest.fixture(scope="module")
def classifier_graph(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path]:
    classifier = small_classifier()
    path = tmp_path_factory.mktemp("classifier") / "classifier_grad.onnx"
    export_classifier_grad(classifier, path, image_size=SIZE, channels=3, num_classes=CLASSES)
    return classifier, path


@pytest.mark.parametrize("batch", [1, 3])
def test_classifier_gradient_matches_autograd_at_any_batch_size(classifier_graph, batch: int) -> None:
    classifier, path = classifier_graph
    values = feeds(batch)
    expected_grad, expected_logits = autograd_reference(classifier, values)
    session = ort.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == ["x", "t", "y"]
    assert [o.name for o in session.get_outputs()] == ["grad", "logits"]
    grad, logits = session.run(None, values)
    assert grad.shape == values["x"].shape and logits.shape == (batch, CLASSES)
    assert np.abs(grad - expected_grad).max() <= 1e-4 * np.linalg.norm(expected_grad)
    assert np.abs(logits - expected_logits).max() <= 1e-4


def test_classifier_gradient_graph_has_no_training_operators(classifier_graph) -> None:
    _, path = classifier_graph
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert nonstandard_operators(model) == []
    op_types = {node.op_type for node in model.graph.node}
    # Every convolution has stride 1, so each backward pass is a convolution with the flipped kernel.
    assert "ConvTranspose" not in op_types
    assert not any("Grad" in op for op in op_types)


def test_operator_check_names_training_and_vendor_operators() -> None:
    graph = onnx.helper.make_graph(
        [
            onnx.helper.make_node("Relu", ["x"], ["a"]),
            onnx.helper.make_node("Gradient", ["a"], ["b"], domain="ai.onnx.preview.training"),
            onnx.helper.make_node("FusedConv", ["b"], ["y"], domain="com.microsoft"),
        ],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    model = onnx.helper.make_model(graph)
    assert nonstandard_operators(model) == ["ai.onnx.preview.training::Gradient", "com.microsoft::FusedConv"]


def test_class_conditional_unet_and_its_fp16_variant(tmp_path: Path) -> None:
    unet = small_unet(class_cond=True)
    exported = export_unet(unet, tmp_path / "unet.onnx")
    half = export_unet_fp16(unet, tmp_path / "unet_fp16.onnx")
    assert exported.input_names == ("x", "t", "y") and exported.output_names == ("out",)
    for batch in (1, 3):
        values = feeds(batch)
        with torch.no_grad():
            expected = unet(*(torch.from_numpy(v) for v in values.values())).numpy()
        (out,) = ort.InferenceSession(str(exported.path)).run(None, values)
        assert out.shape == (batch, 6, SIZE, SIZE)
        assert np.abs(out - expected).max() <= 1e-4
        (out_half,) = ort.InferenceSession(str(half.path)).run(None, values)
        assert out_half.dtype == np.float32
        # Half precision keeps about three significant digits.
        assert np.abs(out_half - expected).max() <= 1e-2 * np.abs(expected).max()
    half_model = onnx.load(half.path)
    assert nonstandard_operators(half_model) == []
    # As the reference's convert_to_fp16: the trunk's convolutions in float16, the output head's in float32.
    conv_weights = {t.name: t.data_type for t in half_model.graph.initializer if len(t.dims) == 4}
    head = {name for name in conv_weights if name.startswith("unet.out.")}
    assert len(head) == 1, sorted(conv_weights)
    assert {conv_weights[name] for name in head} == {onnx.TensorProto.FLOAT}
    assert {kind for name, kind in conv_weights.items() if name not in head} == {onnx.TensorProto.FLOAT16}


def test_unconditional_unet_with_external_weights_in_a_model_folder(
    classifier_graph, tmp_path: Path, monkeypatch
) -> None:
    # Any graph over the threshold keeps its weights in one data file beside it.
    monkeypatch.setattr(onnx_graphs, "EXTERNAL_DATA_THRESHOLD_BYTES", 0)
    unet = small_unet(class_cond=False)
    exported = export_unet(unet, tmp_path / "unet.onnx")
    assert exported.input_names == ("x", "t")
    assert [p.name for p in exported.files] == ["unet.onnx", "unet.onnx.data"]
    assert (tmp_path / "unet.onnx").stat().st_size < (tmp_path / "unet.onnx.data").stat().st_size

    values = feeds(2, class_cond=False)
    with torch.no_grad():
        expected = unet(*(torch.from_numpy(v) for v in values.values())).numpy()
    (out,) = ort.InferenceSession(str(exported.path)).run(None, values)
    assert np.abs(out - expected).max() <= 1e-4

    shutil.copy(classifier_graph[1], tmp_path / "classifier_grad.onnx")
    written = write_model_folder(tmp_path, minimal_manifest(class_cond=False))
    assert set(written["files"]) == {"unet.onnx", "unet.onnx.data", "classifier_grad.onnx"}
    assert written["files"]["unet.onnx.data"] == hashlib.sha256((tmp_path / "unet.onnx.data").read_bytes()).hexdigest()
    assert verify_model_folder(tmp_path)["files"] == written["files"]


def minimal_manifest(class_cond: bool) -> dict[str, Any]:
    return build_manifest(
        model_id="tiny",
        name="Tiny",
        source="random weights",
        license="MIT",
        image_size=SIZE,
        channels=3,
        class_names=[f"c{i}" for i in range(CLASSES)],
        diffusion=DiffusionSettings(steps=1000, noise_schedule="linear", learn_sigma=True),
        class_cond=class_cond,
        fp16=False,
        classifier=True,
        evaluator=False,
        defaults=SamplingDefaults(
            mode="conditional+classifier" if class_cond else "unconditional+classifier",
            sampler="ddim", steps="ddim25", scale=1,
        ),
    )
