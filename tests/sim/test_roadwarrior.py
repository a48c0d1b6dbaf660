"""One responder connection serving many peers (road warriors / a hub with ``remote_addrs: [%any]``).

Oracle: strongSwan installs policies per CHILD_SA instance, for that CHILD_SA's own negotiated
(narrowed) selectors: ``src/libcharon/sa/child_sa.c`` ``install_policies()`` walks
``create_policy_enumerator()`` over the child's ``my_ts`` x ``other_ts``, and the reqid comes
from ``src/libcharon/kernel/kernel_interface.c`` ``alloc_reqid()``, which shares a reqid only
between CHILD_SAs whose selectors (and marks) are equal -- a rekeyed CHILD_SA's successor.
So three spokes under one connection get three policy pairs, each pointing at its own SA.
RFC 7296 §2.9: the responder narrows each peer's TSi to the part its config allows.

Before the fix the stack kept one policy pair per child *name*: the hub sent every spoke's
traffic on the last spoke's SA (or in the clear, with the last spoke's selectors on the one
policy), and a spoke's DELETE could take the others' policies with it.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from ipsecsim.core.ike import states as S
from ipsecsim.core.selectors import TrafficSelector as TS
from ipsecsim.core.spd import OUT, PROTECT
from ipsecsim.sim import Simulation
from tests.helpers.sim_topos import assert_conserved, road_warrior_hub

N = 3
HUB_LAN = TS.parse("10.255.0.0/24")


def _peer(i: int) -> str:
    return f"172.16.{i}.1"


def _spis(sim: Simulation, node: str) -> dict[str, list[tuple[int, int]]]:
    """peer address -> [(inbound SPI, outbound SPI)] of the ESP SAs ``node`` installed, in order."""
    by_peer: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"in": [], "out": []})
    for r in sim.trace.dicts("sa"):
        if r["node"] == node and r["event"] == "installed" and r["proto"] == "esp":
            by_peer[r["peer"]][r["direction"]].append(r["spi"])
    return {p: list(zip(d["in"], d["out"], strict=True)) for p, d in by_peer.items()}


def _crypto(sim: Simulation, kind: str) -> dict[int, list[tuple[str, int, float]]]:
    """pkt_id -> [(node, spi, t)] of its encrypt (or decrypt) records."""
    out: dict[int, list[tuple[str, int, float]]] = defaultdict(list)
    for r in sim.trace.dicts(kind):
        out[r["pkt_id"]].append((r["node"], r["spi"], r["t"]))
    return out


def _flow_ids(sim: Simulation, flow: str) -> list[tuple[int, float]]:
    return [(r["pkt_id"], r["t"]) for r in sim.trace.dicts("app_send") if r["flow"] == flow]


def _sent(sim: Simulation, i: int) -> int:
    flows = sim.summary()["flows"]
    return flows[f"ping{i}"]["sent"] + flows[f"down{i}"]["sent"]


def _hub_out_policies(sim: Simulation) -> list:
    return [p for p in sim.node("hub").stack.spd.policies(OUT) if p.action == PROTECT]


def _check_carried(sim: Simulation, i: int, pair: tuple[int, int], t0: float = 0.0,
                   t1: float = 1e9) -> int:
    """Every packet of spoke ``i``'s flows sent in [t0, t1) crossed the WAN on spoke ``i``'s
    SA pair ``pair`` (hub's view: inbound, outbound) and nothing else; returns how many."""
    enc, dec = _crypto(sim, "encrypt"), _crypto(sim, "decrypt")
    spi_in, spi_out = pair
    n = 0
    for pid, t in _flow_ids(sim, f"down{i}"):
        if t0 <= t < t1:
            # server -> spoke i: the hub encrypts on spoke i's SA, spoke i's gateway decrypts
            assert [(e[0], e[1]) for e in enc[pid]] == [("hub", spi_out)], (i, pid, enc[pid])
            assert [(d[0], d[1]) for d in dec[pid]] == [(f"spoke{i}-gw", spi_out)], (i, pid, dec[pid])
            n += 1
    for pid, t in _flow_ids(sim, f"ping{i}"):
        if t0 <= t < t1:
            # echo request on the spoke's SA to the hub, the reply (same pkt_id) back on the hub's
            assert sorted((e[0], e[1]) for e in enc[pid]) == sorted(
                [("hub", spi_out), (f"spoke{i}-gw", spi_in)]), (i, pid, enc[pid])
            assert sorted((d[0], d[1]) for d in dec[pid]) == sorted(
                [("hub", spi_in), (f"spoke{i}-gw", spi_out)]), (i, pid, dec[pid])
            n += 1
    return n


def test_each_spoke_has_its_own_policies_and_sa_pair():
    sim = Simulation.from_dict(road_warrior_hub(N)).run()
    s = assert_conserved(sim)
    assert s["sent"] > 0 and s["delivered"] == s["sent"] and s["dropped"] == {}
    assert sim.summary()["drops_all"] == {}
    assert sim.summary()["ike"]["established"] == N
    hub = _spis(sim, "hub")
    assert sorted(hub) == [_peer(i) for i in range(1, N + 1)]
    pairs = [hub[_peer(i)][0] for i in range(1, N + 1)]
    assert len({spi for p in pairs for spi in p}) == 2 * N  # three distinct SA pairs
    for i in range(1, N + 1):
        (pair,) = hub[_peer(i)]
        # the spoke's view is the mirror image of the hub's
        assert _spis(sim, f"spoke{i}-gw") == {"192.0.2.1": [(pair[1], pair[0])]}
        assert _check_carried(sim, i, pair) == _sent(sim, i) == 2 * 6 + 20 * 6
    # one outbound PROTECT policy per spoke, narrowed to that spoke's LAN (RFC 7296 §2.9)
    pols = _hub_out_policies(sim)
    assert {(p.src, p.dst, p.sa.spi) for p in pols} == {
        ((HUB_LAN,), (TS.parse(f"10.0.{i}.0/24"),), hub[_peer(i)][0][1]) for i in range(1, N + 1)}
    assert len(pols) == N


def _stop_spoke(topo: dict, i: int, at: float) -> None:
    topo["traffic"][f"ping{i}"]["count"] = int((at - 1) * 2)
    topo["traffic"][f"down{i}"]["stop"] = at


def _hub_ike_sa(sim: Simulation, i: int):
    return next(sa for sa in sim.node("hub").ike.ike_sas.values()
                if sa.remote[0] == _peer(i) and sa.state == S.ESTABLISHED)


@pytest.mark.parametrize("how", ["hub-deletes", "spoke-deletes", "dpd"])
def test_one_spoke_going_away_leaves_the_others_working(how):
    """Spoke 2's IKE_SA ends (the hub deletes it, spoke 2 deletes it, or spoke 2 dies and the
    hub's DPD gives up on it, RFC 7296 §2.4): its CHILD_SA and policies go, spokes 1 and 3
    keep their SAs and lose nothing."""
    topo = road_warrior_hub(N, duration=10)
    _stop_spoke(topo, 2, 3.5)
    rw = topo["nodes"]["hub"]["ipsec"]["connections"]["rw"]
    if how == "dpd":
        rw.update(dpd_delay=1, retransmit_timeout=0.5, retransmit_base=1.0, retransmit_tries=2)
        topo["links"]["wan2"]["down"] = [[3.6, 100]]
    sim = Simulation.from_dict(topo)
    sim.run(until=4.0)
    if how == "hub-deletes":
        sim.node("hub").ike.delete_ike(_hub_ike_sa(sim, 2).name, sim.now)
        sim.node("hub").drain()
    elif how == "spoke-deletes":
        gw = sim.node("spoke2-gw")
        (sa,) = gw.ike.established()
        gw.ike.delete_ike(sa.name, sim.now)
        gw.drain()
    sim.run()
    s = assert_conserved(sim)
    assert s["delivered"] == s["sent"] and s["dropped"] == {}, s
    hub = _spis(sim, "hub")
    gone = [r for r in sim.trace.dicts("sa") if r["node"] == "hub" and r["proto"] == "esp"
            and r["event"] in ("deleted", "hard_expired")]
    # exactly spoke 2's pair went, and only after it stopped sending
    assert sorted(r["spi"] for r in gone) == sorted(hub[_peer(2)][0])
    t_gone = max(r["t"] for r in gone)
    assert 4.0 <= t_gone < 8.0, t_gone
    assert sim.node("hub").stack.sad.outbound.get(hub[_peer(2)][0][1]) is None
    pols = _hub_out_policies(sim)
    assert sorted(str(p.dst[0]) for p in pols) == ["10.0.1.0/24", "10.0.3.0/24"]
    for i in (1, 3):
        (pair,) = hub[_peer(i)]
        assert _check_carried(sim, i, pair, t0=t_gone) > 40  # still flowing after spoke 2 went
        assert _check_carried(sim, i, pair) == _sent(sim, i) == 2 * 8 + 20 * 8


def test_a_spokes_rekey_moves_only_its_own_outbound():
    """Spoke 2 rekeys its CHILD_SA (RFC 7296 §2.8); the hub answers as responder and keeps
    sending on the old SA until spoke 2's DELETE of it (strongSwan ``child_delete.c``
    ``install_outbound()``). Spokes 1 and 3 stay on their SAs throughout."""
    topo = road_warrior_hub(N, duration=10)
    sim = Simulation.from_dict(topo)
    sim.run(until=4.0)
    gw = sim.node("spoke2-gw")
    (child,) = gw.ike.children()
    gw.ike.rekey_child(child.spi_in, sim.now)
    gw.drain()
    sim.run()
    s = assert_conserved(sim)
    assert s["delivered"] == s["sent"] and s["dropped"] == {}, s
    assert sim.summary()["drops_all"] == {}
    hub = _spis(sim, "hub")
    old, new = hub[_peer(2)]
    assert set(old).isdisjoint(new)
    switched = [r for r in sim.trace.dicts("sa") if r["node"] == "hub" and r["event"] == "rekeyed"]
    assert len(switched) == 1 and 4.0 < switched[0]["t"] < 4.2
    t = switched[0]["t"]
    assert _check_carried(sim, 2, new, t0=t + 0.1) > 50
    for i in (1, 3):
        (pair,) = hub[_peer(i)]
        assert _check_carried(sim, i, pair) == _sent(sim, i) == 2 * 8 + 20 * 8
    pols = _hub_out_policies(sim)
    assert sorted(p.sa.spi for p in pols) == sorted([hub[_peer(1)][0][1], new[1], hub[_peer(3)][0][1]])
