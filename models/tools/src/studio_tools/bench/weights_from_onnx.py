"""PyTorch weights of the built-in model set, rebuilt from the ONNX graphs the repository ships.

The benchmark compares the engine with PyTorch on the same weights, and the training
checkpoints are not committed; the graphs are. Every learned tensor is an initializer of
unet.onnx or classifier_grad.onnx, but the exporter renames some (GroupNorm affine
parameters become ``val_N`` of shape [C, 1, 1], the traced classifier gradient holds
``_param_constantN`` and transposed Linear weights), so they are found by the operator that
uses them, not by name:

* a Conv's weight and bias → a Conv1d/Conv2d,
* a Gemm's B (transposed unless transB) and C → a Linear,
* a Gather's table → an Embedding,
* the Mul and Add after an InstanceNormalization (ONNX's GroupNorm: per-group statistics,
  then the per-channel affine) → a GroupNorm,
* an Add of a [1, C, L] constant → AttentionPool2d's positional embedding,

each in graph order, which is the order the PyTorch modules run in (hooks record it). The
classifier gradient graph also uses the weights in its backward half; only first uses count.
The rebuilt networks are then run against onnxruntime on a fixed input and refused beyond
``MAX_RELATIVE_ERROR``, so a wrong mapping cannot reach a benchmark. The result is cached
as a PyTorch model folder (``studio_tools.diffusion.torch_model``: config.json, unet.pt,
classifier.pt) with the sha256 of the graphs it came from, and rebuilt when they change.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import torch
from onnx import numpy_helper
from torch import nn

from ..adm import ClassifierConfig, UNetConfig
from ..adm.nn import AttentionPool2d
from ..diffusion.torch_model import (
    ClassSettings,
    DiffusionSettings,
    ModelConfig,
    load_models,
    read_config,
    write_config,
)
from ..files import write_atomically, write_json_atomically
from ..train.architectures import classifier_config, unet_config

#: Largest max|torch − onnxruntime| / max|onnxruntime| accepted for a rebuilt network.
MAX_RELATIVE_ERROR = 1e-5
CACHE_FORMAT = 1

#: Architectures of the model sets whose graphs can be turned back into PyTorch modules.
ARCHITECTURES: dict[str, Callable[[], tuple[UNetConfig, ClassifierConfig]]] = {
    "fashion-mnist": lambda: (unet_config(), classifier_config()),
}


class WeightRebuildError(RuntimeError):
    """The graphs do not map onto the architecture, or the rebuilt networks disagree with them."""


@dataclass(frozen=True)
class RebuiltWeights:
    folder: Path
    reused: bool
    unet_relative_error: float
    classifier_relative_error: float

    @property
    def config(self) -> Path:
        return self.folder / "config.json"

    @property
    def unet(self) -> Path:
        return self.folder / "unet.pt"

    @property
    def classifier(self) -> Path:
        return self.folder / "classifier.pt"


# ---- the graph side: learned tensors by the operator that uses them, in graph order ----

LayerTensors = list[np.ndarray]


class _Graph:
    def __init__(self, model: onnx.ModelProto):
        self.nodes = list(model.graph.node)
        self.initializers = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
        self.consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
        for node in self.nodes:
            for name in node.input:
                self.consumers[name].append(node)

    def constant(self, name: str) -> np.ndarray | None:
        value = self.initializers.get(name)
        return value if value is not None and value.dtype == np.float32 and value.ndim > 0 else None

    def constant_inputs(self, node: onnx.NodeProto) -> list[np.ndarray]:
        return [value for name in node.input if (value := self.constant(name)) is not None]

    def affine_after(self, norm: onnx.NodeProto) -> LayerTensors:
        """The per-channel scale and shift applied to an InstanceNormalization's output."""
        found: LayerTensors = []
        node = norm
        # Reshape back to [B, C, …], Mul by γ, Add β: a short single-consumer chain.
        for _ in range(4):
            consumers = self.consumers[node.output[0]]
            if len(consumers) != 1:
                break
            node = consumers[0]
            if node.op_type in ("Mul", "Add"):
                constants = self.constant_inputs(node)
                if len(constants) != 1:
                    break
                found.append(constants[0])
                if node.op_type == "Add":
                    break
            elif node.op_type != "Reshape":
                break
        return found

    def affine_of(self, mul: onnx.NodeProto) -> LayerTensors:
        """γ and β of a group norm computed without InstanceNormalization: x̂·γ then + β, both [C, 1, …]."""
        scales = self.constant_inputs(mul)
        consumers = self.consumers[mul.output[0]]
        if len(scales) != 1 or scales[0].ndim < 2 or any(d != 1 for d in scales[0].shape[1:]) or len(consumers) != 1:
            return []
        shifts = self.constant_inputs(consumers[0]) if consumers[0].op_type == "Add" else []
        if len(shifts) != 1 or shifts[0].shape != scales[0].shape:
            return []
        return [scales[0], shifts[0]]

    def layers(self) -> dict[str, list[LayerTensors]]:
        """Per kind (conv, linear, embedding, norm, positional) the tensors of each use, in order."""
        seen: set[str] = set()
        layers: dict[str, list[LayerTensors]] = defaultdict(list)

        def first_use(name: str) -> bool:
            if name in seen:
                return False
            seen.add(name)
            return True

        # The lean classifier gradient computes its group norms from reductions, not InstanceNormalization.
        has_instance_norm = any(node.op_type == "InstanceNormalization" for node in self.nodes)
        for node in self.nodes:
            inputs = list(node.input)
            if node.op_type == "Conv" and len(inputs) > 1 and self.constant(inputs[1]) is not None:
                if first_use(inputs[1]):
                    layers["conv"].append([self.initializers[name] for name in inputs[1:] if name])
            elif node.op_type == "Gemm" and self.constant(inputs[1]) is not None and first_use(inputs[1]):
                trans_b = next((attr.i for attr in node.attribute if attr.name == "transB"), 0)
                weight = self.initializers[inputs[1]]
                bias = [self.initializers[inputs[2]]] if len(inputs) > 2 and inputs[2] else []
                layers["linear"].append([weight if trans_b else weight.T, *bias])
            elif node.op_type == "Gather" and (table := self.constant(inputs[0])) is not None and table.ndim == 2:
                if first_use(inputs[0]):
                    layers["embedding"].append([table])
            elif node.op_type == "InstanceNormalization":
                affine = self.affine_after(node)
                if affine:
                    layers["norm"].append(affine)
            elif node.op_type == "Mul" and not has_instance_norm and (affine := self.affine_of(node)):
                layers["norm"].append(affine)
            elif node.op_type == "Add":
                for name in inputs:
                    value = self.constant(name)
                    is_embedding = value is not None and value.ndim == 3 and value.shape[0] == 1 and value.shape[2] > 1
                    if value is not None and is_embedding and first_use(name):
                        layers["positional"].append([value])
        return layers


