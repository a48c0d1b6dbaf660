"""Review of 5abf349/ca246ba/888599e: bugs found with fresh eyes, one test each."""

from __future__ import annotations

from pathlib import Path

import yaml
from simpy.events import Timeout

from ipsecsim.sim import packet as P
from ipsecsim.sim.runner import Simulation

TOPOS = Path(__file__).resolve().parent.parent / "topologies"


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
