"""Reading trace records for the figures, whatever form the trace comes in.

Every trace-driven figure accepts a :class:`ipsecsim.trace.Trace`, an object
with a ``.trace`` attribute (a ``Simulation``), a path to a ``trace.jsonl``
file, or an iterable of record dicts as :meth:`Trace.dicts` yields them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from ..trace import Trace

SEND_WORDS = frozenset({"out", "send", "sent", "tx", "outbound", ">", "->"})


def records(data: Any, *kinds: str) -> list[dict[str, Any]]:
    """Record dicts of ``kinds`` (all kinds if none given), in trace order."""
    if hasattr(data, "trace") and not isinstance(data, Trace):
        data = data.trace
    if isinstance(data, Trace):
        return list(data.dicts(*kinds))
    if isinstance(data, str | os.PathLike):
        with open(data, encoding="utf-8") as fp:
            rows = [json.loads(line) for line in fp if line.strip()]
    else:
        rows = list(data)
    ks = set(kinds)
    out = [r for r in rows if not ks or r.get("kind") in ks]
    out.sort(key=lambda r: r.get("seq", 0))
    return out


def is_send(direction: Any) -> bool:
    """Whether an ``ike_msg`` direction field means "sent by this node"."""
    return str(direction).lower() in SEND_WORDS


def payload_list(payloads: Any) -> list[str]:
    """An ``ike_msg`` payloads field as a list of payload names."""
    if payloads is None:
        return []
    if isinstance(payloads, str):
        text = payloads.strip()
        if "{" in text and text.endswith("}"):  # "IKE_SA_INIT request { SA, KE, Ni }"
            text = text[text.index("{") + 1:-1]
        text = text.strip()
        if not text:
            return []
        # split on commas (or, without commas, on spaces) outside parentheses:
        # "N(A, B)" stays whole; "SA KE No N(NATD_S_IP)" is the engine's summary form
        sep = "," if "," in _outside_parens(text) else " "
        out, depth, cur = [], 0, ""
        for ch in text:
            if ch == sep and depth == 0:
                out.append(cur.strip())
                cur = ""
                continue
            depth += ch == "("
            depth -= ch == ")"
            cur += ch
        if cur.strip():
            out.append(cur.strip())
        return [p for p in out if p]
    if isinstance(payloads, Iterable):
        return [str(p) for p in payloads]
    return [str(payloads)]


def _outside_parens(text: str) -> str:
    depth, out = 0, []
    for ch in text:
        depth += ch == "("
        if depth == 0:
            out.append(ch)
        depth -= ch == ")"
    return "".join(out)


def end_time(data: Any) -> float:
    """The simulated time a run reached: ``Simulation.now``, else the last record's time
    (read from the record tuples directly, without building a dict per record)."""
    now = getattr(data, "now", None)
    if isinstance(now, int | float) and now > 0:
        return float(now)
    if hasattr(data, "trace") and not isinstance(data, Trace):
        data = data.trace
    if isinstance(data, Trace):
        return max((float(r[1]) for r in data.records), default=0.0)
    return max((float(r["t"]) for r in records(data)), default=0.0)
