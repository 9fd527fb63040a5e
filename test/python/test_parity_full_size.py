"""The full-size 64×64 ImageNet UNet (296 M parameters, random weights) exported once and run in onnxruntime.

The slowest test of the suite: one export, batch 1. Figures for all full-size graphs:
`python -m studio_tools.export.benchmark --preset 64 --graph unet|unet-fp16|classifier --out DIR`.
"""

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from studio_tools.adm import UNetConfig
from studio_tools.convert import PRESETS
from studio_tools.export import export_unet
from studio_tools.export.random_weights import randomize


def test_full_size_64_unet_matches_pytorch(tmp_path: Path) -> None:
    config = UNetConfig.from_flags(PRESETS["64"].diffusion_flags)
    unet = randomize(config.build(), seed=5)
    assert sum(p.numel() for p in unet.parameters()) == 295_904_454

    exported = export_unet(unet, tmp_path / "unet.onnx")
    # Under the protobuf limit: one self-contained file.
    assert exported.files == (tmp_path / "unet.onnx",)

    rng = np.random.default_rng(0)
    values = {
        "x": rng.standard_normal((1, 3, 64, 64), dtype=np.float32),
        "t": np.array([500], dtype=np.int64),
        "y": np.array([207], dtype=np.int64),
    }
    with torch.no_grad():
        expected = unet(*(torch.from_numpy(v) for v in values.values())).numpy()
    del unet
    (got,) = ort.InferenceSession(str(exported.path)).run(None, values)
    error = float(np.abs(got - expected).max())
    print(f"full-size 64×64 UNet: max abs error {error:.2e} (output max {np.abs(expected).max():.2f})")
    assert got.shape == (1, 6, 64, 64)
    assert error <= 1e-4
