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
from .palette import GREY, LINE_SERIES, ROLE_COLOURS, new_axes, series_colour


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
                x0 = i + (j - (len(branches) - 1) / 2) * 1.0
                sub = g.subgraph(nx.node_connected_component(g.subgraph(set(g) - {n}), b))
                for m, depth in nx.shortest_path_length(sub, b).items():
                    pos[m] = (x0, -1.0 - depth)  # the branch hangs from its node, in order
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
    links they cross, one colour each; flows follow their packets' route. Returns the Axes."""
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
    depth = 0.45 * unit
    w = (max(xs) - min(xs)) + 1.2 * unit
    hgt = (max(ys) - min(ys)) + 0.55 * unit + depth
    own_figure = ax is None
    ax = new_axes(ax, figsize=(10.0, max(3.0, 10.0 * hgt / w + 1.2)))
    load = link_load(data, getattr(data, "now", None) or None) if show_load and data is not None \
        else {}
    lanes = 1 if len(flist) > 6 else min(len(flist), FLOW_LANES)
    _draw_links(ax, links, pos, load, unit, dense, show_load, lanes)
    legend: list[Any] = []
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    if show_tunnels:
        legend, pairs = _draw_tunnels(ax, data, topo, pos, unit)
    node_pts = (220 if dense else 480) ** 0.5  # scatter sizes are areas in points²
    legend += _draw_flows(ax, data, topo, flist, pos, unit, node_pts, pairs)
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
                dense: bool, show_load: bool, lanes: int = 0) -> None:
    """Links as grey lines as wide as their load, labelled (unless dense) with bandwidth,
    delay, a non-standard MTU and the measured load; the label stands clear of the tunnel
    and the ``lanes`` flow lines drawn beside the link."""
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
        gap = (0.09 + FLOW_GAP * lanes) * unit
        # a vertical link's label sits on its left, lower than half way: clear of the
        # labels of the horizontal links at its top
        ax.text((x0 + x1) / 2 - (gap if vertical else 0.0),
                (max(y0, y1) - 0.62 * abs(y1 - y0)) if vertical else (y0 + y1) / 2 - gap, text,
                ha="right" if vertical else "center", va="center" if vertical else "top",
                fontsize=7, color="#333333", zorder=5, linespacing=1.1,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 0.3})


def tunnel_colours(n: int) -> list[str]:
    """``n`` distinct colours, one per tunnel: the Okabe–Ito series, then tab20's."""
    series = list(LINE_SERIES)
    if n <= len(series):
        return series[:n]
    import matplotlib

    tab20 = matplotlib.colormaps["tab20"]
    extra = [matplotlib.colors.to_hex(tab20(i)).upper() for i in range(20)]
    pool = series + [c for c in extra if c not in series]
    return [pool[i % len(pool)] for i in range(n)]


def _offset_path(pts: list[tuple[float, float]], off: float) -> list[tuple[float, float]]:
    """``pts`` moved ``off`` to the left of the direction of travel: each segment shifted
    along its normal, neighbouring segments joined where their shifted lines meet (mitre,
    capped at twice ``off`` for sharp turns)."""
    if off == 0 or len(pts) < 2:
        return list(pts)
    normals = []
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        d = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 or 1.0
        normals.append((-(y1 - y0) / d, (x1 - x0) / d))
    out = []
    for i, (x, y) in enumerate(pts):
        if i == 0 or i == len(pts) - 1:
            nx_, ny_ = normals[0 if i == 0 else -1]
        else:
            (ax_, ay_), (bx, by) = normals[i - 1], normals[i]
            k = max(1.0 + ax_ * bx + ay_ * by, 0.5)  # 1 + cos(turn): the mitre's length
            nx_, ny_ = (ax_ + bx) / k, (ay_ + by) / k
        out.append((x + off * nx_, y + off * ny_))
    return out


def _draw_tunnels(ax: Any, data: Any, topo: dict[str, Any], pos: Pos, unit: float
                  ) -> tuple[list[Any], dict[tuple[str, str], dict[str, Any]]]:
    """Tunnels (one IKE_SA with its CHILD_SAs between two nodes) along the links they cross,
    dashed, one colour and one legend entry each (grey if never up); returns the legend
    entries and the tunnels by node pair. Each line's gid is ``tunnel:A–B``."""
    from matplotlib.lines import Line2D

    legend: list[Any] = []
    tlist = tunnels(topo)
    # a tunnel counts as up when one of its children installed an SA during the run
    up_children = {str(r.get("child")) for r in records(data, "sa")
                   if r.get("event") == "installed" and r.get("proto") != "ike"} \
        if data is not None and not isinstance(data, dict) else None
    # one tunnel per node pair: its kinds (children, proposals) listed in one legend entry
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    for t in tlist:
        up = up_children is None or any(n.split("/")[-1] in up_children for n in t["names"])
        p = pairs.setdefault((t["a"], t["b"]), {"a": t["a"], "b": t["b"], "labels": [],
                                                "up": False})
        p["labels"].append(t["label"] + ("" if up else " (configured, never established)"))
        p["up"] = p["up"] or up
    colours = tunnel_colours(len(pairs))
    graph = _graph(topo)
    for (a, b), tn, col in zip(pairs, pairs.values(), colours, strict=True):
        colour = col if tn["up"] else "#888888"
        path = _path(graph, a, b)
        pts = _offset_path([pos[n] for n in path], 0.05 * unit)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color=colour, linewidth=3.0,
                linestyle=(0, (3, 1.5)), zorder=2, solid_capstyle="butt", gid=f"tunnel:{a}–{b}")
        tn["colour"] = colour
        label = f"tunnel {a}–{b}: " + "\n    ".join(tn["labels"])
        legend.append(Line2D([], [], color=colour, linewidth=3, linestyle=(0, (3, 1.5)),
                             label=label))
    return legend, pairs


