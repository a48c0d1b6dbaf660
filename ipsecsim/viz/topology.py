"""Topology figure: node roles, links with their load, IPsec tunnels and traffic flows.

Drawn from a topology (a ``Simulation``'s ``topo`` dict, the parsed YAML) and
the run's trace: link load is the bytes of ``link_tx`` records per link,
flows come from the topology's ``traffic`` section, tunnels from each
gateway's ``connections`` (``local_addrs`` / ``remote_addrs`` resolved to the
nodes that own those addresses). The layout is deterministic: Kamada–Kawai
for small networks, a seeded spring layout for large ones.
"""

from __future__ import annotations

from typing import Any

from .data import records
from .palette import GREY, OKABE_ITO, ROLE_COLOURS, new_axes, series_colour


def _addr(a: str) -> str:
    return str(a).split("/")[0]


def owner_map(topo: dict[str, Any]) -> dict[str, str]:
    """Interface address -> node name."""
    out = {}
    for name, n in (topo.get("nodes") or {}).items():
        for a in n.get("addresses") or []:
            out[_addr(a)] = name
    return out


def tunnels(topo: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per connection child: ``a``, ``b`` (nodes), ``label``; each pair listed once."""
    owner = owner_map(topo)
    seen: set[tuple] = set()
    out = []
    for name, n in (topo.get("nodes") or {}).items():
        conns = ((n.get("ipsec") or {}).get("connections") or {})
        for cname, c in conns.items():
            remotes = [owner.get(_addr(r)) for r in c.get("remote_addrs") or []]
            for peer in remotes:
                if peer is None or peer == name:
                    continue
                for chname, ch in (c.get("children") or {}).items():
                    key = (frozenset((name, peer)), chname)
                    if key in seen:
                        continue
                    seen.add(key)
                    proto = "AH" if ch.get("ah_proposals") else "ESP"
                    props = ch.get("ah_proposals") or ch.get("esp_proposals") or ["default"]
                    out.append({"a": name, "b": peer, "connection": cname, "child": chname,
                                "label": f"{cname}/{chname}: {proto} {ch.get('mode', 'tunnel')}"
                                         f" {props[0]}"})
    return out


def flows(topo: dict[str, Any]) -> list[dict[str, Any]]:
    """Traffic flows: ``name``, ``src``, ``dst`` (node names), ``label``."""
    owner = owner_map(topo)
    nodes = topo.get("nodes") or {}
    out = []
    for fname, f in (topo.get("traffic") or {}).items():
        dst = f.get("to")
        dst_node = dst if dst in nodes else owner.get(_addr(dst))
        src = f.get("from")
        src_node = src if src in nodes else owner.get(_addr(src))
        if src_node is None or dst_node is None:
            continue
        out.append({"name": fname, "src": src_node, "dst": dst_node,
                    "label": f"{fname} ({f.get('type', '')})"})
    return out


def link_load(data: Any, duration: float | None = None) -> dict[str, float]:
    """Average bits per second carried by each link (both directions), from ``link_tx``."""
    recs = records(data, "link_tx")
    if not recs:
        return {}
    total: dict[str, int] = {}
    for r in recs:
        total[str(r["link"])] = total.get(str(r["link"]), 0) + int(r["size"])
    if duration is None:
        duration = max(float(r["t"]) for r in records(data)) or 1.0
    return {k: v * 8 / duration for k, v in total.items()}


def _rate(bps: float) -> str:
    for unit, f in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= f:
            return f"{bps / f:.3g} {unit}"
    return f"{bps:.3g} bit/s"


def layout(topo: dict[str, Any], seed: int = 1) -> dict[str, tuple[float, float]]:
    """Deterministic node positions."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from((topo.get("nodes") or {}).keys())
    for link in (topo.get("links") or {}).values():
        g.add_edge(link["a"], link["b"])
    degrees = [d for _, d in g.degree()]
    if len(g) > 1 and nx.is_connected(g) and max(degrees) <= 2 and nx.is_tree(g):
        # a chain: in path order on a line
        end = next(n for n, d in sorted(g.degree()) if d == 1)
        order = list(nx.dfs_preorder_nodes(g, end))
        pos = {n: (float(i), 0.0) for i, n in enumerate(order)}
    else:
        pos = nx.spring_layout(g, seed=seed, iterations=300)
    # a chain reads best left to right: rotate so the two farthest nodes lie on the x axis
    names = sorted(pos)
    far = max(((a, b) for a in names for b in names if a < b),
              key=lambda p: (pos[p[0]][0] - pos[p[1]][0]) ** 2 + (pos[p[0]][1] - pos[p[1]][1]) ** 2,
              default=None)
    if far is not None:
        import math

        (x0, y0), (x1, y1) = pos[far[0]], pos[far[1]]
        if x1 < x0:
            (x0, y0), (x1, y1) = (x1, y1), (x0, y0)
        ang = -math.atan2(y1 - y0, x1 - x0)
        c, s = math.cos(ang), math.sin(ang)
        pos = {n: (c * x - s * y, s * x + c * y) for n, (x, y) in pos.items()}
    return {n: (float(x), float(y)) for n, (x, y) in pos.items()}


def _path(topo: dict[str, Any], a: str, b: str) -> list[str]:
    import networkx as nx

    g = nx.Graph()
    for link in (topo.get("links") or {}).values():
        g.add_edge(link["a"], link["b"])
    try:
        return nx.shortest_path(g, a, b)
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return [a, b]


def draw_topology(data: Any, ax: Any = None, *, topo: dict[str, Any] | None = None,
                  seed: int = 1, show_load: bool = True, show_flows: bool = True,
                  show_tunnels: bool = True, title: str | None = None) -> Any:
    """Draw a network: ``data`` is a ``Simulation`` (its ``topo`` and trace), or a trace with
    ``topo=`` given. Link width grows with the measured load; tunnels are drawn along the
    links they cross; flows are arcs under the network. Returns the Axes."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    topo = topo if topo is not None else getattr(data, "topo", None)
    if topo is None:
        raise ValueError("draw_topology needs a Simulation or topo=<topology dict>")
    from ..sim.topology import parse_rate, parse_time

    pos = layout(topo, seed)
    nodes = topo.get("nodes") or {}
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    # unit: the shortest link, so that text offsets scale with the drawing
    links = topo.get("links") or {}
    unit = min((((pos[lk["a"]][0] - pos[lk["b"]][0]) ** 2 + (pos[lk["a"]][1] - pos[lk["b"]][1])
                 ** 2) ** 0.5 for lk in links.values()), default=1.0) or 1.0
    flist = flows(topo) if show_flows else []
    depth = 0.55 * unit + 0.14 * unit * len(flist)
    w = (max(xs) - min(xs)) + 1.2 * unit
    hgt = (max(ys) - min(ys)) + 0.55 * unit + depth
    ax = new_axes(ax, figsize=(10.0, max(3.0, 10.0 * hgt / w + 1.2)))
    load = link_load(data, getattr(data, "now", None) or None) if show_load and data is not None \
        else {}
    peak = max(load.values(), default=0.0)
    for lname, link in links.items():
        (x0, y0), (x1, y1) = pos[link["a"]], pos[link["b"]]
        bps = load.get(lname, 0.0)
        lw = 1.5 + (7.0 * bps / peak if peak else 0.0)
        ax.plot([x0, x1], [y0, y1], color=GREY, linewidth=lw, solid_capstyle="round", zorder=1)
        text = (f"{lname}: {_rate(parse_rate(link.get('bandwidth', 1e9)))}\n"
                f"{parse_time(link.get('delay', 0.001)) * 1e3:g} ms")
        if int(link.get("mtu", 1500)) != 1500:
            text += f", MTU {link['mtu']}"
        if show_load and load:
            text += f"\nload {_rate(bps)}"
        ax.text((x0 + x1) / 2, (y0 + y1) / 2 - 0.09 * unit, text, ha="center", va="top",
                fontsize=7, color="#333333", zorder=5, linespacing=1.1,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 0.3})
    legend: list[Any] = []
    if show_tunnels:
        styles = [(0, (3, 1.5)), (0, (1, 1)), (0, (5, 1, 1, 1))]
        for i, tn in enumerate(tunnels(topo)):
            path = _path(topo, tn["a"], tn["b"])
            off = 0.035 * unit * i
            px = [pos[n][0] for n in path]
            py = [pos[n][1] + off for n in path]
            ls = styles[i % len(styles)]
            ax.plot(px, py, color=OKABE_ITO["purple"], linewidth=3.2, linestyle=ls, zorder=2,
                    solid_capstyle="butt")
            legend.append(Line2D([], [], color=OKABE_ITO["purple"], linewidth=3, linestyle=ls,
                                 label=f"tunnel {tn['a']}–{tn['b']} {tn['label']}"))
    for i, fl in enumerate(flist):
        a, b = pos[fl["src"]], pos[fl["dst"]]
        if a == b:
            continue
        dist = ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5
        want = 0.55 * unit + 0.14 * unit * i  # how far below the straight line the arc dips
        rad = min(2 * want / dist, 1.2)
        if b[0] < a[0] or (b[0] == a[0] and b[1] > a[1]):
            rad = -rad  # arc3 bends to the right of the direction of travel: keep every arc below
        col = series_colour(i)
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12,
                                     connectionstyle=f"arc3,rad={rad}", color=col,
                                     linewidth=1.4, shrinkA=12, shrinkB=12, zorder=3))
        legend.append(Line2D([], [], color=col, linewidth=1.4,
                             label=f"flow {fl['label']}: {fl['src']} → {fl['dst']}"))
    roles = []
    for name, n in nodes.items():
        role = n.get("role", "host")
        x, y = pos[name]
        ax.scatter([x], [y], s=480, color=ROLE_COLOURS.get(role, GREY), edgecolor="black",
                   linewidth=1.0, zorder=6)
        addrs = "\n".join(_addr(a) for a in n.get("addresses") or [])
        ax.text(x, y + 0.1 * unit, addrs, ha="center", va="bottom", fontsize=6.5,
                color="#333333", zorder=7, linespacing=1.1)
        n_lines = max(1, len(n.get("addresses") or []))
        ax.text(x, y + 0.1 * unit + 0.075 * unit * n_lines + 0.02 * unit, name, ha="center",
                va="bottom", fontsize=9, fontweight="bold", zorder=7)
        if role not in roles:
            roles.append(role)
    legend = [Line2D([], [], marker="o", linestyle="", markersize=10, markeredgecolor="black",
                     color=ROLE_COLOURS.get(r, GREY), label=r) for r in roles] + legend
    if load:
        legend.append(Line2D([], [], color=GREY, linewidth=6, label="link width ∝ measured load"))
    ax.legend(handles=legend, fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, 0.0),
              ncol=2, frameon=False)
    ax.set_xlim(min(xs) - 0.6 * unit, max(xs) + 0.6 * unit)
    ax.set_ylim(min(ys) - depth - 0.1 * unit, max(ys) + 0.5 * unit)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax
