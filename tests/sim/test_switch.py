"""LAN segments (``role: switch``): one layer-2 segment, many nodes, a capture per link.

The segment is strongSwan's test network's 192.168.0.0/24 (testing/hosts/*: moon .1,
carol .100, winnetou .150, dave .200), with alice behind moon. What a switch must do:
carry a packet between two nodes on it directly (no router: the TTL arrives as sent),
to the sender's next hop when the destination is off the segment, and drop with a
counted reason (``no_neighbour``) what has no node to go to -- every packet delivered or
dropped. tshark (an independent reader) checks the per-link captures.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import pytest
import yaml

from ipsecsim.sim.runner import Simulation
from ipsecsim.sim.switch import NO_NEIGHBOUR
from ipsecsim.sim.topology import TopologyError, load
from tests.helpers.oracles import need_tool

LAN = {
    "name": "lan",
    "duration": 6,
    "nodes": {
        "lan0": {"role": "switch", "subnets": ["192.168.0.0/24", "fec0::/16"]},
        "carol": {"role": "host", "addresses": ["192.168.0.100/24"],
                  "routes": [{"to": "0.0.0.0/0", "via": "192.168.0.1"}]},
        "dave": {"role": "host", "addresses": ["192.168.0.200/24"],
                 "routes": [{"to": "0.0.0.0/0", "via": "192.168.0.1"}]},
        "winnetou": {"role": "host", "addresses": ["192.168.0.150/24"],
                     "routes": [{"to": "0.0.0.0/0", "via": "192.168.0.254"}]},
        "moon": {"role": "router", "addresses": ["192.168.0.1/24", "10.1.0.1/16"]},
        "alice": {"role": "host", "addresses": ["10.1.0.10/16"],
                  "routes": [{"to": "0.0.0.0/0", "via": "10.1.0.1"}]},
    },
    "links": {
        "carol-eth0": {"a": "carol", "b": "lan0", "delay": "1ms"},
        "dave-eth0": {"a": "dave", "b": "lan0", "delay": "2ms"},
        "winnetou-eth0": {"a": "lan0", "b": "winnetou", "delay": "1ms"},
        "moon-eth0": {"a": "moon", "b": "lan0", "delay": "1ms"},
        "moon-eth1": {"a": "moon", "b": "alice", "delay": "1ms"},
    },
    "traffic": {
        "direct": {"type": "ping", "from": "carol", "to": "192.168.0.200", "count": 3},
        "routed": {"type": "ping", "from": "dave", "to": "10.1.0.10", "count": 3},
        "nobody": {"type": "ping", "from": "winnetou", "to": "10.1.0.10", "count": 2},
    },
}


def run(topo: dict) -> Simulation:
    sim = Simulation.from_dict(copy.deepcopy(topo), seed=1)
    sim.run()
    return sim


def test_direct_routed_and_dropped_packets_are_all_accounted_for():
    sim = run(LAN)
    s = sim.summary()["packets"]
    # direct: 3 requests delivered as requests and 3 replies; routed via moon: same; nobody:
    # winnetou's next hop 192.168.0.254 is no node on the segment
    assert s["sent"] == 8 and s["delivered"] == 6
    assert s["dropped"] == {NO_NEIGHBOUR: 2}
    assert s["sent"] == s["delivered"] + sum(s["dropped"].values()) + s["in_flight"]
    drops = sim.dataframes()["drops"]
    assert set(drops["node"]) == {"lan0"}
    assert all("192.168.0.254" in d and "no node with that address on lan0" in d
               for d in drops["detail"])


def test_a_hop_through_the_switch_is_two_link_hops_without_a_router():
    sim = run(LAN)
    tx = sim.dataframes()["packets"]
    tx = tx[tx["kind"] == "link_tx"]
    first = tx[tx["link"] == "carol-eth0"].iloc[0]
    same = tx[tx["pkt_id"] == first["pkt_id"]].sort_values("seq")[:2]  # the request (the reply
    # keeps its packet id); carol -> lan0 on carol-eth0, then lan0 -> dave on dave-eth0: no moon
    assert list(same["link"]) == ["carol-eth0", "dave-eth0"]
    assert list(same["src_node"]) == ["carol", "lan0"] and list(same["dst_node"]) == ["lan0", "dave"]
    # the second hop leaves the switch the instant the first arrives (1 ms + serialisation)
    assert same.iloc[1]["t"] == pytest.approx(same.iloc[0]["arrive"])
    assert same.iloc[1]["arrive"] - same.iloc[0]["t"] == pytest.approx(0.003, abs=1e-5)


def test_the_routed_flow_crosses_the_segment_to_the_gateway_it_names():
    sim = run(LAN)
    tx = sim.dataframes()["packets"]
    tx = tx[tx["kind"] == "link_tx"]
    first = tx[tx["link"] == "dave-eth0"].iloc[0]
    path = list(tx[tx["pkt_id"] == first["pkt_id"]].sort_values("seq")["link"])
    assert path[:3] == ["dave-eth0", "moon-eth0", "moon-eth1"]


def test_the_captures_per_link_read_in_tshark(tmp_path: Path):
    """tshark sees carol's echo requests with TTL 64 on both ports (a switch does not route)
    and moon's forwarded requests with TTL 63 toward alice."""
    tshark = need_tool("tshark")
    topo = copy.deepcopy(LAN)
    path = tmp_path / "lan.yaml"
    path.write_text(yaml.safe_dump(topo))
    from ipsecsim.cli import main

    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    pcaps = sorted(p.name for p in (tmp_path / "out" / "pcap").iterdir())
    assert pcaps == ["carol-eth0.pcap", "dave-eth0.pcap", "moon-eth0.pcap", "moon-eth1.pcap",
                     "winnetou-eth0.pcap"]

    def fields(name: str, filt: str) -> list[str]:
        out = subprocess.run([tshark, "-n", "-r", str(tmp_path / "out" / "pcap" / name), "-Y", filt,
                              "-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e", "ip.ttl"],
                             capture_output=True, text=True, check=True).stdout
        return out.split("\n")[:-1]

    req = "icmp.type == 8 && ip.src == 192.168.0.100"
    assert fields("carol-eth0.pcap", req) == ["192.168.0.100\t192.168.0.200\t64"] * 3
    assert fields("dave-eth0.pcap", req) == ["192.168.0.100\t192.168.0.200\t64"] * 3
    assert fields("moon-eth1.pcap", "icmp.type == 8") == ["192.168.0.200\t10.1.0.10\t63"] * 3
    # what was dropped at the switch went out of winnetou and on no other port
    assert len(fields("winnetou-eth0.pcap", "icmp.type == 8")) == 2
    assert fields("moon-eth0.pcap", "ip.src == 192.168.0.150") == []


