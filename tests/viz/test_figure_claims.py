"""Each figure says what the run did: read the drawn artists back and compare with the trace.

A student reads a figure as a statement (this flow goes through the hub, these are two
tunnels, gw-a initiates); these tests hold every such statement against the trace records
it comes from, on the shipped topologies.
"""

from __future__ import annotations

import warnings
from functools import cache

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyArrowPatch

from ipsecsim.sim.runner import Simulation
from ipsecsim.viz.data import records
from ipsecsim.viz.ladder import draw_ike_ladder
from ipsecsim.viz.topology import draw_topology, flow_path, flows, layout, tunnels
from tests.helpers.paths import TOPOLOGIES

SHIPPED = sorted(p.stem for p in TOPOLOGIES.glob("*.yaml"))


@cache
def run(name: str) -> Simulation:
    return Simulation.from_file(TOPOLOGIES / f"{name}.yaml").run()


def _trace_route(sim: Simulation, flow: str) -> list[str]:
    """The nodes the flow's first packet crossed, read straight from the trace."""
    to = sim.topo["traffic"][flow]["to"]
    dst = to if to in sim.topo["nodes"] else next(
        n for n, d in sim.topo["nodes"].items()
        if to in [a.split("/")[0] for a in d.get("addresses", [])])
    first = next(r for r in records(sim, "app_send") if r["flow"] == flow)
    route = [first["node"]]
    for r in records(sim, "link_tx"):
        if route[-1] != dst and r["pkt_id"] == first["pkt_id"] and r["src_node"] == route[-1]:
            route.append(r["dst_node"])
    return route


def _drawn_nodes(ax, gid: str, pos) -> list[str]:
    """The node nearest to each vertex of the line ``gid`` (the drawing's own statement)."""
    line = next(ln for ln in ax.get_lines() if ln.get_gid() == gid)
    out = []
    for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True):
        out.append(min(pos, key=lambda n: (pos[n][0] - x) ** 2 + (pos[n][1] - y) ** 2))
    return out


@pytest.mark.parametrize("name", ["hub-and-spoke", "road-warriors", "site-to-site"])
def test_every_flow_is_drawn_along_the_route_its_packets_took(name: str) -> None:
    sim = run(name)
    ax = draw_topology(sim)
    pos = layout(sim.topo)
    for fl in flows(sim.topo):
        want = _trace_route(sim, fl["name"])
        assert flow_path(sim, sim.topo, fl) == (want, None)
        assert _drawn_nodes(ax, f"flow:{fl['name']}", pos) == want, fl["name"]
    if name == "hub-and-spoke":  # spoke to server through the hub, never straight
        assert flow_path(sim, sim.topo, flows(sim.topo)[0])[0] == [
            "spoke1-host", "spoke1-gw", "core", "hub", "server"]
    plt.close(ax.figure)


def test_a_dropped_flow_ends_where_it_was_dropped() -> None:
    sim = run("nat-traversal")
    fl = next(f for f in flows(sim.topo) if f["name"] == "ah-ping")
    route, reason = flow_path(sim, sim.topo, fl)
    drop = next(r for r in records(sim, "drop") if r["node"] == route[-1])
    assert route == ["host-a2", "gw-a"] and reason == drop["reason"] == "policy_discard"
    ax = draw_topology(sim)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("ah-ping" in t and "dropped at gw-a" in t for t in legend)
    plt.close(ax.figure)


@pytest.mark.parametrize("name", ["hub-and-spoke", "road-warriors", "nat-traversal"])
def test_one_colour_and_one_legend_entry_per_tunnel(name: str) -> None:
    sim = run(name)
    pairs = {(t["a"], t["b"]) for t in tunnels(sim.topo)}
    ax = draw_topology(sim)
    entries = [(t.get_text(), h) for t, h in zip(ax.get_legend().get_texts(),
                                                 ax.get_legend().legend_handles, strict=True)
               if t.get_text().startswith("tunnel ")]
    assert len(entries) == len(pairs)
    for a, b in pairs:
        assert sum(t.startswith(f"tunnel {a}–{b}:") for t, _ in entries) == 1
    lines = [ln for ln in ax.get_lines() if str(ln.get_gid()).startswith("tunnel:")]
    assert len(lines) == len(pairs)
    assert len({ln.get_color() for ln in lines}) == len(pairs)  # tunnels never share a colour
    assert {h.get_color() for _, h in entries} == {ln.get_color() for ln in lines}
    plt.close(ax.figure)


def test_flow_arrowheads_stop_at_the_node_circle() -> None:
    sim = run("site-to-site")
    ax = draw_topology(sim)
    sizes = [c.get_sizes()[0] for c in ax.collections]  # node circles: areas in points²
    radius = max(sizes) ** 0.5 / 2
    heads = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(heads) == len(flows(sim.topo))
    assert all(p.shrinkB >= radius for p in heads)  # points, like the circle's radius
    assert all(p.get_zorder() > c.get_zorder() for p in heads for c in ax.collections)
    plt.close(ax.figure)


