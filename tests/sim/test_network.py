"""The SimPy network: links, routing, fragmentation/PMTU, traffic accounting, through manual-keyed ESP.

Every test that sends traffic checks conservation (sent = delivered + dropped +
in flight) against the trace (``sim_topos.assert_conserved``).
"""

from __future__ import annotations

import pytest

from ipsecsim.core.overhead import overhead
from ipsecsim.sim.runner import Simulation
from tests.helpers.sim_topos import assert_conserved, manual_site_to_site, plain_chain


def run(topo: dict, until: float | None = None) -> Simulation:
    return Simulation.from_dict(topo).run(until)


def test_ping_through_manual_tunnel_is_encrypted_between_gateways():
    sim = run(manual_site_to_site())
    s = assert_conserved(sim)
    assert s["sent"] == 3 and s["delivered"] == 3 and s["in_flight"] == 0
    # on the WAN links only ESP (proto 50); on the LANs only the plain ICMP
    for r in sim.trace.of("link_tx"):
        proto = r[9][9]
        assert proto == (50 if r[4].startswith("wan") else 1), r[:9]
    enc = list(sim.trace.of("encrypt"))
    dec = list(sim.trace.of("decrypt"))
    assert len(enc) == len(dec) == 6  # request and reply, three pings
    assert {e[6] for e in enc} == {0x1000, 0x2000}


def test_latency_is_serialisation_plus_propagation():
    # one 1000-byte UDP packet over 2 links of 1 Mb/s and 10 ms each: 2 * (8 ms + 10 ms)
    topo = plain_chain({"u": {"type": "cbr", "from": "h1", "to": "10.0.2.10", "count": 1, "size": 1000}},
                       bandwidth="1Mbps", delay="10ms")
    topo["links"]["l1"].update(bandwidth="1Mbps", delay="10ms")
    sim = run(topo)
    assert_conserved(sim)
    (d,) = list(sim.trace.of("app_deliver"))
    assert d[9] == pytest.approx(2 * (1000 * 8 / 1e6 + 0.010), abs=1e-9)


def test_tunnel_packet_of_1500_bytes_fragments_after_encryption():
    sim = run(manual_site_to_site(traffic={
        "big": {"type": "cbr", "from": "host-a", "to": "10.2.0.10", "count": 5, "rate": 10, "size": 1500}}))
    s = assert_conserved(sim)
    assert s["delivered"] == 5
    wire = overhead("esp", "tunnel", "aes128gcm16", 1500)["wire_bytes"]
    frags = list(sim.trace.of("fragment"))
    assert len(frags) == 5
    assert all(f[3] == "gw-a" and f[5] == wire and f[6] == 2 and f[7] == 1500 for f in frags)
    # every packet on the WAN fits its MTU; gw-b reassembles before decrypting
    assert max(r[8] for r in sim.trace.of("link_tx")) <= 1500
    assert len(list(sim.trace.of("reassemble"))) == 5


def test_df_packet_too_big_after_encryption_gets_icmp_and_smaller_pmtu():
    sim = run(manual_site_to_site(traffic={
        "big": {"type": "cbr", "from": "host-a", "to": "10.2.0.10", "count": 5, "rate": 10, "size": 1500,
                "df": True}}))
    s = assert_conserved(sim)
    ov = overhead("esp", "tunnel", "aes128gcm16", 1500)["overhead_bytes"]
    assert s["dropped"] == {"frag_needed": 1} and s["delivered"] == 4
    (icmp,) = list(sim.trace.of("icmp_error"))
    assert icmp[3] == "gw-a" and (icmp[5], icmp[6]) == (3, 4) and icmp[7] == 1500 - ov
    assert sim.node("host-a").pmtu[bytes([10, 2, 0, 10])] == 1500 - ov
    # the following packets are sent at the new PMTU and arrive whole, unfragmented
    sizes = [r[8] for r in sim.trace.of("app_send")]
    assert sizes == [1500] + [1500 - ov] * 4
    assert not list(sim.trace.of("fragment"))


def test_router_without_ipsec_fragments_or_sends_icmp():
    topo = plain_chain({
        "frag": {"type": "cbr", "from": "h1", "to": "10.0.2.10", "count": 2, "size": 1400},
        "df": {"type": "cbr", "from": "h1", "to": "10.0.2.10", "count": 2, "size": 1400, "df": True}},
        mtu=1000)
    sim = run(topo)
    s = assert_conserved(sim)
    assert s["delivered"] == 3 and s["dropped"] == {"frag_needed": 1}
    assert sim.node("h1").pmtu[bytes([10, 0, 2, 10])] == 1000


def test_bulk_transfer_throughput_matches_overhead_efficiency():
    size, bw = 1000, 10e6
    sim = run(manual_site_to_site(bandwidth="10Mbps", delay="1ms", duration=20, traffic={
        "bulk": {"type": "bulk", "from": "host-a", "to": "10.2.0.10", "count": 3000, "size": size,
                 "window": 64}}))
    s = assert_conserved(sim)
    assert s["delivered"] == 6000 and s["in_flight"] == 0  # 3000 segments + 3000 acks
    wire = overhead("esp", "tunnel", "aes128gcm16", size)["wire_bytes"]
    measured = sim.summary()["flows"]["bulk"]["throughput_bps"]
    expected = bw * size / wire
    assert measured == pytest.approx(expected, rel=0.01)
    # and the overhead is visible: less than the plain line rate by more than the tolerance
    assert measured < bw * 0.97


def test_queue_tail_drops_are_counted():
    # 200 packets at once into a 1 Mb/s link with a 10-packet queue
    topo = plain_chain({"burst": {"type": "cbr", "from": "h1", "to": "10.0.2.10", "count": 200,
                                  "rate": 100000, "size": 1000}}, bandwidth="1Mbps", queue=10)
    sim = run(topo, until=10)
    s = assert_conserved(sim)
    assert s["dropped"].get("queue_full", 0) > 100
    assert s["delivered"] + s["dropped"]["queue_full"] == 200


