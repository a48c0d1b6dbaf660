"""A gateway refuses cleartext that its inbound policies say must arrive protected.

RFC 4301 §5.2 (processing inbound IP traffic): an unprotected packet is looked up in the
SPD and discarded unless BYPASS (or no policy) covers it; Linux applies its ``fwd`` policies
to forwarded packets the same way, strongSwan installing in/fwd policies with each CHILD_SA
(``child_sa.c`` ``install_policies``). Before, the simulated gateway checked only ESP/AH
addressed to itself, so a spoofed cleartext packet from "site A" crossed gw-b into site B.
"""

from __future__ import annotations

import yaml
from simpy.events import Timeout

from ipsecsim.core import ip as P
from ipsecsim.sim.runner import Simulation
from tests.helpers.paths import TOPOLOGIES
from tests.helpers.sim_topos import manual_site_to_site


def _with_mallory() -> Simulation:
    """manual_site_to_site plus a host on the Internet router, mallory (192.0.2.66)."""
    topo = manual_site_to_site(traffic={"u": {"type": "cbr", "from": "host-a", "to": "10.2.0.10",
                                              "count": 20, "rate": 100, "size": 200}})
    topo["nodes"]["internet"]["addresses"].append("192.0.2.254/24")
    topo["nodes"]["mallory"] = {"role": "host", "addresses": ["192.0.2.66/24"],
                                "routes": [{"to": "0.0.0.0/0", "via": "192.0.2.254"}]}
    topo["links"]["evil"] = {"bandwidth": "100Mbps", "delay": "1ms", "a": "mallory", "b": "internet"}
    topo["nodes"]["internet"]["routes"] = [{"to": "10.2.0.0/16", "via": "203.0.113.1"}]
    return Simulation.from_dict(topo)


def _inject(sim: Simulation, at: float, src: str, dst: str) -> int:
    """Have mallory send one UDP packet src -> dst at time ``at``; returns its packet id."""
    net = sim.net
    pid = net.control_id()
    node = net.nodes["mallory"]
    pkt = P.udp(P.aton(src), P.aton(dst), 5555, 7777, b"x" * 40, 1)
    ev = Timeout(net.env, at)
    ev.callbacks.append(lambda _ev: node.output(pkt, pid))
    return pid


def _drops(sim: Simulation, pid: int) -> list[tuple[str, str, str]]:
    return [(r[3], r[5], r[6]) for r in sim.trace.of("drop") if r[4] == pid]


def test_spoofed_cleartext_into_a_protected_lan_is_refused_at_the_gateway():
    sim = _with_mallory()
    pid = _inject(sim, 0.5, "10.1.0.66", "10.2.0.10")  # claims to come from site A's LAN
    sim.run()
    drops = _drops(sim, pid)
    assert len(drops) == 1
    node, reason, detail = drops[0]
    assert (node, reason) == ("gw-b", "cleartext_refused") and "requires ESP" in detail
    assert not any(r[4] == pid and r[3] == "gw-b" for r in sim.trace.of("link_tx"))  # never forwarded
    assert sim.net.nodes["gw-b"].stack.drops["cleartext_refused"] == 1
    s = sim.summary()["packets"]
    assert s["sent"] == s["delivered"] == 20  # the tunnel's own traffic is untouched


def test_cleartext_no_policy_covers_is_forwarded():
    sim = _with_mallory()
    pid = _inject(sim, 0.5, "192.0.2.66", "10.2.0.10")  # an Internet host: no policy covers it
    sim.run()
    # it crossed gw-b and reached host-b, which has no listener on port 7777
    assert _drops(sim, pid) == [("host-b", "no_listener", "udp/7777")]


def test_cleartext_to_the_gateway_itself_is_refused_too():
    sim = _with_mallory()
    pid = _inject(sim, 0.5, "10.1.0.66", "10.2.0.1")  # gw-b's LAN address is in 10.2.0.0/16
    sim.run()
    assert [(n, r) for n, r, _ in _drops(sim, pid)] == [("gw-b", "cleartext_refused")]


