"""ONNX export of the studio's graphs and the model folder that carries them."""

from .gradient import LogProbGradient, backward_decompositions, trace_log_prob_gradient
from .manifest import SamplingDefaults, build_manifest, consistency_errors, evaluator_entry, schema_errors
from .model_folder import ModelFolderError, sha256_of, verify_model_folder, write_model_folder
from .onnx_graphs import (
    ExportedGraph,
    export_classifier_grad,
    export_evaluator,
    export_unet,
    export_unet_fp16,
)
from .operators import assert_inference_operators, nonstandard_operators

__all__ = [
    "ExportedGraph",
    "LogProbGradient",
    "ModelFolderError",
    "SamplingDefaults",
    "assert_inference_operators",
    "backward_decompositions",
    "build_manifest",
    "consistency_errors",
    "evaluator_entry",
    "export_classifier_grad",
    "export_evaluator",
    "export_unet",
    "export_unet_fp16",
    "nonstandard_operators",
    "schema_errors",
    "sha256_of",
    "trace_log_prob_gradient",
    "verify_model_folder",
    "write_model_folder",
]
