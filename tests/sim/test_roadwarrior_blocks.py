"""Blocking policies (traps, discards) on a hub whose one connection serves many peers.

A hub's blocking policies stand in for one config or one CHILD_SA *instance*, never for every
CHILD_SA that shares the child's name. Oracles (strongSwan source, 5.9 and master):

* ``src/libcharon/sa/trap_manager.c`` ``install()``: a trap is installed per child *config*
  with the config's selectors and stays installed (``uninstall()`` only on request) while
  CHILD_SAs come and go; ``kernel_netlink_ipsec.c`` ``get_priority()`` gives a CHILD_SA's
  policy priority over a trap with the same selectors (``- (prio != POLICY_PRIORITY_ROUTED)``)
  and a narrower one priority by its prefix lengths, so the trap keeps covering the rest.
* the same ``install()`` refuses a tunnel-mode child whose remote address is ``%any``
  ("installing trap failed, remote address unknown"): it could not initiate towards anyone
  (only transport mode gets a wildcard trap). So a road-warrior hub has no trap: its traffic
  to a spoke that is not up is not covered by any policy, as with ``start_action: none``.
* ``child_sa.c`` ``install_policies()``: each CHILD_SA has policies for its own negotiated
  selectors (RFC 7296 §2.9 narrowing), so a block standing in for one CHILD_SA (a
  break-before-make reauthentication's gap) covers that CHILD_SA's selectors only.

Before the fix the sim kept one list of blocks per child *name*: a hub's first CHILD_SA lifted
the trap and a refused child's DISCARD for every peer, a refused child of one spoke DISCARDed
the others' traffic, and a reauthentication with one spoke left that spoke's traffic in the
clear because other spokes had a child of the same name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import yaml

from ipsecsim.core.ike import states as S
from ipsecsim.core.ike.tasks import ike_reauth
from ipsecsim.core.spd import OUT, PROTECT
from ipsecsim.sim import Simulation
from tests.helpers.paths import REPO as ROOT
from tests.helpers.sim_topos import assert_conserved, road_warrior_hub

N = 3
ICMP, UDP, ESP = 1, 17, 50


def _topo(late: dict[int, float], duration: float = 8, **hub_child: object) -> dict:
    """road_warrior_hub(3) with the hub's child ``rw`` updated by ``hub_child``; spoke ``i``
    in ``late`` has ``start_action: none``, is started by hand at ``late[i]`` and pings from
    ``late[i] + 0.5`` (a ping racing the IKE_AUTH, refused in the clear by the hub, which
    installs first, is not the point here)."""
    topo = road_warrior_hub(N, duration=duration)
    topo["nodes"]["hub"]["ipsec"]["connections"]["rw"]["children"]["rw"].update(hub_child)
    for i in late:
        topo["nodes"][f"spoke{i}-gw"]["ipsec"]["connections"]["hub"]["children"]["to-hub"][
            "start_action"] = "none"
        topo["traffic"][f"ping{i}"]["start"] = late[i] + 0.5
    return topo


def _run(topo: dict, late: dict[int, float],
         more: list[tuple[float, Callable[[Simulation], None]]] = ()) -> Simulation:
    def start(i: int) -> Callable[[Simulation], None]:
        def go(sim: Simulation) -> None:
            gw = sim.node(f"spoke{i}-gw")
            gw.ike.initiate("hub", sim.now, "to-hub")
            gw.drain()
        return go

    sim = Simulation.from_dict(topo)
    for t, fn in sorted([(t, start(i)) for i, t in late.items()] + list(more), key=lambda e: e[0]):
        sim.run(until=t)
        fn(sim)
    return sim.run()


def _wan_packets(sim: Simulation, link: str, dst_prefix: str | None = None) -> Counter:
    """(IP protocol, sent at or after t) -> how many went onto ``link``, optionally only those
    whose destination starts with ``dst_prefix`` (dotted)."""
    out: Counter = Counter()
    for r in sim.trace.dicts("link_tx"):
        if r["link"] == link and r["data"]:
            b = bytes.fromhex(r["data"][:40])
            if dst_prefix is None or ".".join(map(str, b[16:20])).startswith(dst_prefix):
                out[b[9]] += 1
    return out


def _cleartext_to(sim: Simulation, link: str, dst_prefix: str, t0: float = 0, t1: float = 1e9) -> int:
    """Packets on ``link`` in [t0, t1) whose outer destination is in ``dst_prefix``: a
    tunnel-mode packet's outer destination is a gateway's WAN address, so these crossed in
    the clear."""
    n = 0
    for r in sim.trace.dicts("link_tx"):
        if r["link"] == link and r["data"] and t0 <= r["t"] < t1:
            b = bytes.fromhex(r["data"][:40])
            n += ".".join(map(str, b[16:20])).startswith(dst_prefix)
    return n


def _child_up(sim: Simulation, node: str, peer: str) -> float:
    return min(r["t"] for r in sim.trace.dicts("sa") if r["node"] == node and r["proto"] == "esp"
               and r["event"] == "installed" and r["peer"] == peer)


def _notes(sim: Simulation, node: str) -> list[str]:
    return [r["text"] for r in sim.trace.dicts("note") if r["node"] == node]


def test_a_percent_any_tunnel_child_gets_no_trap_so_one_spoke_does_not_change_anothers_coverage():
    """Spokes 1 and 3 come up at 2.5 s, spoke 2 at 4.5 s. strongSwan refuses the hub's trap
    (tunnel mode, remote %any), so the hub's traffic to spoke 2's LAN is handled the same
    before and after spoke 1's CHILD_SA: no policy covers it (exactly as with ``start_action:
    none``), never a ``no_sa`` trap that spoke 1's install then lifts. (Before the fix: no_sa
    drops until spoke 1 came up, cleartext after.)"""
    late = {1: 2.5, 2: 4.5, 3: 2.5}
    trap = _run(_topo(late, start_action="trap"), late)
    none = _run(_topo(late, start_action="none"), late)
    s = assert_conserved(trap)
    assert s == assert_conserved(none)
    assert s["dropped"] == {} and s["delivered"] == s["sent"] > 0
    assert any("installing trap failed, remote address unknown" in t for t in _notes(trap, "hub"))
    assert not trap.node("hub").blocks
    assert all(p.sa is not None for p in trap.node("hub").stack.spd.policies(OUT) if p.action == PROTECT)
    up1, up2 = _child_up(trap, "hub", "172.16.1.1"), _child_up(trap, "hub", "172.16.2.1")
    assert 2.5 < up1 < 2.7 and 4.5 < up2 < 4.7
    # the server's CBR to spoke 2 (20/s from 1.02 s) crosses the hub's WAN link in the clear at
    # the same rate before and after spoke 1's CHILD_SA, and not once spoke 2's is up
    before, after = (_cleartext_to(trap, "hub-wan", "10.0.2.", a, b) for a, b in ((1, up1), (up1, up2)))
    assert before >= 20 * (up1 - 1.02) - 1 and after >= 20 * (up2 - up1) - 1
    assert _cleartext_to(trap, "hub-wan", "10.0.2.", up2 + 0.1) == 0
    assert _wan_packets(trap, "hub-wan") == _wan_packets(none, "hub-wan")


def test_a_trap_stays_while_its_child_sa_comes_and_goes():
    """Site-to-site, gw-a traps ``lan-lan``. gw-b deletes the CHILD_SA (the IKE_SA
    stays) at 3.1 s. The trap stayed installed under the CHILD_SA's policies, so gw-a's next packet is
    a ``no_sa`` drop that acquires a new CHILD_SA, and nothing crosses the WAN in the clear.
    (Before the fix the first install removed the trap: pings after the delete went out in
    the clear.)"""
    topo = yaml.safe_load((ROOT / "topologies" / "site-to-site.yaml").read_text())
    topo["nodes"]["gw-a"]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"][
        "start_action"] = "trap"
    topo["traffic"] = {"ping": {"type": "ping", "from": "host-a", "to": "10.2.0.10", "start": 1,
                                "rate": 4, "count": 24}}
    topo["duration"] = 8

    def delete(sim: Simulation) -> None:
        gw = sim.node("gw-b")
        (child,) = gw.ike.children()
        gw.ike.delete_child(child.spi_in, sim.now)
        gw.drain()

    sim = _run(topo, {}, [(3.1, delete)])
    s = assert_conserved(sim)
    # one no_sa drop starts IKE at 1 s, one starts the new CHILD_SA after the delete
    assert s["dropped"] == {"no_sa": 2} and s["delivered"] == s["sent"] - 2 == 22, s
    no_sa = [r["t"] for r in sim.trace.dicts("drop") if r["reason"] == "no_sa"]
    assert 1.0 <= no_sa[0] < 1.01 and 3.1 < no_sa[1] < 3.3
    assert sim.summary()["child_sas"]["installed"] == 2  # the first CHILD_SA and its successor
    assert set(_wan_packets(sim, "wan-a")) <= {UDP, ESP}  # IKE and ESP only: never ICMP
    assert _wan_packets(sim, "wan-a")[ESP] == 2 * 22
    trap = [b.policy for b in sim.node("gw-a").blocks["lan-lan"]]
    assert len(trap) == 1 and trap[0].action == PROTECT and trap[0].sa is None


def test_a_spokes_refused_child_does_not_discard_the_other_spokes_traffic():
    """Spoke 2 offers only AES-256-GCM: the hub refuses its CHILD_SA (NO_PROPOSAL_CHOSEN,
    RFC 7296 §3.10.1; the IKE_SA stays) at once; spokes 1 and 3 come up at 2 s. The hub's
    DISCARD for the config's selectors (10.0.0.0/16) would drop spokes 1 and 3's traffic with
    spoke 2's reason (before the fix: until spoke 1's install lifted it for everyone), so the
    hub installs none, as strongSwan (which has no such policy) does. Spoke 2's gateway,
    whose connection has one peer, still discards its own child's traffic."""
    late = {1: 2.0, 3: 2.0}
    topo = _topo(late)
    topo["nodes"]["spoke2-gw"]["ipsec"]["connections"]["hub"]["children"]["to-hub"][
        "esp_proposals"] = ["aes256gcm16"]
    sim = _run(topo, late)
    s = assert_conserved(sim)
    drops = Counter((r["node"], r["reason"], r["detail"].split(":")[0]) for r in sim.trace.dicts("drop"))
    # only spoke 2's pings, at its own gateway, with its own child's refusal
    assert drops == {("spoke2-gw", "policy_discard", "to-hub"): 2 * 6}, drops
    assert s["dropped"] == {"policy_discard": 12}
    fails = {(f["node"], f["notify"], f["child"]) for f in sim.summary()["ike"]["failures"]}
    assert fails == {("hub", "NO_PROPOSAL_CHOSEN", "rw"), ("spoke2-gw", "NO_PROPOSAL_CHOSEN", "to-hub")}
    assert not sim.node("hub").blocks
    assert any("no discard policy for a refused child" in t for t in _notes(sim, "hub"))
    for i in (1, 3):  # everything sent to and from spokes 1 and 3 arrived
        f = sim.summary()["flows"]
        assert f[f"ping{i}"]["delivered"] == f[f"ping{i}"]["sent"] > 0
        assert f[f"down{i}"]["delivered"] == f[f"down{i}"]["sent"] > 0


