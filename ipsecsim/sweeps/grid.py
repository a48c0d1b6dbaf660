"""The grid x seeds, expanded in one fixed order, and every point's topology checked.

Order: the cross product of the grid's keys in the file's order, the first key varying
slowest (like nested loops written top to bottom), and for each grid combination its seeds
in the order given. ``Point.index`` is the position in that order: the row of the results,
whatever order the runs finish in.
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass
from typing import Any

from ..sim import topology as T
from .paths import assign
from .spec import Problem, SweepError, SweepSpec


@dataclass(frozen=True)
class Point:
    """One run of a sweep: a value per grid key and a seed."""

    index: int
    """The row of this run in the results (grid order)."""
    combo: int
    """Which grid combination (the same for the seeds of one combination)."""
    values: tuple[Any, ...]
    """One value per :attr:`SweepSpec.axes`, in their order."""
    seed: int | str


def combinations(spec: SweepSpec) -> list[tuple[Any, ...]]:
    """The grid's combinations of values, the first axis slowest."""
    return list(itertools.product(*(a.values for a in spec.axes)))


def points(spec: SweepSpec) -> list[Point]:
    """Every run of the sweep in grid order: combinations outer, seeds inner."""
    out: list[Point] = []
    for c, values in enumerate(combinations(spec)):
        for seed in spec.seeds:
            out.append(Point(len(out), c, values, seed))
    return out


def topology(spec: SweepSpec, values: tuple[Any, ...]) -> dict[str, Any]:
    """The base topology with one value per axis set at every place the axis names."""
    topo = copy.deepcopy(spec.base)
    for axis, value in zip(spec.axes, values, strict=True):
        for target in axis.targets:
            assign(topo, target, value)
    return topo


def label(value: Any) -> Any:
    """A grid value as its column shows it: scalars as they are, lists of scalars joined by
    commas (``[aes128gcm16, aes256gcm16]`` -> ``aes128gcm16,aes256gcm16``), others as JSON."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list) and all(isinstance(v, int | float | str) for v in value):
        return ",".join(str(v) for v in value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _problems(topo: dict[str, Any]) -> list[str]:
    try:
        T.validate(topo, "<point>")
    except T.TopologyError as exc:
        return [p.message for p in exc.problems]
    return []


def check(spec: SweepSpec) -> None:
    """Validate every grid point's topology before any runs; raise :class:`SweepError`.

    Each value is first tried alone on the base, so a bad value is reported at its own line
    in the sweep file; then every combination, reported at ``grid:``'s line with its values.
    """
    problems: list[Problem] = []
    bad_values: set[tuple[int, int]] = set()
    for i, axis in enumerate(spec.axes):
        for j, value in enumerate(axis.values):
            topo = copy.deepcopy(spec.base)
            for target in axis.targets:
                assign(topo, target, value)
            for msg in _problems(topo):
                bad_values.add((i, j))
                problems.append(Problem(spec.source, axis.value_lines[j],
                                        f"grid: {axis.key} = {label(value)}: {msg}"))
    if len(spec.axes) > 1:
        index = [{_key(v): j for j, v in enumerate(a.values)} for a in spec.axes]
        for c, values in enumerate(combinations(spec)):
            if any((i, index[i][_key(v)]) in bad_values for i, v in enumerate(values)):
                continue  # already reported at the value's own line
            for msg in _problems(topology(spec, values)):
                where = ", ".join(f"{a.key}={label(v)}" for a, v in zip(spec.axes, values,
                                                                         strict=True))
                problems.append(Problem(spec.source, spec.grid_line,
                                        f"grid: combination {c} ({where}): {msg}"))
    if problems:
        problems.sort(key=lambda p: p.line)
        raise SweepError(problems)


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
