"""The exporter's optimiser leaves the graph onnxscript's optimize_ir leaves (same nodes, same initializers), without
the rewrite whose cost grows with the square of the graph."""

from pathlib import Path

import onnx
import onnx_ir
import onnxscript
import pytest
import torch
from onnxscript.rewriter import onnx_fusions

from studio_tools.adm import UNetConfig
from studio_tools.convert import PRESETS
from studio_tools.export import onnx_graphs
from studio_tools.export.random_weights import randomize

TINY = {"num_channels": 32, "num_head_channels": 32, "num_res_blocks": 1, "image_size": 8,
        "attention_resolutions": "4", "channel_mult": "1,2"}


def reference_optimise(model: onnx_ir.Model) -> None:
    onnxscript.optimizer.optimize_ir(model, onnx_shape_inference=False,
                                     should_fold=onnx_graphs._folds_without_copying_a_weight)
    onnx_fusions.fuse(model)


def test_the_optimised_unet_is_the_graph_optimize_ir_makes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exported: list[bytes] = []
    optimise = onnx_graphs._optimise

    def keep_the_exported_graph(model: onnx_ir.Model) -> None:
        exported.append(onnx_ir.serde.serialize_model(model).SerializeToString())
        optimise(model)

    monkeypatch.setattr(onnx_graphs, "_optimise", keep_the_exported_graph)
    unet = randomize(UNetConfig.from_flags({**PRESETS["64"].diffusion_flags, **TINY}).build(), seed=1)
    onnx_graphs.export_unet(unet, tmp_path / "unet.onnx")
    (raw,) = exported
    ours, theirs = (onnx_ir.serde.deserialize_model(onnx.ModelProto.FromString(raw)) for _ in "ab")
    optimise(ours)
    reference_optimise(theirs)
    assert [node.op_type for node in ours.graph] == [node.op_type for node in theirs.graph]
    assert sorted(ours.graph.initializers) == sorted(theirs.graph.initializers)
    for name, value in ours.graph.initializers.items():
        other = theirs.graph.initializers[name].const_value
        assert value.const_value is not None and other is not None
        assert torch.equal(torch.from_numpy(value.const_value.numpy()), torch.from_numpy(other.numpy())), name
    assert not any(rule.name == "SlicesSplit" for rule in onnx_graphs._REWRITE_RULES)
