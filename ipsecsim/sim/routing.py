"""Routing tables: connected subnets, static routes, and shortest paths computed with networkx.

Every node gets a *connected* route per interface. Static routes from the
topology come next. Then, for every subnet of the network a node has no route
to, an *auto* route toward the first hop of the shortest path (weighted by link
delay) to a node on that subnet. Paths may pass through routers and gateways
only -- never through a plain host, and never through a NAT, so private
addresses behind a NAT stay unreachable from outside (inside nodes reach the
outside with a static default route via the NAT, as in real life).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import networkx as nx

from .nodes import Interface, Route

if TYPE_CHECKING:
    from .network import Network
    from .nodes import Node


def build_graph(net: Network) -> nx.Graph:
    """Nodes and links as a networkx graph (edge attributes: link, delay)."""
    g = nx.Graph()
    for name, node in net.nodes.items():
        g.add_node(name, role=node.role)
    for link in net.links.values():
        a, b = (d.src for d in link.dirs.values())
        g.add_edge(a.node.name, b.node.name, link=link.name, weight=link.cfg.delay + 1e-9)
    return g


def _iface_toward(node: Node, neighbour: Node) -> tuple[Interface, bytes] | None:
    """Our interface on the link to ``neighbour`` and the neighbour's address on it."""
    for i in node.ifaces:
        if i.link is None:
            continue
        for d in i.link.dirs.values():
            if d.src is i and d.dst.node is neighbour:
                return i, d.dst.ip
    return None


def install_routes(net: Network, static: dict[str, list[tuple[str, str]]]) -> None:
    """Fill every node's table: connected, then ``static`` [node] = [(prefix, via)], then auto."""
    for node in net.nodes.values():
        for i in node.ifaces:
            if i.link is not None:
                node.add_route(Route(i.net, None, i, "connected"))
    for name, routes in static.items():
        node = net.nodes[name]
        for prefix, via in routes:
            via_b = ipaddress.IPv4Address(via).packed
            iface = next((i for i in node.ifaces if i.link is not None
                          and ipaddress.IPv4Address(via) in i.net), None)
            if iface is None:
                raise ValueError(f"node {name}: next hop {via} is on none of its linked subnets")
            node.add_route(Route(ipaddress.IPv4Network(prefix, strict=False), via_b, iface, "static"))

    g = build_graph(net)
    transit = {n for n, node in net.nodes.items() if node.forwarding and node.role != "nat"}
    subnets: dict[ipaddress.IPv4Network, set[str]] = {}
    for node in net.nodes.values():
        for i in node.ifaces:
            subnets.setdefault(i.net, set()).add(node.name)
    for src, node in net.nodes.items():
        allowed = transit | {src}
        dist, paths = _paths(g, src, allowed)
        for prefix, owners in sorted(subnets.items(), key=lambda kv: str(kv[0])):
            if any(r.prefix == prefix or (r.prefix.prefixlen and prefix.subnet_of(r.prefix))
                   for r in node.routes):
                continue
            best = min((o for o in owners if o in dist and o != src), key=lambda o: (dist[o], o),
                       default=None)
            if best is None:
                continue
            first = net.nodes[paths[best][1]]
            hop = _iface_toward(node, first)
            if hop is not None:
                node.add_route(Route(prefix, hop[1], hop[0], "auto"))


def _paths(g: nx.Graph, src: str, transit: set[str]) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Dijkstra from ``src`` that only expands through ``transit`` nodes."""
    # a non-transit node may be a path's end, never its middle: only transit nodes have out-edges
    dg = nx.DiGraph()
    for u, v, d in g.edges(data=True):
        if u in transit:
            dg.add_edge(u, v, **d)
        if v in transit:
            dg.add_edge(v, u, **d)
    if src not in dg:
        return {}, {}
    dist, paths = nx.single_source_dijkstra(dg, src, weight="weight")
    return dist, paths
