"""Writes model folders whose weights live in external data files, for the model-folder tests.

Each folder is a copy of the ``linear-8px`` test model (same inputs, same numbers) saved by
the onnx package itself, so the files are what real exporters write:

- ``external/``: the UNet's float initializers in ``unet.weights`` (its shape tensor stays inline,
  as onnxruntime's shape inference needs it).
- ``subgraph/``: the UNet's ``0.1·x`` term computed inside an If node whose branches keep
  their initializers in ``branch.weights``.
- ``climbing/`` and ``absolute/``: one initializer whose location is ``../unet.weights`` or an
  absolute path (never read: the folder check must refuse them first).

``expected.json`` lists, for every folder, the (tensor, location) pairs that onnx's own
external-data helper finds, as an independent reference for the TypeScript parser.

Run: ``.venv/bin/python test/electron/inference/external_data_models.py SOURCE_FOLDER OUT_DIR``
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import onnx
from onnx import TensorProto as TP
from onnx import external_data_helper, helper, numpy_helper


def raw(tensor: onnx.TensorProto) -> onnx.TensorProto:
    """The same tensor with its values in raw_data, which is what external data replaces."""
    return numpy_helper.from_array(numpy_helper.to_array(tensor), tensor.name)


def copy_folder(source: Path, out: Path, name: str) -> Path:
    folder = out / name
    shutil.copytree(source, folder)
    return folder


def with_raw_initializers(model: onnx.ModelProto) -> onnx.ModelProto:
    tensors = [raw(tensor) for tensor in model.graph.initializer]
    del model.graph.initializer[:]
    model.graph.initializer.extend(tensors)
    return model


def if_node_unet(model: onnx.ModelProto) -> onnx.ModelProto:
    """Moves Mul(x, a) -> xa into both branches of an If node that always takes its then-branch."""
    graph = model.graph
    a = next(tensor for tensor in graph.initializer if tensor.name == "a")
    value = float(numpy_helper.to_array(a))
    nodes = list(graph.node)
    index = next(i for i, node in enumerate(nodes) if node.output[0] == "xa")

    def branch(name: str, scale: float) -> onnx.GraphProto:
        weight = numpy_helper.from_array(numpy_helper.to_array(helper.make_tensor(f"a_{name}", TP.FLOAT, [], [scale])), f"a_{name}")
        return helper.make_graph(
            [helper.make_node("Mul", ["x", f"a_{name}"], [f"xa_{name}"])],
            f"{name}_branch",
            [],
            [helper.make_tensor_value_info(f"xa_{name}", TP.FLOAT, None)],
            [weight],
        )

    nodes[index] = helper.make_node("If", ["always"], ["xa"], then_branch=branch("then", value), else_branch=branch("else", 0.0))
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [tensor for tensor in graph.initializer if tensor.name != "a"]
    del graph.initializer[:]
    graph.initializer.extend([*kept, numpy_helper.from_array(numpy_helper.to_array(helper.make_tensor("always", TP.BOOL, [], [True])), "always")])
    return model


def with_location(model: onnx.ModelProto, tensor_name: str, location: str) -> onnx.ModelProto:
    tensor = next(tensor for tensor in model.graph.initializer if tensor.name == tensor_name)
    external_data_helper.set_external_data(tensor, location=location, offset=0, length=len(tensor.raw_data))
    tensor.ClearField("raw_data")
    return model


def store_externally(tensors: list[onnx.TensorProto], folder: Path, file: str) -> None:
    """Moves the tensors' bytes into folder/file, one after another, as onnx's exporter lays them out."""
    offset = 0
    with open(folder / file, "wb") as weights:
        for tensor in tensors:
            external_data_helper.set_external_data(tensor, location=file, offset=offset, length=len(tensor.raw_data))
            weights.write(tensor.raw_data)
            offset += len(tensor.raw_data)
            tensor.ClearField("raw_data")


def update_manifest(folder: Path, extra_files: list[str]) -> None:
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for name in ["unet.onnx", *extra_files]:
        manifest["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=2))


def references(path: Path) -> list[list[str]]:
    model = onnx.load(path, load_external_data=False)
    found = []
    for tensor in external_data_helper._get_all_tensors(model):
        if external_data_helper.uses_external_data(tensor):
            entries = {entry.key: entry.value for entry in tensor.external_data}
            found.append([tensor.name, entries["location"]])
    return sorted(found)


def main(source: Path, out: Path) -> None:
    base = onnx.load(source / "unet.onnx")
    expected: dict[str, list[list[str]]] = {}

    folder = copy_folder(source, out, "external")
    model = with_raw_initializers(onnx.ModelProto.FromString(base.SerializeToString()))
    # The INT64 shape tensor stays inline: onnxruntime's shape inference needs its values in the graph.
    store_externally([tensor for tensor in model.graph.initializer if tensor.data_type == TP.FLOAT], folder, "unet.weights")
    onnx.save(model, folder / "unet.onnx")
    update_manifest(folder, ["unet.weights"])

    folder = copy_folder(source, out, "subgraph")
    model = if_node_unet(with_raw_initializers(onnx.ModelProto.FromString(base.SerializeToString())))
    onnx.checker.check_model(model)
    branch_weights = [tensor for graph in (model.graph.node[4].attribute[0].g, model.graph.node[4].attribute[1].g) for tensor in graph.initializer]
    store_externally(branch_weights, folder, "branch.weights")
    onnx.save(model, folder / "unet.onnx")
    update_manifest(folder, ["branch.weights"])

    for name, location in (("climbing", "../unet.weights"), ("absolute", str((out / "external" / "unet.weights").resolve()))):
        folder = copy_folder(source, out, name)
        model = with_location(with_raw_initializers(onnx.ModelProto.FromString(base.SerializeToString())), "a", location)
        onnx.save(model, folder / "unet.onnx")
        update_manifest(folder, [])

    for name in ("external", "subgraph", "climbing", "absolute"):
        expected[name] = references(out / name / "unet.onnx")
    (out / "expected.json").write_text(json.dumps(expected, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