# ---- the module side: the same kinds, in the order the modules run ----

def _kind(module: nn.Module) -> str | None:
    if isinstance(module, nn.Conv1d | nn.Conv2d):
        return "conv"
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, nn.Embedding):
        return "embedding"
    if isinstance(module, nn.GroupNorm):
        return "norm"
    if isinstance(module, AttentionPool2d):
        return "positional"
    return None


def _parameters_of(module: nn.Module, kind: str) -> list[nn.Parameter]:
    if kind == "positional":
        assert isinstance(module, AttentionPool2d)
        return [module.positional_embedding]
    return [parameter for name in ("weight", "bias") if (parameter := getattr(module, name, None)) is not None]


def _modules_in_call_order(network: nn.Module, run: Callable[[], object]) -> dict[str, list[nn.Module]]:
    order: dict[str, list[nn.Module]] = defaultdict(list)
    called: set[int] = set()

    def record(module: nn.Module, *_: object) -> None:
        kind = _kind(module)
        if kind is not None and id(module) not in called:
            called.add(id(module))
            order[kind].append(module)

    handles = [module.register_forward_pre_hook(record) for module in network.modules() if _kind(module)]
    try:
        with torch.no_grad():
            run()
    finally:
        for handle in handles:
            handle.remove()
    return order


