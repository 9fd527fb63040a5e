"""The float16 UNet is made from the exported float32 graph with the release's precision choices (only the trunk's
convolutions in half precision), agrees with the release's half-precision network, stores each weight once, and a
conversion with it starts the classifier worker first and still refuses a classifier that does not fit."""

import copy
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import onnx
import onnx_ir
import pytest
import torch
from torch import nn

from studio_tools.__main__ import main as studio_tools_main
from studio_tools.adm import ClassifierConfig, UNetConfig, UNetModel
from studio_tools.convert import PRESETS
from studio_tools.convert.parity import FLOAT16_TOLERANCE, ParityError, check_unet, unet_reference
from studio_tools.export import onnx_graphs, verify_model_folder
from studio_tools.export.onnx_graphs import UNetProgram
from studio_tools.export.random_weights import randomize

TINY: dict[str, int | str] = {"num_channels": 32, "num_head_channels": 32, "num_res_blocks": 1, "image_size": 8,
                              "attention_resolutions": "4", "channel_mult": "1,2"}
TINY_OPTIONS = [part for key, value in TINY.items() for part in ("--flag", f"{key}={value}")]
TINY_CLASSIFIER: dict[str, int | str] = {"image_size": 8, "classifier_width": 32, "classifier_depth": 1,
                                         "classifier_attention_resolutions": "4", "classifier_channel_mult": "1,2"}
SIZE = int(TINY["image_size"])
CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def tiny_unet(seed: int) -> UNetModel:
    unet = randomize(UNetConfig.from_flags({**PRESETS["64"].diffusion_flags, **TINY}).build(), seed=seed)
    assert isinstance(unet, UNetModel)
    return unet


def trunk_convolutions(unet: UNetModel) -> dict[str, nn.Module]:
    """The modules the release's convert_to_fp16 turns to float16, by the name of their weight in the graph."""
    found: dict[str, nn.Module] = {}
    for block in ("input_blocks", "middle_block", "output_blocks"):
        for name, module in getattr(unet, block).named_modules():
            if isinstance(module, CONVOLUTIONS):
                found[f"unet.{block}.{name}.weight"] = module
    return found


def release_half_precision(unet: UNetModel) -> UNetModel:
    """The network as the release runs it with use_fp16: trunk convolutions and activations in float16."""
    half = copy.deepcopy(unet)
    for module in trunk_convolutions(half).values():
        module.half()
    half.trunk_dtype = torch.float16
    return half


