"""Inception-v3 evaluator export and reference-batch import, on a small stand-in with random weights."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from studio_tools.metrics.__main__ import main
from studio_tools.metrics.export_inception import EvaluatorGraph
from studio_tools.metrics.inception import InceptionV3, load_inception

WIDTH_DIVISOR = 16
INPUT_SIZE = 75  # the smallest input Inception-v3's strides allow
IMAGE_SIZE = 16


def test_full_network_has_torchvision_parameter_names_and_count() -> None:
    network = InceptionV3(variant="torchvision", aux_logits=True)
    state = network.state_dict()
    # torchvision's Inception_V3_Weights.IMAGENET1K_V1 reports 27,161,264 parameters.
    assert sum(p.numel() for p in network.parameters()) == 27_161_264
    assert state["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
    assert state["Mixed_6e.branch7x7dbl_5.conv.weight"].shape == (192, 192, 1, 7)
    assert state["Mixed_7c.branch3x3dbl_3b.bn.running_var"].shape == (384,)
    assert state["AuxLogits.fc.weight"].shape == (1000, 768)
    assert state["fc.weight"].shape == (1000, 2048)
    assert InceptionV3(variant="fid", aux_logits=False).state_dict()["fc.weight"].shape == (1008, 2048)


def _random_weights(tmp_path: Path, variant: str = "fid") -> tuple[Path, InceptionV3]:
    torch.manual_seed(0)
    network = InceptionV3(variant=variant, aux_logits=False, width_divisor=WIDTH_DIVISOR)  # type: ignore[arg-type]
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            assert module.running_mean is not None and module.running_var is not None
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    path = tmp_path / "inception.pth"
    torch.save(network.state_dict(), path)
    return path, network.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, InceptionV3]:
    tmp_path = tmp_path_factory.mktemp("inception")
    weights, network = _random_weights(tmp_path)
    out = tmp_path / "evaluator.onnx"
    code = main(["export-inception", "--weights", str(weights), "--out", str(out), "--image-size", str(IMAGE_SIZE),
                 "--variant", "fid", "--input-size", str(INPUT_SIZE), "--width-divisor", str(WIDTH_DIVISOR)])
    assert code == 0
    return out, network


def test_exported_graph_matches_pytorch(exported: tuple[Path, InceptionV3]) -> None:
    path, network = exported
    x = np.random.default_rng(1).uniform(-1, 1, (3, 3, IMAGE_SIZE, IMAGE_SIZE)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x"]
    features, logits = session.run(["features", "logits"], {"x": x})
    with torch.no_grad():
        expected_features, expected_logits = EvaluatorGraph(network, 3, INPUT_SIZE)(torch.from_numpy(x))
    assert features.shape == (3, 2048 // WIDTH_DIVISOR) and logits.shape == (3, 1008)
    np.testing.assert_allclose(features, expected_features.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(logits, expected_logits.numpy(), rtol=1e-4, atol=1e-5)


def test_wrong_variant_is_named(tmp_path: Path) -> None:
    weights, _ = _random_weights(tmp_path, variant="torchvision")
    with pytest.raises(ValueError, match="use --variant torchvision"):
        load_inception(str(weights), "fid", WIDTH_DIVISOR)


def _model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    manifest = {"format": 1, "id": "stand-in", "image": {"size": IMAGE_SIZE, "channels": 3}, "evaluator": None,
                "files": {"unet.onnx": "0" * 64}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_reference_batch_import_writes_statistics_features_and_hashes(
    tmp_path: Path, exported: tuple[Path, InceptionV3]
) -> None:
    evaluator, network = exported
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (12, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    dimension = 2048 // WIDTH_DIVISOR
    mu = rng.standard_normal(dimension)
    sigma = np.cov(rng.standard_normal((400, dimension)), rowvar=False)
    npz = tmp_path / "reference.npz"
    np.savez(npz, arr_0=images, mu=mu, sigma=sigma)
    folder = _model_folder(tmp_path)

    assert main(["import-reference", "--npz", str(npz), "--model-dir", str(folder), "--evaluator", str(evaluator),
                 "--batch-size", "5"]) == 0

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["evaluator"] == {
        "file": "evaluator.onnx", "input": "x", "outputs": {"features": "features", "logits": "logits"},
        "reference": {"mu": "reference_mu.npy", "sigma": "reference_sigma.npy", "features": "reference_features.npy"}}
    for name, digest in manifest["files"].items():
        if name != "unet.onnx":
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    np.testing.assert_array_equal(np.load(folder / "reference_mu.npy"), mu)
    np.testing.assert_array_equal(np.load(folder / "reference_sigma.npy"), sigma)
    features = np.load(folder / "reference_features.npy")
    assert features.dtype == np.float32 and features.shape == (12, dimension)
    x = torch.from_numpy(images.astype(np.float32) / 127.5 - 1).permute(0, 3, 1, 2)
    with torch.no_grad():
        expected, _ = EvaluatorGraph(network, 3, INPUT_SIZE)(x)
    np.testing.assert_allclose(features, expected.numpy(), rtol=1e-4, atol=1e-5)


def test_reference_batch_with_other_statistics_is_refused(tmp_path: Path, exported: tuple[Path, InceptionV3],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    evaluator, _ = exported
    npz = tmp_path / "reference.npz"
    images = np.zeros((4, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    np.savez(npz, arr_0=images, mu=np.zeros(2048), sigma=np.eye(2048))
    folder = _model_folder(tmp_path)
    assert main(["import-reference", "--npz", str(npz), "--model-dir", str(folder), "--evaluator", str(evaluator)]) == 2
    assert "2048-dimensional but the evaluator gives 128 features" in capsys.readouterr().err
    assert json.loads((folder / "manifest.json").read_text())["evaluator"] is None


def test_batch_without_images_is_refused(tmp_path: Path, exported: tuple[Path, InceptionV3],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    evaluator, _ = exported
    npz = tmp_path / "stats-only.npz"
    np.savez(npz, mu=np.zeros(3), sigma=np.eye(3))
    assert main(["import-reference", "--npz", str(npz), "--model-dir", str(_model_folder(tmp_path)),
                 "--evaluator", str(evaluator)]) == 2
    assert "has no arr_0" in capsys.readouterr().err
