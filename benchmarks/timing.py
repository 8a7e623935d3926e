"""Interleaved timing of the workloads over one in-memory corpus.

Why interleave: on a shared machine the load changes from second to second. Running
library A's five repetitions and then library B's would charge a noisy minute to one of
them. Instead every repetition runs each library once, in a rotating order, so noise is
spread over all of them, and the best (minimum) of the repetitions is the figure least
polluted by it. The median is kept too, to show how noisy the run was.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks.workloads import Library

__all__ = ["Timing", "time_workload"]

WARMUP_MESSAGES = 20  # enough to import lazily loaded codecs and fill caches


@dataclass(slots=True)
class Timing:
    library: str
    workload: str
    runs: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def _one_pass(fn: Callable[[bytes], object], messages: list[bytes], t: Timing) -> float:
    errors = 0
    start = time.perf_counter()
    for raw in messages:
        # try/except costs nothing in 3.11 unless something raises, and one bad message
        # must not throw away the whole measurement.
        try:
            fn(raw)
        except Exception as exc:
            errors += 1
            if not t.first_error:
                t.first_error = repr(exc)
    elapsed = time.perf_counter() - start
    t.errors = max(t.errors, errors)
    return elapsed


def time_workload(
    workload: str,
    libraries: list[Library],
    messages: list[bytes],
    repeat: int,
    progress: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Timing]:
    """Best-of-``repeat`` timings of ``workload`` for each library, interleaved."""
    timings = {lib.name: Timing(lib.name, workload) for lib in libraries}
    for lib in libraries:
        _one_pass(lib.workload(workload), messages[:WARMUP_MESSAGES], Timing(lib.name, "warmup"))
    for rep in range(repeat):
        shift = rep % len(libraries)
        for lib in libraries[shift:] + libraries[:shift]:
            # Collect between phases so one library's garbage is not collected on the
            # next one's clock; gc stays enabled inside the phase, as in real use.
            gc.collect()
            t = timings[lib.name]
            t.runs.append(_one_pass(lib.workload(workload), messages, t))
            progress(f"{workload} rep {rep + 1}/{repeat} {lib.name}: {t.runs[-1]:.3f}s")
    gc.collect()
    return timings
