"""``figures/``: topology with flows, IKE ladder, SA timeline, drops -- drawn from the trace.

The visualisation package's ``draw_*`` functions are used where they exist
(``ipsecsim.viz``); the small drawers here are the fallback. Every drawer takes
the simulation first and ``ax=None`` and returns the Axes.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runner import Simulation

ROLE_COLOURS = {"host": "#4C72B0", "router": "#8C8C8C", "gateway": "#C44E52", "nat": "#DD8452"}


def _axes(ax: Any, size: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size)
    return ax


def draw_topology(sim: Simulation, ax: Any = None) -> Any:
    """Nodes coloured by role, links labelled with bandwidth/delay/MTU, flows as arrows along
    their path (the links their packets crossed, read from ``link_tx``)."""
    import networkx as nx

    from .routing import build_graph

    ax = _axes(ax, (10, 6))
    g = build_graph(sim.net)
    pos = nx.spring_layout(g, seed=1, iterations=100) if len(g) <= 300 else nx.circular_layout(g)
    roles = [sim.net.nodes[n].role for n in g.nodes]
    nx.draw_networkx_edges(g, pos, ax=ax, width=2, edge_color="#BBBBBB")
    nx.draw_networkx_nodes(g, pos, ax=ax, node_size=500 if len(g) < 30 else 80,
                           node_color=[ROLE_COLOURS.get(r, "#999") for r in roles])
    if len(g) < 30:
        nx.draw_networkx_labels(g, pos, ax=ax, font_size=8)
        labels = {}
        for u, v, d in g.edges(data=True):
            cfg = sim.net.links[d["link"]].cfg
            labels[(u, v)] = f"{d['link']}\n{_rate(cfg.bandwidth)} {cfg.delay * 1e3:g} ms mtu {cfg.mtu}"
        nx.draw_networkx_edge_labels(g, pos, edge_labels=labels, ax=ax, font_size=6)
    # flows: the hops their packets took (link_tx src_node -> dst_node), one colour per flow
    flow_of: dict[int, str] = {r[5]: r[4] for r in sim.trace.of("app_send")}
    hops: dict[str, set[tuple[str, str]]] = {}
    for r in sim.trace.of("link_tx"):
        f = flow_of.get(r[5])
        if f is not None and not f.endswith(".ack"):
            hops.setdefault(f, set()).add((r[6], r[7]))
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10")
    for i, (flow, edges) in enumerate(sorted(hops.items())[:10]):
        for u, v in sorted(edges):
            (x0, y0), (x1, y1) = pos[u], pos[v]
            off = 0.015 * (i + 1)
            ax.annotate("", xy=(x1 + off, y1 + off), xytext=(x0 + off, y0 + off),
                        arrowprops={"arrowstyle": "->", "color": cmap(i), "lw": 1.2})
        ax.plot([], [], color=cmap(i), label=f"flow {flow}")
    for role, colour in ROLE_COLOURS.items():
        if role in roles:
            ax.scatter([], [], color=colour, label=role)
    ax.legend(loc="best", fontsize=7)
    ax.set_title(f"{sim.name}: topology and flows")
    ax.set_axis_off()
    return ax


def _rate(bps: float) -> str:
    for unit, f in (("Gb/s", 1e9), ("Mb/s", 1e6), ("kb/s", 1e3)):
        if bps >= f:
            return f"{bps / f:g} {unit}"
    return f"{bps:g} b/s"


def draw_sa_timeline(sim: Simulation, ax: Any = None) -> Any:
    """One bar per SA (node, direction, SPI) from installed to deleted/expired or the end."""
    ax = _axes(ax, (10, 5))
    end = sim.now
    bars: dict[tuple, list] = {}
    for r in sim.trace.of("sa"):
        _, t, _, node, event, proto, spi, direction, peer, child, old, detail = r
        key = (node, proto, str(spi), direction)
        if event == "installed":
            bars[key] = [t, None, child]
        elif event in ("deleted", "hard_expired") and key in bars and bars[key][1] is None:
            bars[key][1] = t
    keys = sorted(bars, key=lambda k: (k[0], bars[k][0]))
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab20")
    shown = keys[:60]
    for y, k in enumerate(shown):
        t0, t1, child = bars[k]
        t1 = end if t1 is None else t1
        ax.barh(y, max(t1 - t0, end * 0.002), left=t0, color=cmap(y % 20),
                edgecolor="black", linewidth=0.3)
        spi = k[2] if k[1] == "ike" else f"0x{int(k[2]):08x}"
        ax.text(t0, y, f" {child} {spi}", va="center", fontsize=6)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([f"{k[0]} {k[1]} {k[3]}" for k in shown], fontsize=6)
    ax.set_xlim(0, end if end > 0 else 1)
    ax.set_xlabel("simulated time (s)")
    ax.set_title(f"{sim.name}: SA lifetimes ({len(keys)} SAs)")
    ax.invert_yaxis()
    return ax


def draw_drops(sim: Simulation, ax: Any = None) -> Any:
    """Application packets: delivered and dropped by reason."""
    ax = _axes(ax, (8, 4))
    s = sim.summary()["packets"]
    names = ["delivered"] + list(s["dropped"]) + ["in flight"]
    vals = [s["delivered"]] + list(s["dropped"].values()) + [s["in_flight"]]
    ax.bar(range(len(vals)), vals, color=["#55A868"] + ["#C44E52"] * len(s["dropped"]) + ["#8C8C8C"])
    ax.set_xticks(range(len(vals)))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("packets")
    ax.set_title(f"{sim.name}: {s['sent']} application packets sent")
    return ax


def write_figures(sim: Simulation, folder: Path) -> list[Path]:
    """The visualisation package's run figures (``ipsecsim.viz.report``) where it draws them;
    the fallbacks here for any of topology / ike_ladder / sa_timeline / packets it did not."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    try:
        from ..viz.report import save_run_figures

        out = list(save_run_figures(sim, folder))
    except Exception as exc:  # noqa: BLE001 - the fallbacks below still draw
        (folder / "viz.error.txt").write_text(f"{type(exc).__name__}: {exc}\n")
    done = {p.stem for p in out}
    drawers: list[tuple[str, Any]] = [("topology", draw_topology), ("sa_timeline", draw_sa_timeline),
                                      ("packets", draw_drops)]
    if "ike_ladder" not in done:
        try:
            from ..viz.ladder import draw_ike_ladder

            drawers.insert(1, ("ike_ladder", lambda s, ax=None: draw_ike_ladder(s, ax=ax)))
        except ImportError:  # pragma: no cover - viz package absent
            pass
    for name, draw in drawers:
        if name in done:
            continue
        fig = None
        try:
            ax = draw(sim)
            fig = ax.figure
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                fig.tight_layout()
            path = folder / f"{name}.png"
            fig.savefig(path, dpi=110)
            out.append(path)
            (folder / f"{name}.error.txt").unlink(missing_ok=True)
        except Exception as exc:  # noqa: BLE001 - a figure must not lose the run's other outputs
            (folder / f"{name}.error.txt").write_text(f"{type(exc).__name__}: {exc}\n")
        finally:
            if fig is not None:
                plt.close(fig)
            plt.close("all")
    return out
