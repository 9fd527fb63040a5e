"""The reverse-step graphs the studio's device sampling path runs between network calls.

On a GPU provider the sampler arithmetic of a step (p_mean_variance, the classifier shift
condition_score / condition_mean, and x_{t-1}) runs as a small ONNX graph beside the UNet, so
x, ε, the gradient and the noise never need to visit the CPU. Each graph takes the step's
coefficients as scalar inputs (computed once per step, in float64, by the TypeScript
schedule, and fed in the graph's arithmetic type), and gives x_{t-1}, x̂₀, ‖∇ₓ log p(y|xₜ)‖
per sample and a per-sample number that is NaN where x_{t-1} holds a NaN or an infinity
(the divergence check without copying x back).

Each graph comes twice: ``<name>.onnx`` does its arithmetic in float64 between float32
inputs and outputs, as the TypeScript samplers do, for providers that have float64 kernels
(CPU, CUDA); ``<name>.f32.onnx`` stays in float32 throughout for WebGPU, which has none.

Running this module writes them into ``electron/inference/step-graphs/``
(``electron/inference/step-graph-files.ts`` names them), which the app ships beside its code.

    python -m studio_tools.export.step_graphs [FOLDER]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnx
from onnx import TensorProto, helper

from ..files import write_atomically

OPSET = 17
FLOAT = TensorProto.FLOAT
DOUBLE = TensorProto.DOUBLE
IMAGE = ["batch", "channels", "height", "width"]
MODEL_OUTPUT = ["batch", "output_channels", "height", "width"]


class StepGraph:
    """Builds one step graph: float32 inputs cast to the compute type, named nodes, float32 outputs."""

    def __init__(self, name: str, compute: int) -> None:
        self.name = name
        self.compute = compute
        self.nodes: list[onnx.NodeProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def _computed(self, name: str) -> str:
        if self.compute == FLOAT:
            return name
        self.nodes.append(helper.make_node("Cast", [name], [f"{name}_c"], to=self.compute))
        return f"{name}_c"

    def tensor(self, name: str, shape: list[str]) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, FLOAT, shape))
        return self._computed(name)

    def scalar(self, name: str) -> str:
        # Coefficients come in the compute type: √(1/ᾱₜ) reaches thousands at the noisiest step,
        # where its float32 rounding alone would move x̂₀ by more than the float64 arithmetic does.
        self.inputs.append(helper.make_tensor_value_info(name, self.compute, []))
        return name

    def constant(self, name: str, value: float) -> str:
        self.initializers.append(helper.make_tensor(name, self.compute, [], [value]))
        return name

    def op(self, op_type: str, inputs: list[str], output: str, **attributes: Any) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [output], **attributes))
        return output

    def output(self, value: str, name: str, shape: list[str], dtype: int = FLOAT) -> None:
        if dtype == FLOAT and self.compute != FLOAT:
            self.op("Cast", [value], name, to=FLOAT)
        else:
            self.op("Identity", [value], name)
        self.outputs.append(helper.make_tensor_value_info(name, dtype, shape))

    def model(self) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, initializer=self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="studio_tools")
        model.ir_version = 8
        onnx.checker.check_model(model, full_check=True)
        return model


def _channel_slices(g: StepGraph, model_output: str, learned_range: bool) -> tuple[str, str | None]:
    """ε = out[:, :C] and, for learned-range variance, v = out[:, C:2C], with C the channels of x."""
    g.op("Shape", ["x"], "x_shape")
    g.initializers.append(helper.make_tensor("channel_axis", TensorProto.INT64, [1], [1]))
    g.initializers.append(helper.make_tensor("zero_index", TensorProto.INT64, [1], [0]))
    g.initializers.append(helper.make_tensor("two_channels", TensorProto.INT64, [1], [2]))
    g.op("Gather", ["x_shape", "channel_axis"], "channels")
    g.op("Slice", [model_output, "zero_index", "channels", "channel_axis"], "eps")
    if not learned_range:
        return "eps", None
    g.op("Mul", ["channels", "two_channels"], "twice_channels")
    g.op("Slice", [model_output, "channels", "twice_channels", "channel_axis"], "v")
    return "eps", "v"


def _pred_x0(g: StepGraph, x: str, eps: str) -> tuple[str, str]:
    """x̂₀ = √(1/ᾱₜ)·xₜ − √(1/ᾱₜ−1)·ε, clipped to [−bound, bound] (bound = ∞ when not clipping); also √(1/ᾱₜ−1)."""
    a = g.scalar("sqrtRecipAlphaBar")
    b = g.scalar("sqrtRecipm1AlphaBar")
    bound = g.scalar("clipBound")
    g.op("Mul", [a, x], "scaled_x")
    g.op("Mul", [b, eps], "scaled_eps")
    g.op("Sub", ["scaled_x", "scaled_eps"], "pred_x0_raw")
    g.op("Neg", [bound], "lower_bound")
    return g.op("Clip", ["pred_x0_raw", "lower_bound", bound], "pred_x0_clipped"), b


def _checks(g: StepGraph, grad: str, x_next: str) -> None:
    """‖∇ₓ log p(y|xₜ)‖₂ per sample, and per sample Σ 0·x_{t−1}: 0 when every element is finite, NaN otherwise.

    The divergence check uses only Mul and ReduceSum (0·∞ and 0·NaN are NaN), which every
    provider has, so it runs beside the step instead of sending x_{t−1} to the CPU.
    """
    g.op("ReduceL2", [grad], "grad_norm", axes=[1, 2, 3], keepdims=0)
    g.output("grad_norm", "gradNorm", ["batch"])
    g.initializers.append(helper.make_tensor("zero_weight", FLOAT, [], [0.0]))
    g.initializers.append(helper.make_tensor("sum_axes", TensorProto.INT64, [3], [1, 2, 3]))
    g.op("Mul", [x_next, "zero_weight"], "zeroed")
    g.outputs.append(helper.make_tensor_value_info("finiteness", FLOAT, ["batch"]))
    g.op("ReduceSum", ["zeroed", "sum_axes"], "finiteness", keepdims=0)


def ddim_step(compute: int) -> onnx.ModelProto:
    """DDIM (η ≥ 0) with condition_score: x, modelOutput, grad, noise and the step's coefficients → x_{t−1}, x̂₀."""
    g = StepGraph("ddim_step", compute)
    x = g.tensor("x", IMAGE)
    model_output = g.tensor("modelOutput", MODEL_OUTPUT)
    grad = g.tensor("grad", IMAGE)
    noise = g.tensor("noise", IMAGE)
    eps, _ = _channel_slices(g, model_output, learned_range=False)
    pred_x0, sqrt_recipm1_alpha_bar = _pred_x0(g, x, eps)
    # condition_score: ε' = ε − √(1−ᾱₜ)·s·∇ₓ log p(y|xₜ), so x̂₀' = x̂₀ + √(1/ᾱₜ−1)·√(1−ᾱₜ)·s·∇ₓ log p(y|xₜ)
    score_shift = g.scalar("scoreShift")
    g.op("Mul", [score_shift, grad], "shift")
    guided = g.op("Add", [pred_x0, "shift"], "pred_x0")
    # ε re-derived from x̂₀': ε = (√(1/ᾱₜ)·xₜ − x̂₀')/√(1/ᾱₜ−1)
    g.op("Sub", ["scaled_x", guided], "eps_numerator")
    g.op("Div", ["eps_numerator", sqrt_recipm1_alpha_bar], "eps_guided")
    # xₜ₋₁ = √ᾱₜ₋₁·x̂₀' + √(1−ᾱₜ₋₁−σ²)·ε + σ·z
    g.op("Mul", [g.scalar("sqrtAlphaBarPrev"), guided], "mean_part")
    g.op("Mul", [g.scalar("directionWeight"), "eps_guided"], "direction_part")
    g.op("Mul", [g.scalar("noiseWeight"), noise], "noise_part")
    g.op("Add", ["mean_part", "direction_part"], "deterministic")
    x_next = g.op("Add", ["deterministic", "noise_part"], "x_next")
    g.output(x_next, "xNext", IMAGE)
    g.output(guided, "predX0", IMAGE)
    _checks(g, grad, "xNext")
    return g.model()


