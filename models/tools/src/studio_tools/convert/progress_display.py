"""Showing conversion progress: bars on a terminal, plain lines in a log, JSON lines for a program."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskID, TextColumn
from rich.text import Text

from .progress import DONE, FAILED, ProgressEvent, ProgressSink, SilentSink

MODES = ("auto", "bar", "plain", "json", "none")


def duration(seconds: float) -> str:
    """'about 2 min 10 s' style, rounded to what an estimate can promise."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes, rest = divmod(round(seconds / 10) * 10, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


class JsonLinesSink(ProgressSink):
    """One JSON object per line: stage, title, step, done, total, overall, elapsed_s, eta_s (and error)."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def show(self, event: ProgressEvent) -> None:
        fields = {key: value for key, value in dataclasses.asdict(event).items() if value is not None or key == "eta_s"}
        self.stream.write(json.dumps(fields, ensure_ascii=False) + "\n")
        self.stream.flush()


class PlainLinesSink(ProgressSink):
    """A line per step, for logs and pipes where a redrawn bar would be noise."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def show(self, event: ProgressEvent) -> None:
        if event.stage == DONE:
            line = f"convert: done in {duration(event.elapsed_s)}: {event.step}"
        elif event.stage == FAILED:
            line = f"convert: stopped during {event.title}: {event.step}"
        else:
            eta = "" if event.eta_s is None else f", about {duration(event.eta_s)} left"
            line = (f"convert: {event.title}: {event.step} ({event.done + 1}/{event.total}), "
                    f"{event.overall:.0%} done{eta}")
        self.stream.write(line + "\n")
        self.stream.flush()


class _CountdownColumn(ProgressColumn):
    """The ETA of the last event, counted down between events so a long step does not freeze it."""

    def render(self, task: Task) -> Text:
        eta = task.fields.get("eta_s")
        if eta is None:
            return Text("")
        since = time.monotonic() - float(task.fields.get("shown_at", time.monotonic()))
        left = max(0.0, float(eta) - since)
        return Text("done" if task.finished else f"about {duration(left)} left", style="progress.remaining")


class BarsSink(ProgressSink):
    """An overall bar with the ETA, and one bar per stage that stays when the stage is over."""

    def __init__(self, stream: TextIO):
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[counts]}"),
            _CountdownColumn(),
            console=Console(file=stream),
        )
        self.overall = self.bars.add_task("overall", total=1000, counts="", eta_s=None)
        self.stage_bars: dict[str, TaskID] = {}
        self.bars.start()

    def _finish_stages_except(self, key: str | None) -> None:
        for stage, bar in self.stage_bars.items():
            if stage != key:
                total = self.bars.tasks[bar].total or 1
                self.bars.update(bar, completed=total, counts=f"{int(total)}/{int(total)}")

    def show(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        self.bars.update(self.overall, completed=round(event.overall * 1000), counts=f"{event.overall:.0%}",
                         eta_s=event.eta_s, shown_at=now)
        if event.stage in (DONE, FAILED):
            if event.stage == DONE:
                self._finish_stages_except(None)
            return
        self._finish_stages_except(event.stage)
        if event.stage not in self.stage_bars:
            self.stage_bars[event.stage] = self.bars.add_task("", total=event.total, counts="")
        self.bars.update(self.stage_bars[event.stage], completed=event.done, description=f"{event.title}: {event.step}",
                         counts=f"{event.done}/{event.total}")

    def close(self) -> None:
        self.bars.stop()


def sink_for(mode: str, *, stdout: TextIO, stderr: TextIO) -> ProgressSink:
    """`auto` draws bars when stderr is a terminal and writes plain lines when it is not;
    JSON goes to stdout, so a program reads it apart from the messages on stderr."""
    if mode == "auto":
        mode = "bar" if stderr.isatty() else "plain"
    if mode == "bar":
        return BarsSink(stderr)
    if mode == "plain":
        return PlainLinesSink(stderr)
    if mode == "json":
        return JsonLinesSink(stdout)
    if mode == "none":
        return SilentSink()
    raise ValueError(f"unknown progress mode {mode!r}: choose one of {', '.join(MODES)}")
