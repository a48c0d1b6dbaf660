"""LAN segments: ``role: switch``, one layer-2 segment joining many nodes.

A switch has no address of its own: ``subnets`` names the IP subnets of its segment
(``lan0: {role: switch, subnets: [192.168.0.0/24, fec0::/16]}``), and each link to it
attaches one node by that node's address in one of them (``moon-eth0: {a: moon, b:
lan0}``). strongSwan's test network puts moon, sun, carol, dave and winnetou on one such
segment (``testing/hosts/*``): each reaches the others directly, with no router between.

What it forwards, and where: a packet arriving on a port leaves on the port of the node the
sender addressed at layer 2 -- the destination itself when it is on the segment, else the
sender's next hop for that destination (what the sender's ARP resolved; read from the
sender's own routing table, so a default route via 192.168.0.254 reaches the node that has
192.168.0.254). A switch is not a router: no TTL decrement, no ICMP, no record of its own
beyond the link hops. A packet whose layer-2 destination is on no port of the segment (the
ARP request gets no answer; Linux then reports "host unreachable") is dropped with the
reason :data:`NO_NEIGHBOUR`, so every packet is delivered or dropped with a counted reason.

A hop through a switch is two link hops, node to switch and switch to node, each one
scheduled event like any link hop (:mod:`.link`), each in its link's capture
``pcap/<link>.pcap`` (as tcpdump on each port of a real switch). Forwarding costs one dict
lookup per packet (the port's destination -> egress direction cache).

IPv4 forwarding is complete; an IPv6 packet is forwarded to a node on the segment that owns
its destination (next hops off the segment come with IPv6 routing).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from ..core.ip import ntoa
from .nodes import Interface, Node

if TYPE_CHECKING:
    from .network import Network

__all__ = ["NO_NEIGHBOUR", "Switch", "SwitchPort", "check_link", "check_node", "link_ends",
           "segment_adjacency"]

NO_NEIGHBOUR = "no_neighbour"
"""Drop reason: the packet's layer-2 destination (its destination, or the sender's next hop)
is no node on the segment."""


class SwitchPort:
    """One port of a switch: the switch's end of one link.

    It stands where a node's :class:`~.nodes.Interface` stands at a link's other end, with no
    address (``ip`` is empty); ``peer`` is the attached node's interface.
    """

    __slots__ = ("node", "link", "out", "name", "ip", "addr", "net", "peer", "fib")

    def __init__(self, switch: Switch, peer: Interface) -> None:
        self.node = switch
        self.link: Any = None
        self.out: Any = None
        """The link direction from the switch to the attached node (set by the link)."""
        self.name = f"{switch.name}:{peer.node.name}"
        self.ip = b""
        """A port has no address."""
        self.addr = None
        self.net = None
        self.peer = peer
        """The attached node's interface (its address is on the segment)."""
        self.fib: dict[bytes, Any] = {}
        """Destination address -> the egress link direction, learnt on first use."""

    @property
    def mtu(self) -> int:
        return int(self.link.cfg.mtu) if self.link else 65535


class Switch(Node):
    """One layer-2 segment; see the module docstring."""

    role = "switch"

    def __init__(self, net: Network, name: str, subnets: list[str]) -> None:
        super().__init__(net, name, [], forwarding=False)
        self.subnets = [ipaddress.ip_network(s, strict=False) for s in subnets]
        """The segment's subnets (IPv4 or IPv6)."""
        self.ports: list[SwitchPort] = []
        self.by_addr: dict[bytes, SwitchPort] = {}
        """Every address on the segment (the attached nodes' addresses in its subnets) -> its port."""

    def on_segment(self, iface: Interface) -> bool:
        return any(iface.addr.ip in s for s in self.subnets)

    def attach(self, node: Node) -> tuple[Interface, SwitchPort]:
        """A port for ``node``: its first unlinked interface on the segment (validated to exist)."""
        ifaces = [i for i in node.ifaces if self.on_segment(i)]
        free = [i for i in ifaces if i.link is None]
        if not free:
            raise ValueError(f"{node.name} has no unlinked address in {self.name}'s subnets")
        port = SwitchPort(self, free[0])
        self.ports.append(port)
        for i in ifaces:
            self.by_addr.setdefault(i.ip, port)
        return free[0], port

    # --- the packet path -----------------------------------------------------------------
    def receive(self, data: bytes, pkt_id: int, iface: Any) -> None:
        port: SwitchPort = iface
        dst = data[24:40] if data[0] >> 4 == 6 else data[16:20]
        out = port.fib.get(dst)
        if out is None:
            out = self._resolve(port, dst, data, pkt_id)
            if out is None:
                return
        out.send(data, pkt_id)

    def _resolve(self, port: SwitchPort, dst: bytes, data: bytes, pkt_id: int) -> Any:
        """The egress direction toward ``dst`` for packets from ``port`` (cached), or None
        after a counted drop."""
        target = self.by_addr.get(dst)
        why = f"{ntoa(dst)}: no node with that address on {self.name}"
        if target is None and len(dst) == 4:
            hop = port.peer.node.lookup(dst)
            if hop is not None and hop[0] is port.peer:
                via = hop[1]
                target = self.by_addr.get(via)
                why = f"{ntoa(dst)} via {ntoa(via)}: no node with that address on {self.name}"
        if target is port:
            target, why = None, f"{ntoa(dst)}: back to the port it came from"
        if target is None:
            self.net.drop(self.net.env.now, self.name, pkt_id, NO_NEIGHBOUR, why)
            return None
        port.fib[dst] = target.out
        return target.out


