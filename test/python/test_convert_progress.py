"""The converter reports its stages, steps and ETA (`--progress json` for programs, plain lines in logs), compares
each graph with PyTorch, and refuses bad inputs with a sentence while leaving the out folder as it was."""

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import torch

from studio_tools.__main__ import main as studio_tools_main
from studio_tools.adm import ClassifierConfig, UNetConfig
from studio_tools.convert import PRESETS
from studio_tools.convert.out_folder import OutFolderError, refuse_unless_writable, staged
from studio_tools.convert.parity import ParityError, check_unet, unet_reference
from studio_tools.convert.progress import ConversionProgress, ProgressEvent, ProgressSink, Stage, Step
from studio_tools.convert.progress_display import BarsSink, PlainLinesSink, sink_for
from studio_tools.export import verify_model_folder
from studio_tools.export.random_weights import randomize

# The 64 preset at the smallest size that keeps its structure: two levels, attention on the second.
TINY: dict[str, int | str] = {"num_channels": 32, "num_head_channels": 32, "num_res_blocks": 1, "image_size": 8,
        "attention_resolutions": "4", "channel_mult": "1,2"}
TINY_OPTIONS = [part for key, value in TINY.items() for part in ("--flag", f"{key}={value}")]
TINY_CLASSIFIER: dict[str, int | str] = {"image_size": 8, "classifier_width": 32, "classifier_depth": 1,
                                         "classifier_attention_resolutions": "4", "classifier_channel_mult": "1,2"}
TINY_CLASSIFIER_OPTIONS = [part for key, value in TINY_CLASSIFIER.items()
                           for part in ("--classifier-flag", f"{key}={value}")]
EVENT_KEYS = {"stage", "title", "step", "done", "total", "overall", "elapsed_s", "eta_s"}


def tiny_unet(seed: int) -> torch.nn.Module:
    return randomize(UNetConfig.from_flags({**PRESETS["64"].diffusion_flags, **TINY}).build(), seed=seed)


