"""Read back what ``swanctl --raw`` prints (vici_dump's one-line form) into dicts, so tests
compare key sets and values -- of the simulator's and of a live charon's output alike."""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"\s*(?:(\})|([^\s={}]+) \{|([^\s=]+)=\[([^\]]*)\]|([^\s=]+)=)")


def parse_line(line: str) -> tuple[str, dict[str, Any]]:
    """``LABEL {k=v k2=[a b] sec {...}}`` -> (LABEL, {k: 'v', k2: ['a', 'b'], sec: {...}}).

    A value runs to the next `` key=``, `` key {``, ``}`` (values such as ``pre-shared key``
    hold spaces, as vici_dump prints them unquoted)."""
    label, _, rest = line.partition(" {")
    stack: list[dict[str, Any]] = [{}]
    pos = 0
    while pos < len(rest):
        m = _TOKEN.match(rest, pos)
        if m is None:
            raise ValueError(f"cannot read {rest[pos:]!r}")
        pos = m.end()
        if m.group(1):
            if len(stack) == 1:
                break
            stack.pop()
        elif m.group(2):
            sub: dict[str, Any] = {}
            stack[-1][m.group(2)] = sub
            stack.append(sub)
        elif m.group(3):
            stack[-1][m.group(3)] = m.group(4).split() if m.group(4) else []
        else:
            nxt = re.compile(r" [^\s={}]+(?:=| \{)|\}")
            end = nxt.search(rest, pos)
            stop = end.start() if end else len(rest)
            stack[-1][m.group(5)] = rest[pos:stop]
            pos = stop
    return label, stack[0]


def parse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Every line of a raw dump."""
    return [parse_line(ln) for ln in text.splitlines() if ln.strip()]


def flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{'a': {'b': '1'}}`` -> ``{'a.b': '1'}`` (lists stay values)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