def test_random_loss_rate_is_close_to_configured():
    topo = plain_chain({"u": {"type": "cbr", "from": "h1", "to": "10.0.2.10", "rate": 1000, "count": 4000,
                              "size": 100}}, loss=0.1)
    sim = run(topo, until=10)
    s = assert_conserved(sim)
    assert 0.08 < s["dropped"]["link_loss"] / s["sent"] < 0.12


def test_gilbert_elliott_losses_come_in_bursts():
    # mean burst length 1/r = 5 packets; mean loss p/(p+r) = 0.0476
    topo = plain_chain({"u": {"type": "cbr", "from": "h1", "to": "10.0.2.10", "rate": 1000, "count": 5000,
                              "size": 100}}, gilbert={"p": 0.01, "r": 0.2})
    sim = run(topo, until=10)
    s = assert_conserved(sim)
    lost = sorted(r[4] for r in sim.trace.of("drop"))
    runs, prev = [], None
    for pid in lost:
        if prev is not None and pid == prev + 1:
            runs[-1] += 1
        else:
            runs.append(1)
        prev = pid
    assert 0.02 < s["dropped"]["link_loss"] / s["sent"] < 0.08
    assert sum(runs) / len(runs) > 3  # independent loss at this rate would give ~1.05


def test_link_down_interval_drops_then_recovers():
    topo = plain_chain({"u": {"type": "cbr", "from": "h1", "to": "10.0.2.10", "rate": 10, "start": 0.05,
                              "stop": 4}}, down=[[1, 2]])
    sim = run(topo)
    s = assert_conserved(sim)
    downs = [r for r in sim.trace.of("drop") if r[5] == "link_down"]
    assert s["dropped"] == {"link_down": 10} and len(downs) == 10
    assert all(1 <= r[1] < 2 for r in downs)
    notes = [r[4] for r in sim.trace.of("note")]
    assert "link l2 down" in notes and "link l2 up" in notes


def test_jitter_keeps_fifo_order_and_bounds():
    topo = plain_chain({"u": {"type": "cbr", "from": "h1", "to": "10.0.2.10", "rate": 200, "count": 200,
                              "size": 200}}, delay="10ms", jitter="5ms")
    sim = run(topo)
    assert_conserved(sim)
    ids = [r[5] for r in sim.trace.of("app_deliver")]
    assert ids == sorted(ids)
    lat = [r[9] for r in sim.trace.of("app_deliver")]
    assert min(lat) >= 0.011 and max(lat) <= 0.011 + 0.005 + 0.001
    assert max(lat) - min(lat) > 0.002


def test_shortest_path_routing_prefers_lower_delay():
    topo = {
        "name": "tri", "seed": 1, "duration": 3,
        "nodes": {
            "h1": {"role": "host", "addresses": ["10.0.1.10/24"], "routes": [{"to": "0.0.0.0/0", "via": "10.0.1.1"}]},
            "r1": {"role": "router", "addresses": ["10.0.1.1/24", "10.9.12.1/24", "10.9.13.1/24"]},
            "r2": {"role": "router", "addresses": ["10.9.12.2/24", "10.9.23.2/24"]},
            "r3": {"role": "router", "addresses": ["10.9.13.3/24", "10.9.23.3/24", "10.0.3.1/24"]},
            "h3": {"role": "host", "addresses": ["10.0.3.10/24"]},
        },
        "links": {"a": {"a": "h1", "b": "r1"}, "slow": {"a": "r1", "b": "r3", "delay": "50ms"},
                  "x": {"a": "r1", "b": "r2", "delay": "5ms"}, "y": {"a": "r2", "b": "r3", "delay": "5ms"},
                  "c": {"a": "r3", "b": "h3"}},
        "traffic": {"p": {"type": "ping", "from": "h1", "to": "10.0.3.10", "count": 2}},
    }
    sim = run(topo)
    s = assert_conserved(sim)
    assert s["delivered"] == 2
    used = {r[4] for r in sim.trace.of("link_tx")}
    assert "slow" not in used and {"x", "y"} <= used


def test_same_seed_same_trace_different_seed_different_keys(tmp_path):
    from ipsecsim.sim.output import write_all

    def once(seed: int, d: str) -> tuple[bytes, bytes]:
        topo = manual_site_to_site(seed=seed, traffic={
            "p": {"type": "poisson", "from": "host-a", "to": "10.2.0.10", "rate": 50, "stop": 2}})
        sim = run(topo)
        write_all(sim, tmp_path / d, figures=False)
        return (tmp_path / d / "trace.jsonl").read_bytes(), (tmp_path / d / "summary.json").read_bytes()

    a, b, c = once(3, "a"), once(3, "b"), once(4, "c")
    assert a == b
    assert a[0] != c[0]


def test_a_link_taken_down_by_hand_drops_in_both_directions():
    """``Link.up`` set from a notebook reaches both directions (each keeps a copy for speed)."""
    flows = {"ab": {"type": "cbr", "from": "host-a", "to": "10.2.0.10", "count": 5, "rate": 10, "size": 200},
             "ba": {"type": "cbr", "from": "host-b", "to": "10.1.0.10", "count": 5, "rate": 10, "size": 200}}
    sim = Simulation.from_dict(manual_site_to_site(traffic=flows))
    sim.net.links["wan-a"].up = False
    sim.run()
    assert sim.summary()["packets"]["dropped"] == {"link_down": 10}
    assert not sim.net.links["wan-a"].up and all(not d.up for d in sim.net.links["wan-a"].dirs.values())
