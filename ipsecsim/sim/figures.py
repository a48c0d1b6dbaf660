"""``figures/`` of a run: drawn by :mod:`ipsecsim.viz` from the trace.

One place draws figures (``ipsecsim.viz.report``); it already writes a
``<name>.error.txt`` for a figure that fails, so a figure never costs the run
its other outputs. Only an error outside the drawers (a broken install, say)
is caught here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .runner import Simulation


def write_figures(sim: Simulation, folder: Path) -> list[Path]:
    """Write topology, IKE ladder, SA timeline and the other run figures as PNGs."""
    import matplotlib

    matplotlib.use("Agg")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        from ..viz.report import save_run_figures

        return list(save_run_figures(sim, folder))
    except Exception as exc:  # noqa: BLE001 - the summary, trace and pcaps are still written
        (folder / "figures.error.txt").write_text(f"{type(exc).__name__}: {exc}\n")
        return []
