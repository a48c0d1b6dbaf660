"""The benchmark registry: ``@benchmark("name", "unit")`` on a function returning a number.

Adding a benchmark is a file ``benchmarks/bench_<topic>.py`` (found by
``run.py``) with::

    from registry import benchmark

    @benchmark("my_metric_per_s", "1/s")
    def my_metric() -> float:
        ...
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Benchmark:
    name: str
    """Metric name printed in the JSON line."""
    unit: str
    """Unit of the returned value (``us``, ``1/s``, ...)."""
    fn: Callable[[], float]
    """Runs the measurement and returns the value."""


REGISTRY: dict[str, Benchmark] = {}


def benchmark(name: str, unit: str) -> Callable[[Callable[[], float]], Callable[[], float]]:
    """Register ``fn`` as the benchmark ``name`` measured in ``unit``."""
    def deco(fn: Callable[[], float]) -> Callable[[], float]:
        if name in REGISTRY:
            raise ValueError(f"benchmark {name!r} registered twice")
        REGISTRY[name] = Benchmark(name, unit, fn)
        return fn
    return deco


def best_time_per_call(fn: Callable[[], object], number: int = 2000, repeat: int = 15) -> float:
    """Seconds per call: the best of ``repeat`` batches of ``number`` calls.

    The minimum is the figure least disturbed by other processes on a shared machine.
    """
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, time.perf_counter() - t0)
    return best / number
