"""``summary.json``: the run in numbers (the documented shape, extended).

IKE_SAs and CHILD_SAs are counted once per SA (both ends report each one; the
``*_events`` fields count the per-node reports). ``ike.established`` counts IKE_SAs set up
by IKE_SA_INIT/IKE_AUTH; their rekeyed successors are in ``ike.rekeyed``. ``packets`` counts the traffic generators' packets end to end; ``sent =
delivered + sum(dropped) + in_flight`` always holds. ``drops_all`` counts every
drop record (fragments, IKE and ICMP packets included), ``links`` the bytes and
packets each link carried, ``flows`` each generator's view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .roadwarrior import pool_summary
from .unprotected import unprotected, warnings_for

if TYPE_CHECKING:
    from .runner import Simulation


def build_summary(sim: Simulation) -> dict[str, Any]:
    net = sim.net
    c = net.counters
    sa_events: dict[str, int] = {}
    for rec in net.trace.of("sa"):
        if rec[6] != "ike" and rec[4] in ("soft_expired", "hard_expired"):
            sa_events[rec[4]] = sa_events.get(rec[4], 0) + 1
    children = {frozenset((k.spi_in, k.spi_out)) for k in net.child_keys}
    summary: dict[str, Any] = {
        "topology": sim.name,
        "seed": sim.seed,
        "time": round(float(net.env.now), 9),
        "packets": {
            "sent": net.sent,
            "delivered": net.delivered,
            "dropped": dict(sorted(net.dropped.items())),
            "in_flight": net.in_flight,
        },
        "ike": {
            "established": len(net.unique.get("ike_established", ())),
            "established_events": c["ike_established"],
            "failed": c["ike_failed"],
            "rekeyed": len(net.unique.get("ike_rekeyed", ())),
            "deleted": c["ike_down"],
            "retransmits": c["ike_retransmits"],
            "failures": [{"node": r[3], "ike_sa": r[4], "notify": r[5], "reason": r[6],
                          "child": r[7] if len(r) > 7 else ""}
                         for r in net.trace.of("ike_fail")],
        },
        "child_sas": {
            "installed": len(children),
            "installed_events": len(net.child_keys),
            "rekeyed": len(net.unique.get("child_rekeyed", ())),
            "expired": len(net.unique.get("child_expired", ())),
            "deleted": len(net.unique.get("child_deleted", ())),
            "failed": len(net.unique.get("child_failed", ())),
            "limit_events": dict(sorted(sa_events.items())),
        },
        "drops_all": dict(sorted(net.all_drops.items())),
        "flows": {name: f.summary() for name, f in net.flows.items()},
        "links": {name: {"packets": lk.tx_packets, "bytes": lk.tx_bytes, "mtu": lk.cfg.mtu,
                         "bandwidth_bps": lk.cfg.bandwidth}
                  for name, lk in net.links.items()},
        "trace_records": len(net.trace),
    }
    if any(hasattr(n, "tls_cfg") for n in net.nodes.values()):  # only with a TLS VPN in it
        from .tcp import tls_vpn_summary

        summary["tlsvpn"] = tls_vpn_summary(net)
    pools = pool_summary(sim)
    if pools:  # only with pools: each gateway's leases at the end (docs/summary.md)
        summary["pools"] = pools
    if any(f.cfg.type == "dns" for f in net.flows.values()):  # only with DNS flows (sim/dns.py)
        from .dns import dns_summary

        summary["dns"] = dns_summary(sim)
    attackers = getattr(sim, "attackers", None)
    if attackers:  # only with attackers: what each sent, acted on and learned (attacker.py)
        summary["attacks"] = {a.name: a.summary() for a in attackers}
    gaps = unprotected(sim)
    if gaps:  # only when there are any: a failed IKE let protected traffic through in clear
        summary["unprotected"] = gaps
    warnings = list(sim.warnings) + warnings_for(gaps)
    if warnings:  # only when there are any: what is not modelled, what went unprotected
        summary["warnings"] = warnings
    return summary
