"""One point of a sweep: one :class:`~ipsecsim.sim.Simulation`, its summary's figures.

:func:`run_point` is what a Dask worker (or this process, for a serial sweep) executes; it
takes a plain topology dict and a seed -- both pickle small and carry no state from the
caller -- and returns the summary (``summary.json``'s shape) cut down to its figures: the
numbers and the mappings that hold them. Text (the topology's name, a flow's type and
addresses), lists (the IKE failures' details) and the seed (the results have their own
column) are left out. :mod:`.table` flattens what comes back into columns.
"""

from __future__ import annotations

from typing import Any

LEFT_OUT = ("seed", "topology")
"""Top-level summary entries that are not figures of the run."""


def figures(summary: dict[str, Any]) -> dict[str, Any]:
    """``summary`` with only numbers (``None`` kept: a figure the run could not compute) and
    the mappings holding them; booleans become 0/1."""
    return {k: v for k, v in _numbers(summary).items() if k not in LEFT_OUT}


def _numbers(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out[str(k)] = _numbers(v)
        elif isinstance(v, bool):
            out[str(k)] = int(v)
        elif v is None or isinstance(v, int | float):
            out[str(k)] = v
    return out


def run_point(topo: dict[str, Any], seed: int | str) -> dict[str, Any]:
    """Build the topology (validated again, cheap), run it for its ``duration``, return
    :func:`figures` of its summary."""
    from ..sim.runner import Simulation

    sim = Simulation.from_dict(topo, seed=seed)
    sim.run()
    return figures(sim.summary())
