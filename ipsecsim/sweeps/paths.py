"""Dotted key paths into a topology: ``links.wan-a.loss``, ``nodes.gw-a.routes.0.via``.

A key path names a place in the topology's tree, one segment per level, joined by dots:

* a mapping's key (``links``, ``wan-a``, ``loss``); names that contain dots themselves
  (``gw.a``) are found too -- the walk tries ``gw``, then ``gw.a``;
* a list's index, counted from 0 (``routes.0.via``, ``proposals.1``);
* ``*`` or ``?`` patterns (:func:`fnmatch.fnmatchcase`) match several keys at once:
  ``links.wan-*.mtu`` is both WAN links' MTU, ``nodes.*.ipsec.connections.*.children.*.mode``
  every CHILD_SA's mode. Keys where the rest of the path does not exist are passed over
  (hosts have no ``ipsec``); a pattern that matches nowhere is an error.

Every segment must exist in the base topology, except the last one under a mapping whose
schema names it (``links.wan-a.loss`` where the base gives no loss), or under a free-form
mapping the IKE engine reads (a connection's ``rekey_time``): the topology validator judges
those once the value is set. :func:`resolve` turns a key path into the concrete paths it
names, :func:`assign` sets one of them.
"""

from __future__ import annotations

import copy
from fnmatch import fnmatchcase
from typing import Any

from ..sim import topology as T

Segment = str | int
KeyPath = tuple[Segment, ...]
"""A concrete path: mapping keys (str) and list indices (int)."""


class PathError(ValueError):
    """A key path that names nothing in the base topology; the message says what is there."""

    def __init__(self, message: str, depth: int = 0) -> None:
        super().__init__(message)
        self.depth = depth
        """How many segments matched before the one that did not."""


def _where(prefix: KeyPath) -> str:
    return ".".join(str(s) for s in prefix) or "the top level"


def _is_pattern(seg: str) -> bool:
    return "*" in seg or "?" in seg


def schema_at(path: KeyPath) -> dict[str, Any]:
    """The topology schema's description of the value at ``path`` (``{}`` where it says nothing)."""
    s = T.schema()
    defs = s["$defs"]
    cur: dict[str, Any] = s
    for seg in path:
        while "$ref" in cur:
            cur = defs[cur["$ref"].rsplit("/", 1)[1]]
        props = cur.get("properties") or {}
        if isinstance(seg, str) and seg in props:
            cur = props[seg]
        elif isinstance(cur.get("additionalProperties"), dict):
            cur = cur["additionalProperties"]
        elif isinstance(cur.get("items"), dict):
            cur = cur["items"]
        else:
            return {}
    while "$ref" in cur:
        cur = defs[cur["$ref"].rsplit("/", 1)[1]]
    return cur


def _absent_allowed(prefix: KeyPath, seg: str) -> tuple[bool, list[str]]:
    """May the last segment ``seg`` be missing under ``prefix``? And the names the schema knows."""
    sch = schema_at(prefix)
    props = list(sch.get("properties") or {})
    if props:
        return seg in props, props
    if isinstance(sch.get("additionalProperties"), dict):
        return False, []  # a map of names (links, nodes, traffic): a new name is a typo
    return True, []  # free-form (the swanctl tree): the validator checks the key once set


def resolve(root: Any, key: str) -> list[KeyPath]:
    """The concrete paths ``key`` names in ``root``; :class:`PathError` when it names none."""
    if not isinstance(key, str) or not key:
        raise PathError(f"{key!r}: a key path is a string such as links.wan-a.loss")
    segs = key.split(".")
    if any(s == "" for s in segs):
        raise PathError(f"{key}: an empty segment (two dots, or a dot at an end)")
    out: list[KeyPath] = []
    _walk(root, segs, 0, (), out)
    return out


def _walk(node: Any, segs: list[str], i: int, prefix: KeyPath, out: list[KeyPath]) -> None:
    if i == len(segs):
        out.append(prefix)
        return
    seg = segs[i]
    last = i == len(segs) - 1
    if isinstance(node, list):
        if not seg.isdigit():
            raise PathError(f"{_where(prefix)} is a list of {len(node)}: give an index "
                            f"0..{len(node) - 1}, not {seg!r}", i)
        j = int(seg)
        if j >= len(node):
            raise PathError(f"{_where(prefix)}: no item {j}; the list has {len(node)} "
                            f"(indices 0..{len(node) - 1})", i)
        _walk(node[j], segs, i + 1, prefix + (j,), out)
        return
    if not isinstance(node, dict):
        raise PathError(f"{_where(prefix)} is a value ({node!r}): it has no key {seg!r}", i)
    if _is_pattern(seg):
        names = [k for k in node if fnmatchcase(str(k), seg)]
        errors: list[PathError] = []
        found = len(out)
        for k in names:
            try:
                _walk(node[k], segs, i + 1, prefix + (k,), out)
            except PathError as exc:
                errors.append(exc)
        if len(out) == found:
            if errors:  # the branch that got furthest says best what is wrong
                best = max(errors, key=lambda e: e.depth)
                raise PathError(f"{_where(prefix)}.{seg} matches nothing: {best}", best.depth)
            raise PathError(f"{_where(prefix)}.{seg} matches nothing; {_where(prefix)} has: "
                            f"{_names(node)}", i)
        return
    for end in range(i + 1, len(segs) + 1):  # a name with dots in it: gw.a
        name = ".".join(segs[i:end])
        if name in node:
            _walk(node[name], segs, end, prefix + (name,), out)
            return
    if last:
        ok, known = _absent_allowed(prefix, seg)
        if ok:
            out.append(prefix + (seg,))
            return
        choices = list(dict.fromkeys([*map(str, node), *known]))
        raise PathError(f"{_where(prefix)}: no key {seg!r}{T.did_you_mean(seg, choices)}; "
                        f"{_where(prefix)} takes: {', '.join(choices) or 'nothing'}", i)
    raise PathError(f"{_where(prefix)}: no key {seg!r}{T.did_you_mean(seg, node)}; "
                    f"{_where(prefix)} has: {_names(node)}", i)


def _names(node: dict[Any, Any]) -> str:
    return ", ".join(map(str, node)) or "nothing"


def assign(root: Any, path: KeyPath, value: Any) -> None:
    """Set the value at ``path`` (a path :func:`resolve` returned) to a copy of ``value``."""
    cur = root
    for seg in path[:-1]:
        cur = cur[seg]
    cur[path[-1]] = copy.deepcopy(value)


def get(root: Any, path: KeyPath, default: Any = None) -> Any:
    """The value at ``path``, or ``default`` where its last key is absent."""
    cur = root
    for seg in path[:-1]:
        cur = cur[seg]
    if isinstance(cur, dict):
        return cur.get(path[-1], default)
    return cur[path[-1]]
