"""The PyTorch reference as a long-lived process, so the bench can alternate it with the engine.

``python -m studio_tools.bench.reference --serve …`` loads the weights once, prints one
ready line and then answers one JSON line on stdout for every JSON line it reads on stdin::

    → {"op": "warm-up", "variant": "compile", "batch": 16, "threads": 2}
    ← {"ok": true, "op": "warm-up", "variant": "compile", "batch": 16, "threads": 2,
       "steps": 2, "warmup_s": 41.2, "compile_cache": {"verdict": "hit", "fx_graph_hits": 4, …}}
    → {"op": "time", "variant": "compile", "batch": 16, "threads": 2}
    ← {"ok": true, "op": "time", "variant": "compile", "batch": 16, "threads": 2,
       "seconds_per_image": …, "unet_ms_per_step": …, "classifier_ms_per_step": …,
       "total_s": …, "steps": 50}
    → {"op": "flops"}                         ← {"ok": true, "op": "flops", "unet_per_image": …, …}
    → {"op": "matmul-peak", "threads": 2}     ← {"ok": true, "op": "matmul-peak", "flops_per_s": …, …}
    → {"op": "quit"}                          ← {"ok": true, "op": "quit"}, and it exits

A variant is timed only after its warm-up at that batch (untimed: allocator, oneDNN's
primitive choice, compilation), so a timing never includes a compile. A request that is
not understood gets ``{"ok": false, "error": "<what was wrong and what to send>"}`` and the
server goes on; so does one whose run fails. End of input ends the server as ``quit`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..diffusion.torch_model import ModelConfig, load_models
from .compile_cache import CacheLookups

OPERATIONS = ("warm-up", "time", "flops", "matmul-peak", "quit")
Reply = dict[str, Any]


class RequestError(ValueError):
    """A request line the server cannot act on; its message is the sentence sent back."""


@dataclass(frozen=True)
class Request:
    op: str
    variant: str | None = None
    batch: int | None = None
    threads: int | None = None


def _positive_integer(fields: dict[str, Any], name: str, op: str, example: int) -> int:
    value = fields.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RequestError(f'"{op}" needs "{name}" as a positive integer, e.g. {example}; got {json.dumps(value)}.')
    return value


def parse_request(line: str, variants: Iterable[str]) -> Request:
    """The request one line holds, or a RequestError that says what is wrong with it."""
    try:
        fields = json.loads(line)
    except json.JSONDecodeError as error:
        raise RequestError(
            f"The request is not JSON ({error.msg} at column {error.colno}); send one JSON object per line, "
            'e.g. {"op": "time", "variant": "eager", "batch": 16, "threads": 2}.'
        ) from None
    if not isinstance(fields, dict):
        raise RequestError(f'A request is a JSON object with an "op"; got {json.dumps(fields)[:80]}.')
    op = fields.get("op")
    if op not in OPERATIONS:
        raise RequestError(f'Unknown op {json.dumps(op)}; the ops are {", ".join(OPERATIONS)}.')
    if op in ("flops", "quit"):
        return Request(op)
    threads = _positive_integer(fields, "threads", op, 2)
    if op == "matmul-peak":
        return Request(op, threads=threads)
    known = tuple(variants)
    variant = fields.get("variant")
    if variant not in known:
        raise RequestError(f"Unknown variant {json.dumps(variant)}; this server runs {', '.join(known)}.")
    return Request(op, variant=variant, batch=_positive_integer(fields, "batch", op, 16), threads=threads)


@dataclass(frozen=True)
class SamplingRun:
    """What one sampling run measured: wall time and the per-call time of each network."""

    total_s: float
    unet_ms_per_step: float
    classifier_ms_per_step: float
    steps: int


RunSampling = Callable[[torch.nn.Module, torch.nn.Module, int, str, bool], SamplingRun]


class ReferenceServer:
    """One loaded set of weights, a network pair per variant, and the (variant, batch) pairs warmed up."""

    def __init__(
        self, config: ModelConfig, unet_path: Path, classifier_path: Path, *, steps: str, warmup_steps: str,
        variants: Iterable[str], prepare: Callable[[torch.nn.Module, str], torch.nn.Module],
        run_sampling: RunSampling, flops: Callable[[ModelConfig, torch.nn.Module, torch.nn.Module], dict[str, int]],
        matmul_peak: Callable[[], float],
    ) -> None:
        self.config, self.unet_path, self.classifier_path = config, unet_path, classifier_path
        self.steps, self.warmup_steps = steps, warmup_steps
        self.variants = tuple(variants)
        self.prepare, self.run_sampling, self.flops, self.matmul_peak = prepare, run_sampling, flops, matmul_peak
        self.networks: dict[str, tuple[torch.nn.Module, torch.nn.Module]] = {}
        self.warmed: set[tuple[str, int]] = set()

    def networks_of(self, variant: str) -> tuple[torch.nn.Module, torch.nn.Module]:
        # Fresh modules per variant: channels-last converts them in place.
        if variant not in self.networks:
            unet, classifier = load_models(self.config, self.unet_path, self.classifier_path)
            assert classifier is not None, "the reference samples with the classifier's guidance"
            self.networks[variant] = (self.prepare(unet, variant), self.prepare(classifier, variant))
        return self.networks[variant]

    def answer(self, line: str) -> Reply:
        try:
            request = parse_request(line, self.variants)
        except RequestError as error:
            return {"ok": False, "error": str(error)}
        if request.threads is not None:
            torch.set_num_threads(request.threads)
        try:
            return {"ok": True, "op": request.op, **self.perform(request)}
        except RequestError as error:
            return {"ok": False, "op": request.op, "error": str(error)}
        except Exception as error:  # a failed run is reported and the next request still served
            failed = f"The {request.op} request failed: {type(error).__name__}: {error}"
            return {"ok": False, "op": request.op, "error": failed}

    def perform(self, request: Request) -> Reply:
        if request.op == "quit":
            return {}
        if request.op == "flops":
            unet, classifier = self.networks_of("eager")
            return dict(self.flops(self.config, unet, classifier))
        if request.op == "matmul-peak":
            return {"threads": torch.get_num_threads(), "flops_per_s": self.matmul_peak()}
        assert request.variant is not None and request.batch is not None
        variant, batch = request.variant, request.batch
        unet, classifier = self.networks_of(variant)
        channels_last = variant == "channels-last"
        about = {"variant": variant, "batch": batch, "threads": torch.get_num_threads()}
        if request.op == "warm-up":
            before = CacheLookups.now()
            run = self.run_sampling(unet, classifier, batch, self.warmup_steps, channels_last)
            self.warmed.add((variant, batch))
            lookups = CacheLookups.now().since(before)
            return {**about, "steps": run.steps, "warmup_s": run.total_s, "compile_cache": lookups.as_report()}
        if (variant, batch) not in self.warmed:
            raise RequestError(
                f'{variant} at batch {batch} has not been warmed up; send {{"op": "warm-up", "variant": "{variant}", '
                f'"batch": {batch}, "threads": …}} first, so that no timing includes a compile.'
            )
        run = self.run_sampling(unet, classifier, batch, self.steps, channels_last)
        return {
            **about, "seconds_per_image": run.total_s / batch, "unet_ms_per_step": run.unet_ms_per_step,
            "classifier_ms_per_step": run.classifier_ms_per_step, "total_s": run.total_s, "steps": run.steps,
        }


def serve(server: ReferenceServer, lines: Iterable[str], send: Callable[[Reply], None]) -> None:
    """Answers each non-blank line in turn until ``quit`` or the end of the lines."""
    for line in lines:
        if not line.strip():
            continue
        reply = server.answer(line)
        send(reply)
        if reply.get("op") == "quit" and reply["ok"]:
            return


def protocol_channel() -> Callable[[Reply], None]:
    """A sender on the process's stdout, which from now on belongs to the protocol alone: whatever
    else writes to file descriptor 1 (PyTorch, a compiler it runs) lands on stderr instead."""
    sys.stdout.flush()
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def send(reply: Reply) -> None:
        channel.write(json.dumps(reply) + "\n")
        channel.flush()

    return send


def serve_stdio(server_for: Callable[[], tuple[ReferenceServer, Reply]], args: argparse.Namespace) -> int:
    """Builds the server, announces it with a ready line (or why it could not start) and serves stdin."""
    send = protocol_channel()
    started = time.perf_counter()
    try:
        server, about = server_for()
    except Exception as error:
        send({"ok": False, "op": "ready", "error": f"The reference could not load its weights: {error}"})
        return 1
    send({
        "ok": True, "op": "ready", "torch": torch.__version__, "variants": list(server.variants),
        "steps": args.steps, "sampler": args.sampler, "load_s": time.perf_counter() - started, **about,
    })
    serve(server, sys.stdin, send)
    return 0