def test_the_console_pings_across_the_segment():
    sim = Simulation.from_dict(copy.deepcopy({**LAN, "traffic": {}}), seed=1)
    out = sim.node("carol").sh("ping -c 2 192.168.0.150")
    assert "64 bytes from 192.168.0.150: icmp_seq=1 ttl=64" in out
    assert "2 packets transmitted, 2 received, 0% packet loss" in out


# --- check ----------------------------------------------------------------------------------
def problems(tmp_path: Path, topo: dict) -> list[str]:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(topo, sort_keys=False))
    with pytest.raises(TopologyError) as info:
        load(path)
    return [str(p) for p in info.value.problems]


def line_of(tmp_path: Path, text: str) -> int:
    lines = (tmp_path / "t.yaml").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_an_address_outside_every_subnet_of_the_switch_is_located(tmp_path: Path):
    topo = copy.deepcopy(LAN)
    topo["nodes"]["dave"]["addresses"] = ["192.168.1.200/24"]
    topo["nodes"]["dave"].pop("routes")
    got = problems(tmp_path, topo)
    line = line_of(tmp_path, "dave-eth0:") + 1  # the link's side naming dave
    assert any(p.endswith(f"t.yaml:{line}: links.dave-eth0: dave has no address in lan0's "
                          "subnets (192.168.0.0/24, fec0::/16); its addresses: 192.168.1.200/24")
               for p in got)


def test_two_nodes_with_one_address_on_a_segment(tmp_path: Path):
    topo = copy.deepcopy(LAN)
    topo["nodes"]["dave"]["addresses"] = ["192.168.0.100/24"]
    got = problems(tmp_path, topo)
    line = [i for i, t in enumerate((tmp_path / "t.yaml").read_text().splitlines(), 1)
            if "192.168.0.100/24" in t][1]
    assert any(p.endswith(f"t.yaml:{line}: nodes.dave: address 192.168.0.100 is already used by "
                          "node 'carol'") for p in got)


def test_switch_shapes_that_are_refused(tmp_path: Path):
    topo = copy.deepcopy(LAN)
    topo["nodes"]["lan0"]["addresses"] = ["192.168.0.254/24"]
    topo["nodes"]["lan1"] = {"role": "switch", "subnets": ["192.168.0.0/25", "10.0.0.1/8"]}
    topo["links"]["lan-lan"] = {"a": "lan0", "b": "lan1"}
    topo["links"]["carol-eth1"] = {"a": "carol", "b": "lan0"}
    topo["links"]["dave-eth0"]["mtu"] = 1400
    topo["nodes"]["alice"]["subnets"] = ["10.1.0.0/16"]
    got = "\n".join(problems(tmp_path, topo))
    assert "nodes.lan0.addresses: a switch has no addresses" in got
    assert "nodes.lan1.subnets: '10.0.0.1/8' is not a subnet" in got
    assert "links.lan-lan: joins two switches (lan0, lan1)" in got
    assert "links.carol-eth1: carol is already linked to switch lan0 (links.carol-eth0)" in got
    assert "links.dave-eth0: MTU 1400 differs from links.carol-eth0's 1500 on switch lan0" in got
    assert "nodes.alice.subnets: only role: switch takes subnets" in got


def test_a_prefix_that_disagrees_with_the_segment(tmp_path: Path):
    topo = copy.deepcopy(LAN)
    topo["nodes"]["dave"]["addresses"] = ["192.168.0.200/16"]
    got = problems(tmp_path, topo)
    assert any("nodes.dave.addresses: 192.168.0.200/16 is on switch lan0's subnet "
               "192.168.0.0/24, but its prefix is /16 (give 192.168.0.200/24)" in p for p in got)


def test_a_switch_needs_subnets_and_other_nodes_addresses(tmp_path: Path):
    topo = copy.deepcopy(LAN)
    del topo["nodes"]["lan0"]["subnets"]
    del topo["nodes"]["alice"]["addresses"]
    got = "\n".join(problems(tmp_path, topo))
    assert "nodes.lan0: 'subnets' is a required property" in got
    assert "nodes.alice: 'addresses' is a required property" in got


def test_ipv6_subnets_are_accepted():
    topo = copy.deepcopy(LAN)
    topo["nodes"]["lan0"]["subnets"] = ["192.168.0.0/24", "fec0::/16", "2001:db8::/64"]
    Simulation.from_dict(topo)  # valid: no TopologyError


def test_a_switch_has_no_address_to_ping_from():
    """A layer-2 device has no IP: its console says what Linux says without a route."""
    sim = Simulation.from_dict(copy.deepcopy({**LAN, "traffic": {}}), seed=1)
    assert sim.node("lan0").sh("ping -c 1 192.168.0.100") == "ping: connect: Network is unreachable\n"
