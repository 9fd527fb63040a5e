"""The ImageNet 64×64 guided-step benchmark at reduced width: it builds seeded random networks of the
release's architecture, exports them once into a model folder that matches PyTorch, reuses that
folder while its hashes hold and prints one JSON report. The full size is only run by `npm run bench`."""

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from studio_tools.adm import ClassifierConfig, UNetConfig
from studio_tools.bench.imagenet64 import BenchCache, architecture, main
from studio_tools.convert import PRESETS
from studio_tools.export import verify_model_folder
from studio_tools.export.random_weights import randomize

REDUCED = ["--width", "32", "--classifier-width", "64", "--depth", "1"]
UNET_FLAGS = {**PRESETS["64"].diffusion_flags, "num_channels": 32, "num_head_channels": 32, "num_res_blocks": 1}
CLASSIFIER_FLAGS = {**PRESETS["64"].classifier_flags, "classifier_width": 64, "classifier_depth": 1}


def run(cache: Path) -> dict:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["--cache", str(cache), "--batch", "1", "2", "--threads", "1", *REDUCED]) == 0
    return json.loads(stdout.getvalue().strip().splitlines()[-1])


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict]:
    cache = tmp_path_factory.mktemp("bench-imagenet64")
    return cache, run(cache)


def test_full_size_flags_are_the_release_flags() -> None:
    unet_flags, classifier_flags = architecture(None, None, None)
    assert unet_flags == PRESETS["64"].diffusion_flags
    assert classifier_flags == PRESETS["64"].classifier_flags
    with torch.device("meta"):
        unet = UNetConfig.from_flags(unet_flags).build()
    assert sum(p.numel() for p in unet.parameters()) == 295_904_454


def test_report_times_each_batch_of_the_reduced_networks(built) -> None:
    cache, report = built
    assert report["reused"] is False
    assert Path(report["model_folder"]) == (cache / "model").resolve()
    assert [step["batch"] for step in report["steps"]] == [1, 2]
    for step in report["steps"]:
        assert step["unet_s"] > 0 and step["classifier_s"] > 0
        assert step["step_s"] == pytest.approx(step["unet_s"] + step["classifier_s"])
    unet = UNetConfig.from_flags(UNET_FLAGS).build()
    classifier = ClassifierConfig.from_flags(CLASSIFIER_FLAGS).build()
    assert report["unet_parameters"] == sum(p.numel() for p in unet.parameters())
    assert report["classifier_parameters"] == sum(p.numel() for p in classifier.parameters())


def test_model_folder_holds_the_seeded_weights_pytorch_timed(built) -> None:
    cache, report = built
    manifest = verify_model_folder(Path(report["model_folder"]))
    assert manifest["unet"]["class_cond"] is True and manifest["unet"]["fp16_file"] is None
    assert manifest["classes"]["count"] == 1000
    assert manifest["defaults"]["mode"] == "conditional+classifier"

    unet = randomize(UNetConfig.from_flags(UNET_FLAGS).build(), seed=0)
    saved = torch.load(cache / "torch" / "unet.pt", weights_only=True)
    assert all(torch.equal(saved[name], value) for name, value in unet.state_dict().items())

    rng = np.random.default_rng(0)
    values = {
        "x": rng.standard_normal((2, 3, 64, 64), dtype=np.float32),
        "t": np.array([0, 999], dtype=np.int64),
        "y": np.array([1, 207], dtype=np.int64),
    }
    with torch.no_grad():
        expected = unet(*(torch.from_numpy(v) for v in values.values())).numpy()
    (got,) = ort.InferenceSession(str(Path(report["model_folder"]) / manifest["unet"]["file"])).run(None, values)
    assert np.abs(got - expected).max() <= 1e-4


def test_second_run_reuses_the_folder_while_hashes_match(built) -> None:
    cache, _ = built
    exported = cache / "model" / "unet.onnx"
    written = exported.stat().st_mtime_ns
    report = run(cache)
    assert report["reused"] is True
    assert exported.stat().st_mtime_ns == written


def test_changed_file_or_recipe_invalidates_the_cache(built) -> None:
    cache, _ = built
    recipe = json.loads((cache / "recipe.json").read_text())["recipe"]
    assert BenchCache(cache, recipe).is_valid()
    assert not BenchCache(cache, {**recipe, "unet_seed": 5}).is_valid()

    weights = cache / "torch" / "classifier.pt"
    original = weights.read_bytes()
    weights.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    try:
        assert not BenchCache(cache, recipe).is_valid()
    finally:
        weights.write_bytes(original)
    assert BenchCache(cache, recipe).is_valid()
