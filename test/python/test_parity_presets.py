"""Every preset's architecture, at reduced width: random-weight checkpoints saved with torch.save go through
`python -m studio_tools convert`, and the folder's graphs agree with PyTorch in onnxruntime.

Reduced width keeps each preset's structure (levels, channel multipliers, where attention sits,
heads, attention order, resblock up/down, class conditioning) with fewer channels, one residual
block per level and the smallest image that still reaches the deepest attention level.
"""

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from studio_tools.__main__ import main as studio_tools_main
from studio_tools.adm import ClassifierConfig, UNetConfig
from studio_tools.convert import PRESETS
from studio_tools.export import schema_errors, verify_model_folder
from studio_tools.export.random_weights import randomize

BATCH = 2


def reduced_flags(name: str) -> tuple[dict, dict]:
    """The preset's flags with attention at the same downsampling rates on a smaller image."""
    preset = PRESETS[name]
    full_size = preset.diffusion_flags["image_size"]
    levels = {64: "1,2,3,4", 128: "1,1,2,3,4", 256: "1,1,2,2,4,4", 512: "0.5,1,1,2,2,4,4"}[full_size]
    deepest = 2 ** (len(levels.split(",")) - 1)
    size = 2 * deepest
    rates = [full_size // int(r) for r in preset.diffusion_flags["attention_resolutions"].split(",")]
    resolutions = ",".join(str(size // rate) for rate in rates)
    # Half-width levels (512's 0.5) need 64 base channels for 32 group-norm groups.
    width = 64 if "0.5" in levels else 32
    unet = {**preset.diffusion_flags, "image_size": size, "num_channels": width, "num_res_blocks": 1,
            "attention_resolutions": resolutions, "channel_mult": levels}
    if "num_head_channels" in unet:
        unet["num_head_channels"] = 32
    classifier = {**preset.classifier_flags, "image_size": size, "classifier_width": 64, "classifier_depth": 1,
                  "classifier_attention_resolutions": resolutions, "classifier_channel_mult": levels}
    return unet, classifier


def as_options(option: str, flags: dict, preset_flags: dict) -> list[str]:
    changed = {k: v for k, v in flags.items() if preset_flags.get(k) != v}
    return [part for key, value in changed.items() for part in (option, f"{key}={value}")]


def inputs(size: int, class_cond: bool, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    values: dict[str, np.ndarray] = {
        "x": rng.standard_normal((BATCH, 3, size, size), dtype=np.float32),
        # Both ends of the schedule.
        "t": np.array([0, 999], dtype=np.int64),
        "y": rng.integers(0, 1000, BATCH).astype(np.int64),
    }
    if not class_cond:
        del values["y"]
    return values


# 256 and 256-uncond share their classifier: 256 converts its UNet alone, which also covers a folder without one.
WITHOUT_CLASSIFIER = {"256"}


def autograd_gradient(classifier: torch.nn.Module, values: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """∇ₓ Σᵢ log softmax(f(xᵢ, tᵢ))[yᵢ] and the logits, straight from PyTorch autograd."""
    x = torch.from_numpy(values["x"]).requires_grad_(True)
    logits = classifier(x, torch.from_numpy(values["t"]))
    log_probs = torch.log_softmax(logits, dim=-1)[torch.arange(BATCH), torch.from_numpy(values["y"])]
    (grad,) = torch.autograd.grad(log_probs.sum(), x)
    return grad.numpy(), logits.detach().numpy()


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_converted_preset_matches_pytorch(name: str, tmp_path: Path) -> None:
    preset = PRESETS[name]
    with_classifier = name not in WITHOUT_CLASSIFIER
    unet_flags, classifier_flags = reduced_flags(name)
    unet_config, classifier_config = UNetConfig.from_flags(unet_flags), ClassifierConfig.from_flags(classifier_flags)
    unet = randomize(unet_config.build(), seed=3)
    classifier = randomize(classifier_config.build(), seed=4)
    torch.save(unet.state_dict(), tmp_path / preset.diffusion_checkpoint)
    torch.save(classifier.state_dict(), tmp_path / preset.classifier_checkpoint)

    out = tmp_path / "folder"
    classifier_options = [
        "--classifier", str(tmp_path / preset.classifier_checkpoint),
        *as_options("--classifier-flag", classifier_flags, preset.classifier_flags),
    ]
    code = studio_tools_main([
        "convert", "--diffusion", str(tmp_path / preset.diffusion_checkpoint), "--preset", name, "--out", str(out),
        # One fp16 export is enough to show the converter writes it; it costs time for each preset.
        *([] if name == "64" else ["--no-fp16"]),
        *as_options("--flag", unet_flags, preset.diffusion_flags),
        *(classifier_options if with_classifier else []),
    ])
    assert code == 0

    manifest = verify_model_folder(out)
    assert schema_errors(json.loads((out / "manifest.json").read_text(encoding="utf-8"))) == []
    assert manifest["id"] == f"imagenet-{name}"
    assert manifest["classes"]["count"] == 1000 and manifest["classes"]["names"][1] == "goldfish"
    assert manifest["unet"]["class_cond"] == preset.diffusion_flags["class_cond"]
    assert manifest["diffusion"]["noise_schedule"] == preset.diffusion_flags["noise_schedule"]
    assert (manifest["unet"]["fp16_file"] is not None) == (name == "64")

    values = inputs(unet_config.image_size, preset.diffusion_flags["class_cond"], seed=len(name))
    with torch.no_grad():
        expected = unet(*(torch.from_numpy(v) for v in values.values())).numpy()
    (got,) = ort.InferenceSession(str(out / manifest["unet"]["file"])).run(None, values)
    unet_error = float(np.abs(got - expected).max())
    print(f"preset {name}: unet max abs error {unet_error:.2e}")
    assert unet_error <= 1e-4

    if not with_classifier:
        assert manifest["classifier"] is None and manifest["defaults"]["mode"] == "conditional"
        return
    expected_mode = "conditional+classifier" if preset.diffusion_flags["class_cond"] else "unconditional+classifier"
    assert manifest["defaults"]["mode"] == expected_mode
    assert manifest["defaults"]["scale"] == preset.scale
    guided = {"x": values["x"], "t": values["t"], "y": inputs(unet_config.image_size, True, seed=7)["y"]}
    expected_grad, expected_logits = autograd_gradient(classifier, guided)
    grad, logits = ort.InferenceSession(str(out / manifest["classifier"]["file"])).run(None, guided)
    grad_error = float(np.abs(grad - expected_grad).max() / np.linalg.norm(expected_grad))
    print(f"preset {name}: classifier grad max error / norm {grad_error:.2e}")
    assert grad_error <= 1e-4
    assert np.abs(logits - expected_logits).max() <= 1e-4
