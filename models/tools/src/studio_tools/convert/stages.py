"""The stages of a conversion and what each step weighs.

Weights are CPU seconds measured converting the full-size 64×64 pair (random weights, 296 M +
65 M parameters) on a 2-core machine at a load average of 3 to 5.
They only need to be right relative to one another, since the ETA rescales them by the pace
measured on the way (progress.py).
"""

from __future__ import annotations

from ..export.onnx_graphs import STEP_EXPORT, STEP_HALF, STEP_OPTIMISE, STEP_SAVE, STEP_TRACE_GRADIENT
from .progress import Stage, Step

READ, CHECK, UNET, UNET_FP16, CLASSIFIER, WRITE = "read", "check", "unet", "unet-fp16", "classifier", "write"
STEP_READ_DIFFUSION = "read the diffusion checkpoint"
STEP_READ_CLASSIFIER = "read the classifier checkpoint"
STEP_CHECK = "check the architecture"
STEP_COMPARE = "compare with PyTorch"
STEP_HASH = "hash the files"


def conversion_stages(*, fp16: bool, classifier: bool) -> list[Stage]:
    reads = [Step(STEP_READ_DIFFUSION, 1.0)] + ([Step(STEP_READ_CLASSIFIER, 0.3)] if classifier else [])
    stages: list[Stage] = []
    if classifier:
        # Exported in a worker process from the first second, while the parent reads, checks and exports the
        # UNets (classifier_worker.py).
        stages.append(Stage(CLASSIFIER, "Classifier gradient", (
            Step(STEP_TRACE_GRADIENT, 39.0), Step(STEP_EXPORT, 48.0), Step(STEP_OPTIMISE, 3.7),
            Step(STEP_SAVE, 1.4), Step(STEP_COMPARE, 11.0)), beside=True))
    stages += [
        Stage(READ, "Read checkpoints", tuple(reads)),
        Stage(CHECK, "Check", (Step(STEP_CHECK, 0.8),)),
    ]
    stages += [
        # The comparison runs the PyTorch network once, for this graph and the float16 one.
        Stage(UNET, "UNet", (Step(STEP_EXPORT, 21.4), Step(STEP_OPTIMISE, 1.5), Step(STEP_SAVE, 6.5),
                             Step(STEP_COMPARE, 17.5))),
    ]
    if fp16:
        # Converted from the exported float32 graph, not traced again.
        stages.append(Stage(UNET_FP16, "UNet float16", (Step(STEP_HALF, 0.9), Step(STEP_SAVE, 3.2),
                                                         Step(STEP_COMPARE, 6.5))))
    stages.append(Stage(WRITE, "Write the folder", (Step(STEP_HASH, 3.3),)))
    return stages
