"""Deterministic hop sampling (``trace: {sample_every: N}``): a sampled packet's whole path is in
the trace and the pcaps, the others keep only their app records, and on a long rekeying run
tshark (an independent dissector) decrypts every sampled ESP packet of every SPI generation.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict

from ipsecsim.sim.runner import Simulation
from tests.helpers.oracles import need_tool
from tests.helpers.sim_topos import assert_conserved, manual_site_to_site
from tests.sim.test_run_cli import run_cli, tshark

HOP_KINDS = ("link_tx", "encrypt", "decrypt")


def _two_flows(trace: dict) -> dict:
    topo = manual_site_to_site(traffic={
        "ab": {"type": "cbr", "from": "host-a", "to": "10.2.0.10", "count": 40, "rate": 100, "size": 200},
        "ba": {"type": "cbr", "from": "host-b", "to": "10.1.0.10", "count": 40, "rate": 100, "size": 200},
    })
    topo["trace"] = trace
    return topo


def _hops_by_packet(sim: Simulation) -> dict[int, Counter]:
    per: dict[int, Counter] = defaultdict(Counter)
    for r in sim.trace.of(*HOP_KINDS):
        per[r[5] if r[2] == "link_tx" else r[4]][r[2]] += 1
    return per


def test_sample_every_keeps_whole_paths_of_every_nth_packet_per_flow():
    sim = Simulation.from_dict(_two_flows({"sample_every": 7})).run()
    s = assert_conserved(sim)
    assert s["sent"] == s["delivered"] == 80
    per = _hops_by_packet(sim)
    order: dict[str, list[int]] = defaultdict(list)
    for r in sim.trace.of("app_send"):
        order[r[4]].append(r[5])
    sampled = {pid for ids in order.values() for k, pid in enumerate(ids) if k % 7 == 0}
    assert len(sampled) == 2 * 6  # packets 1, 8, ..., 36 of each flow
    assert set(per) == sampled
    # host -> gw -> internet -> gw -> host: 4 links, one encrypt and one decrypt
    full = Counter(link_tx=4, encrypt=1, decrypt=1)
    assert all(per[pid] == full for pid in sampled)
    # the pcap writer's input: bytes on every sampled link_tx, ESP on the WAN links
    wan = [r for r in sim.trace.of("link_tx") if r[4].startswith("wan")]
    assert len(wan) == 2 * len(sampled) and all(r[9][9] == 50 for r in wan)


def test_sampling_combines_with_hops_until_and_the_default_keeps_everything():
    everything = Simulation.from_dict(_two_flows({})).run()
    assert len(_hops_by_packet(everything)) == 80
    early = Simulation.from_dict(_two_flows({"hops_until": 1.2, "sample_every": 10})).run()
    per = _hops_by_packet(early)
    sent_at = {r[5]: r[1] for r in early.trace.of("app_send")}
    kept_early = {p for p, t in sent_at.items() if t < 1.2}
    assert kept_early and kept_early <= set(per)
    late = set(per) - kept_early
    assert late and all(sent_at[p] >= 1.2 for p in late)
    assert len(per) < 80
    # sampling leaves the simulation itself alone: the same deliveries at the same times
    assert [r[1:] for r in everything.trace.of("app_deliver")] == [r[1:] for r in early.trace.of("app_deliver")]


def test_rekey_under_load_pcaps_decrypt_across_every_spi(tmp_path):
    """The shipped topology, cut at 115 s with its rekey times: >= 3 CHILD_SA rekeys and the first
    IKE_SA rekey (~111 s) happen; tshark decrypts every ESP packet of every pcap with a good ICV,
    and each direction shows >= 3 SPIs (the sampled packets of every generation)."""
    need_tool("tshark")
    out = tmp_path / "rul"
    s = run_cli("rekey-under-load", out, until=115)
    p = s["packets"]
    assert p["dropped"] == {} and p["delivered"] + p["in_flight"] == p["sent"] > 100_000
    assert s["child_sas"]["rekeyed"] >= 3 and s["ike"]["rekeyed"] >= 1
    spis: dict[str, set[str]] = defaultdict(set)
    n_esp = 0
    for pcap in sorted(os.listdir(out / "pcap")):
        rows = tshark(out, pcap, "ip.src", "esp.spi", "esp.icv_good", "esp.icv_bad", display="esp")
        for src, spi, good, bad in rows:
            assert good == "1" and bad != "1", (pcap, src, spi)
            spis[src.split(",")[0]].add(spi)
        n_esp += len(rows)
    assert set(spis) == {"198.51.100.1", "203.0.113.1"}
    assert all(len(v) >= 3 for v in spis.values()), spis
    # every 50th packet of each flow is sampled: ~115 s * 1000/s / 50 ESP packets per WAN link
    assert n_esp >= 2 * 0.9 * (p["sent"] / 50)
    # IKE packets are always kept: every CREATE_CHILD_SA (child and IKE rekeys, request and
    # response) is in the pcap and decrypts (its nonce is inside the encrypted SK payload)
    ccsa = tshark(out, "wan-a.pcap", "isakmp.nonce", display="isakmp.exchangetype == 36")
    assert len(ccsa) >= 2 * 4 and all(len(r[0]) >= 32 for r in ccsa)
