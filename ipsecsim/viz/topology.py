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

from .data import end_time, records
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
    """IPsec tunnels between node pairs: ``a``, ``b``, ``kind`` (e.g. ``ESP tunnel
    aes128gcm16``), ``names`` (connection/child on each side). A pair configured on both
    ends, under whatever names, is one tunnel per kind."""
    owner = owner_map(topo)
    found: dict[tuple, dict[str, Any]] = {}
    for name, n in (topo.get("nodes") or {}).items():
        conns = ((n.get("ipsec") or {}).get("connections") or {})
        for cname, c in conns.items():
            for r in c.get("remote_addrs") or []:
                peer = owner.get(_addr(r))
                if peer is None or peer == name:
                    continue
                for chname, ch in (c.get("children") or {}).items():
                    proto = "AH" if ch.get("ah_proposals") else "ESP"
                    props = ch.get("ah_proposals") or ch.get("esp_proposals") or ["default"]
                    kind = f"{proto} {ch.get('mode', 'tunnel')} {props[0]}"
                    a, b = sorted((name, peer))
                    t = found.setdefault((a, b, kind), {"a": a, "b": b, "kind": kind,
                                                        "names": []})
                    if f"{cname}/{chname}" not in t["names"]:
                        t["names"].append(f"{cname}/{chname}")
    for t in found.values():
        t["label"] = f"{' = '.join(t['names'])}: {t['kind']}"
    return list(found.values())


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
        duration = end_time(data) or 1.0
    return {k: v * 8 / duration for k, v in total.items()}


def _rate(bps: float) -> str:
    for unit, f in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= f:
            return f"{bps / f:.3g} {unit}"
    return f"{bps:.3g} bit/s"


def layout(topo: dict[str, Any], seed: int = 1) -> dict[str, tuple[float, float]]:
    """Deterministic node positions, in units of one link length.

    * a tree whose longest path holds most nodes (a chain with a few side branches): the
      longest path left to right, side branches hanging below their node;
    * any other tree (hub and spoke): rings around the most central node, each subtree
      getting an angle in proportion to its leaves;
    * anything else: a seeded spring layout.
    """
    import networkx as nx

    g = _graph(topo)
    if len(g) <= 1:
        return {n: (0.0, 0.0) for n in g}
    if not (nx.is_connected(g) and nx.is_tree(g)):
        pos = nx.spring_layout(g, seed=seed, iterations=300)
        return {n: (float(x) * 3, float(y) * 3) for n, (x, y) in pos.items()}
    names = sorted(g)
    # longest path (tree diameter): two BFS sweeps, ties broken by name
    far = max(names, key=lambda n: (nx.shortest_path_length(g, names[0], n), n))
    dist = nx.shortest_path_length(g, far)
    other = max(names, key=lambda n: (dist[n], n))
    spine = nx.shortest_path(g, far, other)
    if spine[0] > spine[-1]:
        spine.reverse()
    if len(spine) * 2 >= len(g):
        pos = {n: (float(i), 0.0) for i, n in enumerate(spine)}
        on = set(spine)
        for i, n in enumerate(spine):
            branches = sorted(m for m in g[n] if m not in on)
            for j, b in enumerate(branches):
                x0 = i + (j - (len(branches) - 1) / 2) * 0.8
                for depth, m in enumerate(nx.dfs_preorder_nodes(g.subgraph(
                        set(nx.node_connected_component(g.subgraph(set(g) - {n}), b)))), 1):
                    pos[m] = (x0, -1.0 * depth)
        return pos
    import math

    centre = min(names, key=lambda n: (nx.eccentricity(g, n), -g.degree(n), n))
    tree = nx.bfs_tree(g, centre)

    def leaves(n: str) -> int:
        kids = list(tree.successors(n))
        return 1 if not kids else sum(leaves(k) for k in kids)

    pos = {centre: (0.0, 0.0)}

    def place(n: str, a0: float, a1: float, depth: int) -> None:
        kids = sorted(tree.successors(n))
        total = sum(leaves(k) for k in kids) or 1
        a = a0
        for k in kids:
            span = (a1 - a0) * leaves(k) / total
            mid = a + span / 2
            r = 1.35 * depth
            pos[k] = (r * math.cos(mid), r * math.sin(mid))
            place(k, a, a + span, depth + 1)
            a += span

    place(centre, math.pi / 2, math.pi / 2 + 2 * math.pi, 1)
    return pos


