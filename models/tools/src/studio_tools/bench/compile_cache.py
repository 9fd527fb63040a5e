"""Inductor's on-disk caches for the bench's ``torch.compile`` variant, and whether a warm-up hit them.

``torch.compile`` spends its warm-up in three places: Dynamo tracing the Python (every
process, uncached), AOTAutograd tracing the joint forward and backward graph (cached by
the AOTAutograd cache) and Inductor generating and compiling C++ kernels (cached by the
FX graph cache, whose entries hold the built kernels). With both caches in one folder
that survives the process, a second bench's warm-up is Dynamo tracing plus loading.
Entries are keyed by the graph, the PyTorch version and the thread count, so one compiled
under other threads or another PyTorch is not reused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from torch._dynamo.utils import counters


def use_compile_cache(directory: Path) -> Path:
    """Points Inductor's caches at `directory` and turns the FX graph and AOTAutograd caches on."""
    import torch._functorch.config as functorch_config
    import torch._inductor.config as inductor_config

    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    # Inductor reads the variable each time it needs the folder, so setting it here is enough.
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(directory)
    inductor_config.fx_graph_cache = True
    functorch_config.enable_autograd_cache = True
    return directory


@dataclass(frozen=True)
class CacheLookups:
    """Hits and misses of the two caches; subtract two readings for what happened in between."""

    fx_graph_hits: int
    fx_graph_misses: int
    aot_autograd_hits: int
    aot_autograd_misses: int

    @staticmethod
    def now() -> CacheLookups:
        return CacheLookups(
            fx_graph_hits=counters["inductor"]["fxgraph_cache_hit"],
            fx_graph_misses=counters["inductor"]["fxgraph_cache_miss"] + counters["inductor"]["fxgraph_cache_bypass"],
            aot_autograd_hits=counters["aot_autograd"]["autograd_cache_hit"],
            aot_autograd_misses=counters["aot_autograd"]["autograd_cache_miss"]
            + counters["aot_autograd"]["autograd_cache_bypass"],
        )

    def since(self, earlier: CacheLookups) -> CacheLookups:
        return CacheLookups(
            fx_graph_hits=self.fx_graph_hits - earlier.fx_graph_hits,
            fx_graph_misses=self.fx_graph_misses - earlier.fx_graph_misses,
            aot_autograd_hits=self.aot_autograd_hits - earlier.aot_autograd_hits,
            aot_autograd_misses=self.aot_autograd_misses - earlier.aot_autograd_misses,
        )

    @property
    def verdict(self) -> str:
        """``hit`` (all compiled graphs loaded), ``miss`` (none), ``partial``, or ``none`` (nothing compiled)."""
        hits = self.fx_graph_hits + self.aot_autograd_hits
        misses = self.fx_graph_misses + self.aot_autograd_misses
        if hits == 0 and misses == 0:
            return "none"
        if misses == 0:
            return "hit"
        return "miss" if hits == 0 else "partial"

    def as_report(self) -> dict[str, int | str]:
        return {
            "verdict": self.verdict,
            "fx_graph_hits": self.fx_graph_hits,
            "fx_graph_misses": self.fx_graph_misses,
            "aot_autograd_hits": self.aot_autograd_hits,
            "aot_autograd_misses": self.aot_autograd_misses,
        }