def run_convert(arguments: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = studio_tools_main(["convert", *arguments])
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One tiny UNet-only conversion with --progress json."""
    root = tmp_path_factory.mktemp("tiny")
    torch.save(tiny_unet(seed=3).state_dict(), root / "model.pt")
    code, stdout, stderr = run_convert(["--diffusion", str(root / "model.pt"), "--preset", "64", "--out",
                                        str(root / "folder"), "--no-fp16", "--progress", "json", *TINY_OPTIONS])
    return {"code": code, "stdout": stdout, "stderr": stderr, "folder": root / "folder", "root": root}


def test_json_progress_lines_are_well_formed_objects(converted) -> None:
    assert converted["code"] == 0, converted["stderr"]
    lines = converted["stdout"].splitlines()
    assert len(lines) >= 6
    events = [json.loads(line) for line in lines]
    for event in events:
        assert set(event) == EVENT_KEYS, event
        assert isinstance(event["stage"], str) and isinstance(event["step"], str) and event["title"]
        assert 0 <= event["done"] <= event["total"]
        assert 0.0 <= event["overall"] <= 1.0
        assert event["eta_s"] >= 0 and event["elapsed_s"] >= 0
    overall = [event["overall"] for event in events]
    assert overall == sorted(overall)


def test_stages_and_steps_come_in_order_and_the_last_line_says_done(converted) -> None:
    events = [json.loads(line) for line in converted["stdout"].splitlines()]
    stages = list(dict.fromkeys(event["stage"] for event in events))
    assert stages == ["read", "check", "unet", "write", "done"]
    assert [e["step"] for e in events if e["stage"] == "unet"] == [
        "export to ONNX", "optimise", "save", "compare with PyTorch"]
    assert [e["done"] for e in events if e["stage"] == "unet"] == [0, 1, 2, 3]
    last = events[-1]
    assert last["stage"] == "done" and last["done"] == last["total"] and last["overall"] == 1.0
    assert last["eta_s"] == 0
    assert "manifest.json" in last["step"] and "unet.onnx" in last["step"]
    # stdout holds the JSON lines only; the summary a person reads is on stderr.
    assert converted["stderr"].strip().endswith(last["step"])


def test_the_converted_folder_verifies_and_nothing_is_left_beside_it(converted) -> None:
    manifest = verify_model_folder(converted["folder"])
    assert set(manifest["files"]) == {"unet.onnx"}
    assert sorted(p.name for p in converted["root"].iterdir()) == ["folder", "model.pt"]


def test_the_comparison_with_pytorch_refuses_a_graph_of_another_network(converted) -> None:
    graph = converted["folder"] / "unet.onnx"
    size = int(TINY["image_size"])
    assert check_unet(unet_reference(tiny_unet(seed=3), image_size=size, channels=3, num_classes=1000), graph) <= 1e-4
    with pytest.raises(ParityError, match=r"^unet.onnx disagrees with the PyTorch network \(largest difference"):
        check_unet(unet_reference(tiny_unet(seed=4), image_size=size, channels=3, num_classes=1000), graph)


def test_the_classifier_gradient_exported_beside_the_unet_matches_autograd(tmp_path: Path) -> None:
    torch.save(tiny_unet(seed=3).state_dict(), tmp_path / "model.pt")
    classifier_flags = {**PRESETS["64"].classifier_flags, **TINY_CLASSIFIER}
    classifier = randomize(ClassifierConfig.from_flags(classifier_flags).build(), seed=5)
    torch.save(classifier.state_dict(), tmp_path / "classifier.pt")
    code, stdout, stderr = run_convert([
        "--diffusion", str(tmp_path / "model.pt"), "--classifier", str(tmp_path / "classifier.pt"), "--preset", "64",
        "--out", str(tmp_path / "folder"), "--no-fp16", "--progress", "json", *TINY_OPTIONS, *TINY_CLASSIFIER_OPTIONS,
    ])
    assert code == 0, stderr
    events = [json.loads(line) for line in stdout.splitlines()]
    # The worker starts before the checkpoints are read, so that both cores work from the first second.
    assert list(dict.fromkeys(event["stage"] for event in events)) == [
        "classifier", "read", "check", "unet", "write", "done"]
    # The worker's own steps reach the parent's progress, in order, whatever the UNet does meanwhile.
    assert [e["step"] for e in events if e["stage"] == "classifier"] == [
        "trace the gradient", "trace the gradient", "export to ONNX", "optimise", "save", "compare with PyTorch"]
    write = next(e for e in events if e["stage"] == "write")
    # By then both graphs are over: everything but the last step is done.
    assert write["overall"] > 0.9
    manifest = verify_model_folder(tmp_path / "folder")
    assert set(manifest["files"]) == {"unet.onnx", "classifier_grad.onnx"}
    assert manifest["defaults"]["mode"] == "conditional+classifier"


def test_a_truncated_checkpoint_ends_the_json_lines_with_the_sentence(tmp_path: Path) -> None:
    (tmp_path / "model.pt").write_bytes(b"PK\x03\x04 cut short")
    code, stdout, stderr = run_convert(["--diffusion", str(tmp_path / "model.pt"), "--preset", "64",
                                        "--out", str(tmp_path / "folder"), "--progress", "json"])
    assert code == 2
    last = json.loads(stdout.splitlines()[-1])
    assert last["stage"] == "failed" and last["eta_s"] is None
    assert last["error"].startswith("model.pt could not be read as a PyTorch state_dict")
    assert stderr.strip() == f"convert: {last['error']}"
    assert not (tmp_path / "folder").exists()


def test_an_out_folder_that_holds_files_is_refused_and_kept(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "notes.txt").write_text("mine")
    torch.save(tiny_unet(seed=3).state_dict(), tmp_path / "model.pt")
    code, _, stderr = run_convert(["--diffusion", str(tmp_path / "model.pt"), "--preset", "64",
                                   "--out", str(tmp_path / "folder"), "--progress", "none", *TINY_OPTIONS])
    assert code == 2
    assert stderr.strip() == (
        f"convert: the out folder {tmp_path / 'folder'} already holds notes.txt; pass a new folder, "
        f"or --overwrite to replace its contents with the converted model"
    )
    assert (tmp_path / "folder" / "notes.txt").read_text() == "mine"
    (tmp_path / "file").write_text("")
    with pytest.raises(OutFolderError, match="is a file, not a folder"):
        refuse_unless_writable(tmp_path / "file", overwrite=True)


def test_a_failed_conversion_leaves_the_existing_folder_as_it_was_and_a_finished_one_replaces_it(
    tmp_path: Path,
) -> None:
    out = tmp_path / "folder"
    out.mkdir()
    (out / "manifest.json").write_text("old")
    with pytest.raises(RuntimeError), staged(out) as staging:
        (staging / "manifest.json").write_text("half")
        raise RuntimeError("export failed")
    assert (out / "manifest.json").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
    with staged(out) as staging:
        (staging / "manifest.json").write_text("new")
    assert (out / "manifest.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_an_unknown_preset_is_refused_with_the_choices(tmp_path: Path) -> None:
    stderr = io.StringIO()
    with redirect_stderr(stderr), pytest.raises(SystemExit) as exit_info:
        studio_tools_main(["convert", "--diffusion", "x.pt", "--preset", "65", "--out", str(tmp_path / "f")])
    assert exit_info.value.code == 2
    choices = "'128', '256', '256-uncond', '512', '64'"
    assert f"argument --preset: invalid choice: '65' (choose from {choices})" in stderr.getvalue()


class Recorder(ProgressSink):
    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def show(self, event: ProgressEvent) -> None:
        self.events.append(event)


def test_eta_is_the_weight_left_at_the_pace_of_the_weight_done() -> None:
    now = [100.0]
    plan = [Stage("a", "A", (Step("one", 10.0), Step("two", 30.0))), Stage("b", "B", (Step("three", 60.0),))]
    recorder = Recorder()
    progress = ConversionProgress(plan, recorder, clock=lambda: now[0])
    progress.begin("a", "one")
    # Nothing timed yet: the measured weights are taken as seconds.
    assert recorder.events[-1].eta_s == 100.0
    now[0] += 20.0
    progress.begin("a", "two")
    # 10 s of weight took 20 s here: the 90 s of weight left take 180 s.
    assert (recorder.events[-1].eta_s, recorder.events[-1].overall, recorder.events[-1].done) == (180.0, 0.1, 1)
    now[0] += 20.0
    progress.begin("b", "three")
    # 40 s of weight in 40 s: 60 s left.
    assert (recorder.events[-1].eta_s, recorder.events[-1].overall) == (60.0, 0.4)
    with pytest.raises(ValueError, match="comes before"):
        progress.begin("a", "one")
    progress.finish("wrote it")
    assert (recorder.events[-1].stage, recorder.events[-1].eta_s, recorder.events[-1].overall) == ("done", 0.0, 1.0)


def test_plain_lines_when_stderr_is_not_a_terminal_and_bars_when_it_is() -> None:
    log = io.StringIO()
    sink = sink_for("auto", stdout=io.StringIO(), stderr=log)
    assert isinstance(sink, PlainLinesSink)
    sink.show(ProgressEvent(stage="unet", title="UNet", step="optimise", done=1, total=4, overall=0.25,
                            elapsed_s=30.0, eta_s=130.0))
    assert log.getvalue() == "convert: UNet: optimise (2/4), 25% done, about 2 min 10 s left\n"

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    bars = sink_for("auto", stdout=io.StringIO(), stderr=Terminal())
    assert isinstance(bars, BarsSink)
    bars.close()
