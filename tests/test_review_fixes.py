"""Bugs found reviewing the packet-path and IKE-lifecycle commits after a9d0f73.

Each test names the behaviour it checks and where that behaviour comes from.
"""

from __future__ import annotations

from ipsecsim.sim import topology as T
from ipsecsim.sim.runner import Simulation
from tests.helpers.paths import TOPOLOGIES

TOPO = TOPOLOGIES / "site-to-site.yaml"


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


# --- guards for the optimisations reviewed (no bug found; these keep it that way) ---------


def test_cbr_packet_builder_matches_packet_udp_for_every_ident():
    """packet.udp_parts + the header checksum -(sum + ident) mod 0xFFFF must build exactly
    what packet.udp builds (RFC 1071 one's complement checksum; RFC 768 UDP checksum 0), for
    every IPv4 identification 0..65535, with and without DF, including a size below 28."""
    from ipsecsim.core import ip as P

    src, dst = P.aton("10.1.0.10"), P.aton("10.2.0.10")
    for size, df in ((1000, False), (1500, True), (20, False)):
        n = max(0, size - 28)
        hsum, tail = P.udp_parts(src, dst, 40000, n, df)
        for ident in range(65536):
            pkt = P.ipv4_header(0x45, 0, 20 + len(tail), ident, P.DF if df else 0, 64,
                                P.IPPROTO_UDP, -(hsum + ident) % 0xFFFF, src, dst) + tail
            assert pkt == P.udp(src, dst, 40000, 40000, bytes(n), ident, df), (size, df, ident)


def test_every_link_tx_record_holds_the_bytes_the_link_sent(monkeypatch):
    """A link_tx record's data (bytes or a trace.HeaderPatch of an earlier hop) must be byte
    for byte what the link put on the wire -- the pcaps are written from it (LINKTYPE_RAW).
    NAT (RFC 3948 UDP encapsulation), fragmentation (RFC 791 §3.2, small MTUs), sampling."""
    from ipsecsim.sim import link as L

    topo = T.load(TOPO.parent / "nat-traversal.yaml")
    for i, lk in enumerate(topo["links"].values()):
        lk["mtu"] = 900 - 50 * (i % 3)
        lk["jitter"] = 0.002
    for fl in topo.get("traffic", {}).values():
        fl["size"] = 1200
    topo["trace"] = {"sample_every": 2, "hops_until": 5}
    topo["duration"] = 8
    sent, checked = L._Direction.send, []

    def send(self, data, pkt_id):
        recs = self._trace.records
        k = len(recs)
        ok = sent(self, data, pkt_id)
        if len(recs) > k and recs[k][2] == "link_tx" and recs[k][9] is not None:
            checked.append(bytes(recs[k][9]) == bytes(data))
        return ok

    monkeypatch.setattr(L._Direction, "send", send)
    sim = Simulation(topo).run()
    patches = sum(1 for r in sim.trace.of("link_tx") if type(r[9]).__name__ == "HeaderPatch")
    assert patches > 50 and len(checked) > 200 and all(checked)
