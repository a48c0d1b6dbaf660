"""Bugs found reviewing the packet-path and IKE-lifecycle commits after a9d0f73.

Each test names the behaviour it checks and where that behaviour comes from.
"""

from __future__ import annotations

from pathlib import Path

from ipsecsim.sim import topology as T
from ipsecsim.sim.runner import Simulation

TOPO = Path(__file__).resolve().parent.parent / "topologies" / "site-to-site.yaml"


def _site_to_site_with_packet_limits(soft: int, hard: int) -> Simulation:
    topo = T.load(TOPO)
    for gw in ("gw-a", "gw-b"):
        child = topo["nodes"][gw]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"]
        child["rekey_packets"] = soft
        child["life_packets"] = hard
    topo["duration"] = 10
    return Simulation(topo).run()


def test_a_soft_packet_limit_starts_the_rekey_at_once():
    """A data-plane soft limit (stack event -> IkeEndpoint.sa_limit_reached) must put the
    CREATE_CHILD_SA on the wire when it happens, not at the gateway's next IKE timer.

    Oracle: RFC 4301 §4.4.2.1 (the soft lifetime warns so that a replacement SA is negotiated
    before the hard one ends the SA) and strongSwan 5.9 ``kernel_handler.c`` ``expire()``,
    which queues ``rekey_child_sa_job`` on the kernel's soft-expire message right away.
    Before the fix the request left at t=4.0 (the next IKE timer) after soft expiry at 1.56 s,
    and the old SA's hard limit (60 packets) dropped packets as ``sa_expired`` meanwhile.
    """
    sim = _site_to_site_with_packet_limits(30, 60)
    recs = sim.trace.records
    soft = [r for r in recs if r[2] == "sa" and r[4] == "soft_expired"]
    assert soft, "the scenario must reach a soft limit"
    for s in soft:
        t, node = s[1], s[3]
        requests = [r for r in recs if r[2] == "ike_msg" and r[3] == node and r[4] == "out"
                    and r[6] == "CREATE_CHILD_SA" and not r[8] and t <= r[1]]
        peer_requests = [r for r in recs if r[2] == "ike_msg" and r[3] == node and r[4] == "in"
                         and r[6] == "CREATE_CHILD_SA" and not r[8] and t - 0.1 <= r[1]]
        # our own request at once, or (a collision) the peer's request for the same child
        first = min(r[1] for r in requests + peer_requests)
        assert first - t < 0.1, (node, t, first)
    assert not [r for r in recs if r[2] == "drop" and r[5] == "sa_expired"]
    assert sim.summary()["packets"]["delivered"] == sim.summary()["packets"]["sent"]
