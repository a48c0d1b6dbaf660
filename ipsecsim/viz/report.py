"""The standard figures of one run, for ``ipsecsim run`` (``figures/``) or a notebook.

:func:`run_figures` returns ``{name: Figure}``; :func:`save_run_figures` writes
them as PNGs. A figure that cannot be drawn (for instance a ladder for a run
without IKE) is skipped and its error returned, so one bad figure never costs
the others.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def _drawers() -> dict[str, Callable[[Any], Any]]:
    from .ladder import draw_ike_ladder
    from .throughput import throughput_figure
    from .timeline import draw_sa_timeline
    from .topology import draw_topology

    return {
        "topology": lambda sim: draw_topology(sim, title=f"{getattr(sim, 'name', '')}: topology, "
                                                        "tunnels, flows and link load").figure,
        "ike_ladder": lambda sim: draw_ike_ladder(sim, title="IKE messages").figure,
        "sa_timeline": lambda sim: draw_sa_timeline(sim, title="SA lifecycle").figure,
        "throughput": lambda sim: throughput_figure(sim, title="goodput, latency and drops"),
    }


def run_figures(sim: Any, names: list[str] | None = None
                ) -> tuple[dict[str, Any], dict[str, str]]:
    """Figures of a run (``topology``, ``ike_ladder``, ``sa_timeline``, ``throughput``) and
    ``{name: error}`` for those that failed."""
    figs: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, draw in _drawers().items():
        if names is not None and name not in names:
            continue
        try:
            figs[name] = draw(sim)
        except Exception as exc:  # noqa: BLE001 - report, keep drawing the others
            errors[name] = f"{type(exc).__name__}: {exc}"
    return figs, errors


def save_run_figures(sim: Any, folder: str | Path, dpi: int = 110) -> list[Path]:
    """Write the run's figures as ``folder/<name>.png`` (errors as ``<name>.error.txt``)."""
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figs, errors = run_figures(sim)
    out = []
    for name, fig in figs.items():
        path = folder / f"{name}.png"
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        out.append(path)
    for name, err in errors.items():
        (folder / f"{name}.error.txt").write_text(err + "\n", encoding="utf-8")
    return out