def test_an_spd_change_forgets_the_remembered_verdicts():
    """The per-address-pair memory of cleartext_in is emptied when the SPD changes."""
    sim = _with_mallory()
    stack = sim.net.nodes["gw-b"].stack
    first = _inject(sim, 0.5, "10.1.0.66", "10.2.0.10")
    sim.run(until=1.0)
    assert [(n, r) for n, r, _ in _drops(sim, first)] == [("gw-b", "cleartext_refused")]
    assert stack.cleartext_verdicts  # remembered
    stack.add_policy("in", "bypass", ["10.1.0.66/32"], ["10.2.0.10/32"], name="let-in", priority=-1)  # lower: consulted first
    assert not stack.cleartext_verdicts
    second = _inject(sim, 1.5, "10.1.0.66", "10.2.0.10")
    sim.run()
    assert _drops(sim, second) == [("host-b", "no_listener", "udp/7777")]


def test_a_new_local_address_forgets_the_remembered_verdicts():
    """Whether a packet is for us decides the IKE exemption and whether a verdict is cached;
    adding a local address (a rekey moving the tunnel endpoint) must not leave stale ones."""
    sim = _with_mallory()
    stack = sim.net.nodes["gw-b"].stack
    _inject(sim, 0.5, "10.1.0.66", "10.2.0.10")
    sim.run(until=1.0)
    assert stack.cleartext_verdicts
    stack.add_local_addr("10.2.0.77")
    assert not stack.cleartext_verdicts


# --- a transport-mode host: IKE and ESP-in-UDP fragments are reassembled before the check -----


def _transport_pair() -> Simulation:
    topo = yaml.safe_load((TOPOLOGIES / "host-to-host-transport.yaml").read_text())
    topo["duration"] = 3
    return Simulation.from_dict(topo)


def _send_big(sim: Simulation, at: float, sport: int, dport: int) -> int:
    """bob sends alice one 3 kB UDP datagram in cleartext (fragmented on the 1500-byte links)."""
    net = sim.net
    bob = net.nodes["bob"]
    pid = net.control_id()
    pkt = P.udp(P.aton("198.51.100.20"), P.aton("192.0.2.10"), sport, dport, b"x" * 3000, 1)
    ev = Timeout(net.env, at)
    ev.callbacks.append(lambda _e: bob.transmit(pkt, pid))
    return pid


def test_fragmented_ike_and_esp_in_udp_to_a_transport_host_are_reassembled_not_refused():
    """A transport-mode host's policy covers every protocol between the two hosts, yet IKE
    (UDP 500) and ESP-in-UDP (4500) to it are not cleartext (RFC 3948 §3.1, strongSwan's
    per-socket IKE bypass). Their non-first fragments carry no ports (RFC 4301 §7), so the
    check must wait for reassembly, as Linux does (ip_local_deliver defragments before the
    transport's xfrm4_policy_check). Before the fix alice refused the non-first fragments
    (cleartext_refused) and the datagram never reassembled."""
    sim = _transport_pair()
    ike = _send_big(sim, 2.0, 500, 500)
    natt = _send_big(sim, 2.2, 4500, 4500)
    other = _send_big(sim, 2.4, 5555, 7777)
    sim.run()
    drops = {pid: [(r[3], r[5]) for r in sim.trace.of("drop") if r[4] == pid] for pid in (ike, natt, other)}
    assert ("alice", "cleartext_refused") not in drops[ike]
    assert ("alice", "cleartext_refused") not in drops[natt]
    assert any(r[3] == "alice" and r[4] == ike for r in sim.trace.of("reassemble"))
    # anything else in cleartext is still refused, once, after reassembly
    assert drops[other] == [("alice", "cleartext_refused")]
