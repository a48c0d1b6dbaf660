"""The results table: a row per run in grid order, a column per grid key, ``seed``, figures.

The figures are the runs' summaries flattened with dots (``packets.sent``,
``packets.dropped.integrity``, ``flows.voice.latency_ms.mean``). The columns are the union
over all rows, in one order computed from the rows in grid order, so the table does not depend
on which run finished first. A figure a row lacks is

* ``0`` when the mapping that would hold it is there (``packets.dropped`` with no
  ``integrity`` drop: none happened);
* missing (NaN, an empty CSV cell) when that mapping is absent too (no ``latency_ms`` for a
  flow that delivered nothing) or the run reported ``None``.

A figure whose name is also a grid key (``links.wan-a.mtu``) is left out: the grid's column
holds the value asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .grid import Point, label
from .spec import SweepSpec

if TYPE_CHECKING:
    import pandas as pd

_Shape = dict[str, "_Shape | None"]
"""The merged key tree of the summaries: a mapping's keys, ``None`` at a figure."""


def _merge(shape: _Shape, d: dict[str, Any]) -> None:
    for k, v in d.items():
        if isinstance(v, dict):
            sub = shape.get(k)
            if not isinstance(sub, dict):
                sub = shape[k] = {}
            _merge(sub, v)
        else:
            shape.setdefault(k, None)


def _sorted_where_sorted(shape: _Shape, rows: Sequence[dict[str, Any] | None]) -> _Shape:
    """Each mapping's keys sorted if every row gave them sorted (drop reasons), else as met."""
    out: _Shape = {}
    present = [r for r in rows if isinstance(r, dict)]
    keys = list(shape)
    if all(list(r) == sorted(r) for r in present) and keys != sorted(keys):
        keys = sorted(keys)
    for k in keys:
        sub = shape[k]
        if isinstance(sub, dict):
            out[k] = _sorted_where_sorted(sub, [r.get(k) for r in present])
        else:
            out[k] = None
    return out


def _columns(shape: _Shape, prefix: str = "") -> list[tuple[str, tuple[str, ...]]]:
    out: list[tuple[str, tuple[str, ...]]] = []
    for k, sub in shape.items():
        name = f"{prefix}{k}"
        if isinstance(sub, dict):
            out += [(c, (k, *p)) for c, p in _columns(sub, name + ".")]
        else:
            out.append((name, (k,)))
    return out


def _value(row: dict[str, Any], path: tuple[str, ...]) -> Any:
    cur: Any = row
    for k in path[:-1]:
        cur = cur.get(k) if isinstance(cur, dict) else None
        if not isinstance(cur, dict):
            return float("nan")
    if path[-1] not in cur:
        return 0
    v = cur[path[-1]]
    return float("nan") if v is None else v


def figure_columns(results: Sequence[dict[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    """The flattened figure columns of ``results`` (in grid order) and each one's key path."""
    shape: _Shape = {}
    for r in results:
        _merge(shape, r)
    return _columns(_sorted_where_sorted(shape, list(results)))


def table(spec: SweepSpec, points: Sequence[Point], results: Sequence[dict[str, Any]]
          ) -> pd.DataFrame:
    """The results as a DataFrame: ``results[i]`` is :func:`.run.figures` of ``points[i]``."""
    import pandas as pd

    keys = [a.key for a in spec.axes]
    figs = [(c, p) for c, p in figure_columns(results) if c not in keys and c != "seed"]
    rows = []
    for point, res in zip(points, results, strict=True):
        rows.append([label(v) for v in point.values] + [point.seed]
                    + [_value(res, p) for _, p in figs])
    return pd.DataFrame(rows, columns=[*keys, "seed", *(c for c, _ in figs)])