def test_link_labels_stand_clear_of_the_tunnel_line() -> None:
    sim = run("site-to-site")
    ax = draw_topology(sim)
    fig = ax.figure
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    tunnel = next(ln for ln in ax.get_lines() if str(ln.get_gid()).startswith("tunnel:"))
    tb = tunnel.get_window_extent(r)
    for t in ax.texts:
        if t.get_text().startswith(("wan-", "lan-")):
            assert not t.get_window_extent(r).overlaps(tb), t.get_text()
    plt.close(fig)


def _lanes(ax) -> list[str]:
    heads = [t for t in ax.texts if str(t.get_gid()).startswith("lane:")]
    return [t.get_gid()[5:] for t in sorted(heads, key=lambda t: t.get_position()[0])]


def test_ladder_lanes_run_in_path_order_with_the_nat() -> None:
    sim = run("nat-traversal")
    ax = draw_ike_ladder(sim)
    assert _lanes(ax) == ["gw-a", "nat", "gw-b"]  # initiator, the NAT it is behind, responder
    texts = [t.get_text() for t in ax.texts]
    # the NAT's rewrite is written where the request crosses its lifeline
    seen = next(r["peer"] for r in records(sim, "ike_msg")
                if r["node"] == "gw-b" and r["direction"] == "in")
    assert f"source now {seen}" in texts
    plt.close(ax.figure)
    ax = draw_ike_ladder(sim, middle=())
    assert _lanes(ax) == ["gw-a", "gw-b"]
    plt.close(ax.figure)
    ax = draw_ike_ladder(sim, middle=("nat", "router"))
    assert _lanes(ax) == ["gw-a", "nat", "internet", "gw-b"]
    plt.close(ax.figure)


def test_ladder_of_a_hub_puts_the_hub_between_its_first_two_spokes() -> None:
    ax = draw_ike_ladder(run("road-warriors"))
    lanes = _lanes(ax)
    first = next(r for r in records(run("road-warriors"), "ike_msg"))["node"]
    assert lanes[0] == first and lanes[1] == "hub"
    plt.close(ax.figure)


def test_ladder_envelope_ports_and_times() -> None:
    sim = run("nat-traversal")
    ax = draw_ike_ladder(sim, middle=())
    texts = {t.get_text(): t for t in ax.texts}
    payloads = [t for t in ax.texts if str(t.get_gid()).startswith("payloads:")]
    for t in payloads:
        sk = t.get_text().startswith("SK {")
        assert sk == (t.get_bbox_patch() is not None)  # the envelope is drawn around SK only
    heads = [k for k in texts if k.startswith(("IKE_SA_INIT", "IKE_AUTH"))]
    # one view of the ports: request and response of an exchange show the same far-end port
    assert [h for h in heads if h.startswith("IKE_SA_INIT")] and all(
        "UDP 500]" in h for h in heads if h.startswith("IKE_SA_INIT"))
    assert all("UDP 4500]" in h for h in heads if h.startswith("IKE_AUTH"))
    assert any(p.get_text().startswith("SK {") for p in payloads)
    # each message's send time is written beside its arrow's tail, on the sender's lifeline
    xs = {n: t.get_position()[0] for t in ax.texts if str(t.get_gid()).startswith("lane:")
          for n in [t.get_gid()[5:]]}
    for r in records(sim, "ike_msg"):
        if r["direction"] == "out":
            t = texts[f"{float(r['t']):.3f} s"]
            assert abs(t.get_position()[0] - xs[r["node"]]) < 0.05
    plt.close(ax.figure)


def test_a_flow_too_small_to_see_is_marked_and_its_line_stays_above_the_axis() -> None:
    from ipsecsim.viz.throughput import draw_throughput

    ax = draw_throughput(run("site-to-site"))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lab.startswith("ping (peak") for lab in labels)
    assert ax.get_ylim()[0] < 0  # the zero line is inside the axes, not on its spine
    plt.close(ax.figure)


def test_efficiency_facets_one_panel_per_config() -> None:
    from ipsecsim.viz.overhead import draw_efficiency_facets, overhead_frame

    configs = [{"proto": "esp", "mode": m, "proposal": p} for m in ("tunnel", "transport")
               for p in ("aes128gcm16", "aes256-sha256")] + [{"proto": "tls"}]
    df = overhead_frame(configs, range(40, 1501, 20))
    fig = draw_efficiency_facets(df)
    shown = [a for a in fig.axes if a.get_visible()]
    assert [a.get_title() for a in shown] == list(dict.fromkeys(df["label"]))
    for a in shown:  # the panel's own line is the coloured one, over every other config's
        assert len(a.get_lines()) == len(configs) + 2  # + the two marked sizes
    plt.close(fig)


@pytest.mark.parametrize("name", SHIPPED)
def test_figures_of_every_shipped_topology_raise_no_warning(name: str) -> None:
    from ipsecsim.viz.report import run_figures

    sim = run(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "No artists with labels found" and the like fail here
        figs, errors = run_figures(sim)
        for fig in figs.values():
            fig.canvas.draw()
    assert not errors
    plt.close("all")