def link_ends(a: Node, b: Node) -> tuple[Any, Any] | None:
    """The two ends of a link when one of ``a``, ``b`` is a switch (else None)."""
    if isinstance(b, Switch):
        return b.attach(a)
    if isinstance(a, Switch):
        ib, port = a.attach(b)
        return port, ib
    return None


def segment_adjacency(net: Network) -> list[tuple[str, float, str, Interface, bytes]]:
    """Who reaches whom directly across each switch, for the shortest-path router:
    ``(node, delay, neighbour, node's interface, neighbour's address)``, the delay being
    both links' delays."""
    out = []
    for sw in net.nodes.values():
        if not isinstance(sw, Switch):
            continue
        for p in sw.ports:
            for q in sw.ports:
                if p is not q:
                    delay = p.link.cfg.delay + q.link.cfg.delay + 2e-9
                    out.append((p.peer.node.name, delay, q.peer.node.name, p.peer, q.peer.ip))
    return out


def is_port(end: Any) -> bool:
    return isinstance(end, SwitchPort)


# --- check: what a topology file must get right about its switches -------------------------
def check_node(name: str, n: dict[str, Any], bad: Any) -> None:
    """A switch has subnets (valid ones) and nothing a node with addresses has."""
    if n.get("role") != "switch":
        if "subnets" in n:
            bad(["nodes", name, "subnets"], f"nodes.{name}.subnets: only role: switch takes "
                "subnets (a node on a segment has addresses)")
        return
    for key in ("addresses", "routes", "ipsec", "swanctl", "strongswan_conf", "nat", "forward"):
        if key in n:
            bad(["nodes", name, key], f"nodes.{name}.{key}: a switch has no {key} (it is one "
                "layer-2 segment; the nodes linked to it have addresses on its subnets)")
    seen: dict[Any, int] = {}
    for j, s in enumerate(n.get("subnets") or []):
        try:
            net = ipaddress.ip_network(str(s), strict=True)
        except ValueError as exc:
            bad(["nodes", name, "subnets", j], f"nodes.{name}.subnets: {s!r} is not a subnet "
                f"such as 192.168.0.0/24 or fec0::/16 ({exc})")
            continue
        for other, k in seen.items():
            if other.version == net.version and net.overlaps(other):
                bad(["nodes", name, "subnets", j], f"nodes.{name}.subnets: {net} overlaps "
                    f"{other} (subnets.{k})")
        seen[net] = j


def _subnets(n: dict[str, Any]) -> list[Any]:
    out = []
    for s in n.get("subnets") or []:
        try:
            out.append(ipaddress.ip_network(str(s), strict=True))
        except ValueError:
            pass
    return out


def check_link(d: dict[str, Any], lname: str, ends: list[str],
               ifaces: dict[str, list[ipaddress.IPv4Interface]], bad: Any) -> set[Any] | None:
    """Checks of a link with a switch at one end; returns the subnets the node reaches through
    it (for its next hops), or None when neither end is a switch."""
    nodes = d.get("nodes", {})
    sides = ["a", "b"]
    sw = [i for i, e in enumerate(ends) if nodes[e].get("role") == "switch"]
    if not sw:
        return None
    if len(sw) == 2:
        bad(["links", lname], f"links.{lname}: joins two switches ({ends[0]}, {ends[1]}); a "
            "segment is one switch (give it every subnet instead)")
        return set()
    s_name, node = ends[sw[0]], ends[1 - sw[0]]
    nets = _subnets(nodes[s_name])
    mine = [i for i in ifaces[node] if any(i.ip in s for s in nets)]
    if not mine:
        have = ", ".join(map(str, ifaces[node])) or "none"
        bad(["links", lname, sides[1 - sw[0]]],
            f"links.{lname}: {node} has no address in {s_name}'s subnets "
            f"({', '.join(map(str, nets))}); its addresses: {have}")
        return set()
    for i in mine:
        s = next(s for s in nets if i.ip in s)
        if i.network != s:
            addrs = [str(a) for a in nodes[node].get("addresses", [])]
            j = next((k for k, a in enumerate(addrs) if ipaddress.ip_interface(a) == i), 0)
            bad(["nodes", node, "addresses", j],
                f"nodes.{node}.addresses: {i} is on switch {s_name}'s subnet {s}, but its "
                f"prefix is /{i.network.prefixlen} (give {i.ip}/{s.prefixlen})")
    return {i.network for i in mine}


def check_segments(d: dict[str, Any], bad: Any) -> None:
    """Across the links of each switch: one link per node, one MTU per segment."""
    nodes = d.get("nodes", {})
    links = d.get("links", {}) or {}
    per: dict[str, list[tuple[str, str]]] = {}
    for lname, link in links.items():
        a, b = link.get("a"), link.get("b")
        if a not in nodes or b not in nodes or a == b:
            continue
        for s, other in ((a, b), (b, a)):
            if nodes[s].get("role") == "switch" and nodes[other].get("role") != "switch":
                per.setdefault(s, []).append((lname, other))
    for s, items in per.items():
        first: dict[str, str] = {}
        mtus: dict[int, str] = {}
        for lname, other in items:
            if other in first:
                bad(["links", lname], f"links.{lname}: {other} is already linked to switch {s} "
                    f"(links.{first[other]}); one link per node and segment")
            first.setdefault(other, lname)
            mtu = int(links[lname].get("mtu", 1500))
            if mtus and mtu not in mtus:
                prev = next(iter(mtus.items()))
                bad(["links", lname, "mtu"] if "mtu" in links[lname] else ["links", lname],
                    f"links.{lname}: MTU {mtu} differs from links.{prev[1]}'s {prev[0]} on "
                    f"switch {s}; one segment has one MTU")
            mtus.setdefault(mtu, lname)
