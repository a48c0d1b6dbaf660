"""A sweep file: a base topology, a grid of key paths -> values, and seeds.

.. code-block:: yaml

    base: ../topologies/site-to-site.yaml     # relative to this file
    set:                                      # optional: fixed changes to the base, every run
      duration: 5
    grid:                                     # key paths (see paths.py) -> lists of values
      links.wan-a.loss: [0, 0.01, 0.05]
      traffic.voice.size: [200, 1200]
    seeds: [1, 2]                             # optional: the base's seed alone by default

:func:`load` reads it (a path, or the same shape as a dict), resolves every key path against
the base and returns a :class:`SweepSpec`; every problem is a
:class:`~ipsecsim.sim.topology.Problem` ``FILE:LINE: message`` with the sweep file's line, all
of them raised together in a :class:`SweepError`. Whether each grid point's topology is valid
is :func:`ipsecsim.sweeps.grid.check`'s business.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..sim import topology as T
from .paths import KeyPath, PathError, assign, resolve

Problem = T.Problem
_Bad = Callable[[list[Any], str], None]

TOP_KEYS = ("base", "grid", "seeds", "set", "name", "description")
"""The keys of a sweep file."""


class SweepError(Exception):
    """A sweep file with problems; ``problems`` lists them (``FILE:LINE: message``) in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Axis:
    """One grid key: where it points and the values it takes."""

    key: str
    """The key path as written; the name of its column in the results."""
    targets: tuple[KeyPath, ...]
    """The concrete places in the topology it sets (several for a ``*`` pattern)."""
    values: tuple[Any, ...]
    """The values, in the file's order."""
    line: int
    """The line of the key in the sweep file (0 for a dict)."""
    value_lines: tuple[int, ...]
    """The line of each value."""


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep: the base with ``set:`` applied, the grid's axes, the seeds."""

    source: str
    """The sweep file's name as given (``<dict>`` for a dict): the FILE of every message."""
    name: str
    """The sweep's name: ``name:``, else the file's stem; the default output is ``out/<name>/``."""
    base: dict[str, Any]
    """The base topology as plain dicts and lists, ``set:`` applied."""
    base_source: str
    """Where the base came from (its path, or ``<dict>``)."""
    axes: tuple[Axis, ...]
    """The grid keys in the file's order: the first varies slowest."""
    seeds: tuple[int | str, ...]
    """The seeds each grid point runs with (innermost, fastest)."""
    grid_line: int
    """The line of ``grid:``."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader building :class:`~ipsecsim.sim.topology.LDict`/``LList`` (lines kept)."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> T.LDict:
    loader.flatten_mapping(node)
    d = T.LDict()
    d.line = node.start_mark.line + 1
    d.key_lines = {}
    for k_node, v_node in node.value:
        key = loader.construct_object(k_node, deep=True)
        if key in d:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {d.key_lines[key]})",
                k_node.start_mark)
        d[key] = loader.construct_object(v_node, deep=True)
        d.key_lines[key] = k_node.start_mark.line + 1
    return d


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> T.LList:
    seq = T.LList(loader.construct_object(c, deep=True) for c in node.value)
    seq.line = node.start_mark.line + 1
    seq.item_lines = [c.start_mark.line + 1 for c in node.value]
    return seq


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def plain(value: Any) -> Any:
    """``value`` with every mapping a dict and every sequence a list (no line bookkeeping)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _read(path: Path, fname: str) -> Any:
    try:
        text = path.read_text()
    except OSError as exc:
        raise SweepError([Problem(fname, 0, f"cannot read: {exc.strerror}")]) from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise SweepError([Problem(fname, line, f"YAML: {exc.problem or exc.context}")]) from None
    except yaml.YAMLError as exc:
        raise SweepError([Problem(fname, 0, f"YAML: {exc}")]) from None


def load(source: str | Path | dict[str, Any]) -> SweepSpec:
    """Read and check a sweep (a file, or the same shape as a dict); raise :class:`SweepError`."""
    if isinstance(source, dict):
        data: Any = source
        fname, here, stem = "<dict>", Path.cwd(), str(source.get("name") or "sweep")
    else:
        fname, here, stem = str(source), Path(source).parent, Path(source).stem
        data = _read(Path(source), fname)
    if not isinstance(data, dict):
        raise SweepError([Problem(fname, getattr(data, "line", 1) or 1,
                                  "a sweep is a mapping with base:, grid: and seeds:")])
    problems: list[Problem] = []

    def bad(path: list[Any], msg: str) -> None:
        problems.append(Problem(fname, T.line_of(data, path), msg))

    for k in data:
        if k not in TOP_KEYS:
            bad([k], f"unknown key {k!r}{T.did_you_mean(k, TOP_KEYS)}; a sweep takes: "
                     f"{', '.join(TOP_KEYS)}")
    for k in ("base", "grid"):
        if k not in data:
            problems.append(Problem(fname, getattr(data, "line", 0),
                                    f"{k}: missing (a sweep needs base: and grid:)"))
    if problems:
        problems.sort(key=lambda p: p.line)
        raise SweepError(problems)
    base, base_source = _base(data, fname, here, bad)
    if base is None:
        raise SweepError(problems)
    _apply_set(data, base, bad)
    axes = _axes(data, base, bad)
    seeds = _seeds(data, base, bad)
    if problems:
        problems.sort(key=lambda p: p.line)
        raise SweepError(problems)
    name = str(data.get("name") or stem)
    return SweepSpec(fname, name, base, base_source, tuple(axes), tuple(seeds),
                     T.line_of(data, ["grid"]))