def _graph(topo: dict[str, Any]) -> Any:
    """The topology as a ``networkx.Graph``: every node, one edge per link."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from((topo.get("nodes") or {}).keys())
    for link in (topo.get("links") or {}).values():
        g.add_edge(link["a"], link["b"])
    return g


def _path(g: Any, a: str, b: str) -> list[str]:
    """The nodes a tunnel from ``a`` to ``b`` crosses (just its ends when there is no path)."""
    import networkx as nx

    try:
        return nx.shortest_path(g, a, b)
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return [a, b]


def _is_spine_layout(pos: dict[str, tuple[float, float]]) -> bool:
    """Whether positions come from the chain layout (integer x, non-positive integer y)."""
    return all(float(x) * 2 == int(float(x) * 2) and y <= 0 and float(y) == int(y)
               for x, y in pos.values())


def draw_topology(data: Any, ax: Any = None, *, topo: dict[str, Any] | None = None,
                  seed: int = 1, show_load: bool = True, show_flows: bool = True,
                  show_tunnels: bool = True, title: str | None = None) -> Any:
    """Draw a network: ``data`` is a ``Simulation`` (its ``topo`` and trace), or a trace with
    ``topo=`` given. Link width grows with the measured load; tunnels are drawn along the
    links they cross; flows are arcs under the network. Returns the Axes."""
    from matplotlib.lines import Line2D

    topo = topo if topo is not None else getattr(data, "topo", None)
    if topo is None:
        raise ValueError("draw_topology needs a Simulation or topo=<topology dict>")
    pos = layout(topo, seed)
    nodes = topo.get("nodes") or {}
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    # unit: the shortest link, so that text offsets scale with the drawing
    links = topo.get("links") or {}
    unit = min((((pos[lk["a"]][0] - pos[lk["b"]][0]) ** 2 + (pos[lk["a"]][1] - pos[lk["b"]][1])
                 ** 2) ** 0.5 for lk in links.values()), default=1.0) or 1.0
    flist = flows(topo) if show_flows else []
    dense = len(nodes) > 12
    chain = _is_spine_layout(pos)
    depth = (0.55 * unit + 0.14 * unit * len(flist)) if chain and flist else 0.45 * unit
    w = (max(xs) - min(xs)) + 1.2 * unit
    hgt = (max(ys) - min(ys)) + 0.55 * unit + depth
    own_figure = ax is None
    ax = new_axes(ax, figsize=(10.0, max(3.0, 10.0 * hgt / w + 1.2)))
    load = link_load(data, getattr(data, "now", None) or None) if show_load and data is not None \
        else {}
    _draw_links(ax, links, pos, load, unit, dense, show_load)
    legend: list[Any] = _draw_tunnels(ax, data, topo, pos, unit) if show_tunnels else []
    legend += _draw_flows(ax, flist, pos, unit, chain)
    roles = _draw_nodes(ax, nodes, pos, unit, dense)
    legend = [Line2D([], [], marker="o", linestyle="", markersize=10, markeredgecolor="black",
                     color=ROLE_COLOURS.get(r, GREY), label=r) for r in roles] + legend
    if load:
        legend.append(Line2D([], [], color=GREY, linewidth=6, label="link width ∝ measured load"))
    ax.legend(handles=legend, fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, 0.0),
              ncol=2, frameon=False)
    # room for the legend under the drawing, also when saved without bbox_inches="tight"
    fig = ax.figure
    if own_figure:
        fig.set_figheight(fig.get_figheight() + 0.2 * ((len(legend) + 1) // 2) + 0.2)
        ax.set_anchor("N")
    ax.set_xlim(min(xs) - 0.6 * unit, max(xs) + 0.6 * unit)
    ax.set_ylim(min(ys) - depth - 0.1 * unit, max(ys) + 0.5 * unit)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


Pos = dict[str, tuple[float, float]]


def _draw_links(ax: Any, links: dict[str, Any], pos: Pos, load: dict[str, float], unit: float,
                dense: bool, show_load: bool) -> None:
    """Links as grey lines as wide as their load, labelled (unless dense) with bandwidth,
    delay, a non-standard MTU and the measured load."""
    from ..core.units import parse_rate, parse_time

    peak = max(load.values(), default=0.0)
    for lname, link in links.items():
        (x0, y0), (x1, y1) = pos[link["a"]], pos[link["b"]]
        bps = load.get(lname, 0.0)
        lw = 1.5 + (7.0 * bps / peak if peak else 0.0)
        ax.plot([x0, x1], [y0, y1], color=GREY, linewidth=lw, solid_capstyle="round", zorder=1)
        if dense:
            continue
        text = (f"{lname}: {_rate(parse_rate(link.get('bandwidth', 1e9)))}\n"
                f"{parse_time(link.get('delay', 0.001)) * 1e3:g} ms")
        if int(link.get("mtu", 1500)) != 1500:
            text += f", MTU {link['mtu']}"
        if show_load and load:
            text += f"\nload {_rate(bps)}"
        vertical = abs(y1 - y0) > abs(x1 - x0)
        ax.text((x0 + x1) / 2 + (0.08 * unit if vertical else 0.0),
                (y0 + y1) / 2 - (0.0 if vertical else 0.09 * unit), text,
                ha="left" if vertical else "center", va="center" if vertical else "top",
                fontsize=7, color="#333333", zorder=5, linespacing=1.1,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 0.3})


def _draw_tunnels(ax: Any, data: Any, topo: dict[str, Any], pos: Pos, unit: float) -> list[Any]:
    """Tunnels along the links they cross, one dash style per kind (grey if never up);
    returns their legend entries."""
    from matplotlib.lines import Line2D

    legend: list[Any] = []
    styles = [(0, (3, 1.5)), (0, (1, 1)), (0, (5, 1, 1, 1))]
    tlist = tunnels(topo)
    # a tunnel counts as up when one of its children installed an SA during the run
    up_children = {str(r.get("child")) for r in records(data, "sa")
                   if r.get("event") == "installed" and r.get("proto") != "ike"} \
        if data is not None and not isinstance(data, dict) else None
    for t in tlist:
        t["up"] = up_children is None or any(n.split("/")[-1] in up_children
                                             for n in t["names"])
        if not t["up"]:
            t["kind"] += " (configured, never established)"
            t["label"] += " (configured, never established)"
    kinds = list(dict.fromkeys(t["kind"] for t in tlist))
    per_pair: dict[tuple[str, str], int] = {}
    graph = _graph(topo)
    for tn in tlist:
        k = kinds.index(tn["kind"])
        slot = per_pair.get((tn["a"], tn["b"]), 0)
        per_pair[(tn["a"], tn["b"])] = slot + 1
        path = _path(graph, tn["a"], tn["b"])
        off = 0.045 * unit * slot
        ax.plot([pos[n][0] for n in path], [pos[n][1] + off for n in path],
                color=OKABE_ITO["purple"] if tn["up"] else "#888888", linewidth=3.2,
                linestyle=styles[k % len(styles)], zorder=2, solid_capstyle="butt")
    for k, kind in enumerate(kinds):
        same = [t for t in tlist if t["kind"] == kind]
        label = (f"tunnel {same[0]['a']}–{same[0]['b']} {same[0]['label']}" if len(same) == 1
                 else f"{len(same)} tunnels: {kind}")
        legend.append(Line2D([], [], color=OKABE_ITO["purple"] if same[0]["up"] else "#888888",
                             linewidth=3, linestyle=styles[k % len(styles)], label=label))
    return legend


def _draw_flows(ax: Any, flist: list[dict[str, Any]], pos: Pos, unit: float,
                chain: bool) -> list[Any]:
    """Traffic flows as arcs (under a chain, each a little deeper); returns legend entries,
    one per flow, or one for all when there are many."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    legend: list[Any] = []
    many_flows = len(flist) > 6
    for i, fl in enumerate(flist):
        a, b = pos[fl["src"]], pos[fl["dst"]]
        if a == b:
            continue
        dist = ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5
        if chain:
            want = 0.55 * unit + 0.14 * unit * i  # how far below the straight line the arc dips
            rad = min(2 * want / dist, 1.2)
            if b[0] < a[0] or (b[0] == a[0] and b[1] > a[1]):
                rad = -rad  # arc3 bends right of the direction of travel: keep arcs below
        else:
            rad = 0.2
        col = series_colour(0 if many_flows else i)
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12,
                                     connectionstyle=f"arc3,rad={rad}", color=col,
                                     linewidth=1.0 if many_flows else 1.4, shrinkA=12,
                                     shrinkB=12, zorder=3, alpha=0.8 if many_flows else 1.0))
        if not many_flows:
            legend.append(Line2D([], [], color=col, linewidth=1.4,
                                 label=f"flow {fl['label']}: {fl['src']} → {fl['dst']}"))
    if many_flows:
        types = ", ".join(sorted({fl["label"].split("(")[-1].rstrip(")") for fl in flist}))
        legend.append(Line2D([], [], color=series_colour(0), linewidth=1.0,
                             label=f"{len(flist)} flows ({types})"))
    return legend


def _draw_nodes(ax: Any, nodes: dict[str, Any], pos: Pos, unit: float, dense: bool) -> list[str]:
    """Nodes coloured by role, with their name (and, unless dense, addresses); returns the
    roles seen, in order."""
    roles: list[str] = []
    for name, n in nodes.items():
        role = n.get("role", "host")
        x, y = pos[name]
        ax.scatter([x], [y], s=220 if dense else 480, color=ROLE_COLOURS.get(role, GREY),
                   edgecolor="black", linewidth=1.0, zorder=6)
        if role not in roles:
            roles.append(role)
        if dense:
            ax.text(x, y + 0.09 * unit, name, ha="center", va="bottom", fontsize=7.5,
                    fontweight="bold", zorder=7)
            continue
        addrs = "\n".join(_addr(a) for a in n.get("addresses") or [])
        ax.text(x, y + 0.1 * unit, addrs, ha="center", va="bottom", fontsize=6.5,
                color="#333333", zorder=7, linespacing=1.1)
        n_lines = max(1, len(n.get("addresses") or []))
        ax.text(x, y + 0.1 * unit + 0.075 * unit * n_lines + 0.02 * unit, name, ha="center",
                va="bottom", fontsize=9, fontweight="bold", zorder=7)
    return roles
