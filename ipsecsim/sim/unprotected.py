"""Traffic a gateway's configuration meant to protect but that left it in the clear.

A CHILD_SA that never came up (IKE failed: a proposal refused, a peer that never
answered) with ``start_action: start`` and no trap leaves no policy behind, so its
traffic is forwarded as it is -- what a real gateway does too. The run still succeeds and
every packet is delivered, which hides the failure (issue 15, finding 8); this finds
those packets in the trace once the run is over, so the summary and stderr can say so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.selectors import TrafficSelector

if TYPE_CHECKING:
    from .runner import Simulation

_PROTECTED = (50, 51)  # ESP, AH; ESP in UDP is checked by port below


def _selectors(values: tuple[str, ...], dynamic: str) -> list[TrafficSelector]:
    out = []
    for v in values:
        try:
            out.append(TrafficSelector.parse(dynamic if v == "dynamic" else v))
        except ValueError:
            continue
    return out


def unprotected(sim: Simulation) -> list[dict[str, Any]]:
    """One entry per gateway child whose IKE failed and that never installed, with the
    packets of its selectors that the gateway sent on in the clear (only those with any)."""
    tr = sim.net.trace
    failed = {r[3] for r in tr.of("ike_fail")}  # gateways that reported an IKE failure
    if not failed:
        return []
    installed = {(r[3], r[9]) for r in tr.of("sa") if r[4] == "installed" and r[5] != "ike"}
    out = []
    for name, node in sim.net.nodes.items():
        ike = getattr(getattr(node, "node", None), "ike", None)
        if ike is None or name not in failed:
            continue
        for conn in ike.config.connections:
            local = conn.local_addrs[0] if conn.local_addrs else node.ifaces[0].name
            remote = conn.remote_addrs[0] if conn.remote_addrs else "0.0.0.0/0"
            for ch in conn.children:
                if (name, ch.name) in installed:
                    continue
                lts = _selectors(ch.local_ts, local)
                rts = _selectors(ch.remote_ts, remote)
                n = _count(tr, name, lts, rts)
                if n:
                    out.append({"node": name, "connection": conn.name, "child": ch.name,
                                "packets": n, "local_ts": [str(t) for t in lts],
                                "remote_ts": [str(t) for t in rts]})
    return out


def _count(tr: Any, node: str, lts: list[TrafficSelector], rts: list[TrafficSelector]) -> int:
    ids = set()
    for r in tr.of("link_tx"):
        if r[6] != node or r[9] is None:
            continue
        head = bytes(r[9])[:28]
        if len(head) < 20 or head[9] in _PROTECTED:
            continue
        if head[9] == 17 and len(head) >= 24 and (head[20:22] == b"\x11\x94" or head[22:24] == b"\x11\x94"):
            continue  # UDP 4500: ESP in UDP or IKE
        src, dst = int.from_bytes(head[12:16], "big"), int.from_bytes(head[16:20], "big")
        if any(t.contains_addr(src) for t in lts) and any(t.contains_addr(dst) for t in rts):
            ids.add(r[5])
    return len(ids)


def warnings_for(entries: list[dict[str, Any]]) -> list[str]:
    """The sentences ``run`` prints on stderr and ``summary.json`` lists under warnings."""
    return [f"{e['node']}: CHILD_SA {e['child']} of connection {e['connection']} never came up "
            f"(IKE failed), and {e['packets']} packets between {', '.join(e['local_ts'])} and "
            f"{', '.join(e['remote_ts'])} left {e['node']} unprotected, in the clear"
            for e in entries]
