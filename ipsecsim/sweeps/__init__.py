"""Parameter sweeps: a base topology, a grid of key paths -> values, seeds; one run per point.

>>> import ipsecsim
>>> df = ipsecsim.sweep("sweeps/proposals-mode-mtu.yaml", workers=2)   # doctest: +SKIP
>>> df.groupby("links.wan-*.mtu")["packets.delivered"].mean()            # doctest: +SKIP

The file's shape is in shared INTERFACES.md ("Sweeps") and :mod:`.spec`; ``ipsecsim sweep``
(:mod:`ipsecsim.cli.sweep`) is this function plus :func:`.output.write_results`.

Modules: :mod:`.spec` (the sweep file, line-numbered problems), :mod:`.paths` (dotted key
paths, list indices, ``*`` patterns), :mod:`.grid` (the points in grid order, every point's
topology validated), :mod:`.run` (one point = one Simulation -> its summary's figures),
:mod:`.parallel` (Dask: a LocalCluster, a scheduler address or a client; or serial),
:mod:`.table` (the DataFrame), :mod:`.output` (CSV, Parquet, figures).

The package is ``sweeps`` and the function ``ipsecsim.sweep``: a package named ``sweep``
would replace the function as the attribute ``ipsecsim.sweep`` as soon as it was imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .spec import SweepError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SweepError", "sweep"]


def sweep(source: str | Path | dict[str, Any], *, workers: int | None = None,
          scheduler: str | None = None, client: Any = None, progress: bool = False,
          out: str | Path | None = None) -> pd.DataFrame:
    """Run a sweep (a file or the same shape as a dict) and return its results table.

    ``workers``: processes of a local Dask cluster (default: the cores, at most one per run;
    ``0`` runs everything in this process without Dask); ``scheduler``: the address of a
    running Dask scheduler (``tcp://HOST:8786``) to use instead; ``client``: a
    ``distributed.Client`` to use instead (left open). ``out``: a folder to write
    ``results.csv``, ``results.parquet`` and ``figures/`` into. The table is the same,
    row for row, whatever runs it. Raises :class:`SweepError` (``FILE:LINE: message``
    problems) before running anything when the file, a key path or a point's topology is bad,
    and :class:`~.parallel.PointFailed` when a run raises.
    """
    from . import grid, spec
    from .parallel import PointFailed, run_tasks
    from .table import table

    s = spec.load(source)
    grid.check(s)
    pts = grid.points(s)
    topos = {c: grid.topology(s, v) for c, v in enumerate(grid.combinations(s))}
    try:
        results = run_tasks([(topos[p.combo], p.seed) for p in pts], workers=workers,
                            scheduler=scheduler, client=client, progress=progress, desc=s.name)
    except PointFailed as exc:
        p = pts[exc.index]
        where = ", ".join(f"{a.key}={grid.label(v)}" for a, v in zip(s.axes, p.values, strict=True))
        exc.problem = spec.Problem(s.source, s.grid_line,
                                   f"run {p.index} ({where}, seed={p.seed}) failed: {exc}")
        raise
    df = table(s, pts, results)
    if out is not None:
        from .output import write_results

        write_results(df, out)
    return df
