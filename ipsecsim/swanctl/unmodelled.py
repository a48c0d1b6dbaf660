"""What a YAML ``ipsec:`` block (or ``ipsecsim peer``'s file) configures that the simulator
does not model: the same table (:mod:`.keys`) that swanctl.conf's reader warns from, so
both spellings warn alike (issue 12: no key accepted and ignored without a word).

:class:`~ipsecsim.core.ike.config.IkeConfig` accepts every swanctl key the YAML spelling
knows and refuses unknown ones with a did-you-mean; this lists the accepted ones that have
no effect, with the reason, unless their value is what the simulator does anyway
(``policies: yes``, ``send_cert: always``).
"""

from __future__ import annotations

from typing import Any

from .keys import AUTH, CHILD, CONNECTION, Unmodelled, normal

__all__ = ["unmodelled"]

Path = tuple[str, ...]


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list | tuple):
        return ",".join(_value(x) for x in v)
    return normal(str(v))


def _scan(d: Any, table: dict[str, Any], path: Path, out: list[tuple[Path, str]]) -> None:
    if not isinstance(d, dict):
        return
    for key, value in d.items():
        entry = table.get(str(key))
        if isinstance(entry, Unmodelled) and _value(value) not in entry.same_as:
            out.append(((*path, str(key)), entry.why))


def unmodelled(block: dict[str, Any]) -> list[tuple[Path, str]]:
    """(key path inside ``block``, why it has no effect) for every unmodelled key it sets."""
    out: list[tuple[Path, str]] = []
    if not isinstance(block, dict):
        return out
    for cname, conn in (block.get("connections") or {}).items():
        base = ("connections", str(cname))
        _scan(conn, CONNECTION, base, out)
        if not isinstance(conn, dict):
            continue
        for side in ("local", "remote"):
            _scan(conn.get(side), AUTH, (*base, side), out)
        for chname, child in (conn.get("children") or {}).items():
            _scan(child, CHILD, (*base, "children", str(chname)), out)
    return out
