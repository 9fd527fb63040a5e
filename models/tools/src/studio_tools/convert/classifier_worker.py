"""The classifier-gradient graph exported in a process of its own, beside the UNet's.

Tracing and exporting are single-threaded Python, so on a machine with two cores the
gradient graph (the longest of the three) costs no time beyond the UNet's. The worker
starts before the parent reads anything and reads the checkpoint itself rather than
receiving the network (a 250 MB state_dict sent through a pipe is no faster than read from
disk); the parent checks meanwhile that it fits, and stops the worker when it does not.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import traceback
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import torch

from ..adm import ClassifierConfig
from ..export import export_classifier_grad
from .checkpoint import load_into, load_state_dict, shapes_of
from .parity import check_classifier_gradient
from .progress import ConversionProgress
from .stages import CLASSIFIER, STEP_COMPARE

_STEP, _DONE, _REFUSED, _CRASHED = "step", "done", "refused", "crashed"


class WorkerError(RuntimeError):
    """The worker stopped without finishing: killed, out of memory, or an error in the exporter."""


@dataclass(frozen=True)
class GradientJob:
    checkpoint: Path
    flags: dict[str, Any]
    path: Path


def _export(job: GradientJob, messages: Any) -> None:
    """Runs in the worker: every step and the outcome go back as (kind, text) messages."""
    # The parent process works on the other core.
    torch.set_num_threads(1)
    try:
        config = ClassifierConfig.from_flags(job.flags)
        state = load_state_dict(job.checkpoint, "classifier")
        with torch.device("meta"):
            classifier = config.build()
        if shapes_of(classifier) != shapes_of(state):
            raise ValueError(f"{job.checkpoint.name} changed while it was being converted; convert it again")
        load_into(classifier, state)
        del state
        export_classifier_grad(
            classifier, job.path, image_size=config.image_size, channels=config.in_channels,
            num_classes=config.out_channels, on_step=lambda step: messages.put((_STEP, step)),
        )
        messages.put((_STEP, STEP_COMPARE))
        check_classifier_gradient(classifier, job.path, image_size=config.image_size, channels=config.in_channels,
                                  num_classes=config.out_channels)
    except ValueError as error:
        messages.put((_REFUSED, str(error)))
    except BaseException:
        messages.put((_CRASHED, traceback.format_exc()))
        raise
    else:
        messages.put((_DONE, ""))


class GradientWorker:
    """Started with `start`, awaited with `result`; its steps reach `progress` as they happen."""

    def __init__(self, job: GradientJob, progress: ConversionProgress):
        context = multiprocessing.get_context("spawn")
        self.messages = context.Queue()
        self.process: BaseProcess = context.Process(target=_export, args=(job, self.messages), daemon=True)
        self.progress = progress
        self.outcome: tuple[str, str] | None = None
        self.listener = threading.Thread(target=self._listen, daemon=True)

    def start(self) -> None:
        self.process.start()
        self.listener.start()

    def _listen(self) -> None:
        while True:
            try:
                kind, text = self.messages.get(timeout=1.0)
            except queue.Empty:
                if not self.process.is_alive():
                    return
                continue
            if kind == _STEP:
                self.progress.begin(CLASSIFIER, text)
            else:
                self.outcome = (kind, text)
                return

    def result(self) -> None:
        """Waits for the worker; raises its refusal as a ValueError, anything else as a WorkerError."""
        self.listener.join()
        self.process.join()
        if self.outcome is None:
            raise WorkerError(
                f"the classifier-gradient export stopped without a word (exit code {self.process.exitcode}); "
                f"it may have run out of memory: close other programs and convert again"
            )
        kind, text = self.outcome
        if kind == _REFUSED:
            raise ValueError(text)
        if kind == _CRASHED:
            raise WorkerError(f"the classifier-gradient export failed:\n{text}")
        self.progress.end(CLASSIFIER)

    def stop(self) -> None:
        """Ends the worker if it is still running (the conversion failed elsewhere)."""
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