def run_convert(arguments: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = studio_tools_main(["convert", *arguments])
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("graphs")
    program = UNetProgram(tiny_unet(seed=3))
    program.save(folder / "unet.onnx")
    program.save_float16(folder / "unet_fp16.onnx")
    return {"fp32": folder / "unet.onnx", "fp16": folder / "unet_fp16.onnx"}


def initializers(path: Path) -> dict[str, onnx.TensorProto]:
    return {tensor.name: tensor for tensor in onnx.load(path).graph.initializer}


def test_only_the_trunk_convolutions_turn_float16_and_every_other_weight_is_kept_as_it_was(graphs) -> None:
    unet = tiny_unet(seed=3)
    trunk = trunk_convolutions(unet)
    assert any(isinstance(module, nn.Conv1d) for module in trunk.values()), "attention's qkv is a trunk convolution"
    converted = {name for name in trunk} | {name[: -len("weight")] + "bias" for name in trunk}
    full, half = initializers(graphs["fp32"]), initializers(graphs["fp16"])
    assert set(full) == set(half)
    assert converted <= set(half)
    for name, tensor in half.items():
        if name in converted:
            assert tensor.data_type == onnx.TensorProto.FLOAT16, name
            expected = onnx.numpy_helper.to_array(full[name]).astype(np.float16)
            assert np.array_equal(onnx.numpy_helper.to_array(tensor), expected), name
        else:
            # The output head, the time and label embeddings, group norm and the residual blocks' linear layers.
            assert tensor.data_type == full[name].data_type and tensor.raw_data == full[name].raw_data, name
    assert "unet.out.2.weight" in half and half["unet.out.2.weight"].data_type == onnx.TensorProto.FLOAT


def test_each_float16_convolution_reads_and_hands_on_float32_through_casts(graphs) -> None:
    model = onnx.load(graphs["fp16"])
    half_weights = {t.name for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT16}
    producers = {output: node for node in model.graph.node for output in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    half_convolutions = [node for node in model.graph.node if node.op_type == "Conv" and node.input[1] in half_weights]
    assert len(half_convolutions) == len(trunk_convolutions(tiny_unet(seed=3)))
    for node in half_convolutions:
        cast_in = producers[node.input[0]]
        assert cast_in.op_type == "Cast" and cast_in.attribute[0].i == onnx.TensorProto.FLOAT16, node.name
        assert [(c.op_type, c.attribute[0].i) for c in consumers[node.output[0]]] == [
            ("Cast", onnx.TensorProto.FLOAT)], node.name
    for value in (*model.graph.input[:1], *model.graph.output):
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_the_float16_graph_agrees_with_the_release_half_precision_network(graphs) -> None:
    unet = tiny_unet(seed=3)
    half_reference = unet_reference(release_half_precision(unet), image_size=SIZE, channels=3, num_classes=1000)
    assert check_unet(half_reference, graphs["fp16"], tolerance=FLOAT16_TOLERANCE) > 0.0
    full_reference = unet_reference(unet, image_size=SIZE, channels=3, num_classes=1000)
    assert check_unet(full_reference, graphs["fp16"], tolerance=FLOAT16_TOLERANCE) > 0.0
    assert check_unet(full_reference, graphs["fp32"]) <= 1e-4
    other = unet_reference(tiny_unet(seed=4), image_size=SIZE, channels=3, num_classes=1000)
    with pytest.raises(ParityError, match=r"^unet_fp16.onnx disagrees with the PyTorch network"):
        check_unet(other, graphs["fp16"], tolerance=FLOAT16_TOLERANCE)


def test_each_graph_file_stores_its_weights_once(graphs) -> None:
    unet = tiny_unet(seed=3)
    trunk = trunk_convolutions(unet)
    half_ids = {id(p) for module in trunk.values() for p in module.parameters()}
    full_bytes = sum(p.numel() * 4 for p in unet.parameters())
    half_bytes = sum(p.numel() * (2 if id(p) in half_ids else 4) for p in unet.parameters())
    for path, weights in ((graphs["fp32"], full_bytes), (graphs["fp16"], half_bytes)):
        stored = sum(len(tensor.raw_data) for tensor in initializers(path).values())
        # Folding leaves a few small rearranged copies (group norm scales as [C, 1, 1]), never a second weight.
        assert weights <= stored <= weights * 1.001 + 4096, path.name
        # Beyond its weights a file holds the graph itself (nodes and their source locations), under a megabyte here.
        assert path.stat().st_size <= stored + 1_000_000, path.name


def test_a_conversion_writes_the_float16_unet_in_three_steps_and_the_folder_verifies(tmp_path: Path) -> None:
    torch.save(tiny_unet(seed=3).state_dict(), tmp_path / "model.pt")
    code, stdout, stderr = run_convert(["--diffusion", str(tmp_path / "model.pt"), "--preset", "64",
                                        "--out", str(tmp_path / "folder"), "--progress", "json", *TINY_OPTIONS])
    assert code == 0, stderr
    events = [json.loads(line) for line in stdout.splitlines()]
    assert list(dict.fromkeys(event["stage"] for event in events)) == ["read", "check", "unet", "unet-fp16",
                                                                         "write", "done"]
    assert [e["step"] for e in events if e["stage"] == "unet-fp16"] == [
        "convert to float16", "save", "compare with PyTorch"]
    manifest = verify_model_folder(tmp_path / "folder")
    assert set(manifest["files"]) == {"unet.onnx", "unet_fp16.onnx"}
    assert manifest["unet"]["fp16_file"] == "unet_fp16.onnx"


def test_a_classifier_that_does_not_fit_is_refused_with_the_worker_already_started(tmp_path: Path) -> None:
    torch.save(tiny_unet(seed=3).state_dict(), tmp_path / "model.pt")
    wider = {**PRESETS["64"].classifier_flags, **TINY_CLASSIFIER, "classifier_width": 64}
    torch.save(randomize(ClassifierConfig.from_flags(wider).build(), seed=5).state_dict(), tmp_path / "classifier.pt")
    classifier_options = [part for key, value in TINY_CLASSIFIER.items() for part in ("--classifier-flag",
                                                                                       f"{key}={value}")]
    code, stdout, stderr = run_convert([
        "--diffusion", str(tmp_path / "model.pt"), "--classifier", str(tmp_path / "classifier.pt"), "--preset", "64",
        "--out", str(tmp_path / "folder"), "--progress", "json", *TINY_OPTIONS, *classifier_options,
    ])
    assert code == 2
    events = [json.loads(line) for line in stdout.splitlines()]
    assert events[0]["stage"] == "classifier" and events[-1]["stage"] == "failed"
    assert stderr.startswith("convert: classifier.pt does not fit the classifier of preset '64': ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classifier.pt", "model.pt"]


def test_a_graph_with_an_operator_outside_the_inference_set_is_refused_when_written(tmp_path: Path) -> None:
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("FusedConv", ["x"], ["y"], domain="com.microsoft"),
         onnx.helper.make_node("Relu", ["y"], ["z"])],
        "g", [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("z", onnx.TensorProto.FLOAT, [1])],
    )
    model = onnx_ir.from_proto(onnx.helper.make_model(graph))
    with pytest.raises(RuntimeError, match=r"operators an inference runtime may lack: com.microsoft::FusedConv$"):
        onnx_graphs._write(model, tmp_path / "graph.onnx", lambda step: None)
