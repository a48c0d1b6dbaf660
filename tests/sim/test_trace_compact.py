"""The trace keeps a packet's copies as header patches of the bytes it already holds.

Checked against what the links were really handed: every ``link_tx`` record's bytes (whole or
patched) equal the packet its link sent, byte for byte. On the tunnel path host-a - gw-a -
internet - gw-b - host-b a CBR packet keeps one whole copy, the ESP packet; the rest are
patches: the host's packet (of the flow's first packet: only the IP header differs), the
router's copy of the ESP packet, and gw-b's copy of the decrypted inner packet (of the base of
what gw-a encrypted).
"""

from __future__ import annotations

from ipsecsim.sim import link as L
from ipsecsim.sim import topology as T
from ipsecsim.sim.runner import Simulation
from ipsecsim.trace import HeaderPatch, Trace
from tests.helpers.paths import TOPOLOGIES
from tests.helpers.sim_topos import manual_site_to_site

CBR = {"u": {"type": "cbr", "from": "host-a", "to": "10.2.0.10", "count": 50, "rate": 100, "size": 1400}}


def _run_capturing(monkeypatch, trace: Trace | None = None) -> tuple[Simulation, list]:
    """Run the tunnel topology, noting (link, packet id, bytes) of every packet a link took."""
    sent: list[tuple[str, int, bytes]] = []
    orig = L._Direction.send

    def send(self, data, pkt_id):
        ok = orig(self, data, pkt_id)
        if ok:
            sent.append((self.lname, pkt_id, data))
        return ok

    monkeypatch.setattr(L._Direction, "send", send)
    sim = Simulation.from_dict(manual_site_to_site(traffic=CBR), trace=trace)
    sim.run()
    assert sim.summary()["packets"]["delivered"] == 50
    return sim, sent


def _base(kept):
    return kept.base if type(kept) is HeaderPatch else kept


def test_every_link_tx_record_holds_the_bytes_the_link_sent(monkeypatch):
    sim, sent = _run_capturing(monkeypatch)
    recs = list(sim.trace.of("link_tx"))
    assert [(r[4], r[5]) for r in recs] == [(lname, pid) for lname, pid, _ in sent]
    for r, (_, _, data) in zip(recs, sent, strict=True):
        assert bytes(r[9]) == data and len(r[9]) == r[8] == len(data)
    by_link: dict[str, list] = {}
    for r in recs:
        by_link.setdefault(r[4], []).append(r[9])
    whole = {lname for lname, kept in by_link.items() if any(type(k) is not HeaderPatch for k in kept)}
    assert whole == {"wan-a"}  # only gw-a's ESP packets are kept whole
    assert all(type(k) is bytes for k in by_link["wan-a"])
    for k in by_link["wan-b"]:  # the router's copy: one TTL lower, still ESP
        assert k[8] == k.base[8] - 1 and k[9] == 50
    first = by_link["lan-a"][0].base
    assert all(k.base is first for k in by_link["lan-a"] + by_link["lan-b"])  # the flow's first packet
    # what gw-b hands on is what gw-a encrypted, one TTL lower: same bytes past the header
    for k_in, k_out in zip(by_link["lan-a"], by_link["lan-b"], strict=True):
        assert bytes(k_out)[20:] == bytes(k_in)[20:] and k_out[8] == k_in[8] - 2


def test_a_tunnel_packet_keeps_one_whole_copy(monkeypatch):
    sim, _ = _run_capturing(monkeypatch)
    bases = {id(_base(r[9])) for r in sim.trace.of("link_tx")}
    assert len(bases) == 50 + 1  # the ESP packets and the flow's first packet


def test_a_lost_protected_packet_leaves_no_stale_patch(monkeypatch):
    """An ESP packet the far end never decrypts leaves its Network.sealed entry; the entry
    names the protected packet by identity, so no later packet is patched against it."""
    topo = manual_site_to_site(traffic=CBR)
    topo["links"]["wan-b"]["loss"] = 0.3
    sim = Simulation.from_dict(topo)
    sim.net.keep.sealed_max = 4  # bounded: cleared when full
    sent: list[tuple[str, int, bytes]] = []
    orig = L._Direction.send

    def send(self, data, pkt_id):
        ok = orig(self, data, pkt_id)
        sent.append((self.lname, pkt_id, data))
        return ok

    monkeypatch.setattr(L._Direction, "send", send)
    sim.run()
    s = sim.summary()["packets"]
    assert 0 < s["delivered"] < 50
    assert len(sim.net.keep.sealed) <= 4
    recs = list(sim.trace.of("link_tx"))
    assert len(recs) == len(sent)
    for r, (_, _, data) in zip(recs, sent, strict=True):
        assert bytes(r[9]) == data


def test_jsonl_and_indexing_read_the_patched_bytes(monkeypatch):
    sim, sent = _run_capturing(monkeypatch)
    wire = {(lname, pid): data for lname, pid, data in sent}
    for d in sim.trace.dicts("link_tx"):
        assert bytes.fromhex(d["data"]) == wire[(d["link"], d["pkt_id"])]
    p = next(r[9] for r in sim.trace.of("link_tx") if type(r[9]) is HeaderPatch)
    assert p[:20] == bytes(p)[:20] and p == bytes(p) and p == HeaderPatch(p.base, p.head)


def test_without_bytes_nothing_is_kept(monkeypatch):
    sim, _ = _run_capturing(monkeypatch, Trace(True, False))
    assert all(r[9] is None for r in sim.trace.of("link_tx"))


def test_every_link_tx_record_holds_the_bytes_through_nat_fragments_and_sampling(monkeypatch):
    """A link_tx record's data (bytes or a trace.HeaderPatch of an earlier hop) must be byte
    for byte what the link put on the wire -- the pcaps are written from it (LINKTYPE_RAW).
    NAT (RFC 3948 UDP encapsulation), fragmentation (RFC 791 §3.2, small MTUs), sampling."""
    topo = T.load(TOPOLOGIES / "nat-traversal.yaml")
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
