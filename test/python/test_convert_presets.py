"""Presets describe the released checkpoints, and checkpoints that do not fit are refused with the likely cause."""

import json
from pathlib import Path

import pytest
import torch

from studio_tools.__main__ import main as studio_tools_main
from studio_tools.adm import ClassifierConfig, UNetConfig
from studio_tools.convert import PRESETS, CheckpointError, imagenet_classes, load_state_dict
from studio_tools.convert.checkpoint import compare, shapes_of
from studio_tools.convert.cli import flag_value, parse_flags
from studio_tools.convert.diagnosis import likely_causes

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "adm-checkpoints.json").read_text())["checkpoints"]

# The classifier scale each model is sampled with in the guided-diffusion README.
README_SCALES = {"64": 1.0, "128": 0.5, "256": 1.0, "256-uncond": 10.0, "512": 4.0}


def released_state(name: str) -> dict[str, torch.Tensor]:
    """A stand-in for a released checkpoint: its names and shapes, without the 2 GB of weights."""
    return {key: torch.empty(shape, device="meta") for key, shape in REFERENCE[name]["state_dict"].items()}


def expected_shapes(config) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        return shapes_of(config.build())


def test_a_preset_for_every_released_checkpoint() -> None:
    covered = {p.diffusion_checkpoint for p in PRESETS.values()} | {p.classifier_checkpoint for p in PRESETS.values()}
    assert covered == set(REFERENCE)
    assert {name: p.scale for name, p in PRESETS.items()} == README_SCALES
    assert all(p.sampler == "ddpm" and p.steps == "250" for p in PRESETS.values())


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_flags_are_the_release_flags_and_fit_its_checkpoints(name: str) -> None:
    preset = PRESETS[name]
    diffusion = REFERENCE[preset.diffusion_checkpoint]
    classifier = REFERENCE[preset.classifier_checkpoint]
    assert preset.diffusion_flags == diffusion["flags"]
    assert {k: v for k, v in preset.classifier_flags.items()} == classifier["flags"]
    unet_shapes = shapes_of(released_state(preset.diffusion_checkpoint))
    assert compare(unet_shapes, expected_shapes(UNetConfig.from_flags(preset.diffusion_flags))).fits
    classifier_shapes = shapes_of(released_state(preset.classifier_checkpoint))
    assert compare(classifier_shapes, expected_shapes(ClassifierConfig.from_flags(preset.classifier_flags))).fits


def test_only_the_64_preset_uses_the_new_attention_order() -> None:
    assert {n for n, p in PRESETS.items() if p.diffusion_flags.get("use_new_attention_order")} == {"64"}


@pytest.mark.parametrize(
    ("checkpoint", "preset", "role", "cause"),
    [
        ("256x256_diffusion.pt", "256-uncond", "diffusion", "it fits preset '256'"),
        ("256x256_diffusion_uncond.pt", "256", "diffusion", "it fits preset '256-uncond'"),
        ("64x64_diffusion.pt", "128", "diffusion", "it fits preset '64'"),
        ("512x512_classifier.pt", "256", "classifier", "it fits preset '512'"),
        ("64x64_classifier.pt", "64", "diffusion", "this is a classifier checkpoint"),
        ("128x128_diffusion.pt", "128", "classifier", "this is a diffusion checkpoint"),
    ],
)
def test_mismatch_names_the_likely_cause(checkpoint: str, preset: str, role: str, cause: str) -> None:
    flags = PRESETS[preset].classifier_flags if role == "classifier" else PRESETS[preset].diffusion_flags
    assert likely_causes(released_state(checkpoint), role, PRESETS[preset], flags).startswith(cause)


def test_a_flag_the_checkpoint_was_not_trained_with_is_named() -> None:
    flags = {**PRESETS["256"].diffusion_flags, "resblock_updown": False}
    cause = likely_causes(released_state("256x256_diffusion.pt"), "diffusion", PRESETS["256"], flags)
    assert cause == "it was trained with resblock_updown=true; pass --flag resblock_updown=true"


def small_unet_checkpoint(path: Path, **flags) -> Path:
    base = {**PRESETS["64"].diffusion_flags, "num_channels": 32, "num_head_channels": 32, "num_res_blocks": 1,
            "image_size": 16, "attention_resolutions": "8,4,2", "channel_mult": "1,2,3,4"}
    torch.save(UNetConfig.from_flags({**base, **flags}).build().state_dict(), path)
    return path


SMALL_64_FLAGS = ["--flag", "num_channels=32", "--flag", "num_head_channels=32", "--flag", "num_res_blocks=1",
                  "--flag", "image_size=16", "--flag", "attention_resolutions=8,4,2", "--flag", "channel_mult=1,2,3,4"]


def test_cli_refuses_a_mismatched_checkpoint_with_a_sentence(tmp_path: Path, capsys) -> None:
    checkpoint = small_unet_checkpoint(tmp_path / "model.pt", resblock_updown=False)
    code = studio_tools_main(
        ["convert", "--diffusion", str(checkpoint), "--preset", "64", "--out", str(tmp_path / "out"), *SMALL_64_FLAGS]
    )
    stderr = capsys.readouterr().err
    # Progress lines come first; the refusal is the last line.
    error = stderr.splitlines()[-1]
    assert code == 2
    assert error.startswith("convert: model.pt does not fit the diffusion of preset '64': ")
    assert "input_blocks.2.0.op.weight" in error or "not expected by the preset" in error
    assert error.rstrip().endswith("pass --flag resblock_updown=false")
    assert "Traceback" not in stderr
    assert not (tmp_path / "out").exists()


def test_unreadable_and_unsafe_checkpoints_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_state_dict(tmp_path / "absent.pt", "diffusion")
    (tmp_path / "truncated.pt").write_bytes(b"PK\x03\x04 not a whole file")
    with pytest.raises(CheckpointError, match="could not be read as a PyTorch state_dict"):
        load_state_dict(tmp_path / "truncated.pt", "diffusion")
    # A pickled object other than tensors would run code on load; weights_only refuses it.
    torch.save({"weights": torch.zeros(1), "callback": Path("x")}, tmp_path / "pickled.pt")
    with pytest.raises(CheckpointError, match="could not be read"):
        load_state_dict(tmp_path / "pickled.pt", "classifier")
    torch.save([torch.zeros(1)], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="not a state_dict"):
        load_state_dict(tmp_path / "list.pt", "classifier")


def test_flag_values_parse_like_the_reference_command_line() -> None:
    assert [flag_value(v) for v in ("True", "false", "3", "0.1", "32,16,8")] == [True, False, 3, 0.1, "32,16,8"]


def test_imagenet_classes_are_the_1000_ilsvrc_classes_in_label_order() -> None:
    names, synonyms = imagenet_classes()
    assert len(names) == len(synonyms) == 1000
    # Well-known labels of ILSVRC-2012 (torchvision / Keras indices).
    assert (names[0], names[1], names[207], names[388], names[999]) == (
        "tench", "goldfish", "golden retriever", "giant panda", "toilet tissue"
    )
    assert "Tinca tinca" in synonyms[0] and "panda" in synonyms[388]
    assert all(name not in words for name, words in zip(names, synonyms, strict=True))


def test_a_list_flag_with_one_entry_stays_a_list() -> None:
    flags = parse_flags(["attention_resolutions=16", "channel_mult=1", "num_channels=64"], "--flag")
    assert flags == {"attention_resolutions": "16", "channel_mult": "1", "num_channels": 64}
    assert UNetConfig.from_flags({**PRESETS["64"].diffusion_flags, **flags}).attention_resolutions == (4,)
