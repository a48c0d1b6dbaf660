"""Road-warrior clients in the simulator: what a virtual IP changes on a node.

A node whose connection has ``vips`` (a ``role: host`` with an ``ipsec:`` block, or a
gateway) asks for an address in IKE_AUTH (``core/ike/cp.py``). Once the CFG_REPLY came
(``VirtualIpInstalled``), as charon installs the address and its routes in table 220:

- the address is one of the node's own: packets to it are delivered locally (ping
  replies, UDP sinks);
- the node's traffic generators send from it toward the remote selectors of the
  connection that gave it (split tunnel: only those; ``remote_ts = 0.0.0.0/0``: all),
  and from the physical address elsewhere (:data:`Node.vip_src`, one dict lookup per packet
  on such a node, none on the others).

The trace gets a ``note`` per virtual IP event (charon's wording), the summary a
``pools`` section with each gateway's leases (:func:`pool_summary`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.ike import cp_events as V
from ..core.ip import ipv4 as P
from ..core.selectors import TrafficSelector

if TYPE_CHECKING:
    from .gateway import Gateway
    from .runner import Simulation


class VipSources(dict[bytes, bytes]):
    """Destination -> the virtual IP to send from (``b""``: the physical address), filled
    on first use from the remote selectors of the connections that gave a virtual IP."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: list[tuple[int, int, bytes]] = []
        """(first, last, virtual IP) per remote selector of a connection with a virtual IP."""

    def __missing__(self, dst: bytes) -> bytes:
        a = int.from_bytes(dst, "big")
        got = next((vip for lo, hi, vip in self.routes if lo <= a <= hi), b"")
        self[dst] = got
        return got

    def set_routes(self, routes: list[tuple[int, int, bytes]]) -> None:
        self.routes = routes
        self.clear()


def _routes(gw: Gateway) -> list[tuple[int, int, bytes]]:
    ike = gw.node.ike
    out: list[tuple[int, int, bytes]] = []
    if ike is None:
        return out
    for sa in ike.ike_sas.values():
        for vip in sa.local_vips:
            if ":" in vip:
                continue
            for child in sa.conn.children:
                for t in child.remote_ts:
                    if t.lower() == "dynamic":
                        ts = TrafficSelector.host(sa.remote[0])
                    else:
                        ts = TrafficSelector.parse(t)
                    out.append((ts.start, ts.end, P.aton(vip)))
    # the most specific selector first, as the longest prefix wins in table 220
    out.sort(key=lambda r: r[1] - r[0])
    return out


def on_event(gw: Gateway, ev: Any, now: float) -> None:
    """A node event of ``cp_events``: adopt or drop the address, note it in the trace."""
    match ev:
        case V.VirtualIpInstalled(address=vip) if ":" not in vip:
            gw.local.add(P.aton(vip))
            if gw.vip_src is None:
                gw.vip_src = VipSources()
            gw.vip_src.set_routes(_routes(gw))
            gw.net.trace.emit(now, "note", gw.name, f"installing new virtual IP {vip}")
            if ev.dns:  # strongSwan's resolve plugin (resolve_handler.c), words and all
                gw.cp_dns = ev.dns
                for server in ev.dns:
                    gw.net.trace.emit(now, "note", gw.name, f"installing DNS server {server} via resolvconf")
        case V.VirtualIpRemoved(address=vip) if ":" not in vip and vip not in gw.node.virtual_ips:
            gw.local.discard(P.aton(vip))  # unless another IKE_SA (a reauthentication) has it
            if not gw.node.virtual_ips:
                gw.cp_dns = ()
            if gw.vip_src is not None:
                gw.vip_src.set_routes([r for r in _routes(gw) if r[2] != P.aton(vip)])
        case V.VirtualIpAssigned(address=addr, peer_id=who, pool=pool):
            gw.net.trace.emit(now, "note", gw.name,
                              f"assigning virtual IP {addr} to peer '{who}' (pool {pool})")
        case V.VirtualIpRefused(peer_id=who, full=full):
            gw.net.trace.emit(now, "note", gw.name, f"no virtual IP found for '{who}'"
                              + (f": pool {', '.join(full)} is full" if full else ""))
        case V.VirtualIpReleased(address=addr, peer_id=who, offline=True):
            gw.net.trace.emit(now, "note", gw.name, f"lease {addr} by '{who}' went offline")


def pool_summary(sim: Simulation) -> dict[str, Any]:
    """``{node: {pool: {size, online, offline, leases: [{address, identity, status}]}}}`` for
    every node with pools (summary.json ``pools``; empty without pools)."""
    out: dict[str, Any] = {}
    for name, node in sim.net.nodes.items():
        ike = getattr(getattr(node, "node", None), "ike", None)
        pools = getattr(ike, "pools", None)
        if not pools:
            continue
        out[name] = {p.name: {"base": p.cfg.base_text, "size": p.size, "online": p.online,
                              "offline": p.offline,
                              "leases": [{"address": le.address, "identity": le.identity,
                                          "status": "online" if le.online else "offline"}
                                         for le in p.leases()]}
                     for p in pools}
    return out


def pool_warnings(topo: dict[str, Any], blocks: dict[str, dict[str, Any]],
                  fname: str) -> list[str]:
    """``FILE:LINE: ...`` for a gateway connection whose pools hold fewer addresses than the
    clients of the topology that ask it for one (nodes with ``vips`` whose ``remote_addrs``
    name the gateway): the last to connect would get INTERNAL_ADDRESS_FAILURE."""
    from ..core.errors import ConfigError
    from ..core.pools import pools_from_dict
    from .topology import line_of

    nodes = topo.get("nodes") or {}
    ipsec: dict[str, dict[str, Any]] = {}
    for n, d in nodes.items():
        block = blocks.get(n) or (d.get("ipsec") if isinstance(d, dict) else None)
        if isinstance(block, dict):
            ipsec[n] = block
    clients: dict[str, list[str]] = {}
    for name, block in ipsec.items():
        for conn in (block.get("connections") or {}).values():
            if isinstance(conn, dict) and conn.get("vips"):
                for addr in _items(conn.get("remote_addrs")):
                    clients.setdefault(addr, []).append(name)
    out: list[str] = []
    for name, block in ipsec.items():
        try:
            sizes = {p.name: p.size for p in pools_from_dict(block.get("pools"))}
        except ConfigError:
            continue  # reported by the configuration check
        own = [a.split("/")[0] for a in nodes[name].get("addresses", [])]
        for cname, conn in (block.get("connections") or {}).items():
            if not isinstance(conn, dict) or not conn.get("pools"):
                continue
            addrs = _items(conn.get("local_addrs")) or own
            users = sorted({c for a in addrs for c in clients.get(a, [])})
            names = _items(conn.get("pools"))
            total = sum(sizes.get(p, 0) for p in names)
            if len(users) > total:
                line = line_of(topo, ["nodes", name, "ipsec", "connections", cname, "pools"])
                out.append(f"{fname}:{line}: nodes.{name}.ipsec.connections.{cname}.pools: "
                           f"{len(users)} clients ({', '.join(users)}) ask for a virtual IP but "
                           f"pool {', '.join(names)} holds {total}: the last to connect gets "
                           "none (INTERNAL_ADDRESS_FAILURE)")
    return out


def _items(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [x.strip() for x in v.split(",") if x.strip()]
    return [str(x) for x in v]
