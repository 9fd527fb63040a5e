"""The small dense linear-algebra graphs the studio's metrics run on onnxruntime.

Matrix products of 2048-dimensional features (covariances, k-NN distance blocks) are far
faster in onnxruntime's GEMM than in JavaScript, so the metrics hand them to these graphs.
Running this module writes them as ``<name>.onnx`` into ``electron/inference/linalg-graphs/``
(``electron/inference/linalg-graph-files.ts`` names them), which the app ships beside its code.

    python -m studio_tools.metrics.linalg_graphs [FOLDER]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import onnx
from onnx import TensorProto, helper

from ..files import write_atomically

OPSET = 17
DOUBLE = TensorProto.DOUBLE
FLOAT = TensorProto.FLOAT


def _model(name: str, nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto],
           outputs: list[onnx.ValueInfoProto], initializers: list[onnx.TensorProto] | None = None) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=initializers or [])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="studio_tools")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def mean_and_scatter() -> onnx.ModelProto:
    """features f32 [N, D] -> mean f64 [1, D], scatter f64 [D, D] = Σ (x - mean)ᵀ(x - mean)."""
    return _model(
        "mean_and_scatter",
        [
            helper.make_node("Cast", ["features"], ["x"], to=DOUBLE),
            helper.make_node("ReduceMean", ["x"], ["mean"], axes=[0], keepdims=1),
            helper.make_node("Sub", ["x", "mean"], ["centered"]),
            helper.make_node("Transpose", ["centered"], ["centered_t"], perm=[1, 0]),
            helper.make_node("MatMul", ["centered_t", "centered"], ["scatter"]),
        ],
        [helper.make_tensor_value_info("features", FLOAT, ["n", "d"])],
        [helper.make_tensor_value_info("mean", DOUBLE, [1, "d"]),
         helper.make_tensor_value_info("scatter", DOUBLE, ["d", "d"])],
    )


def matmul() -> onnx.ModelProto:
    """a f64 [M, K], b f64 [K, N] -> product f64 [M, N]."""
    return _model(
        "matmul",
        [helper.make_node("MatMul", ["a", "b"], ["product"])],
        [helper.make_tensor_value_info("a", DOUBLE, ["m", "k"]),
         helper.make_tensor_value_info("b", DOUBLE, ["k", "n"])],
        [helper.make_tensor_value_info("product", DOUBLE, ["m", "n"])],
    )


def squared_distances() -> onnx.ModelProto:
    """rows f32 [M, D], cols f32 [N, D] -> max(|r|² - 2 r·c + |c|², 0) f64 [M, N]."""
    two = helper.make_tensor("two", DOUBLE, [], [2.0])
    zero = helper.make_tensor("zero", DOUBLE, [], [0.0])
    return _model(
        "squared_distances",
        [
            helper.make_node("Cast", ["rows"], ["r"], to=DOUBLE),
            helper.make_node("Cast", ["cols"], ["c"], to=DOUBLE),
            helper.make_node("ReduceSumSquare", ["r"], ["r_norms"], axes=[1], keepdims=1),
            helper.make_node("ReduceSumSquare", ["c"], ["c_norms_col"], axes=[1], keepdims=1),
            helper.make_node("Transpose", ["c_norms_col"], ["c_norms"], perm=[1, 0]),
            helper.make_node("Transpose", ["c"], ["c_t"], perm=[1, 0]),
            helper.make_node("MatMul", ["r", "c_t"], ["dots"]),
            helper.make_node("Mul", ["dots", "two"], ["twice_dots"]),
            helper.make_node("Sub", ["r_norms", "twice_dots"], ["partial"]),
            helper.make_node("Add", ["partial", "c_norms"], ["raw"]),
            helper.make_node("Max", ["raw", "zero"], ["distances"]),
        ],
        [helper.make_tensor_value_info("rows", FLOAT, ["m", "d"]),
         helper.make_tensor_value_info("cols", FLOAT, ["n", "d"])],
        [helper.make_tensor_value_info("distances", DOUBLE, ["m", "n"])],
        [two, zero],
    )


GRAPHS = {"meanAndScatter": mean_and_scatter, "matmul": matmul, "squaredDistances": squared_distances}


def graph_bytes() -> dict[str, bytes]:
    """Each graph's file name and serialised ONNX model."""
    return {f"{name}.onnx": build().SerializeToString() for name, build in GRAPHS.items()}


def main(argv: list[str] | None = None) -> int:
    repo_root = Path(__file__).resolve().parents[5]
    parser = argparse.ArgumentParser(prog="python -m studio_tools.metrics.linalg_graphs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, nargs="?", default=repo_root / "electron" / "inference" / "linalg-graphs")
    folder = parser.parse_args(argv).folder
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in graph_bytes().items():

        def write(partial: Path, data: bytes = data) -> None:
            partial.write_bytes(data)

        write_atomically(folder / name, write)
    print(f"wrote {', '.join(graph_bytes())} to {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
