"""The trace keeps a router's copy of a packet as a header patch of the bytes it already holds.

Checked against what the links were really handed: every ``link_tx`` record's bytes (whole or
patched) equal the packet its link sent, byte for byte; on the tunnel path host-a - gw-a -
internet - gw-b - host-b a packet keeps three whole copies (the original, the ESP packet and
the decrypted inner one) and one patch (the router's copy of the ESP packet).
"""

from __future__ import annotations

from sim_topos import manual_site_to_site

from ipsecsim.sim import link as L
from ipsecsim.sim.runner import Simulation
from ipsecsim.trace import HeaderPatch, Trace

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
    patched = [r for r in recs if type(r[9]) is HeaderPatch]
    # the router's copy of each ESP packet, and nothing else
    assert len(patched) == 50 and {r[4] for r in patched} == {"wan-b"}
    for r in patched:
        assert r[9][8] == r[9].base[8] - 1 and r[9][9] == 50  # one TTL lower; ESP


def test_a_tunnel_packet_keeps_three_whole_copies(monkeypatch):
    sim, _ = _run_capturing(monkeypatch)
    bases = {id(_base(r[9])) for r in sim.trace.of("link_tx")}
    assert len(bases) == 3 * 50


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
