"""Fashion-MNIST from its IDX files, padded to 32×32 and scaled to [-1, 1]."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import torch

DEFAULT_ROOT = Path(os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))

CLASS_NAMES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
CLASS_SYNONYMS = [
    ["t-shirt", "tshirt", "tee", "top"],
    ["trousers", "pants", "jeans", "slacks"],
    ["sweater", "jumper"],
    ["gown", "frock"],
    ["jacket", "overcoat"],
    ["sandals", "flip-flop"],
    ["blouse", "button-down"],
    ["sneakers", "trainer", "running shoe"],
    ["handbag", "purse", "tote"],
    ["boot", "ankle boots"],
]

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _read_idx(path: Path) -> np.ndarray:
    candidates = [path, path.with_name(path.name + ".gz")]
    found = next((p for p in candidates if p.exists()), None)
    if found is None:
        raise FileNotFoundError(
            f"{path} not found. Install Fashion-MNIST with `apt-get install dataset-fashion-mnist` "
            "or set FASHION_MNIST_DIR to the folder holding the IDX files."
        )
    opener = gzip.open if found.suffix == ".gz" else open
    with opener(found, "rb") as f:
        data = f.read()
    _zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if dtype_code != 0x08:
        raise ValueError(f"{found}: expected unsigned-byte IDX data")
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_split(split: str, root: Path = DEFAULT_ROOT) -> tuple[torch.Tensor, torch.Tensor]:
    """Images [N,1,32,32] float32 in [-1, 1] (28×28 padded by 2 with black) and labels [N] int64."""
    image_file, label_file = _FILES[split]
    images = _read_idx(root / image_file)
    labels = _read_idx(root / label_file)
    x = torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)[:, None]
    x = torch.nn.functional.pad(x, (2, 2, 2, 2), value=-1.0)
    return x, torch.from_numpy(labels.astype(np.int64))


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] images [N,C,H,W] to uint8 [N,H,W,C]: ((x + 1)·127.5) clamped and truncated, as the
    reference sampling script and the studio's PNGs store pixels."""
    x = ((images + 1) * 127.5).clamp(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def from_uint8(pixels: np.ndarray) -> torch.Tensor:
    """uint8 [N,H,W,C] back to model space [N,C,H,W]: x = pixel / 127.5 − 1."""
    return torch.from_numpy(pixels.astype(np.float32) / 127.5 - 1.0).permute(0, 3, 1, 2).contiguous()
