"""The operator check every exported graph passes: standard ONNX inference operators only."""

from __future__ import annotations

import onnx

# onnxruntime-node ships the inference kernels of the default domain; training
# operators live in other domains (ai.onnx.preview.training, com.microsoft *Grad).
STANDARD_DOMAINS = frozenset({"", "ai.onnx"})


def graph_operators(model: onnx.ModelProto) -> set[tuple[str, str]]:
    """(domain, op_type) of every node, subgraphs included."""
    found: set[tuple[str, str]] = set()

    def walk(graph: onnx.GraphProto) -> None:
        for node in graph.node:
            found.add((node.domain, node.op_type))
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    walk(attribute.g)
                for subgraph in attribute.graphs:
                    walk(subgraph)

    walk(model.graph)
    return found


def nonstandard_operators(model: onnx.ModelProto) -> list[str]:
    """Operators outside the standard inference set, as "domain::Op" (empty when the graph is clean)."""
    bad = []
    for domain, op_type in sorted(graph_operators(model)):
        if domain not in STANDARD_DOMAINS or not onnx.defs.has(op_type, ""):
            bad.append(f"{domain or 'ai.onnx'}::{op_type}")
    bad.extend(f"local function {function.domain}::{function.name}" for function in model.functions)
    return bad


def assert_inference_operators(model: onnx.ModelProto) -> None:
    bad = nonstandard_operators(model)
    if bad:
        raise RuntimeError(f"the exported graph uses operators an inference runtime may lack: {', '.join(bad)}")
