"""NAT behaviour (RFC 4787 terms): mapping, filtering, timeouts, and why AH cannot pass (RFC 3715 §2.1)."""

from __future__ import annotations

import copy

from simpy.events import Timeout

from ipsecsim.core import ip as P
from ipsecsim.sim.runner import Simulation
from tests.helpers.sim_topos import assert_conserved

BASE = {
    "name": "nat", "seed": 1, "duration": 5,
    "nodes": {
        "inside": {"role": "host", "addresses": ["192.168.1.10/24"],
                   "routes": [{"to": "0.0.0.0/0", "via": "192.168.1.1"}]},
        "nat": {"role": "nat", "addresses": ["192.168.1.1/24", "198.51.100.10/24"],
                "nat": {"outside": "198.51.100.10", "behaviour": "port_restricted", "timeout": 2}},
        "r": {"role": "router", "addresses": ["198.51.100.1/24", "203.0.113.1/24", "203.0.114.1/24"]},
        "s1": {"role": "host", "addresses": ["203.0.113.20/24"], "routes": [{"to": "0.0.0.0/0", "via": "203.0.113.1"}]},
        "s2": {"role": "host", "addresses": ["203.0.114.20/24"], "routes": [{"to": "0.0.0.0/0", "via": "203.0.114.1"}]},
    },
    "links": {"lan": {"a": "inside", "b": "nat"}, "up": {"a": "nat", "b": "r"},
              "l1": {"a": "r", "b": "s1"}, "l2": {"a": "r", "b": "s2"}},
    "traffic": {},
}


def topo(behaviour: str = "port_restricted", traffic: dict | None = None) -> dict:
    t = copy.deepcopy(BASE)
    t["nodes"]["nat"]["nat"]["behaviour"] = behaviour
    t["nodes"]["nat"]["routes"] = [{"to": "0.0.0.0/0", "via": "198.51.100.1"}]
    t["traffic"] = traffic or {}
    return t


def inject(sim: Simulation, at: float, node: str, pkt: bytes) -> int:
    """Send ``pkt`` from ``node`` at simulated time ``at``; returns its packet id."""
    pid = sim.net.control_id()
    ev = Timeout(sim.net.env, at - sim.now)
    ev.callbacks.append(lambda _e: sim.node(node).send_packet(pkt, pid))
    return pid


def udp(src: str, dst: str, sport: int, dport: int) -> bytes:
    return P.udp(P.aton(src), P.aton(dst), sport, dport, b"x" * 20)


def outside_sources(sim: Simulation) -> list[tuple[str, int]]:
    """(source address, source port) of UDP packets the NAT sent on its outside link."""
    out = []
    for r in sim.trace.of("link_tx"):
        if r[4] == "up" and r[6] == "nat" and r[9][9] == P.IPPROTO_UDP:
            out.append((P.ntoa(r[9][12:16]), P.ports(r[9])[0]))
    return out


def test_ping_from_inside_is_translated_and_answered():
    sim = Simulation.from_dict(topo(traffic={"p": {"type": "ping", "from": "inside", "to": "203.0.113.20",
                                                   "count": 3}})).run()
    s = assert_conserved(sim)
    assert s["delivered"] == 3
    srcs = {P.ntoa(r[9][12:16]) for r in sim.trace.of("link_tx") if r[4] == "up" and r[6] == "nat"}
    assert srcs == {"198.51.100.10"}