def test_a_reauth_with_one_spoke_traps_only_that_spokes_traffic():
    """The hub reauthenticates its IKE_SA with spoke 2 at 4 s, break-before-make (strongSwan
    5.9 ``ike_reauth.c``): until the new CHILD_SA is up, the hub's traffic to spoke 2's LAN
    is a ``no_sa`` drop on a trap for that CHILD_SA's own selectors, not cleartext (before the
    fix there was no trap at all, because spokes 1 and 3 had a child of the same name), and
    spokes 1 and 3 lose nothing."""
    def reauth(sim: Simulation) -> None:
        hub = sim.node("hub")
        sa = next(sa for sa in hub.ike.ike_sas.values()
                  if sa.remote[0] == "172.16.2.1" and sa.state == S.ESTABLISHED)
        ike_reauth.start(hub.ike, sa, sim.now)
        hub.drain()

    sim = _run(road_warrior_hub(N, duration=8), {}, [(4.0, reauth)])
    s = assert_conserved(sim)
    drops = Counter((r["node"], r["reason"]) for r in sim.trace.dicts("drop"))
    assert set(drops) <= {("hub", "no_sa"), ("spoke2-gw", "unknown_spi")}, drops
    assert drops[("hub", "no_sa")] >= 1
    no_sa = [r for r in sim.trace.dicts("drop") if r["reason"] == "no_sa"]
    flow_of = {r["pkt_id"]: r["flow"] for r in sim.trace.dicts("app_send")}
    assert {flow_of[r["pkt_id"]] for r in no_sa} <= {"down2", "ping2"}
    assert all(4.0 < r["t"] < 4.3 for r in no_sa)
    assert _cleartext_to(sim, "hub-wan", "10.0.") == 0  # nothing to a spoke's LAN in the clear
    f = sim.summary()["flows"]
    for i in (1, 3):
        assert f[f"ping{i}"]["delivered"] == f[f"ping{i}"]["sent"] > 0
        assert f[f"down{i}"]["delivered"] == f[f"down{i}"]["sent"] > 0
    assert s["delivered"] + sum(s["dropped"].values()) == s["sent"]
    assert sim.summary()["ike"]["established"] == N + 1
    # the gap's trap went with spoke 2's new CHILD_SA: no block, every PROTECT policy has an SA
    hub = sim.node("hub")
    assert not hub.blocks
    pols = [p for p in hub.stack.spd.policies(OUT) if p.action == PROTECT]
    assert len(pols) == N and all(p.sa is not None for p in pols)