def _ddpm_step(name: str, compute: int, learned_range: bool) -> onnx.ModelProto:
    g = StepGraph(name, compute)
    x = g.tensor("x", IMAGE)
    model_output = g.tensor("modelOutput", MODEL_OUTPUT)
    grad = g.tensor("grad", IMAGE)
    noise = g.tensor("noise", IMAGE)
    eps, v = _channel_slices(g, model_output, learned_range)
    pred_x0, _ = _pred_x0(g, x, eps)
    # μ̃ = c₁·x̂₀ + c₂·xₜ
    g.op("Mul", [g.scalar("posteriorMeanCoef1"), pred_x0], "mean_x0_part")
    g.op("Mul", [g.scalar("posteriorMeanCoef2"), x], "mean_x_part")
    g.op("Add", ["mean_x0_part", "mean_x_part"], "mean")
    if v is None:
        log_variance = g.scalar("logVariance")
    else:
        # log σ² = frac·log βₜ + (1 − frac)·log β̃ₜ, frac = (v + 1)/2
        one = g.constant("one", 1.0)
        half = g.constant("half", 0.5)
        g.op("Add", [v, one], "v_plus_one")
        g.op("Mul", ["v_plus_one", half], "fraction")
        g.op("Sub", [one, "fraction"], "one_minus_fraction")
        g.op("Mul", ["fraction", g.scalar("maxLogVariance")], "max_part")
        g.op("Mul", ["one_minus_fraction", g.scalar("minLogVariance")], "min_part")
        log_variance = g.op("Add", ["max_part", "min_part"], "log_variance")
    # condition_mean: μ' = μ + σ²·s·∇ₓ log p(y|xₜ)
    g.op("Exp", [log_variance], "variance")
    g.op("Mul", ["variance", g.scalar("gradientScale")], "gradient_weight")
    g.op("Mul", ["gradient_weight", grad], "mean_shift")
    g.op("Add", ["mean", "mean_shift"], "guided_mean")
    # xₜ₋₁ = μ' + σ·z (noiseWeight 0 at t = 0)
    half_log = g.constant("half_log", 0.5)
    g.op("Mul", [log_variance, half_log], "half_log_variance")
    g.op("Exp", ["half_log_variance"], "sigma")
    g.op("Mul", ["sigma", noise], "sigma_noise")
    g.op("Mul", [g.scalar("noiseWeight"), "sigma_noise"], "noise_part")
    x_next = g.op("Add", ["guided_mean", "noise_part"], "x_next")
    g.output(x_next, "xNext", IMAGE)
    g.output(pred_x0, "predX0", IMAGE)
    _checks(g, grad, "xNext")
    return g.model()


