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

__all__ = ["modelled", "unmodelled"]

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


def _strip(d: Any, table: dict[str, Any]) -> Any:
    if not isinstance(d, dict):
        return d
    return {k: v for k, v in d.items()
            if not (isinstance(table.get(str(k)), Unmodelled) and not table[str(k)].keep)}


def modelled(block: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``block`` without the keys strongSwan knows and the simulator does not model
    (what :func:`unmodelled` warns about, whatever their value): what IkeConfig reads, as
    swanctl.conf's reader hands it on -- so such a key warns in the YAML spelling and in
    ``ipsecsim peer``'s file as it does in swanctl.conf, and is not an error there."""
    if not isinstance(block, dict) or not isinstance(block.get("connections"), dict):
        return block
    conns = {}
    for cname, conn in block["connections"].items():
        c = _strip(conn, CONNECTION)
        if isinstance(c, dict):
            for side in ("local", "remote"):
                if side in c:
                    c[side] = _strip(c[side], AUTH)
            if isinstance(c.get("children"), dict):
                c["children"] = {n: _strip(ch, CHILD) for n, ch in c["children"].items()}
        conns[cname] = c
    return {**block, "connections": conns}