def flow_route(data: Any, topo: dict[str, Any], flow: dict[str, Any]) -> list[str]:
    """The nodes a flow's first packet crossed (see :func:`flow_path`)."""
    return flow_path(data, topo, flow)[0]


def flow_path(data: Any, topo: dict[str, Any], flow: dict[str, Any]
              ) -> tuple[list[str], str | None]:
    """The nodes a flow's first packet crossed, from its ``app_send``, ``link_tx`` and
    ``drop`` records (``pkt_id``), up to its destination node or the node that dropped it,
    and the drop reason (None when it arrived). Without a trace of the flow: the shortest
    path in the topology."""
    recs = records(data, "app_send", "link_tx", "drop") \
        if data is not None and not isinstance(data, dict) else []
    pkt = next((r.get("pkt_id") for r in recs
                if r["kind"] == "app_send" and r.get("flow") == flow["name"]), None)
    if pkt is not None:
        route = [flow["src"]]
        for r in recs:
            if r.get("pkt_id") != pkt:
                continue
            if r["kind"] == "drop" and r.get("node") == route[-1]:
                return route, str(r.get("reason"))
            if r["kind"] == "link_tx" and r.get("src_node") == route[-1]:
                route.append(str(r["dst_node"]))
                if route[-1] == flow["dst"]:
                    return route, None
    return _path(_graph(topo), flow["src"], flow["dst"]), None


FLOW_GAP = 0.06
"""Distance between flow lines beside a link, in link lengths."""
FLOW_LANES = 3
"""Flow lines beside a link before they start again at the first."""


def _draw_flows(ax: Any, data: Any, topo: dict[str, Any], flist: list[dict[str, Any]],
                pos: Pos, unit: float, node_pts: float,
                pairs: dict[tuple[str, str], dict[str, Any]]) -> list[Any]:
    """Traffic flows along the route their packets took (through a hub, a NAT, routers),
    thin and solid, each a little to the right of its links, in the colour of the tunnel
    that carries them; the arrowhead stops at the edge of the destination's circle. Each
    route line's gid is ``flow:NAME``. Returns legend entries (one for all when many)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch

    legend: list[Any] = []
    many_flows = len(flist) > 6
    palette = tunnel_colours(len(pairs) + len(flist))
    for i, fl in enumerate(flist):
        route, dropped = flow_path(data, topo, fl)
        fl["route"] = route
        if len(route) < 2:
            continue
        via = next((p for p in pairs.values() if p["a"] in route and p["b"] in route), None)
        # many flows: each in its tunnel's colour; a few: each its own, after the tunnels'
        col = (via["colour"] if via else series_colour(0)) if many_flows \
            else palette[len(pairs) + i]
        off = -FLOW_GAP * unit * (1 + (0 if many_flows else i % FLOW_LANES))
        (xa, ya), (xb, yb) = pos[route[0]], pos[route[-1]]
        if xb < xa or (xb == xa and yb > ya):
            off = -off  # every flow on the same side of its links, whichever way it goes
        pts = _offset_path([pos[n] for n in route], off)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color=col, linewidth=1.2,
                zorder=3, gid=f"flow:{fl['name']}", solid_joinstyle="round")
        if dropped is None:
            ax.add_patch(FancyArrowPatch(pts[-2], pts[-1], arrowstyle="-|>", mutation_scale=13,
                                         color=col, linewidth=1.2, shrinkA=0,
                                         shrinkB=node_pts / 2 + 1.5, zorder=7))
        else:  # a cross where the packet died, beside the node that dropped it
            ax.plot([pts[-1][0]], [pts[-1][1]], marker="X", markersize=9, color=col,
                    markeredgecolor="white", zorder=7)
        if not many_flows:
            end = f" ✕ dropped at {route[-1]} ({dropped})" if dropped else ""
            legend.append(Line2D([], [], color=col, linewidth=1.2,
                                 label=f"flow {fl['label']}: {' → '.join(route)}{end}"))
    if many_flows:
        types = ", ".join(sorted({fl["label"].split("(")[-1].rstrip(")") for fl in flist}))
        legend.append(Line2D([], [], color="#444444", linewidth=1.2,
                             label=f"{len(flist)} flows ({types}), each along its route in "
                                   "its tunnel's colour"))
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