def _base(data: dict[str, Any], fname: str, here: Path, bad: _Bad
          ) -> tuple[dict[str, Any] | None, str]:
    """The base topology, loaded and validated (its own problems follow the sweep's line)."""
    ref = data["base"]
    if isinstance(ref, dict):
        try:
            T.validate(plain(ref), "<base>")
        except T.TopologyError as exc:
            bad(["base"], f"base: the topology given does not validate: {exc.problems[0].message}")
            return None, "<dict>"
        return plain(ref), "<dict>"
    if not isinstance(ref, str) or not ref:
        bad(["base"], f"base: {ref!r} is not a topology file's path (relative to the sweep file)")
        return None, ""
    path = Path(ref) if Path(ref).is_absolute() else here / ref
    if not path.is_file():
        bad(["base"], f"base: no topology file {str(path)!r}")
        return None, str(path)
    try:
        topo = T.load(path)
    except T.TopologyError as exc:
        n = len(exc.problems)
        bad(["base"], f"base: {path} does not validate ({n} problem{'s' if n > 1 else ''}: "
                      f"run ipsecsim check {path}): {exc.problems[0]}")
        return None, str(path)
    return plain(topo), str(path)


def _apply_set(data: dict[str, Any], base: dict[str, Any], bad: _Bad) -> None:
    fixed = data.get("set")
    if fixed is None:
        return
    if not isinstance(fixed, dict):
        bad(["set"], "set: a mapping of key paths to values (fixed for every run)")
        return
    for key, value in fixed.items():
        try:
            targets = resolve(base, key)
        except PathError as exc:
            bad(["set", key], f"set: {exc}")
            continue
        for t in targets:
            assign(base, t, plain(value))
    try:
        T.validate(base, "<base>")
    except T.TopologyError as exc:
        for p in exc.problems:
            bad(["set"], f"set: the base with these changes does not validate: {p.message}")


def _axes(data: dict[str, Any], base: dict[str, Any], bad: _Bad) -> list[Axis]:
    grid = data["grid"]
    if not isinstance(grid, dict):
        bad(["grid"], f"grid: a mapping of key paths to lists of values, not {grid!r}")
        return []
    if not grid:
        bad(["grid"], "grid: empty: give at least one key path with a list of values, "
                      "e.g. links.wan-a.loss: [0, 0.01]")
        return []
    axes: list[Axis] = []
    owner: dict[KeyPath, str] = {}
    for key, values in grid.items():
        line = T.line_of(data, ["grid", key])
        if not isinstance(values, list):
            bad(["grid", key], f"grid: {key}: a list of values, not {values!r} "
                               f"(write {_flow(values)} for a single value)")
            continue
        if not values:
            bad(["grid", key], f"grid: {key}: an empty list of values (no runs)")
            continue
        try:
            targets = resolve(base, key)
        except PathError as exc:
            bad(["grid", key], f"grid: {exc}")
            continue
        for t in targets:
            if t in owner:
                bad(["grid", key], f"grid: {key} and {owner[t]} both set "
                                   f"{'.'.join(map(str, t))}")
            owner.setdefault(t, key)
        lines = tuple(getattr(values, "item_lines", None) or [line] * len(values))
        axes.append(Axis(str(key), tuple(targets), tuple(plain(v) for v in values), line, lines))
    return axes


def _flow(value: Any) -> str:
    return str(yaml.safe_dump([plain(value)], default_flow_style=True, width=1 << 20)).strip()


def _seeds(data: dict[str, Any], base: dict[str, Any], bad: _Bad) -> list[int | str]:
    seeds = data.get("seeds")
    if seeds is None:
        return [copy.deepcopy(base.get("seed", 1))]
    if not isinstance(seeds, list) or not seeds:
        bad(["seeds"], f"seeds: a non-empty list of seeds such as [1, 2], not {seeds!r}")
        return []
    out: list[int | str] = []
    for i, s in enumerate(seeds):
        if isinstance(s, bool) or not isinstance(s, int | str):
            bad(["seeds", i], f"seeds: {s!r} is not a seed (an integer or a string)")
        elif s in out:
            bad(["seeds", i], f"seeds: {s!r} is given twice")
        else:
            out.append(s)
    return out
