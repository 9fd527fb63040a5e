"""Writes the small ONNX model folders the engine tests run on (not golden data).

- ``linear-8px/``: 1×8×8 images, 3 classes, cosine schedule with T = 100, learned variance.
  UNet: ε = 0.1·x + 0.001·t + 0.01·y, v = tanh(x). Classifier: logits = W·flatten(x), with the
  exact gradient ∇ₓ log softmax(logits)[y] = W[y] − Σₖ pₖ·W[k].
- ``nan-below-t40/``: the same, but its UNet returns NaN for t < 40 (to test divergence reports).

Run: ``.venv/bin/python test/electron/inference/models/make_test_models.py``
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto as TP
from onnx import helper as h

HERE = Path(__file__).parent
CHANNELS, SIZE, CLASSES = 1, 8, 3


def save(model: onnx.ModelProto, path: Path) -> None:
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def unet(nan_below: int | None) -> onnx.ModelProto:
    nodes = [
        h.make_node("Cast", ["t"], ["tf"], to=TP.FLOAT),
        h.make_node("Cast", ["y"], ["yf"], to=TP.FLOAT),
        h.make_node("Reshape", ["tf", "shape4"], ["t4"]),
        h.make_node("Reshape", ["yf", "shape4"], ["y4"]),
        h.make_node("Mul", ["x", "a"], ["xa"]),
        h.make_node("Mul", ["t4", "b"], ["tb"]),
        h.make_node("Mul", ["y4", "c"], ["yc"]),
        h.make_node("Add", ["xa", "tb"], ["s1"]),
        h.make_node("Add", ["s1", "yc"], ["eps0"]),
        h.make_node("Tanh", ["x"], ["v"]),
    ]
    inits = [
        h.make_tensor("shape4", TP.INT64, [4], [-1, 1, 1, 1]),
        h.make_tensor("a", TP.FLOAT, [], [0.1]),
        h.make_tensor("b", TP.FLOAT, [], [0.001]),
        h.make_tensor("c", TP.FLOAT, [], [0.01]),
    ]
    if nan_below is None:
        nodes.append(h.make_node("Identity", ["eps0"], ["eps"]))
    else:
        # 0·√(t − limit) is 0 for t ≥ limit and NaN below it.
        nodes += [
            h.make_node("Sub", ["t4", "limit"], ["shifted"]),
            h.make_node("Sqrt", ["shifted"], ["root"]),
            h.make_node("Mul", ["root", "zero"], ["poison"]),
            h.make_node("Add", ["eps0", "poison"], ["eps"]),
        ]
        inits += [h.make_tensor("limit", TP.FLOAT, [], [float(nan_below)]), h.make_tensor("zero", TP.FLOAT, [], [0.0])]
    nodes.append(h.make_node("Concat", ["eps", "v"], ["out"], axis=1))
    graph = h.make_graph(
        nodes,
        "unet",
        [
            h.make_tensor_value_info("x", TP.FLOAT, ["B", CHANNELS, SIZE, SIZE]),
            h.make_tensor_value_info("t", TP.INT64, ["B"]),
            h.make_tensor_value_info("y", TP.INT64, ["B"]),
        ],
        [h.make_tensor_value_info("out", TP.FLOAT, ["B", 2 * CHANNELS, SIZE, SIZE])],
        inits,
    )
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])


def classifier() -> onnx.ModelProto:
    features = CHANNELS * SIZE * SIZE
    weights = np.random.default_rng(7).standard_normal((features, CLASSES)).astype(np.float32)
    nodes = [
        h.make_node("Flatten", ["x"], ["flat"], axis=1),
        h.make_node("MatMul", ["flat", "W"], ["raw_logits"]),
        # t enters with weight 0 so the graph keeps the contract's inputs.
        h.make_node("Cast", ["t"], ["tf"], to=TP.FLOAT),
        h.make_node("Unsqueeze", ["tf", "axis1"], ["t2"]),
        h.make_node("Mul", ["t2", "zero"], ["t_term"]),
        h.make_node("Add", ["raw_logits", "t_term"], ["logits"]),
        h.make_node("Softmax", ["logits"], ["p"], axis=1),
        h.make_node("Gather", ["WT", "y"], ["w_y"], axis=0),
        h.make_node("MatMul", ["p", "WT"], ["w_mean"]),
        h.make_node("Sub", ["w_y", "w_mean"], ["grad_flat"]),
        h.make_node("Reshape", ["grad_flat", "image_shape"], ["grad"]),
    ]
    inits = [
        h.make_tensor("W", TP.FLOAT, weights.shape, weights.flatten()),
        h.make_tensor("WT", TP.FLOAT, weights.T.shape, weights.T.flatten()),
        h.make_tensor("axis1", TP.INT64, [1], [1]),
        h.make_tensor("zero", TP.FLOAT, [], [0.0]),
        h.make_tensor("image_shape", TP.INT64, [4], [-1, CHANNELS, SIZE, SIZE]),
    ]
    graph = h.make_graph(
        nodes,
        "classifier_grad",
        [
            h.make_tensor_value_info("x", TP.FLOAT, ["B", CHANNELS, SIZE, SIZE]),
            h.make_tensor_value_info("t", TP.INT64, ["B"]),
            h.make_tensor_value_info("y", TP.INT64, ["B"]),
        ],
        [
            h.make_tensor_value_info("grad", TP.FLOAT, ["B", CHANNELS, SIZE, SIZE]),
            h.make_tensor_value_info("logits", TP.FLOAT, ["B", CLASSES]),
        ],
        inits,
    )
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])


def write_folder(name: str, nan_below: int | None) -> None:
    folder = HERE / name
    folder.mkdir(exist_ok=True)
    save(unet(nan_below), folder / "unet.onnx")
    save(classifier(), folder / "classifier_grad.onnx")
    sha = {file: hashlib.sha256((folder / file).read_bytes()).hexdigest() for file in ("unet.onnx", "classifier_grad.onnx")}
    manifest = {
        "format": 1,
        "id": name,
        "name": f"Test model {name}",
        "source": "Generated by test/electron/inference/models/make_test_models.py",
        "license": "MIT",
        "image": {"size": SIZE, "channels": CHANNELS},
        "classes": {
            "count": CLASSES,
            "names": ["circle", "square", "cross"],
            "synonyms": [["ring", "round"], ["box"], ["plus"]],
            "null_class": CLASSES,
        },
        "diffusion": {"steps": 100, "noise_schedule": "cosine", "learn_sigma": True, "predict": "eps", "rescale_timesteps": False},
        "unet": {
            "file": "unet.onnx",
            "fp16_file": None,
            "class_cond": True,
            "inputs": {"x": "x", "t": "t", "y": "y"},
            "output": "out",
            "batch": "dynamic",
        },
        "classifier": {
            "file": "classifier_grad.onnx",
            "inputs": {"x": "x", "t": "t", "y": "y"},
            "outputs": {"grad": "grad", "logits": "logits"},
        },
        "evaluator": None,
        "defaults": {"mode": "unconditional+classifier", "sampler": "ddim", "steps": "ddim10", "scale": 2, "eta": 0},
        "files": sha,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    write_folder("linear-8px", None)
    write_folder("nan-below-t40", 40)
