"""The quality report runs the shipped ONNX graphs (or the same weights in PyTorch, checked
against them) with the reference sampler, scores 8-bit samples, resumes where it stopped,
repeats itself for a seed and scores images drawn elsewhere."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from studio_tools.diffusion.sampling import GuidanceMode, SamplerName
from studio_tools.quality import report
from studio_tools.quality.onnx_model_set import OnnxModelSet, ReportMode
from studio_tools.quality.torch_sampling import TorchSampling
from studio_tools.train.data import DEFAULT_ROOT, from_uint8, to_uint8

REPO = Path(__file__).resolve().parents[2]
BUILTIN = REPO / "models" / "fashion-mnist"
FIXTURES = REPO / "test" / "fixtures"
SETTINGS = [("unconditional+classifier", 2.0), ("conditional", 0.0)]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize(
    "mode", ["conditional", "unconditional+classifier", "conditional+classifier", "classifier-free"]
)
def test_the_pytorch_weights_draw_what_the_onnx_graphs_draw(mode: ReportMode) -> None:
    model = OnnxModelSet(FIXTURES / "tiny-model", threads=1)
    torch_sampling = TorchSampling(model, FIXTURES / "tiny-model-torch", "cpu")
    assert torch_sampling.description.startswith("torch ") and model.description.startswith("onnxruntime ")
    labels = torch.tensor([0, 1, 2, 1])
    expected = report.generate(torch_sampling, "ddim", "ddim10", mode, 3.0, labels, batch=4, seed=5)
    got = report.generate(model, "ddim", "ddim10", mode, 3.0, labels, batch=4, seed=5)
    assert got.shape == (4, 1, 8, 8)
    assert (got - expected).abs().max() < 1e-4


@pytest.mark.parametrize("weight", [0.5, 2.0, 4.0])
def test_classifier_free_rows_draw_the_reference_samplers_doubled_batch_guidance(weight: float) -> None:
    """The report's classifier-free denoiser (ONNX, one doubled call) against the PyTorch
    reference's classifier_free_denoise on the same weights, through the whole DDIM run."""
    model = OnnxModelSet(FIXTURES / "tiny-model", threads=1)
    torch_sampling = TorchSampling(model, FIXTURES / "tiny-model-torch", "cpu")
    labels = torch.tensor([2, 0, 1])
    expected = report.generate(torch_sampling, "ddim", "ddim10", "classifier-free", weight, labels, batch=3, seed=8)
    got = report.generate(model, "ddim", "ddim10", "classifier-free", weight, labels, batch=3, seed=8)
    assert (got - expected).abs().max() < 1e-4
    # w changes the samples: w = 0.5 and w = 4 sit on either side of the conditional model.
    conditional = report.generate(model, "ddim", "ddim10", "conditional", 0.0, labels, batch=3, seed=8)
    assert (got - conditional).abs().max() > 1e-2


def test_classifier_free_weight_one_is_the_conditional_model_and_zero_the_unconditional_one() -> None:
    model = OnnxModelSet(FIXTURES / "tiny-model", threads=1)
    labels = torch.tensor([0, 1, 2, 2])
    args: tuple[SamplerName, str] = ("ddpm", "10")
    at_one = report.generate(model, *args, "classifier-free", 1.0, labels, batch=4, seed=3)
    conditional = report.generate(model, *args, "conditional", 0.0, labels, batch=4, seed=3)
    assert (at_one - conditional).abs().max() < 1e-5
    # At w = 0 ε is the null class's, but the learned variance v stays the conditional half's, so
    # only a sampler that does not read v (DDIM, η = 0) draws exactly the unconditional model.
    deterministic: tuple[SamplerName, str] = ("ddim", "ddim10")
    at_zero = report.generate(model, *deterministic, "classifier-free", 0.0, labels, batch=4, seed=3)
    # unconditional+classifier at scale 0: the UNet sees the null class and no classifier runs.
    unconditional = report.generate(model, *deterministic, "unconditional+classifier", 0.0, labels, batch=4, seed=3)
    assert (at_zero - unconditional).abs().max() < 1e-5


