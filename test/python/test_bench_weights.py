"""The benchmark's PyTorch side rebuilt from the built-in graphs: the rebuilt networks compute what
onnxruntime computes from models/fashion-mnist, every tensor the exporter kept under its
parameter name lands on that parameter, the cache is reused only while the graphs are the same,
and graphs that do not map onto the architecture are refused with a sentence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import helper, numpy_helper

from studio_tools.bench.weights_from_onnx import (
    MAX_RELATIVE_ERROR,
    RebuiltWeights,
    WeightRebuildError,
    cached_or_rebuilt,
    load_rebuilt,
)

BUILTIN = Path(__file__).resolve().parents[2] / "models" / "fashion-mnist"


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> RebuiltWeights:
    return cached_or_rebuilt(BUILTIN, tmp_path_factory.mktemp("bench-weights"))


def onnxruntime_outputs(graph: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds), strict=True))


def relative(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def test_rebuilt_networks_compute_what_the_shipped_graphs_compute(rebuilt) -> None:
    unet, classifier = load_rebuilt(rebuilt)
    # Another input than the rebuild's own check: other batch size, seed, timesteps and labels.
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(3, 1, 32, 32, generator=generator)
    t = torch.tensor([10, 480, 870])
    y = torch.tensor([9, 1, 10])  # 10 is the UNet's null class
    feeds = {"x": x.numpy(), "t": t.numpy(), "y": y.numpy()}

    with torch.no_grad():
        eps = unet(x, t, y).numpy()
    assert relative(eps, onnxruntime_outputs(BUILTIN / "unet.onnx", feeds)["out"]) < MAX_RELATIVE_ERROR

    classifier_y = torch.tensor([9, 1, 4])
    x_grad = x.clone().requires_grad_(True)
    logits = classifier(x_grad, t)
    torch.log_softmax(logits, dim=-1).gather(1, classifier_y[:, None]).sum().backward()
    expected = onnxruntime_outputs(BUILTIN / "classifier_grad.onnx", {**feeds, "y": classifier_y.numpy()})
    assert relative(logits.detach().numpy(), expected["logits"]) < MAX_RELATIVE_ERROR
    assert x_grad.grad is not None
    assert relative(x_grad.grad.numpy(), expected["grad"]) < MAX_RELATIVE_ERROR
    assert rebuilt.unet_relative_error < MAX_RELATIVE_ERROR and rebuilt.classifier_relative_error < MAX_RELATIVE_ERROR


def test_tensors_the_exporter_named_land_on_their_parameters(rebuilt) -> None:
    named = {init.name: numpy_helper.to_array(init) for init in onnx.load(str(BUILTIN / "unet.onnx")).graph.initializer}
    state = torch.load(rebuilt.unet, weights_only=True)
    renamed = [key for key in state if f"unet.{key}" not in named]
    # Only GroupNorm's affine tensors lose their names in the export; everything else keeps it.
    group_norm_keys = ("layers.0.weight", "layers.0.bias", "norm.weight", "norm.bias", "out.0.weight", "out.0.bias")
    assert renamed and all(key.endswith(group_norm_keys) for key in renamed)
    for key, value in state.items():
        if key not in renamed:
            np.testing.assert_array_equal(value.numpy(), named[f"unet.{key}"], err_msg=key)
    # The renamed ones are the trained values, not GroupNorm's initial 1 and 0.
    assert all(not torch.equal(state[key], torch.ones_like(state[key])) for key in renamed if key.endswith("weight"))
    assert all(not torch.equal(state[key], torch.zeros_like(state[key])) for key in renamed if key.endswith("bias"))


def test_the_cache_is_reused_while_the_graphs_are_the_same(rebuilt) -> None:
    again = cached_or_rebuilt(BUILTIN, rebuilt.folder)
    assert again.reused is True and again.unet_relative_error == rebuilt.unet_relative_error


def test_a_record_of_other_graphs_makes_it_rebuild(tmp_path) -> None:
    cache = tmp_path / "cache"
    first = cached_or_rebuilt(BUILTIN, cache)
    record = json.loads((cache / "rebuilt-from.json").read_text())
    record["graphs"]["unet.onnx"] = "0" * 64
    (cache / "rebuilt-from.json").write_text(json.dumps(record))
    second = cached_or_rebuilt(BUILTIN, cache)
    assert first.reused is False and second.reused is False
    assert json.loads((cache / "rebuilt-from.json").read_text())["graphs"]["unet.onnx"] != "0" * 64


def model_folder_with(tmp_path: Path, edit) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("manifest.json", "unet.onnx", "classifier_grad.onnx"):
        shutil.copy(BUILTIN / name, folder / name)
    edit(folder)
    return folder


def test_a_graph_computing_something_else_is_refused(tmp_path) -> None:
    def scale_the_output(folder: Path) -> None:
        model = onnx.load(str(folder / "unet.onnx"))
        producer = next(node for node in model.graph.node if "out" in node.output)
        producer.output[list(producer.output).index("out")] = "out_unscaled"
        model.graph.initializer.append(numpy_helper.from_array(np.array(1.5, dtype=np.float32), "one_and_a_half"))
        model.graph.node.append(helper.make_node("Mul", ["out_unscaled", "one_and_a_half"], ["out"]))
        onnx.save(model, str(folder / "unet.onnx"))

    folder = model_folder_with(tmp_path, scale_the_output)
    refusal = r"The PyTorch UNet rebuilt from .* differs from onnxruntime by .* Export the PyTorch weights"
    with pytest.raises(WeightRebuildError, match=refusal):
        cached_or_rebuilt(folder, tmp_path / "cache")
    assert not (tmp_path / "cache" / "rebuilt-from.json").exists()


def test_a_graph_of_another_architecture_is_refused(tmp_path) -> None:
    def unet_as_classifier(folder: Path) -> None:
        shutil.copy(folder / "unet.onnx", folder / "classifier_grad.onnx")

    folder = model_folder_with(tmp_path, unet_as_classifier)
    refusal = r"The classifier gradient graph has .* layers where the architecture|classifier gradient graph's .* holds"
    with pytest.raises(WeightRebuildError, match=refusal):
        cached_or_rebuilt(folder, tmp_path / "cache")


def test_a_model_without_a_known_architecture_is_refused(tmp_path) -> None:
    def rename(folder: Path) -> None:
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["id"] = "someone-elses-model"
        (folder / "manifest.json").write_text(json.dumps(manifest))

    folder = model_folder_with(tmp_path, rename)
    refusal = r"No architecture is known for model 'someone-elses-model'.*--config, --unet, --classifier"
    with pytest.raises(WeightRebuildError, match=refusal):
        cached_or_rebuilt(folder, tmp_path / "cache")
