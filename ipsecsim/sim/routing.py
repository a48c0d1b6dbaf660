"""Routing: connected subnets and static routes first, shortest paths as the fallback.

Every node has a *connected* route per linked interface and the topology's
*static* routes; a lookup is a longest-prefix match over those. Where nothing
matches, the node falls back to an *auto* route: the first hop of the shortest
path (by link delay) to a node on the destination's subnet. Paths may pass
through routers and gateways only -- never through a plain host, and never
through a NAT, so private addresses behind a NAT stay unreachable from outside
(inside nodes reach out with a static default route via the NAT, as in real
life).

Shortest paths are computed lazily, once per node that needs one, with a
Dijkstra over plain adjacency dicts (a 2,000-node network costs a few
milliseconds per router, and hosts with a default route never pay it).
:func:`build_graph` gives the same network as a networkx graph for figures.
"""

from __future__ import annotations

import heapq
import ipaddress
from typing import TYPE_CHECKING

import networkx as nx

from .nodes import Interface, Route

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
                self.adj[d.src.node.name].append((link.cfg.delay + 1e-9, d.dst.node.name, d.src, d.dst.ip))
        for lst in self.adj.values():
            lst.sort(key=lambda e: (e[0], e[1]))
        self.transit = {n for n, node in net.nodes.items() if node.forwarding and node.role != "nat"}
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
        """node -> (distance, our egress interface, next-hop address) from ``src``."""
        t = self._trees.get(src)
        if t is not None:
            return t
        t = {}
        heap: list[tuple[float, str, int, Interface | None, bytes]] = [(0.0, src, 0, None, b"")]
        seen: set[str] = set()
        order = 0
        while heap:
            dist, name, _, first_if, first_hop = heapq.heappop(heap)
            if name in seen:
                continue
            seen.add(name)
            if first_if is not None:
                t[name] = (dist, first_if, first_hop)
            if name != src and name not in self.transit:
                continue  # a host or NAT may end a path, never carry one
            for delay, nb, iface, nb_ip in self.adj[name]:
                if nb not in seen:
                    order += 1
                    if first_if is None:
                        heapq.heappush(heap, (dist + delay, nb, order, iface, nb_ip))
                    else:
                        heapq.heappush(heap, (dist + delay, nb, order, first_if, first_hop))
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