def _load_from_graph(network: nn.Module, graph: _Graph, run: Callable[[], object], label: str) -> None:
    modules = _modules_in_call_order(network, run)
    tensors = graph.layers()
    for kind in sorted(set(modules) | set(tensors)):
        wanted, found = modules.get(kind, []), tensors.get(kind, [])
        if len(found) < len(wanted):
            raise WeightRebuildError(
                f"The {label} graph has {len(found)} {kind} layers where the architecture runs {len(wanted)}; "
                "it was exported from another architecture."
            )
        for index, (module, values) in enumerate(zip(wanted, found, strict=False)):
            parameters = _parameters_of(module, kind)
            sizes_differ = any(p.numel() != v.size for p, v in zip(parameters, values, strict=False))
            if len(parameters) != len(values) or sizes_differ:
                raise WeightRebuildError(
                    f"The {label} graph's {kind} layer {index} holds tensors of shapes {[v.shape for v in values]} "
                    f"where the architecture's has {[tuple(p.shape) for p in parameters]}."
                )
            with torch.no_grad():
                for parameter, value in zip(parameters, values, strict=True):
                    parameter.copy_(torch.from_numpy(np.array(value, copy=True)).reshape(parameter.shape))


# ---- the check against onnxruntime ----

def fixed_inputs(image_size: int, channels: int, num_classes: int) -> dict[str, np.ndarray]:
    """Four images at timesteps across the schedule and four labels: the parity check's input."""
    generator = torch.Generator().manual_seed(2021)
    return {
        "x": torch.randn(4, channels, image_size, image_size, generator=generator).numpy(),
        "t": np.array([0, 250, 600, 999], dtype=np.int64),
        "y": np.array([0, 3, 7, num_classes - 1], dtype=np.int64),
    }


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(actual - expected).max() / max(float(np.abs(expected).max()), 1e-30))


