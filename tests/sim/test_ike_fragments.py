"""RFC 7383 fragmentation in the simulator: certificate IKE_AUTH of a hub and its spokes goes
as SKF fragments, each its own UDP datagram, so no IP fragment crosses the network; tshark
(Wireshark 4.0, an independent IKEv2 dissector that decrypts and reassembles SKF) still reads
IDi/IDr from the run's ``ikev2_decryption_table``.
"""

from __future__ import annotations

import pytest

from ipsecsim.sim.generate import hub_and_spoke
from ipsecsim.sim.runner import Simulation
from tests.sim.test_run_cli import tshark


def topo(fragment_size: int | None = None, fragmentation: str = "yes",
         wan_mtu: int | None = None) -> dict:
    t = hub_and_spoke(n=2, pings=2, duration=4.0)
    for node in t["nodes"].values():
        ipsec = node.get("ipsec")
        if not ipsec:
            continue
        if fragment_size is not None:
            ipsec["fragment_size"] = fragment_size
        for conn in ipsec["connections"].values():
            conn["fragmentation"] = fragmentation
    if wan_mtu is not None:
        for name, link in t["links"].items():
            if "wan" in name:
                link["mtu"] = wan_mtu
    return t


def run(t: dict) -> tuple[Simulation, list[dict], list[dict]]:
    sim = Simulation.from_dict(t).run()
    df = sim.trace.dataframe("ike_msg")
    ike = df.to_dict("records")
    frags = sim.trace.dataframe("fragment").to_dict("records")
    return sim, ike, frags


def test_small_fragment_size_no_ip_fragments_and_tshark_reads_ids(tmp_path):
    from ipsecsim.sim.output import write_all

    sim, ike, frags = run(topo(fragment_size=576))
    auth = [r for r in ike if r["exchange"] == "IKE_AUTH" and r["direction"] == "out"]
    assert len(auth) == 4  # a request and a response per spoke
    assert all("SKF(" in r["payloads"] and "fragments)" in r["payloads"] for r in auth)
    assert frags == []  # no IP fragmentation anywhere (RFC 7383's reason to exist)
    s = sim.summary()
    assert s["ike"]["established"] == 2
    assert s["packets"]["delivered"] == s["packets"]["sent"] > 0
    out = tmp_path / "hub"
    write_all(sim, out, figures=False)
    # every IKE datagram fits a 576-byte IP datagram: each SKF fragment went as its own UDP
    sizes = tshark(out, "hub-wan.pcap", "ip.len", display="udp.port == 500 || udp.port == 4500")
    assert sizes and max(int(r[0]) for r in sizes) <= 576
    # tshark decrypts each fragment and reassembles the IKE_AUTH messages: IDs readable
    ids = set()
    for row in tshark(out, "hub-wan.pcap", "isakmp.id.data.fqdn",
                      display="isakmp.exchangetype == 35"):
        ids |= set(filter(None, row[0].split(",")))
    assert {"hub.example", "spoke1.example", "spoke2.example"} <= ids


@pytest.mark.parametrize("fragmentation", ["no", "yes"])
def test_path_mtu_below_ike_auth(fragmentation):
    """WAN MTU 576: without RFC 7383 the ~740-byte IKE_AUTH (ECDSA certificates) is
    IP-fragmented by the gateway (RFC 791), with it (fragment_size = the path MTU) it never is."""
    _, ike, frags = run(topo(fragment_size=576, fragmentation=fragmentation, wan_mtu=576))
    auth = [r for r in ike if r["exchange"] == "IKE_AUTH" and r["direction"] == "out"]
    assert len(auth) == 4
    if fragmentation == "no":
        assert frags and not any("SKF(" in r["payloads"] for r in auth)
    else:
        assert frags == [] and all("SKF(" in r["payloads"] for r in auth)
