"""DNS in the simulator (ipsecsim/sim/dns.py): resolvers answering real queries, the DNS leak of
topologies/remote-access.yaml measured in summary.json and checked against the pcaps read by
independent dissectors (Scapy's rdpcap and DNS layer; tshark decrypting the ESP with the
run's keys), malformed DNS messages as counted drops, and conservation."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.dns import DNS
from scapy.layers.inet import IP, UDP
from scapy.utils import rdpcap

from ipsecsim.core.ip import dns as D
from ipsecsim.core.ip import ipv4 as P
from ipsecsim.sim.output import write_all
from ipsecsim.sim.runner import Simulation
from ipsecsim.sim.topology import TopologyError
from tests.helpers.oracles import need_tool
from tests.helpers.paths import TOPOLOGIES
from tests.helpers.sim_topos import assert_conserved, plain_chain

NAMES = ["intranet.strongswan.org", "www.strongswan.org"]


@pytest.fixture(scope="module")
def ra(tmp_path_factory: pytest.TempPathFactory) -> tuple[Simulation, Path]:
    out = tmp_path_factory.mktemp("ra")
    sim = Simulation.from_file(TOPOLOGIES / "remote-access.yaml").run()
    write_all(sim, out, figures=False)
    return sim, out


def test_split_tunnel_leaks_full_tunnel_does_not(ra: tuple[Simulation, Path]) -> None:
    sim, _ = ra
    dns = sim.summary()["dns"]
    carol, dave = dns["carol"], dns["dave"]
    # carol: split tunnel (10.1.0.0/16), no DNS in her pool: her ISP's resolver, in the clear
    assert carol["queries"] == 6 and carol["in_clear"] == 6 and carol["in_tunnel"] == 0
    assert carol["resolvers"] == {"203.0.115.53": {"node": "isp-dns", "from": "configured"}}
    assert carol["leaked_names"] == NAMES and carol["clear_links"] == ["carol-net"]
    # the ISP does not know the internal name: NXDOMAIN for each of its 3 queries
    assert carol["answered"] == 6 and carol["nxdomain"] == 3
    assert carol["answers"] == {"www.strongswan.org": "203.0.114.80"}
    # dave: full tunnel, the CFG_REPLY's INTERNAL_IP4_DNS (rw_pool's dns) overrides his ISP's
    assert dave["queries"] == 6 and dave["in_clear"] == 0 and dave["in_tunnel"] == 6
    assert dave["resolvers"] == {"10.1.53.53": {"node": "ns", "from": "cp"}}
    assert dave["leaked_names"] == [] and dave["answered"] == 6 and dave["nxdomain"] == 0
    assert dave["answers"] == {"intranet.strongswan.org": "10.1.0.10",
                               "www.strongswan.org": "203.0.114.80"}
    notes = [r[4] for r in sim.trace.of("note") if r[3] == "dave"]
    assert "installing DNS server 10.1.53.53 via resolvconf" in notes  # charon's resolve plugin


def test_conservation_with_dns(ra: tuple[Simulation, Path]) -> None:
    sim, _ = ra
    s = assert_conserved(sim)
    flows = sim.summary()["flows"]
    for f in ("carol-dns", "dave-dns", "carol-dns.reply", "dave-dns.reply"):
        assert flows[f]["sent"] == flows[f]["delivered"] == 6, f
    assert s["dropped"] == {}


def _udp53(pcap: Path) -> list[Any]:
    return [p for p in rdpcap(str(pcap)) if p.haslayer(UDP) and 53 in (p[UDP].sport, p[UDP].dport)]


def test_leaked_names_are_in_carols_pcap(ra: tuple[Simulation, Path]) -> None:
    sim, out = ra
    pkts = _udp53(out / "pcap" / "carol-net.pcap")
    queries = [p for p in pkts if p[DNS].qr == 0]
    assert len(queries) == sim.summary()["dns"]["carol"]["in_clear"]  # the pcap agrees
    assert {(p[IP].src, p[IP].dst) for p in queries} == {("198.51.100.20", "203.0.115.53")}
    assert sorted({p[DNS].qd[0].qname.decode().rstrip(".") for p in queries}) == NAMES
    nx = [p for p in pkts if p[DNS].qr == 1 and p[DNS].rcode == 3]
    assert {p[DNS].qd[0].qname for p in nx} == {b"intranet.strongswan.org."}
    # the ISP's resolver saw the same names on its own link
    assert len([p for p in _udp53(out / "pcap" / "isp-net.pcap") if p[DNS].qr == 0]) == 6


def test_daves_names_never_appear_in_the_clear(ra: tuple[Simulation, Path]) -> None:
    _, out = ra
    for link in ("dave-lan", "nat-up", "wan"):
        assert _udp53(out / "pcap" / f"{link}.pcap") == [], link
        raw = (out / "pcap" / f"{link}.pcap").read_bytes()
        assert b"\x08intranet\x0astrongswan" not in raw, link  # not even as bytes
    # inside the tunnel, on moon's side: the queries from dave's virtual IP to ns
    lan = [p for p in _udp53(out / "pcap" / "dns-lan.pcap") if p[DNS].qr == 0]
    assert len(lan) == 6 and {p[IP].dst for p in lan} == {"10.1.53.53"}


def test_tshark_finds_daves_queries_inside_esp(ra: tuple[Simulation, Path]) -> None:
    tshark = need_tool("tshark")
    _, out = ra
    env = dict(os.environ, WIRESHARK_CONFIG_DIR=str(out / "wireshark"))
    rows = subprocess.run([tshark, "-r", str(out / "pcap" / "dave-lan.pcap"), "-Y",
                           "esp && dns.flags.response == 0", "-T", "fields", "-e", "dns.qry.name"],
                          capture_output=True, text=True, env=env, check=True).stdout.split()
    assert sorted(set(rows)) == NAMES and len(rows) == 6


def _plain(traffic: dict[str, Any], **h1: Any) -> dict[str, Any]:
    topo = plain_chain(traffic)
    topo["nodes"]["h2"]["dns"] = {"zone": {"www.example.org": "10.0.2.80"}, "ttl": 42}
    topo["nodes"]["h1"].update(h1)
    return topo


def test_resolver_answers_and_nxdomain_on_a_plain_network() -> None:
    sim = Simulation.from_dict(_plain({"q": {"type": "dns", "from": "h1", "to": "10.0.2.10",
                                             "names": ["www.example.org", "no.example.org"],
                                             "count": 4, "rate": 4}})).run()
    s = assert_conserved(sim)
    assert s["sent"] == s["delivered"] == 8
    d = sim.summary()["dns"]["h1"]
    assert (d["queries"], d["answered"], d["nxdomain"], d["in_clear"]) == (4, 4, 2, 4)
    assert d["resolvers"] == {"10.0.2.10": {"node": "h2", "from": "flow"}}
    assert d["answers"] == {"www.example.org": "10.0.2.80"}
    # the responses on the wire, read back by Scapy's DNS layer: TTL from dns.ttl
    replies = [r for r in sim.trace.of("link_tx") if r[6] == "h2" and r[9] is not None]
    an = [DNS(bytes(r[9])[28:]) for r in replies]
    assert [a.an[0].ttl for a in an if a.ancount] == [42, 42]


def _inject(sim: Simulation, node: str, pkt: bytes) -> None:
    n = sim.net.nodes[node]
    n.send_packet(pkt, sim.net.control_id())


def test_malformed_queries_are_counted_drops() -> None:
    sim = Simulation.from_dict(_plain({"p": {"type": "ping", "from": "h1", "to": "10.0.2.10",
                                             "count": 1}}))
    sim.run(until=0.5)
    h1, h2 = P.aton("10.0.1.10"), P.aton("10.0.2.10")
    good = D.query(9, "www.example.org")
    for payload in (good[:5], good + b"\x00", b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c"):
        _inject(sim, "h1", P.udp(h1, h2, 5353, 53, payload, 1))
    resp = D.answer(D.decode(good), rcode=D.NXDOMAIN)  # a response sent to port 53
    _inject(sim, "h1", P.udp(h1, h2, 5353, 53, resp, 2))
    sim.run()
    drops = sim.summary()["drops_all"]
    assert drops.get("dns_malformed") == 3 and drops.get("dns_not_query") == 1
    details = [r[6] for r in sim.trace.of("drop") if r[5] == "dns_malformed"]
    assert any("shorter than its 12-byte header" in d for d in details)
    assert any("bytes after" in d for d in details)
    assert any("does not point backwards" in d for d in details)
    assert assert_conserved(sim)["delivered"] == 1  # the ping still went through


def test_malformed_response_at_the_client_is_a_counted_drop() -> None:
    sim = Simulation.from_dict(_plain({"q": {"type": "dns", "from": "h1", "to": "10.0.2.10",
                                             "names": ["www.example.org"], "count": 1}}))
    sim.run(until=0.5)
    flow = sim.net.flows["q"]
    _inject(sim, "h2", P.udp(P.aton("10.0.2.10"), P.aton("10.0.1.10"), 53, flow.port, b"\x12", 1))
    sim.run()
    assert sim.summary()["drops_all"].get("dns_malformed") == 1
    assert sim.summary()["dns"]["h1"]["answered"] == 1


def test_no_resolver_is_a_counted_drop() -> None:
    # built without the check (which refuses this topology, see below)
    sim = Simulation(_plain({"q": {"type": "dns", "from": "h1", "names": ["www.example.org"],
                                   "count": 3, "rate": 10}}), name="nores").run()
    s = assert_conserved(sim)
    assert s["dropped"] == {"dns_no_resolver": 3}
    assert sim.summary()["dns"]["h1"]["not_on_wire"] == 3


@pytest.mark.parametrize("flow,h1,message", [
    ({"type": "dns", "from": "h1", "names": ["a.example"]}, {},
     "traffic.q: h1 has no resolver"),
    ({"type": "dns", "from": "h1", "names": ["a.example"], "to": "10.0.1.1"}, {},
     "traffic.q.to: 10.0.1.1 runs no resolver"),
    ({"type": "dns", "from": "h1", "names": ["a..example"], "to": "10.0.2.10"}, {},
     "traffic.q.names: DNS name 'a..example' has an empty label"),
    ({"type": "dns", "from": "h1"}, {}, "names"),
    ({"type": "ping", "from": "h1", "to": "10.0.2.10", "names": ["a.example"]}, {},
     "traffic.q.names: only a dns flow has names"),
    ({"type": "dns", "from": "h1", "names": ["a.example"]}, {"dns": {"resolver": "10.9.9.9"}},
     "nodes.h1.dns.resolver: no node has address 10.9.9.9"),
    ({"type": "dns", "from": "h1", "names": ["a.example"], "to": "10.0.2.10", "size": 100}, {},
     "traffic.q.size: not used by a dns flow"),
])
def test_bad_dns_configuration_is_a_located_error(flow: dict[str, Any], h1: dict[str, Any],
                                                   message: str) -> None:
    with pytest.raises(TopologyError) as err:
        Simulation.from_dict(_plain({"q": flow}, **h1))
    assert message in str(err.value)
