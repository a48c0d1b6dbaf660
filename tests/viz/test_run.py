"""Trace-driven figures on a real simulation run (site-to-site with fast rekeys)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import yaml

from ipsecsim.sim.runner import Simulation
from ipsecsim.viz.animation import animate_packets, hops
from ipsecsim.viz.data import is_send, records
from ipsecsim.viz.ladder import build_ladder, draw_ike_ladder
from ipsecsim.viz.throughput import draw_throughput, goodput_frame, rekey_times, throughput_figure
from ipsecsim.viz.timeline import build_bars, draw_sa_timeline
from ipsecsim.viz.topology import draw_topology, link_load, tunnels
from tests.helpers.paths import TOPOLOGIES

TOPO = TOPOLOGIES / "site-to-site.yaml"


@pytest.fixture(scope="module")
def sim() -> Simulation:
    d = yaml.safe_load(TOPO.read_text())
    d["duration"] = 8
    for gw in ("gw-a", "gw-b"):
        child = d["nodes"][gw]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"]
        child["rekey_time"] = 3
        child["life_time"] = 4
    return Simulation.from_dict(d).run()


def _no_overlaps(ax) -> None:
    fig = ax.figure
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(r)) for t in ax.texts if t.get_text().strip()]
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1:]:
            assert not a.overlaps(b), f"labels overlap: {ta!r} / {tb!r}"


def test_ladder_of_a_real_handshake(sim: Simulation) -> None:
    lad = build_ladder(sim)
    sent = [r for r in records(sim, "ike_msg") if is_send(r["direction"])]
    assert len(lad.messages) == len(sent) > 0
    first = lad.messages[0]
    assert (first.exchange, first.response, first.src, first.dst) == (
        "IKE_SA_INIT", False, "gw-a", "gw-b")
    assert "KE" in first.payloads and "SA" in first.payloads
    assert all(not m.lost for m in lad.messages)  # no loss configured: every message arrived
    assert all(m.t_recv >= m.t_send for m in lad.messages)
    ax = draw_ike_ladder(sim, max_messages=8)
    _no_overlaps(ax)
    plt.close(ax.figure)


def test_timeline_follows_the_rekeys(sim: Simulation) -> None:
    bars, end = build_bars(sim, node="gw-a")
    esp = [b for b in bars if b.proto == "esp"]
    rekeys = [r for r in records(sim, "sa") if r["node"] == "gw-a" and r["event"] == "rekeyed"
              and r["proto"] == "esp"]
    assert rekeys, "the run should rekey with rekey_time=3 s"
    assert len(esp) == 2 * (1 + len(rekeys))  # one in/out pair per generation
    for b in esp:
        if b.successor is not None:
            succ = next(c for c in esp if c.spi == b.successor)
            assert succ.direction == b.direction and succ.start <= b.rekeyed_at
            if b.end is not None:  # deleted after (never before) its successor took over
                assert b.end >= b.rekeyed_at
    assert sum(b.successor is not None for b in esp) == 2 * len(rekeys)
    ax = draw_sa_timeline(sim, node="gw-a")
    assert len(ax.get_yticklabels()) == len(bars)
    plt.close(ax.figure)


def test_goodput_counts_every_delivered_byte(sim: Simulation) -> None:
    df = goodput_frame(sim, bin_s=1.0)
    delivered = sum(int(r["size"]) for r in records(sim, "app_deliver"))
    assert df["mbps"].sum() * 1e6 / 8 == pytest.approx(delivered)
    ax = draw_throughput(sim)
    rekey_lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(rekey_lines) == len(rekey_times(sim)) > 0
    plt.close(ax.figure)
    fig = throughput_figure(sim)
    assert len(fig.axes) == 3
    plt.close(fig)


def test_topology_shows_tunnel_nodes_and_load(sim: Simulation) -> None:
    tn = tunnels(sim.topo)
    assert len(tn) == 1 and {tn[0]["a"], tn[0]["b"]} == {"gw-a", "gw-b"}
    load = link_load(sim, sim.now)
    wan = sum(int(r["size"]) for r in records(sim, "link_tx") if r["link"] == "wan-a")
    assert load["wan-a"] == pytest.approx(wan * 8 / sim.now)
    ax = draw_topology(sim)
    texts = " ".join(t.get_text() for t in ax.texts)
    for name in sim.topo["nodes"]:
        assert name in texts
    _no_overlaps(ax)
    plt.close(ax.figure)


def test_animation_sees_esp_only_between_the_gateways(sim: Simulation) -> None:
    hs = hops(sim, (1.0, 3.0))
    assert hs
    for h in hs:
        if h.link.startswith("wan"):
            assert h.kind in ("ESP", "IKE"), h   # the Internet sees only ESP and IKE
        else:
            assert h.kind == "plain", h          # the LANs carry the hosts' own packets
    anim = animate_packets(sim, (1.0, 1.05), frames=3)
    html = anim.to_jshtml()
    assert "<img" in html or "data:image/png" in html


def test_run_figures_draw_every_standard_figure(sim: Simulation, tmp_path: Path) -> None:
    from ipsecsim.viz.report import save_run_figures

    paths = save_run_figures(sim, tmp_path)
    assert sorted(p.name for p in paths) == ["ike_ladder.png", "sa_timeline.png", "throughput.png",
                                             "topology.png"]
    assert not list(tmp_path.glob("*.error.txt"))
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plt.close("all")


def test_drops_panel_counts_the_queue_overflow_that_esp_overhead_causes() -> None:
    """880 x 1400-byte packets/s fit a 10 Mbit/s link in the clear, not with 56 bytes of ESP."""
    from ipsecsim.viz.throughput import draw_drops

    d = yaml.safe_load(TOPO.read_text())
    for link in ("wan-a", "wan-b"):
        d["links"][link]["bandwidth"] = "10Mbps"
    d["links"]["wan-a"]["queue"] = 50
    d["traffic"] = {"video": {"type": "cbr", "from": "host-a", "to": "10.2.0.10", "start": 0.5,
                              "stop": 3, "rate": 880, "size": 1400}}
    d["duration"] = 3.5
    sim = Simulation.from_dict(d).run()
    drops = records(sim, "drop")
    assert drops, "the encrypted stream should overflow the queue"
    ax = draw_drops(sim, bin_s=0.5)
    assert sum(p.get_height() for p in ax.patches) == len(drops)
    plt.close(ax.figure)


def test_animation_classifies_esp_in_udp_behind_a_nat() -> None:
    nat = Simulation.from_file(TOPO.parent / "nat-traversal.yaml").run(3)
    kinds = {(h.link, h.kind) for h in hops(nat, (1.0, 3.0))}
    assert ("isp", "ESP in UDP") in kinds          # after the NAT: ESP inside UDP 4500
    assert not any(k == "ESP" for _, k in kinds)   # never bare ESP: the NAT could not pass it