def ddpm_step_learned_range(compute: int) -> onnx.ModelProto:
    """Ancestral DDPM with condition_mean, σ² interpolated per element from the UNet's v."""
    return _ddpm_step("ddpm_step_learned_range", compute, learned_range=True)


def ddpm_step_fixed_variance(compute: int) -> onnx.ModelProto:
    """Ancestral DDPM with condition_mean, σ² one number per step (fixed-small or fixed-large)."""
    return _ddpm_step("ddpm_step_fixed_variance", compute, learned_range=False)


def read_back() -> onnx.ModelProto:
    """x → x for an image [B, C, H, W].

    Run with its output on the CPU, it copies a device tensor back: onnxruntime-node cannot
    download one itself (its Tensor.getData on a gpu-buffer tensor is not implemented).
    """
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "read_back",
                              [helper.make_tensor_value_info("x", FLOAT, IMAGE)],
                              [helper.make_tensor_value_info("y", FLOAT, IMAGE)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="studio_tools")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


STEP_GRAPHS: dict[str, Callable[[int], onnx.ModelProto]] = {
    "ddimStep": ddim_step,
    "ddpmStepLearnedRange": ddpm_step_learned_range,
    "ddpmStepFixedVariance": ddpm_step_fixed_variance,
}


def graph_bytes() -> dict[str, bytes]:
    """Each graph's file name and serialised ONNX model."""
    files = {}
    for name, build in STEP_GRAPHS.items():
        files[f"{name}.onnx"] = build(DOUBLE).SerializeToString()
        files[f"{name}.f32.onnx"] = build(FLOAT).SerializeToString()
    files["readBack.onnx"] = read_back().SerializeToString()
    return files


def main(argv: list[str] | None = None) -> int:
    repo_root = Path(__file__).resolve().parents[5]
    parser = argparse.ArgumentParser(prog="python -m studio_tools.export.step_graphs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, nargs="?", default=repo_root / "electron" / "inference" / "step-graphs")
    folder = parser.parse_args(argv).folder
    folder.mkdir(parents=True, exist_ok=True)
    files = graph_bytes()
    for name, data in files.items():

        def write(partial: Path, data: bytes = data) -> None:
            partial.write_bytes(data)

        write_atomically(folder / name, write)
    print(f"wrote {', '.join(files)} to {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