def test_port_restricted_reuses_the_mapping_and_filters_strangers():
    sim = Simulation.from_dict(topo())
    inject(sim, 1.0, "inside", udp("192.168.1.10", "203.0.113.20", 5555, 7000))
    inject(sim, 1.1, "inside", udp("192.168.1.10", "203.0.114.20", 5555, 7000))
    sim.run(1.5)
    (a, pa), (b, pb) = outside_sources(sim)
    assert a == b == "198.51.100.10" and pa == pb  # endpoint-independent mapping
    # s1 answers from the port it was sent to: let in; s1 from another port: filtered
    ok = inject(sim, 1.6, "s1", udp("203.0.113.20", "198.51.100.10", 7000, pa))
    bad = inject(sim, 1.7, "s1", udp("203.0.113.20", "198.51.100.10", 7001, pa))
    sim.run(1.9)
    drops = {r[4]: r[5] for r in sim.trace.of("drop")}
    assert drops[bad] == "nat_filtered"
    # the allowed one was translated back to the inside host (no listener there on 5555)
    assert drops[ok] == "no_listener"
    assert any(r[4] == "lan" and r[5] == ok for r in sim.trace.of("link_tx"))


def test_symmetric_nat_maps_each_destination_to_a_new_port():
    sim = Simulation.from_dict(topo("symmetric"))
    inject(sim, 1.0, "inside", udp("192.168.1.10", "203.0.113.20", 5555, 7000))
    inject(sim, 1.1, "inside", udp("192.168.1.10", "203.0.114.20", 5555, 7000))
    sim.run(1.5)
    (_, pa), (_, pb) = outside_sources(sim)
    assert pa != pb


def test_mapping_times_out():
    sim = Simulation.from_dict(topo())
    inject(sim, 1.0, "inside", udp("192.168.1.10", "203.0.113.20", 5555, 7000))
    sim.run(1.5)
    ((_, port),) = outside_sources(sim)
    late = inject(sim, 3.5, "s1", udp("203.0.113.20", "198.51.100.10", 7000, port))  # idle 2.5 s > 2 s
    sim.run(4)
    drops = {r[4]: r[5] for r in sim.trace.of("drop")}
    assert drops[late] == "nat_no_mapping"
    assert any("timed out" in r[4] for r in sim.trace.of("note"))


def _manual(proto: str, local: str, remote: str, lts: str, rts: str, si: int, so: int) -> dict:
    m = {"name": "c", "spi_in": si, "spi_out": so, "local_addr": local, "remote_addr": remote,
         "local_ts": [lts], "remote_ts": [rts]}
    m["ah_proposal" if proto == "ah" else "esp_proposal"] = "sha256" if proto == "ah" else "aes128gcm16"
    return {"manual": [m]}


def nat_ipsec_topo(proto: str) -> dict:
    """inside and s1 are IPsec hosts with a tunnel-mode SA between them; the NAT sits between."""
    t = topo(traffic={"p": {"type": "ping", "from": "inside", "to": "203.0.113.20", "count": 3}})
    t["nodes"]["inside"]["role"] = "gateway"
    t["nodes"]["inside"]["forward"] = False
    t["nodes"]["inside"]["ipsec"] = _manual(proto, "192.168.1.10", "203.0.113.20", "192.168.1.10/32",
                                           "203.0.113.20/32", 0x3001, 0x3002)
    t["nodes"]["s1"]["role"] = "gateway"
    t["nodes"]["s1"]["forward"] = False
    # s1's tunnel peer is the NAT's address; the inner packet keeps the private one
    t["nodes"]["s1"]["ipsec"] = _manual(proto, "203.0.113.20", "198.51.100.10", "203.0.113.20/32",
                                       "192.168.1.10/32", 0x3002, 0x3001)
    for n in ("inside", "s1"):
        t["nodes"][n]["ipsec"]["manual"][0]["mode"] = "tunnel"
    return t


def test_ah_is_dropped_at_the_nat_with_the_reason():
    sim = Simulation.from_dict(nat_ipsec_topo("ah")).run()
    s = assert_conserved(sim)
    assert s["dropped"] == {"nat_ah": 3} and s["delivered"] == 0
    detail = next(r[6] for r in sim.trace.of("drop") if r[5] == "nat_ah")
    assert "RFC 4302" in detail and "source address" in detail


def test_plain_esp_passes_a_nat_by_address_translation():
    sim = Simulation.from_dict(nat_ipsec_topo("esp")).run()
    s = assert_conserved(sim)
    assert s["delivered"] == 3
