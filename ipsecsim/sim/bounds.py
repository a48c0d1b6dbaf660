"""What ``ipsecsim check`` refuses beyond the schema: numbers a run would choke on, and
configurations that would silently run unprotected (issue 15, findings 7 and 8).

The schema says what type each value has; these say which values make sense. Every
problem is located at its own key (``FILE:LINE``), so a user fixes the line it names.

* Every number is finite (YAML ``.nan`` and ``.inf`` pass a JSON schema's bounds).
* A link's bandwidth is above 0 (``0bps`` divided by zero); delays and jitter at most an
  hour; a run at most :data:`MAX_DURATION` simulated seconds.
* A flow's packets (rate x active time, or its count) at most :data:`MAX_FLOW_PACKETS`, all
  flows together at most :data:`MAX_PACKETS`: the trace keeps every packet's record, so a
  larger run exhausts memory before it ends (``rate: 1e9`` grew to 5.8 GB).
* Two links between the same two nodes: the second would shadow the first's routes.
* An SA rekeyed or expiring faster than :data:`MIN_LIFETIME`: IKE cannot keep up (a 1 ms
  CHILD_SA ``rekey_time`` gave 212 cleartext and 80 unknown-SPI drops).
* A ``psk`` connection needs a secret that names one of its identities (or none), as a
  string: without it IKE fails at run time and the traffic it should protect leaves in
  the clear.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..core.units import parse_rate, parse_time

MAX_DURATION = 1e7
"""Simulated seconds a run may last (115 days)."""
MAX_DELAY = 3600.0
"""A link's delay or jitter at most (seconds)."""
MAX_FLOW_PACKETS = 10_000_000
MAX_PACKETS = 20_000_000
MIN_LIFETIME = 1.0
"""Seconds: the shortest non-zero rekey, reauth or life time accepted."""
_LIFETIMES = ("rekey_time", "life_time", "reauth_time", "over_time")

Bad = Callable[[list[Any], str], None]


def _finite(bad: Bad, value: Any, path: list[Any]) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        bad(path, f"{'.'.join(map(str, path))}: {value} is not a finite number")
    elif isinstance(value, dict):
        for k, v in value.items():
            _finite(bad, v, [*path, k])
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _finite(bad, v, [*path, i])


def _time(value: Any) -> float | None:
    try:
        return parse_time(value)
    except (ValueError, TypeError):
        return None  # the schema or the semantic checks report it


def bounds_problems(d: dict[str, Any], bad: Bad) -> None:
    """Report every out-of-bounds value of topology ``d`` through ``bad(path, message)``."""
    _finite(bad, d, [])
    duration = _time(d.get("duration", 10))
    if duration is not None and duration > MAX_DURATION:
        bad(["duration"], f"duration: {duration:g} s is more than a run may last "
            f"({MAX_DURATION:g} s)")
    seen: dict[frozenset[str], str] = {}
    for lname, link in (d.get("links") or {}).items():
        if not isinstance(link, dict):
            continue
        if "bandwidth" in link:
            try:
                if parse_rate(link["bandwidth"]) <= 0:
                    bad(["links", lname, "bandwidth"], f"links.{lname}.bandwidth: "
                        f"{link['bandwidth']!r} is no bandwidth: a link carries more than 0 bit/s")
            except (ValueError, TypeError):
                pass
        for key in ("delay", "jitter"):
            t = _time(link.get(key, 0))
            if t is not None and t > MAX_DELAY:
                bad(["links", lname, key], f"links.{lname}.{key}: {t:g} s is more than "
                    f"{MAX_DELAY:g} s (a geostationary hop is 0.25 s)")
        ends = frozenset((str(link.get("a")), str(link.get("b"))))
        if ends in seen:
            bad(["links", lname], f"links.{lname}: {' and '.join(sorted(ends))} are already "
                f"linked by links.{seen[ends]}")
        seen.setdefault(ends, lname)
    _traffic(d, duration, bad)
    for name, n in (d.get("nodes") or {}).items():
        if isinstance(n, dict) and isinstance(n.get("ipsec"), dict):
            _ipsec(n["ipsec"], ["nodes", name, "ipsec"], bad)


