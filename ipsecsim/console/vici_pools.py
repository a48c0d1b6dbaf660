"""vici's ``get-pools`` reply for a simulated gateway (strongSwan 5.9
``plugins/vici/vici_attribute.c`` ``get_pools()``): per pool ``base``, ``size``, ``online``,
``offline`` and, with ``leases=yes``, ``leases { 0 { address identity status } ... }``."""

from __future__ import annotations

from typing import Any

from .vici import Msg


def _pools(gw: Any) -> Any:
    """The gateway's ``core.pools.Pools`` (None for a node without an IKE daemon)."""
    ike = getattr(gw, "ike", None)
    if ike is None:
        node = getattr(gw, "node", None)
        ike = getattr(node, "ike", None) if node is not None else None
    return getattr(ike, "pools", None)


def get_pools(gw: Any, leases: bool = False, name: str | None = None) -> Msg:
    """The reply message, pools in configuration order."""
    m = Msg()
    pools = _pools(gw)
    for pool in (pools if pools is not None else ()):
        if name is not None and pool.name != name:
            continue
        p = m.sec(pool.name)
        p.kv("base", pool.cfg.base_text)
        p.kv("size", pool.size)
        p.kv("online", pool.online)
        p.kv("offline", pool.offline)
        if leases:
            rows = p.sec("leases")
            for i, lease in enumerate(pool.leases()):
                r = rows.sec(str(i))
                r.kv("address", lease.address)
                r.kv("identity", lease.identity)
                r.kv("status", "online" if lease.online else "offline")
    return m
