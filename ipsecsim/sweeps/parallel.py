"""Running a sweep's points on Dask (``dask.distributed``), or serially in this process.

* ``scheduler="tcp://HOST:8786"``: the cluster behind that scheduler (its workers need
  ipsecsim installed, the same version);
* ``client=``: a :class:`distributed.Client` the caller already holds (left open);
* otherwise a :class:`distributed.LocalCluster` of ``workers`` processes with one thread each
  (a simulation is pure Python: threads would share one GIL), closed at the end; ``workers``
  defaults to the machine's cores, at most one per run;
* ``workers=0``: no Dask at all, every run in this process, one after the other.

Each point is submitted with its index in its task key; results are put back at that index,
so the list returned is in grid order whichever run finished first. The progress bar (tqdm,
on stderr) counts finished runs.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Sequence
from typing import Any

from .run import run_point
from .spec import Problem

Task = tuple[dict[str, Any], int | str]
"""What one run needs: the point's topology and its seed."""


class PointFailed(Exception):
    """A run that raised; ``index`` is its row, the message the worker's exception."""

    def __init__(self, index: int, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.index = index
        self.error = error
        self.problem: Problem | None = None
        """Set by :func:`ipsecsim.sweep`: the sweep file's line and the point's values."""


def default_workers(runs: int) -> int:
    """The machine's cores (as this process may use them), at most ``runs``, at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, runs))


def run_tasks(tasks: Sequence[Task], *, workers: int | None = None, scheduler: str | None = None,
              client: Any = None, progress: bool = False, desc: str = "sweep") -> list[dict[str, Any]]:
    """Run every task; return their results in the tasks' order (:class:`PointFailed` if one raises)."""
    bar = _bar(len(tasks), progress, desc)
    try:
        if client is None and scheduler is None and workers == 0:
            return _serial(tasks, bar)
        if client is not None:
            return _on(client, tasks, bar)
        from distributed import Client

        if scheduler is not None:
            with Client(scheduler) as own:
                return _on(own, tasks, bar)
        from distributed import LocalCluster

        n = default_workers(len(tasks)) if workers is None else workers
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                          dashboard_address=":0", host="127.0.0.1",
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as own:
            return _on(own, tasks, bar)
    finally:
        if bar is not None:
            bar.close()


def _bar(total: int, progress: bool, desc: str) -> Any:
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="run", file=sys.stderr, desc=desc)


def _serial(tasks: Sequence[Task], bar: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, (topo, seed) in enumerate(tasks):
        try:
            out.append(run_point(topo, seed))
        except Exception as exc:  # reported with the point's values by the caller
            raise PointFailed(i, exc) from exc
        if bar is not None:
            bar.update(1)
    return out


def _on(client: Any, tasks: Sequence[Task], bar: Any) -> list[dict[str, Any]]:
    from distributed import as_completed

    tag = uuid.uuid4().hex[:12]
    futures = [client.submit(run_point, topo, seed, key=f"ipsecsim-sweep-{tag}-{i}", pure=False)
               for i, (topo, seed) in enumerate(tasks)]
    where = {f.key: i for i, f in enumerate(futures)}
    results: list[dict[str, Any] | None] = [None] * len(tasks)
    try:
        for fut in as_completed(futures):
            i = where[fut.key]
            if fut.status == "error":
                exc = fut.exception()
                raise PointFailed(i, exc if isinstance(exc, BaseException) else RuntimeError(exc))
            results[i] = fut.result()
            if bar is not None:
                bar.update(1)
    finally:
        client.cancel([f for f in futures if not f.done()])
    return [r for r in results if r is not None]
