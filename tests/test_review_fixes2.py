"""Review of 5abf349/ca246ba/888599e: bugs found with fresh eyes, one test each."""

from __future__ import annotations

import yaml
from simpy.events import Timeout

from ipsecsim.core import ip as P
from ipsecsim.sim.runner import Simulation
from tests.helpers.paths import TOPOLOGIES as TOPOS


def _transport_pair() -> Simulation:
    topo = yaml.safe_load((TOPOS / "host-to-host-transport.yaml").read_text())
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


def test_a_refused_child_rekey_after_an_ike_rekey_installs_no_discard():
    """eb62f2e: a refused CHILD_SA installs a DISCARD for the config's selectors unless "this
    IKE_SA still has" the child (a refused rekey, RFC 7296 §2.8: the old CHILD_SA stays). The
    check compared the child's ChildSaKeys.ike_sa, which names the IKE_SA that *created* it;
    after an IKE_SA rekey (RFC 7296 §2.18: the CHILD_SAs move to the new IKE_SA, a new name
    here) it never matched, so a refused rekey of a live child got a DISCARD as if the child
    had been refused outright. The event is the one child_rekey.py emits when the peer refuses
    (``_failure(sa, notify, reason, False, child=old.name)``)."""
    from ipsecsim.core.ike.events import IkeFailure

    topo = yaml.safe_load((TOPOS / "site-to-site.yaml").read_text())
    topo["nodes"]["gw-a"]["ipsec"]["connections"]["office-link"]["rekey_time"] = "2s"
    sim = Simulation.from_dict(topo)
    sim.run(until=5)
    gw = sim.net.nodes["gw-a"]
    [sa] = [s for s in gw.ike.ike_sas.values() if s.state == "ESTABLISHED"]
    [keys] = [k for k in gw.children.values() if k.name == "lan-lan"]
    assert keys.ike_sa != sa.name  # the premise: the child came from the IKE_SA before the rekey
    gw.node.handle_ike_event(IkeFailure(sa.name, "office-link", "NO_PROPOSAL_CHOSEN", "rekey refused",
                                        False, False, "lan-lan"), 5.0)
    assert "lan-lan" not in gw.blocks
    assert not [p for p in gw.stack.spd.policies("out") if p.action == "discard"]
