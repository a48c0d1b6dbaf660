"""Routing: connected subnets and static routes first, shortest paths as the fallback.

Every node has a *connected* route per linked interface and the topology's
*static* routes; a lookup is a longest-prefix match over those. Where nothing
matches, the node falls back to an *auto* route: the first hop of the shortest
path (by link delay) to a node on the destination's subnet. Paths may pass
through routers and gateways only -- never through a plain host, and never
through a NAT, so private addresses behind a NAT stay unreachable from outside
(inside nodes reach out with a static default route via the NAT, as in real
life).

Shortest paths are computed lazily with networkx, once per node that needs
one (hosts and gateways with a default route never do), so a 2,000-node
network costs one Dijkstra per router. :func:`build_graph` gives the network
as an undirected networkx graph for figures.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import networkx as nx

from .nodes import Interface, Route
from .switch import segment_adjacency

if TYPE_CHECKING:
    from .network import Network
    from .nodes import Node


def build_graph(net: Network) -> nx.Graph:
    """Nodes and links as a networkx graph (edge attributes: link, weight = delay)."""
    g = nx.Graph()
    for name, node in net.nodes.items():
        g.add_node(name, role=node.role)
    for link in net.links.values():
        a, b = (d.src for d in link.dirs.values())
        g.add_edge(a.node.name, b.node.name, link=link.name, weight=link.cfg.delay + 1e-9)
    return g


def install_routes(net: Network, static: dict[str, list[tuple[str, str]]]) -> None:
    """Connected routes for every linked interface, then ``static`` [node] = [(prefix, via)]."""
    for node in net.nodes.values():
        for i in node.ifaces:
            if i.link is not None:
                node.add_route(Route(i.net, None, i, "connected"))
    for name, routes in static.items():
        node = net.nodes[name]
        for prefix, via in routes:
            via_a = ipaddress.IPv4Address(via)
            iface = next((i for i in node.ifaces if i.link is not None and via_a in i.net), None)
            if iface is None:
                raise ValueError(f"node {name}: next hop {via} is on none of its linked subnets")
            node.add_route(Route(ipaddress.IPv4Network(prefix, strict=False), via_a.packed, iface, "static"))
    net.router = AutoRouter(net)


class AutoRouter:
    """Shortest-path fallback routes, computed on demand."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.by_len: dict[int, dict[int, list[str]]] = {}
        """prefix length -> network address -> names of nodes with an address in it"""
        for node in net.nodes.values():
            for i in node.ifaces:
                n = i.net
                self.by_len.setdefault(n.prefixlen, {}).setdefault(int(n.network_address), []).append(node.name)
        self.lens = sorted(self.by_len, reverse=True)
        self.adj: dict[str, list[tuple[float, str, Interface, bytes]]] = {n: [] for n in net.nodes}
        """node -> [(delay, neighbour, our interface, neighbour's address)]"""
        for link in net.links.values():
            for d in link.dirs.values():
                if d.src.ip and d.dst.ip:  # a switch's port has no address: see below
                    self.adj[d.src.node.name].append((link.cfg.delay + 1e-9, d.dst.node.name, d.src, d.dst.ip))
        for name, delay, nb, iface, nb_ip in segment_adjacency(net):  # across a switch: directly
            self.adj[name].append((delay, nb, iface, nb_ip))
        for lst in self.adj.values():
            lst.sort(key=lambda e: (e[0], e[1]))
        self.transit = {n for n, node in net.nodes.items() if node.forwarding and node.role != "nat"}
        self.first: dict[tuple[str, str], tuple[Interface, bytes]] = {}
        """(node, neighbour) -> our interface and the neighbour's address on the fastest link"""
        self.digraph = nx.DiGraph()
        self.digraph.add_nodes_from(net.nodes)
        for name, lst in self.adj.items():
            for delay, nb, iface, nb_ip in lst:  # sorted: the fastest parallel link comes first
                self.first.setdefault((name, nb), (iface, nb_ip))
                if name in self.transit and not self.digraph.has_edge(name, nb):
                    self.digraph.add_edge(name, nb, weight=delay)
        self._trees: dict[str, dict[str, tuple[float, Interface, bytes]]] = {}

    def owners(self, dst: bytes) -> list[str]:
        a = int.from_bytes(dst, "big")
        for plen in self.lens:
            mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
            hit = self.by_len[plen].get(a & mask)
            if hit:
                return hit
        return []

    def tree(self, src: str) -> dict[str, tuple[float, Interface, bytes]]:
        """node -> (distance, our egress interface, next-hop address) from ``src``
        (networkx Dijkstra on a graph where only transit nodes, and ``src``, have out-edges)."""
        t = self._trees.get(src)
        if t is not None:
            return t
        dg = self.digraph
        added = []
        if src not in self.transit:
            for delay, nb, _, _ in self.adj[src]:
                if not dg.has_edge(src, nb):
                    dg.add_edge(src, nb, weight=delay)
                    added.append(nb)
        try:
            dist, paths = nx.single_source_dijkstra(dg, src, weight="weight")
        finally:
            for nb in added:
                dg.remove_edge(src, nb)
        t = {}
        for name, path in paths.items():
            if len(path) > 1:
                iface, nb_ip = self.first[(src, path[1])]
                t[name] = (dist[name], iface, nb_ip)
        self._trees[src] = t
        return t

    def route(self, node: Node, dst: bytes) -> tuple[Interface, bytes] | None:
        owners = [o for o in self.owners(dst) if o != node.name]
        if not owners:
            return None
        t = self.tree(node.name)
        best = min((o for o in owners if o in t), key=lambda o: (t[o][0], o), default=None)
        if best is None:
            return None
        return t[best][1], t[best][2]
