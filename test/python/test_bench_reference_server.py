"""The bench's PyTorch reference as a server (`studio_tools.bench.reference --serve`), driven as the
bench drives it: a real process on the tiny test model, JSON lines over its stdin and stdout. Every
request it cannot act on gets an error line that says what was wrong, and the server answers the
next request as if nothing had happened."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio_tools.bench.compile_cache import CacheLookups

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = ROOT / "test" / "fixtures" / "tiny-model-torch"
REPLY_TIMEOUT_S = 300


class ReferenceProcess:
    """One server process; `ask` sends a raw line and returns the reply line, parsed."""

    def __init__(self, *extra: str, weights: Path = WEIGHTS) -> None:
        command = [
            sys.executable, "-m", "studio_tools.bench.reference", "--serve",
            "--config", str(weights / "config.json"), "--unet", str(weights / "unet.pt"),
            "--classifier", str(weights / "classifier.pt"), "--steps", "ddim4", "--threads", "1", *extra,
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "models" / "tools" / "src"), "OMP_WAIT_POLICY": "PASSIVE"}
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = self.reply()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def reply(self) -> dict:
        line = self.lines.get(timeout=REPLY_TIMEOUT_S)
        assert line is not None, "the server closed its output"
        return json.loads(line)

    def ask(self, line: str) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.reply()

    def request(self, **fields: object) -> dict:
        return self.ask(json.dumps(fields))

    def close(self) -> int:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        return self.process.wait(timeout=REPLY_TIMEOUT_S)


@pytest.fixture(scope="module")
def server() -> Iterator[ReferenceProcess]:
    process = ReferenceProcess()
    yield process
    process.close()


def test_it_announces_itself_with_its_variants(server) -> None:
    assert server.ready["ok"] is True and server.ready["op"] == "ready"
    assert server.ready["variants"] == ["eager", "channels-last", "compile"]
    assert server.ready["steps"] == "ddim4"


def test_a_timing_comes_only_after_the_warm_up_and_times_the_whole_run(server) -> None:
    refused = server.request(op="time", variant="channels-last", batch=2, threads=1)
    assert refused["ok"] is False
    assert "channels-last at batch 2 has not been warmed up" in refused["error"]
    assert '"op": "warm-up"' in refused["error"]

    warm = server.request(op="warm-up", variant="channels-last", batch=2, threads=1)
    assert warm["ok"] is True and warm["steps"] == 2 and warm["warmup_s"] > 0
    assert warm["compile_cache"]["verdict"] == "none"  # nothing is compiled outside the compile variant

    timed = server.request(op="time", variant="channels-last", batch=2, threads=1)
    assert timed["ok"] is True
    assert (timed["variant"], timed["batch"], timed["threads"], timed["steps"]) == ("channels-last", 2, 1, 4)
    assert timed["seconds_per_image"] == pytest.approx(timed["total_s"] / 2)
    # Both networks run once per step inside the run, so their calls take less than the whole.
    assert 0 < (timed["unet_ms_per_step"] + timed["classifier_ms_per_step"]) * 4 / 1000 < timed["total_s"]

    # A warm-up holds for its batch only.
    other_batch = server.request(op="time", variant="channels-last", batch=3, threads=1)
    assert other_batch["ok"] is False and "batch 3" in other_batch["error"]


def test_a_malformed_line_gets_an_error_line_and_the_server_stays_up(server) -> None:
    for line in ("not json", '{"op": "time", "variant": "eager"', "{'op': 'time'}"):
        reply = server.ask(line)
        assert reply["ok"] is False
        assert reply["error"].startswith("The request is not JSON")
        assert "one JSON object per line" in reply["error"]
    assert server.request(op="warm-up", variant="eager", batch=1, threads=1)["ok"] is True
    assert server.process.poll() is None


def test_an_unknown_variant_is_refused_by_name(server) -> None:
    for op in ("warm-up", "time"):
        reply = server.request(op=op, variant="tensorrt", batch=2, threads=1)
        assert reply["ok"] is False
        assert reply["error"] == 'Unknown variant "tensorrt"; this server runs eager, channels-last, compile.'
    missing = server.request(op="warm-up", batch=2, threads=1)
    assert missing["error"] == "Unknown variant null; this server runs eager, channels-last, compile."


@pytest.mark.parametrize(("fields", "named"), [
    ({"op": "warm-up", "variant": "eager", "batch": 0, "threads": 1}, '"batch" as a positive integer'),
    ({"op": "warm-up", "variant": "eager", "batch": "16", "threads": 1}, '"batch" as a positive integer'),
    ({"op": "warm-up", "variant": "eager", "batch": True, "threads": 1}, '"batch" as a positive integer'),
    ({"op": "time", "variant": "eager", "batch": 2}, '"threads" as a positive integer'),
    ({"op": "matmul-peak", "threads": -2}, '"threads" as a positive integer'),
    ({"op": "sample", "variant": "eager"}, 'Unknown op "sample"; the ops are warm-up, time, flops, matmul-peak, quit'),
    ({"variant": "eager", "batch": 2}, "Unknown op null"),
])
def test_a_request_with_a_wrong_field_is_refused_with_what_to_send(server, fields, named) -> None:
    reply = server.request(**fields)
    assert reply["ok"] is False and named in reply["error"]


def test_a_request_that_is_not_an_object_is_refused(server) -> None:
    for line in ("[1, 2]", '"time"', "16"):
        reply = server.ask(line)
        assert reply["ok"] is False and reply["error"].startswith('A request is a JSON object with an "op"')


def test_each_request_runs_on_the_threads_it_names(server) -> None:
    assert server.request(op="warm-up", variant="eager", batch=2, threads=2)["threads"] == 2
    assert server.request(op="time", variant="eager", batch=2, threads=1)["threads"] == 1
    peak = server.request(op="matmul-peak", threads=2)
    assert peak["threads"] == 2 and peak["flops_per_s"] > 0


def test_flops_are_counted_per_image(server) -> None:
    flops = server.request(op="flops")
    assert flops["ok"] is True and flops["unet_per_image"] > 0 and flops["classifier_gradient_per_image"] > 0


def test_quit_ends_the_server_and_so_does_the_end_of_its_input() -> None:
    quitting = ReferenceProcess()
    assert quitting.request(op="quit") == {"ok": True, "op": "quit"}
    assert quitting.process.wait(timeout=REPLY_TIMEOUT_S) == 0

    closed = ReferenceProcess()
    assert closed.close() == 0


def test_weights_that_do_not_load_are_reported_on_the_ready_line(tmp_path) -> None:
    broken = tmp_path / "weights"
    broken.mkdir()
    (broken / "config.json").write_text((WEIGHTS / "config.json").read_text(encoding="utf-8"), encoding="utf-8")
    (broken / "unet.pt").write_bytes(b"not a state dict")
    (broken / "classifier.pt").write_bytes((WEIGHTS / "classifier.pt").read_bytes())
    process = ReferenceProcess(weights=broken)
    assert process.ready["ok"] is False and process.ready["op"] == "ready"
    assert process.ready["error"].startswith("The reference could not load its weights:")
    assert process.close() == 1


def test_the_cache_verdict_reads_the_lookups_of_one_warm_up() -> None:
    before = CacheLookups(fx_graph_hits=3, fx_graph_misses=3, aot_autograd_hits=0, aot_autograd_misses=2)
    loaded = CacheLookups(fx_graph_hits=6, fx_graph_misses=3, aot_autograd_hits=2, aot_autograd_misses=2)
    built = CacheLookups(fx_graph_hits=3, fx_graph_misses=6, aot_autograd_hits=0, aot_autograd_misses=4)
    mixed = CacheLookups(fx_graph_hits=4, fx_graph_misses=5, aot_autograd_hits=1, aot_autograd_misses=3)
    assert loaded.since(before).verdict == "hit"
    assert built.since(before).verdict == "miss"
    assert mixed.since(before).verdict == "partial"
    assert before.since(before).verdict == "none"
    assert built.since(before).as_report() == {
        "verdict": "miss", "fx_graph_hits": 0, "fx_graph_misses": 3, "aot_autograd_hits": 0, "aot_autograd_misses": 2,
    }