def test_a_model_without_a_null_class_refuses_classifier_free_rows(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "tiny-model"
    shutil.copytree(FIXTURES / "tiny-model", folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["classes"]["null_class"] = None
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="has no null class, so classifier-free guidance cannot run on it"):
        OnnxModelSet(folder, threads=1).guided_functions("classifier-free", torch.tensor([0]), 2.0)


def test_settings_name_classifier_free_rows_and_refuse_unknown_modes() -> None:
    parsed = report.parse_settings("classifier-free:0.5,conditional:0")
    assert parsed == [("classifier-free", 0.5), ("conditional", 0.0)]
    with pytest.raises(Exception, match='"cfg:2" is not "mode:scale" with a mode of .*classifier-free'):
        report.parse_settings("cfg:2")


@pytest.mark.skipif(
    not DEFAULT_ROOT.exists(), reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
)
def test_the_report_measures_classifier_free_rows_beside_classifier_guidance(tmp_path: Path, capsys) -> None:
    settings = "conditional+classifier:2,classifier-free:1,classifier-free:4"
    assert report.main(["--model", str(BUILTIN), "--samples", "4", "--samplers", "ddim50", "--batch", "4",
                        "--settings", settings, "--threads", "1", "--json", str(tmp_path / "report.json")]) == 0
    rows = json.loads((tmp_path / "report.json").read_text())["rows"]
    assert [(row["mode"], row["scale"]) for row in rows] == [("conditional+classifier", 2.0), ("classifier-free", 1.0),
                                                            ("classifier-free", 4.0)]
    for row in rows:
        assert 0 <= row["class_accuracy"] <= 1 and row["fid"] > 0
        assert 0 <= row["precision"] <= 1 and 0 <= row["recall"] <= 1
    table = capsys.readouterr().out
    assert "| ddim50 | conditional+classifier | 2 |" in table
    assert "| ddim50 | classifier-free | 1 |" in table and "| ddim50 | classifier-free | 4 |" in table
    assert table.index("conditional+classifier") < table.index("classifier-free |")


def test_pytorch_weights_that_are_not_the_exported_model_are_refused(tmp_path: Path) -> None:
    import shutil

    weights = tmp_path / "torch"
    shutil.copytree(FIXTURES / "tiny-model-torch", weights)
    state = torch.load(weights / "classifier.pt", weights_only=True)
    name = next(key for key, value in state.items() if value.dtype.is_floating_point and value.dim() == 4)
    state[name] = state[name] * 1.5
    torch.save(state, weights / "classifier.pt")
    model = OnnxModelSet(FIXTURES / "tiny-model", threads=1)
    with pytest.raises(ValueError, match="PyTorch classifier weights in .* do not compute what the ONNX graphs"):
        TorchSampling(model, weights, "cpu")
    (weights / "unet.pt").unlink()
    with pytest.raises(ValueError, match="lacks unet.pt: the export writes the PyTorch weights"):
        TorchSampling(model, weights, "cpu")


def test_a_stopped_setting_goes_on_from_its_last_batch_and_draws_the_same_samples(tmp_path: Path) -> None:
    model = OnnxModelSet(FIXTURES / "tiny-model", threads=1)
    args: tuple[SamplerName, str, GuidanceMode, float, torch.Tensor, int, int] = (
        "ddpm", "20", "conditional+classifier", 2.0, torch.tensor([0, 1, 2, 1, 0, 2, 1]), 3, 9
    )
    straight = report.generate(model, *args)
    in_progress = report.SettingInProgress(tmp_path / "report.in-progress.pt", {"setting": "a"})

    def stop_after_first_batch(partial: report.Partial) -> None:
        in_progress.save(partial, 12.5)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        report.generate(model, *args, on_batch=stop_after_first_batch)
    assert report.SettingInProgress(in_progress.path, {"setting": "b"}).load() is None
    saved = in_progress.load()
    assert saved is not None and saved[1] == 12.5 and len(saved[0].samples) == 3
    batches: list[report.Partial] = []
    resumed = report.generate(model, *args, resume=saved[0], on_batch=batches.append)
    assert [len(partial.samples) for partial in batches] == [6, 7]
    torch.testing.assert_close(resumed, straight, rtol=0, atol=0)


def test_a_model_folder_that_does_not_match_its_manifest_is_refused(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "tiny-model"
    shutil.copytree(FIXTURES / "tiny-model", folder)
    data = bytearray((folder / "unet.onnx").read_bytes())
    data[-1] ^= 1
    (folder / "unet.onnx").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="unet.onnx does not match the sha256"):
        OnnxModelSet(folder)


def _report(out: Path, images: Path | None = None) -> dict:
    assert report.main(["--model", str(BUILTIN), "--samples", "4", "--samplers", "ddim50", "--batch", "4",
                        "--settings", ",".join(f"{mode}:{scale}" for mode, scale in SETTINGS), "--threads", "1",
                        "--json", str(out / "report.json"), "--save-images", str(images or out / "images")]) == 0
    return json.loads((out / "report.json").read_text())


@pytest.mark.skipif(
    not DEFAULT_ROOT.exists(), reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
)
def test_report_rows_resume_and_repeat(tmp_path: Path) -> None:
    first = _report(tmp_path)
    assert [(row["mode"], row["scale"]) for row in first["rows"]] == SETTINGS
    manifest = json.loads((BUILTIN / "manifest.json").read_text())
    assert first["unet_sha256"] == manifest["files"]["unet.onnx"] and first["samples"] == 4
    assert 0 < first["fid_floor"] < 50
    # Four training images sit much further from the test set than a thousand do.
    assert first["fid_floor_at_samples"] > 2 * first["fid_floor"]
    for row in first["rows"]:
        assert 0 <= row["class_accuracy"] <= 1 and 0 <= row["precision"] <= 1 and 0 <= row["recall"] <= 1
        assert 1 <= row["inception_score"] <= 10
        pixels = np.load(tmp_path / "images" / row["images"])
        assert pixels.dtype == np.uint8 and pixels.shape == (4, 1, 32, 32)

    # Drop the last setting and its images: a rerun redoes only that one, and draws the same images for the seed.
    dropped = first["rows"].pop()
    (tmp_path / "report.json").write_text(json.dumps(first))
    kept_images = np.load(tmp_path / "images" / dropped["images"])
    (tmp_path / "images" / dropped["images"]).with_suffix(".json").unlink()
    second = _report(tmp_path)
    assert second["rows"][:-1] == first["rows"]
    redone = second["rows"][-1]
    assert redone["seconds"] != dropped["seconds"]
    assert {k: v for k, v in redone.items() if k != "seconds"} == {k: v for k, v in dropped.items() if k != "seconds"}
    np.testing.assert_array_equal(np.load(tmp_path / "images" / dropped["images"]), kept_images)
    assert not (tmp_path / "report.in-progress.pt").exists()


@pytest.mark.skipif(
    not DEFAULT_ROOT.exists(), reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
)
def test_a_report_stopped_inside_a_setting_goes_on_from_its_last_batch(tmp_path: Path, monkeypatch) -> None:
    def run(out: Path) -> dict:
        assert report.main(["--model", str(BUILTIN), "--samples", "4", "--samplers", "ddim50", "--batch", "2",
                            "--settings", "conditional:0", "--threads", "1", "--json", str(out / "report.json")]) == 0
        return json.loads((out / "report.json").read_text())["rows"][0]

    straight = run(tmp_path / "straight")
    whole_sample = report.sample
    batches: list[int] = []

    def killed_in_the_second_batch(*args, **kwargs):
        batches.append(1)
        if len(batches) == 2:
            raise KeyboardInterrupt
        return whole_sample(*args, **kwargs)

    monkeypatch.setattr(report, "sample", killed_in_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "stopped")
    assert (tmp_path / "stopped" / "report.in-progress.pt").exists()
    batches.clear()
    def counted(*args, **kwargs):
        batches.append(1)
        return whole_sample(*args, **kwargs)

    monkeypatch.setattr(report, "sample", counted)
    went_on = run(tmp_path / "stopped")
    assert len(batches) == 1  # only the batch that was cut off is drawn again
    assert {k: v for k, v in went_on.items() if k != "seconds"} == {k: v for k, v in straight.items() if k != "seconds"}
    assert not (tmp_path / "stopped" / "report.in-progress.pt").exists()


@pytest.mark.skipif(
    not DEFAULT_ROOT.exists(), reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
)
def test_images_drawn_earlier_are_scored_without_drawing_them_again(tmp_path: Path, monkeypatch) -> None:
    first = _report(tmp_path / "first", images=tmp_path / "images")
    draw = json.loads((tmp_path / "images" / first["rows"][0]["images"]).with_suffix(".json").read_text())
    assert draw["drawn_with"].startswith("onnxruntime ") and draw["key"]["seed"] == 0
    assert all(row["drawn_with"] == draw["drawn_with"] for row in first["rows"])

    def no_drawing(*args, **kwargs):
        raise AssertionError("drew images that were already drawn")

    monkeypatch.setattr(report, "sample", no_drawing)
    assert _report(tmp_path / "second", images=tmp_path / "images")["rows"] == first["rows"]

    # Another seed is another draw: the saved images do not stand in for it.
    with pytest.raises(AssertionError, match="already drawn"):
        report.main(["--model", str(BUILTIN), "--samples", "4", "--samplers", "ddim50", "--batch", "4",
                     "--settings", "conditional:0", "--seed", "1", "--threads", "1",
                     "--save-images", str(tmp_path / "images")])


def test_a_draw_only_run_keeps_the_images_and_what_drew_them(tmp_path: Path) -> None:
    images = tmp_path / "images"
    assert report.main(["--model", str(FIXTURES / "tiny-model"), "--torch-weights", str(FIXTURES / "tiny-model-torch"),
                        "--device", "cpu", "--samples", "3", "--samplers", "ddim50", "--batch", "2",
                        "--settings", "unconditional+classifier:2", "--threads", "1", "--draw-only",
                        "--save-images", str(images)]) == 0
    pixels = np.load(images / "ddim50_unconditional+classifier_2.npy")
    draw = json.loads((images / "ddim50_unconditional+classifier_2.json").read_text())
    assert pixels.dtype == np.uint8 and pixels.shape == (3, 1, 8, 8)
    assert draw["drawn_with"].startswith("torch ") and draw["key"]["batch"] == 2 and draw["key"]["samples"] == 3
    assert sorted(path.name for path in images.iterdir()) == [
        "ddim50_unconditional+classifier_2.json", "ddim50_unconditional+classifier_2.npy"]
    model = OnnxModelSet(FIXTURES / "tiny-model", threads=1)
    onnx_pixels = to_uint8(report.generate(model, "ddim", "ddim50", "unconditional+classifier", 2.0,
                                           torch.arange(3) % 3, 2, 0))
    assert np.abs(onnx_pixels.transpose(0, 3, 1, 2).astype(int) - pixels).max() <= 1
    with pytest.raises(SystemExit):
        report.main(["--model", str(FIXTURES / "tiny-model"), "--draw-only"])


def test_settings_are_checked() -> None:
    assert report.parse_settings("conditional:0,unconditional+classifier:4") == [
        ("conditional", 0.0), ("unconditional+classifier", 4.0)]
    with pytest.raises(Exception, match="mode:scale"):
        report.parse_settings("guided:2")


def test_images_are_stored_as_the_studio_stores_pixels() -> None:
    x = torch.tensor([-1.5, -1.0, -0.001, 0.0, 0.999, 1.0, 2.0]).reshape(1, 1, 1, 7)
    # ((x + 1)·127.5), clamped to [0, 255] and truncated.
    assert to_uint8(x).ravel().tolist() == [0, 0, 127, 127, 254, 255, 255]
    assert from_uint8(np.array([[[[0], [255]]]], dtype=np.uint8)).ravel().tolist() == [-1.0, 1.0]


def test_the_table_is_sorted_and_gives_each_fid_as_a_multiple_of_the_floor() -> None:
    def row(sampler: str, mode: str, scale: float, fid: float) -> report.Row:
        return report.Row(sampler, mode, scale, 1000, 0.9, fid, 0.6, 0.8, 7.0, 1.0)

    rows = [row("ddpm250", "conditional", 0, 20.0), row("ddim50", "conditional+classifier", 2, 21.56),
            row("ddim50", "unconditional+classifier", 4, 25.6), row("ddim50", "unconditional+classifier", 0, 44.0),
            row("ddim50", "conditional", 0, 16.63)]
    table = report.format_table(rows, {"fid_floor": 7.08, "fid_floor_at_samples": 7.08}, 1000).splitlines()
    assert "FID ÷ floor (7.08 at 1,000)" in table[0]
    body = [line.split(" | ") for line in table[2:]]
    assert [(cells[0], cells[1], cells[2]) for cells in body] == [
        ("| ddim50", "unconditional+classifier", "0"),
        ("| ddim50", "unconditional+classifier", "4"),
        ("| ddim50", "conditional", "0"),
        ("| ddim50", "conditional+classifier", "2"),
        ("| ddpm250", "conditional", "0"),
    ]
    # 44.0 / 7.08 = 6.21..., 16.63 / 7.08 = 2.348..., 21.56 / 7.08 = 3.045...
    assert [cells[5] for cells in body] == ["6.21×", "3.62×", "2.35×", "3.05×", "2.82×"]