def _traffic(d: dict[str, Any], duration: float | None, bad: Bad) -> None:
    total = 0.0
    for fname, f in (d.get("traffic") or {}).items():
        if not isinstance(f, dict):
            continue
        start = _time(f.get("start", 1.0)) or 0.0
        stop = _time(f["stop"]) if "stop" in f else duration
        rate = f.get("rate", 10.0)
        if not isinstance(rate, int | float) or not math.isfinite(rate) or stop is None:
            continue
        packets = max(0.0, (min(stop, duration) if duration is not None else stop) - start) * rate
        if f.get("count"):
            packets = min(packets, float(f["count"])) if f.get("type") != "bulk" else float(f["count"])
        total += packets
        if packets > MAX_FLOW_PACKETS:
            bad(["traffic", fname, "rate"], f"traffic.{fname}: {rate:g} packets/s for "
                f"{packets / rate:g} s is {packets:,.0f} packets, more than the "
                f"{MAX_FLOW_PACKETS:,} one flow may send (the trace keeps each one): lower the "
                "rate or the time, or set a count")
    if total > MAX_PACKETS:
        bad(["traffic"], f"traffic: the flows send {total:,.0f} packets in all, more than the "
            f"{MAX_PACKETS:,} a run can keep")


def _ipsec(block: dict[str, Any], base: list[Any], bad: Bad) -> None:
    where = ".".join(map(str, base))
    secrets = block.get("secrets") or {}
    if isinstance(secrets, dict):
        for sname, s in secrets.items():
            if isinstance(s, dict) and "secret" in s and not isinstance(s["secret"], str):
                bad([*base, "secrets", sname, "secret"], f"{where}.secrets.{sname}.secret: "
                    f"{s['secret']!r} is not a string; a pre-shared key is a string (quote it)")
    for cname, conn in (block.get("connections") or {}).items():
        if not isinstance(conn, dict):
            continue
        cpath = [*base, "connections", cname]
        _lifetimes(conn, cpath, bad)
        for chname, child in (conn.get("children") or {}).items():
            if isinstance(child, dict):
                _lifetimes(child, [*cpath, "children", chname], bad)
        _psk(conn, secrets, cpath, bad)


def _lifetimes(d: dict[str, Any], path: list[Any], bad: Bad) -> None:
    for key in _LIFETIMES:
        t = _time(d.get(key, 0)) if key in d else None
        if t is not None and 0 < t < MIN_LIFETIME:
            bad([*path, key], f"{'.'.join(map(str, path))}.{key}: {t:g} s is shorter than "
                f"{MIN_LIFETIME:g} s: the SA would be replaced faster than IKE can answer "
                "(0 turns it off)")


def _ids(conn: dict[str, Any], side: str) -> list[str]:
    auth = conn.get(side) or {}
    addrs = conn.get(f"{side}_addrs") or []
    ids = [str(auth["id"])] if isinstance(auth, dict) and auth.get("id") else []
    return ids + [str(a) for a in addrs if isinstance(a, str)]


def _psk(conn: dict[str, Any], secrets: Any, path: list[Any], bad: Bad) -> None:
    sides = [s for s in ("local", "remote")
             if isinstance(conn.get(s), dict) and conn[s].get("auth", "psk") == "psk"]
    if not sides or not isinstance(secrets, dict):
        return
    wanted = set(_ids(conn, "local") + _ids(conn, "remote"))
    for s in secrets.values():
        if not isinstance(s, dict) or "secret" not in s:
            continue
        ids = {str(v) for k, v in s.items() if str(k).startswith("id")}
        if not ids or ids & wanted or "%any" in ids:
            return
    names = " or ".join(sorted(wanted)) or "its identities"
    bad(path, f"{'.'.join(map(str, path))}: auth psk, but no secret in secrets names {names}: "
        "IKE would fail with AUTHENTICATION_FAILED and leave the traffic unprotected")
