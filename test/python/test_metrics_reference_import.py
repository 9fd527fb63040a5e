"""Importing a reference batch in guided-diffusion's ``.npz`` format, on small synthetic batches:
the pool statistics, the k-NN features and, where the evaluator has a spatial output, the
spatial statistics sFID compares (``mu_s``, ``sigma_s``), all hashed into the manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from studio_tools.metrics.__main__ import main

SIZE = 8
CHANNELS = 3
SPATIAL = CHANNELS * 2 * 2


def synthetic_evaluator(path: Path, spatial: bool) -> Path:
    """features and logits: each channel's mean [N, 3]; spatial: 2×2 average pooling, flattened [N, 12]."""
    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["features"]),
        helper.make_node("Identity", ["features"], ["logits"]),
    ]
    outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", CHANNELS])
               for name in ("features", "logits")]
    if spatial:
        half = SIZE // 2
        nodes += [helper.make_node("AveragePool", ["x"], ["quarters"], kernel_shape=[half, half], strides=[half, half]),
                  helper.make_node("Flatten", ["quarters"], ["spatial"])]
        outputs.append(helper.make_tensor_value_info("spatial", TensorProto.FLOAT, ["N", SPATIAL]))
    image = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", CHANNELS, SIZE, SIZE])
    graph = helper.make_graph(nodes, "evaluator", [image], outputs)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    manifest = {"format": 1, "id": "synthetic", "image": {"size": SIZE, "channels": CHANNELS}, "evaluator": None,
                "files": {"unet.onnx": "0" * 64}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def reference_batch(tmp_path: Path, spatial_dimension: int = SPATIAL) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    arrays: dict[str, np.ndarray] = {
        "arr_0": rng.integers(0, 256, (10, SIZE, SIZE, CHANNELS), dtype=np.uint8),
        "mu": rng.standard_normal(CHANNELS),
        "sigma": np.cov(rng.standard_normal((50, CHANNELS)), rowvar=False),
        "mu_s": rng.standard_normal(spatial_dimension),
        "sigma_s": np.cov(rng.standard_normal((50, spatial_dimension)), rowvar=False),
    }
    path = tmp_path / "VIRTUAL_synthetic.npz"
    np.savez(path, arr_0=arrays["arr_0"], mu=arrays["mu"], sigma=arrays["sigma"], mu_s=arrays["mu_s"],
             sigma_s=arrays["sigma_s"])
    return path, arrays


def test_spatial_statistics_are_imported_beside_an_evaluator_with_a_spatial_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    npz, arrays = reference_batch(tmp_path)
    folder = model_folder(tmp_path)
    evaluator = synthetic_evaluator(tmp_path / "evaluator.onnx", spatial=True)
    assert main(["import-reference", "--npz", str(npz), "--model-dir", str(folder), "--evaluator", str(evaluator)]) == 0
    assert json.loads(capsys.readouterr().out)["spatial"] == "imported"

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["evaluator"]["outputs"] == {"features": "features", "logits": "logits", "spatial": "spatial"}
    assert manifest["evaluator"]["reference"] == {
        "mu": "reference_mu.npy", "sigma": "reference_sigma.npy", "features": "reference_features.npy",
        "spatial_mu": "reference_spatial_mu.npy", "spatial_sigma": "reference_spatial_sigma.npy"}
    for name in ["evaluator.onnx", *manifest["evaluator"]["reference"].values()]:
        assert manifest["files"][name] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    np.testing.assert_array_equal(np.load(folder / "reference_spatial_mu.npy"), arrays["mu_s"])
    np.testing.assert_array_equal(np.load(folder / "reference_spatial_sigma.npy"), arrays["sigma_s"])
    np.testing.assert_array_equal(np.load(folder / "reference_mu.npy"), arrays["mu"])
    # The k-NN features are the evaluator's own: each channel's mean in model space.
    expected = (arrays["arr_0"].astype(np.float32) / 127.5 - 1).mean(axis=(1, 2))
    np.testing.assert_allclose(np.load(folder / "reference_features.npy"), expected, rtol=1e-5, atol=1e-6)


def test_spatial_statistics_are_left_out_beside_an_evaluator_without_a_spatial_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    npz, _ = reference_batch(tmp_path)
    folder = model_folder(tmp_path)
    evaluator = synthetic_evaluator(tmp_path / "evaluator.onnx", spatial=False)
    assert main(["import-reference", "--npz", str(npz), "--model-dir", str(folder), "--evaluator", str(evaluator)]) == 0
    assert "no spatial output" in json.loads(capsys.readouterr().out)["spatial"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "spatial" not in manifest["evaluator"]["outputs"]
    assert not (folder / "reference_spatial_mu.npy").exists()


def test_spatial_statistics_of_another_size_are_refused_and_the_manifest_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    npz, _ = reference_batch(tmp_path, spatial_dimension=2023)
    folder = model_folder(tmp_path)
    evaluator = synthetic_evaluator(tmp_path / "evaluator.onnx", spatial=True)
    assert main(["import-reference", "--npz", str(npz), "--model-dir", str(folder), "--evaluator", str(evaluator)]) == 2
    error = capsys.readouterr().err
    assert "spatial statistics are 2023-dimensional but the evaluator's spatial output gives 12" in error
    assert json.loads((folder / "manifest.json").read_text())["evaluator"] is None


def test_a_batch_with_only_one_of_mu_s_and_sigma_s_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    npz, arrays = reference_batch(tmp_path)
    np.savez(npz, arr_0=arrays["arr_0"], mu=arrays["mu"], sigma=arrays["sigma"], mu_s=arrays["mu_s"])
    evaluator = synthetic_evaluator(tmp_path / "evaluator.onnx", spatial=True)
    assert main(["import-reference", "--npz", str(npz), "--model-dir", str(model_folder(tmp_path)),
                 "--evaluator", str(evaluator)]) == 2
    assert "only one of mu_s and sigma_s" in capsys.readouterr().err
