"""sim/keep.py: which bytes the trace holds of the packet in hand, and the gateways' sealed bases.

The unit tests walk :class:`Keep` through its protocol by hand (flow, link, router, gateway
out, gateway in); the runs check, against what the links were really handed, that every
``link_tx`` record's bytes are the packet sent -- through loss, a NAT, and packets whose hops
the trace does not keep -- and that the sealed registry stays bounded and empty of packets the
trace does not keep.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ipsecsim.sim import link as L
from ipsecsim.sim.keep import SEALED_MAX, Keep
from ipsecsim.sim.runner import Simulation
from ipsecsim.trace import HeaderPatch
from tests.helpers.sim_topos import manual_site_to_site

ROOT = Path(__file__).resolve().parents[2]
CBR = {"u": {"type": "cbr", "from": "host-a", "to": "10.2.0.10", "count": 50, "rate": 100, "size": 1400}}


def _pkt(ttl: int, tail: bytes = b"payload") -> bytes:
    return bytes([0x45, 0, 0, 0, 0, 0, 0, 0, ttl]) + bytes(11) + tail


def test_a_fresh_keep_holds_nothing():
    k = Keep()
    assert k.data is None and k.base is None and k.sealed == {} and k.sealed_max == SEALED_MAX
    assert k.unseal(1, _pkt(64)) is None


def test_seal_then_unseal_gives_the_base_of_the_plaintext():
    k = Keep()
    first, plain = _pkt(64), _pkt(63)
    k.data, k.base = plain, first  # a router's copy of the flow's first packet
    esp = _pkt(64, b"esp")
    k.seal(7, esp)
    assert k.sealed == {7: (esp, first)}
    k.data, k.base = _pkt(62, b"esp"), esp  # the far end holds a router's copy of esp
    assert k.unseal(7, k.data) is first
    assert k.sealed == {}  # taken out once


def test_unseal_refuses_what_is_not_the_packet_sealed():
    k = Keep()
    k.data, k.base = _pkt(63), _pkt(64)
    esp = _pkt(64, b"esp")
    k.seal(7, esp)
    other = _pkt(64, b"esp")  # equal bytes, another object: e.g. rewritten by a NAT
    k.data, k.base = other, other
    assert k.unseal(7, other) is None
    assert k.sealed == {}  # the stale entry is gone
    k.seal(8, esp)
    assert k.unseal(8, _pkt(64, b"esp")) is None  # not the packet in hand
    assert 8 in k.sealed


def test_the_sealed_registry_is_emptied_when_full():
    k = Keep(sealed_max=3)
    k.data, k.base = _pkt(63), _pkt(64)
    for pid in range(1, 8):
        k.seal(pid, _pkt(64, b"esp"))
        assert len(k.sealed) <= 3
    assert list(k.sealed) == [7]


def _run(monkeypatch, topo: dict, sealed_max: int | None = None, until: float | None = None):
    sent: list[tuple[str, int, bytes]] = []
    orig = L._Direction.send

    def send(self, data, pkt_id):
        ok = orig(self, data, pkt_id)
        sent.append((self.lname, pkt_id, data))
        return ok

    monkeypatch.setattr(L._Direction, "send", send)
    sim = Simulation.from_dict(topo) if isinstance(topo, dict) else Simulation.from_file(topo)
    if sealed_max is not None:
        sim.net.keep.sealed_max = sealed_max
    sim.run(until)
    return sim, sent


def _check_bytes(sim, sent) -> list:
    recs = list(sim.trace.of("link_tx"))
    kept = {(r[4], r[5], r[3]): r for r in recs}
    assert len(kept) == len(recs)
    by_hop = {}
    for lname, pid, data in sent:
        by_hop.setdefault((lname, pid), []).append(data)
    for r in recs:  # every record holds the bytes its link was handed (the n-th such packet)
        assert any(bytes(r[9]) == d for d in by_hop[(r[4], r[5])])
        assert len(r[9]) == r[8]
    return recs


def test_a_lossy_tunnel_keeps_exact_bytes_with_a_small_registry(monkeypatch):
    topo = manual_site_to_site(traffic=CBR)
    topo["links"]["wan-b"]["loss"] = 0.3
    sim, sent = _run(monkeypatch, topo, sealed_max=4)
    s = sim.summary()["packets"]
    assert 0 < s["delivered"] < 50
    recs = [r for r in sim.trace.of("link_tx")]
    assert len(recs) == len(sent)
    for r, (_, _, data) in zip(recs, sent, strict=True):
        assert bytes(r[9]) == data
    assert len(sim.net.keep.sealed) <= 4
    assert any(type(r[9]) is HeaderPatch for r in recs if r[4] == "lan-b")  # decrypted copies patched


def test_through_a_nat_every_record_holds_the_bytes_sent(monkeypatch):
    sim, sent = _run(monkeypatch, ROOT / "topologies" / "nat-traversal.yaml", until=4)
    recs = _check_bytes(sim, sent)
    assert any(type(r[9]) is HeaderPatch for r in recs)
    assert any(type(r[9]) is bytes for r in recs)


@pytest.mark.parametrize("trace_cfg", [{"hops_until": 1.2}, {"sample_every": 5}])
def test_packets_whose_hops_are_not_kept_leave_nothing_sealed(monkeypatch, trace_cfg):
    topo = manual_site_to_site(traffic=CBR)
    topo["trace"] = trace_cfg
    sim, sent = _run(monkeypatch, topo)
    assert sim.summary()["packets"]["delivered"] == 50
    recs = _check_bytes(sim, sent)
    pids = {r[5] for r in recs}
    assert 0 < len({p for p in pids if p <= 50}) < 50  # some packets kept, some not
    assert sim.net.keep.sealed == {}  # every sealed plaintext was unsealed at the far end
    assert sim.net.keep.data is None or sim.net.keep.data in [d for _, _, d in sent]
