"""The quality report scores 8-bit samples, resumes where it stopped and repeats itself for a seed."""

import json
from pathlib import Path

import numpy as np
import pytest

from studio_tools.quality import report
from studio_tools.train import __main__ as train
from studio_tools.train.data import DEFAULT_ROOT

pytestmark = pytest.mark.skipif(
    not DEFAULT_ROOT.exists(), reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
)


SETTINGS = [("unconditional+classifier", 2.0), ("conditional", 0.0)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    for network in ("unet", "classifier", "evaluator"):
        train.main([network, "--out", str(root / network), "--steps", "1", "--batch", "4", "--threads", "1"])
    return root


def _report(runs: Path, out: Path) -> dict:
    assert report.main(["--runs", str(runs), "--samples", "4", "--samplers", "ddim50", "--batch", "4",
                        "--settings", ",".join(f"{mode}:{scale}" for mode, scale in SETTINGS),
                        "--json", str(out / "report.json"), "--save-images", str(out / "images")]) == 0
    return json.loads((out / "report.json").read_text())


def test_report_rows_resume_and_repeat(runs: Path, tmp_path: Path) -> None:
    first = _report(runs, tmp_path)
    settings = [(row["mode"], row["scale"]) for row in first["rows"]]
    assert settings == SETTINGS
    assert first["unet_steps"] == 1 and first["samples"] == 4 and first["fid_floor"] > 0
    for row in first["rows"]:
        assert 0 <= row["class_accuracy"] <= 1 and 0 <= row["precision"] <= 1 and 0 <= row["recall"] <= 1
        assert 1 <= row["inception_score"] <= 10
        pixels = np.load(tmp_path / "images" / row["images"])
        assert pixels.dtype == np.uint8 and pixels.shape == (4, 1, 32, 32)

    # Drop the last setting: a rerun redoes only that one, and draws the same images for the seed.
    dropped = first["rows"].pop()
    (tmp_path / "report.json").write_text(json.dumps(first))
    kept_images = np.load(tmp_path / "images" / dropped["images"])
    second = _report(runs, tmp_path)
    assert second["rows"][:-1] == first["rows"]
    redone = second["rows"][-1]
    assert redone["seconds"] != dropped["seconds"]
    assert {k: v for k, v in redone.items() if k != "seconds"} == {k: v for k, v in dropped.items() if k != "seconds"}
    np.testing.assert_array_equal(np.load(tmp_path / "images" / dropped["images"]), kept_images)


def test_settings_are_checked() -> None:
    assert report.parse_settings("conditional:0,unconditional+classifier:4") == [
        ("conditional", 0.0), ("unconditional+classifier", 4.0)]
    with pytest.raises(Exception, match="mode:scale"):
        report.parse_settings("guided:2")


def test_images_are_stored_as_the_studio_stores_pixels() -> None:
    import torch

    from studio_tools.train.data import from_uint8, to_uint8

    x = torch.tensor([-1.5, -1.0, -0.001, 0.0, 0.999, 1.0, 2.0]).reshape(1, 1, 1, 7)
    # ((x + 1)·127.5), clamped to [0, 255] and truncated.
    assert to_uint8(x).ravel().tolist() == [0, 0, 127, 127, 254, 255, 255]
    assert from_uint8(np.array([[[[0], [255]]]], dtype=np.uint8)).ravel().tolist() == [-1.0, 1.0]
