"""How far a conversion has come: stages of weighted steps, an overall fraction and an ETA.

A step's weight is the CPU seconds it took converting the full-size 64×64 pair with random
weights on 2 cores. The ETA is what is left of the plan times how much slower or faster than
that the finished steps ran here, so a loaded machine, a bigger preset or a GPU box each
correct the estimate after the first steps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

DONE = "done"
FAILED = "failed"
# Below this much finished weight the measured pace is mostly noise; the reference pace is used.
_PACE_AFTER_S = 2.0


@dataclass(frozen=True)
class Step:
    name: str
    weight_s: float


@dataclass(frozen=True)
class Stage:
    key: str
    title: str
    steps: tuple[Step, ...]
    #: Runs beside the stages after it (in another process), so starting them does not finish it.
    beside: bool = False


@dataclass(frozen=True)
class ProgressEvent:
    """One line of `--progress json`: the step now under way, within its stage and overall."""

    stage: str
    title: str
    step: str
    #: Steps of this stage finished, and its number of steps.
    done: int
    total: int
    #: Share of the whole conversion finished, by weight (0 to 1).
    overall: float
    elapsed_s: float
    #: Seconds still to go; None once the conversion has failed.
    eta_s: float | None
    error: str | None = None


class ProgressSink:
    """Where events go: a terminal, a log, a machine reading JSON lines."""

    def show(self, event: ProgressEvent) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Called once, after the last event."""


class SilentSink(ProgressSink):
    def show(self, event: ProgressEvent) -> None:
        pass


class ConversionProgress:
    """Follows a fixed plan of stages. `begin` names the step now starting, which finishes the steps before it in
    its stage and, on a stage's first step, the stages before it; a stage that runs beside the others
    (`Stage.beside`) finishes only with `end`. Safe to call from several threads."""

    def __init__(self, stages: Sequence[Stage], sink: ProgressSink, clock: Callable[[], float] = time.monotonic):
        if not stages or any(not stage.steps for stage in stages):
            raise ValueError("a progress plan needs at least one stage, and every stage a step")
        self.stages = tuple(stages)
        self.sink = sink
        self.clock = clock
        self.started = clock()
        self.total_weight = sum(step.weight_s for stage in self.stages for step in stage.steps)
        #: Per stage, the index of the step under way (len(steps) once finished); absent before it starts.
        self._cursor: dict[int, int] = {}
        self._last = (0, 0)
        self._lock = threading.Lock()

    def _index(self, stage_key: str, step: str | None = None) -> tuple[int, int]:
        for s, stage in enumerate(self.stages):
            if stage.key == stage_key:
                if step is None:
                    return s, len(stage.steps)
                for i, planned in enumerate(stage.steps):
                    if planned.name == step:
                        return s, i
                raise KeyError(f"stage {stage_key!r} has no step {step!r}")
        raise KeyError(f"no stage {stage_key!r} in the plan")

    def _finished_weight(self) -> float:
        return sum(step.weight_s for s, i in self._cursor.items() for step in self.stages[s].steps[:i])

    def _overall(self, finished: float) -> float:
        return min(1.0, finished / self.total_weight) if self.total_weight else 0.0

    def eta_s(self, finished_weight: float, elapsed: float) -> float:
        """Seconds left: the weight still to do at the pace of the weight done."""
        pace = elapsed / finished_weight if finished_weight >= _PACE_AFTER_S and elapsed > 0 else 1.0
        return max(0.0, (self.total_weight - finished_weight) * pace)

    def begin(self, stage_key: str, step: str) -> None:
        s, i = self._index(stage_key, step)
        with self._lock:
            if i < self._cursor.get(s, 0):
                raise ValueError(f"step {stage_key}/{step} comes before the step already under way")
            if s not in self._cursor:
                for earlier in range(s):
                    if not self.stages[earlier].beside:
                        self._cursor[earlier] = len(self.stages[earlier].steps)
            self._cursor[s] = i
            self._last = (s, i)
            self._show(s, i)

    def end(self, stage_key: str) -> None:
        """A stage that ran beside the others is over."""
        s, i = self._index(stage_key)
        with self._lock:
            self._cursor[s] = i

    def _show(self, s: int, i: int) -> None:
        stage = self.stages[s]
        finished = self._finished_weight()
        elapsed = self.clock() - self.started
        self.sink.show(ProgressEvent(
            stage=stage.key, title=stage.title, step=stage.steps[i].name, done=i, total=len(stage.steps),
            overall=self._overall(finished), elapsed_s=round(elapsed, 2),
            eta_s=round(self.eta_s(finished, elapsed), 1),
        ))

    def finish(self, summary: str) -> None:
        with self._lock:
            elapsed = self.clock() - self.started
            self.sink.show(ProgressEvent(
                stage=DONE, title="Done", step=summary, done=len(self.stages), total=len(self.stages),
                overall=1.0, elapsed_s=round(elapsed, 2), eta_s=0.0,
            ))
            self.sink.close()

    def fail(self, sentence: str) -> None:
        with self._lock:
            s, i = self._last
            stage = self.stages[s]
            self.sink.show(ProgressEvent(
                stage=FAILED, title=stage.title, step=stage.steps[i].name, done=i, total=len(stage.steps),
                overall=self._overall(self._finished_weight()),
                elapsed_s=round(self.clock() - self.started, 2), eta_s=None, error=sentence,
            ))
            self.sink.close()
