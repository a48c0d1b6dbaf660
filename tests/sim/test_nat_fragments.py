"""ESP in UDP through a NAT when the tunnel overhead pushes packets over the MTU.

A 1,450-byte packet plus ESP-in-UDP tunnel overhead (RFC 3948: outer IPv4 + UDP + ESP header,
IV, padding, ICV) no longer fits a 1,500-byte link, so the gateway fragments the outer packet.
Only the first fragment carries the UDP ports a NAT maps on: a NAT that translated fragment by
fragment would lose the rest. Linux's connection tracking reassembles before NAT
(``nf_defrag_ipv4``) and the translated datagram is fragmented again on the way out; the
simulated NAT does the same, in both directions.
"""

from __future__ import annotations

import yaml

from ipsecsim.sim.runner import Simulation
from tests.helpers.paths import TOPOLOGIES
from tests.helpers.sim_topos import assert_conserved

TOPO = TOPOLOGIES / "nat-traversal.yaml"


def _run() -> Simulation:
    topo = yaml.safe_load(TOPO.read_text())
    topo["traffic"] = {
        "up": {"type": "cbr", "from": "host-a", "to": "10.2.0.10", "start": 1, "count": 60, "rate": 20, "size": 1450},
        "down": {"type": "cbr", "from": "host-b", "to": "10.1.0.10", "start": 1, "count": 60, "rate": 20, "size": 1450},
    }
    topo["duration"] = 5
    return Simulation.from_dict(topo).run()


def test_fragmented_esp_in_udp_crosses_the_nat_both_ways():
    sim = _run()
    s = assert_conserved(sim)
    flows = sim.summary()["flows"]
    assert flows["up"]["sent"] == flows["up"]["delivered"] == 60
    assert flows["down"]["sent"] == flows["down"]["delivered"] == 60
    assert s["dropped"] == {} and sim.summary()["drops_all"] == {}
    frag = [r for r in sim.trace.of("fragment")]
    reasm = [r for r in sim.trace.of("reassemble")]
    # every packet is fragmented by the gateway that encrypted it and again by the NAT, and
    # reassembled by the NAT and by the gateway that decrypts it
    assert {r[3] for r in frag} == {"gw-a", "gw-b", "nat"}
    assert {r[3] for r in reasm} == {"gw-a", "gw-b", "nat"}
    assert sum(1 for r in reasm if r[3] == "nat") == 120


def test_each_fragment_leaving_the_nat_carries_the_public_address():
    sim = _run()
    out = [bytes(r[9]) for r in sim.trace.of("link_tx") if r[4] == "isp" and r[6] == "nat"]
    assert out and all(p[12:16] == bytes([198, 51, 100, 10]) for p in out)
    firsts = [p for p in out if p[6] & 0x20 and not (p[6] & 0x1F or p[7])]  # MF, offset 0
    assert firsts and all(int.from_bytes(p[22:24], "big") == 4500 for p in firsts)  # to gw-b's 4500


def test_tshark_reassembles_and_decrypts_what_crossed_the_nat(tmp_path):
    """tshark (an independent dissector) reassembles the NAT's fragments on the outside link
    and decrypts every ESP packet with a good ICV, using the run's exported keys."""
    from ipsecsim.sim.output import write_pcaps, write_wireshark
    from tests.sim.test_run_cli import tshark

    sim = _run()
    write_pcaps(sim, tmp_path / "pcap")
    write_wireshark(sim, tmp_path / "wireshark")
    rows = tshark(tmp_path, "isp.pcap", "esp.icv_good", "udp.length", display="esp")
    assert len(rows) == 120 and all(r[0] == "1" for r in rows)
    # the outer UDP (ESP-in-UDP) datagram, reassembled: with its IPv4 header over the 1,500 MTU
    assert all(20 + int(r[1].split(",")[0]) > 1500 for r in rows)