def log_prob_gradient(
    classifier: nn.Module, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """∇ₓ Σᵢ log softmax(f(xᵢ, tᵢ))[yᵢ] and the logits, by autograd: what classifier_grad.onnx computes."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        logits = classifier(x, t)
        selected = torch.log_softmax(logits, dim=-1).gather(1, y[:, None]).sum()
        (grad,) = torch.autograd.grad(selected, x)
    return grad, logits.detach()


def _run_graph(path: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


# ---- the cache ----

def partial_writer(state: dict[str, torch.Tensor]) -> Callable[[Path], None]:
    def write(partial: Path) -> None:
        torch.save(state, partial)

    return write


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_manifest(model_folder: Path) -> dict[str, Any]:
    return json.loads((model_folder / "manifest.json").read_text(encoding="utf-8"))


def _graph_files(manifest: dict[str, Any], model_folder: Path) -> tuple[Path, Path]:
    return model_folder / manifest["unet"]["file"], model_folder / manifest["classifier"]["file"]


def _model_config(manifest: dict[str, Any], unet: UNetConfig, classifier: ClassifierConfig) -> ModelConfig:
    diffusion, classes = manifest["diffusion"], manifest["classes"]
    return ModelConfig(
        unet=unet,
        classifier=classifier,
        diffusion=DiffusionSettings(
            steps=diffusion["steps"], noise_schedule=diffusion["noise_schedule"],
            learn_sigma=diffusion["learn_sigma"], rescale_timesteps=diffusion.get("rescale_timesteps", False),
        ),
        classes=ClassSettings(count=classes["count"], names=classes["names"], null_class=classes["null_class"]),
    )


def rebuild(model_folder: Path, out: Path) -> RebuiltWeights:
    """Rebuilds both networks of `model_folder` into `out`, checked against onnxruntime."""
    model_folder, out = Path(model_folder), Path(out)
    manifest = _read_manifest(model_folder)
    architecture = ARCHITECTURES.get(manifest["id"])
    if architecture is None:
        raise WeightRebuildError(
            f"No architecture is known for model '{manifest['id']}'; the weights can be rebuilt for "
            f"{', '.join(ARCHITECTURES)}. Pass PyTorch weights (--config, --unet, --classifier) instead."
        )
    if manifest.get("classifier") is None:
        raise WeightRebuildError(
            f"Model '{manifest['id']}' has no classifier gradient graph to rebuild a classifier from."
        )
    unet_spec, classifier_spec = architecture()
    unet_path, classifier_path = _graph_files(manifest, model_folder)
    feeds = fixed_inputs(unet_spec.image_size, unet_spec.in_channels, manifest["classes"]["count"])
    x, t, y = (torch.from_numpy(feeds[name]) for name in ("x", "t", "y"))

    unet = unet_spec.build().eval()
    _load_from_graph(unet, _Graph(onnx.load(str(unet_path))), lambda: unet(x, t, y), "UNet")
    classifier = classifier_spec.build().eval()
    classifier_graph = _Graph(onnx.load(str(classifier_path)))
    _load_from_graph(classifier, classifier_graph, lambda: classifier(x, t), "classifier gradient")

    with torch.no_grad():
        unet_out = unet(x, t, y).numpy()
    unet_error = relative_error(unet_out, _run_graph(unet_path, feeds)[manifest["unet"]["output"]])
    grad, logits = log_prob_gradient(classifier, x, t, y)
    expected = _run_graph(classifier_path, feeds)
    outputs = manifest["classifier"]["outputs"]
    classifier_error = max(relative_error(grad.numpy(), expected[outputs["grad"]]),
                           relative_error(logits.numpy(), expected[outputs["logits"]]))
    for label, error in (("UNet", unet_error), ("classifier gradient", classifier_error)):
        if not error <= MAX_RELATIVE_ERROR:
            raise WeightRebuildError(
                f"The PyTorch {label} rebuilt from {model_folder} differs from onnxruntime by {error:.2e} "
                f"(relative; at most {MAX_RELATIVE_ERROR:.0e} is accepted): the graph holds an operator "
                "this rebuild does not map. Export the PyTorch weights with the model instead."
            )

    out.mkdir(parents=True, exist_ok=True)
    record_path = out / "rebuilt-from.json"
    record_path.unlink(missing_ok=True)
    write_config(out / "config.json", _model_config(manifest, unet_spec, classifier_spec))
    for name, network in (("unet.pt", unet), ("classifier.pt", classifier)):
        state = network.state_dict()
        write_atomically(out / name, partial_writer(state))
    # Written last: a folder without it is incomplete and gets rebuilt.
    write_json_atomically(record_path, {
        "format": CACHE_FORMAT,
        "graphs": {path.name: _sha256(path) for path in (unet_path, classifier_path)},
        "unet_relative_error": unet_error,
        "classifier_relative_error": classifier_error,
    })
    return RebuiltWeights(out, False, unet_error, classifier_error)


def cached_or_rebuilt(model_folder: Path, cache: Path) -> RebuiltWeights:
    """The weights in `cache` when they were rebuilt from exactly the graphs `model_folder` holds now."""
    model_folder, cache = Path(model_folder), Path(cache)
    record_path = cache / "rebuilt-from.json"
    if record_path.is_file():
        record = json.loads(record_path.read_text(encoding="utf-8"))
        graphs = _graph_files(_read_manifest(model_folder), model_folder)
        current = {path.name: _sha256(path) for path in graphs}
        weights = RebuiltWeights(cache, True, record["unet_relative_error"], record["classifier_relative_error"])
        if record.get("format") == CACHE_FORMAT and record.get("graphs") == current and all(
            path.is_file() for path in (weights.config, weights.unet, weights.classifier)
        ):
            return weights
    return rebuild(model_folder, cache)


def load_rebuilt(weights: RebuiltWeights) -> tuple[nn.Module, nn.Module]:
    unet, classifier = load_models(read_config(weights.config), weights.unet, weights.classifier)
    assert classifier is not None, "a rebuilt folder always holds a classifier"
    return unet, classifier
