"""Hosts and routers: local delivery, forwarding, routing lookups, fragmentation and PMTU.

A :class:`Node` receives ``(bytes, pkt_id)`` from a link, delivers what is
addressed to it (reassembling fragments, answering ICMP echo, handing UDP to
the traffic sinks) and forwards the rest when it is a router. Its egress path
does the longest-prefix route lookup (cached per destination), the MTU check
and either fragments or, with DF set, drops and sends ICMP "fragmentation
needed" (type 3 code 4, RFC 1191) back to the source.

Security gateways (:mod:`.gateway`) and NATs (:mod:`.nat`) subclass this and
hook :meth:`Node.output` / :meth:`Node.receive`.
"""

from __future__ import annotations

import bisect
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.errors import FRAG_TIMEOUT, MALFORMED, DecodeError, PacketDrop
from ..core.ip import Reassembler
from ..core.ip import ipv4 as P
from ..core.ip.ipv4_frag import fragment

if TYPE_CHECKING:
    from .link import Link
    from .network import Network

NO_ROUTE = "no_route"
TTL_EXCEEDED = "ttl_exceeded"
FRAG_NEEDED = "frag_needed"
NOT_FOR_ME = "not_for_me"
NO_LISTENER = "no_listener"


class Interface:
    """One address of a node, attached to one link."""

    __slots__ = ("node", "addr", "net", "link", "name", "out", "ip")

    def __init__(self, node: Node, addr: ipaddress.IPv4Interface) -> None:
        self.node = node
        self.addr = addr
        self.net = addr.network
        self.link: Link | None = None
        self.name = str(addr.ip)
        self.ip: bytes = addr.ip.packed
        """The address as 4 bytes (the packet path's form)."""
        self.out: Any = None
        """The link direction leaving through this interface (set by the link)."""

    @property
    def mtu(self) -> int:
        return self.link.cfg.mtu if self.link else 65535


@dataclass(frozen=True, slots=True)
class Route:
    """One routing table entry."""

    prefix: ipaddress.IPv4Network
    """Destination prefix."""
    via: bytes | None
    """Next-hop address (None: directly connected)."""
    iface: Interface
    """Egress interface."""
    source: str = "static"
    """``connected``, ``static`` or ``auto`` (networkx shortest path)."""


class Node:
    """A host (``forwarding=False``) or router (``forwarding=True``)."""

    role = "host"
    console: Any = None
    """The simulation's :class:`~ipsecsim.console.shell.Console` (set by the Simulation)."""
    echo_listener: Any = None
    """``fn(packet, pkt_id)`` for ICMP echo replies and errors that belong to no traffic flow
    (a console ``ping``); None: such packets are ignored as before."""

    def __init__(self, net: Network, name: str, addrs: list[str], forwarding: bool = False) -> None:
        self.net = net
        self.name = name
        self.forwarding = forwarding
        self.ifaces = [Interface(self, ipaddress.IPv4Interface(a)) for a in addrs]
        self.local: set[bytes] = {i.ip for i in self.ifaces}
        self.routes: list[Route] = []
        self._rt: list[tuple[int, int, int, Route]] = []
        self._by_len: dict[int, dict[int, Route]] = {}
        """Prefix length -> network -> its first route: a longest-prefix match tries each
        length in use (a core router with 10,000 connected /24s has one), not each route."""
        self._lens: list[tuple[int, int]] = []
        """(mask, prefix length) of the lengths in use, longest first."""
        self._cache: dict[bytes, tuple[Interface, bytes] | None] = {}
        self._fast: dict[bytes, tuple[Any, int]] = {}
        """destination -> (link direction, MTU): the packet path's route cache."""
        self.pmtu: dict[bytes, int] = {}
        """Path MTU learnt from ICMP fragmentation-needed, per destination."""
        self.reasm = Reassembler()
        """Fragments addressed to this node (a NAT: passing through it), see :meth:`reassemble`."""
        self.ident = 0
        self.udp_listeners: dict[int, object] = {}
        self.tcp_listeners: dict[int, object] = {}
        """TCP port -> the flow end that takes its segments (:mod:`.tcp`)."""
        self.pmtu_watchers: list[Any] = []
        """Called with the destination when ICMP lowers its path MTU (TCP re-segments)."""
        """UDP port -> object with ``udp_receive(node, packet, pkt_id)``."""
        self.stack: Any = None
        """The IPsec stack (security gateways only)."""
        self._cleartext: dict[bytes, Any] | None = None
        """Gateways: the stack's cleartext verdicts per address pair (None: allowed), checked
        in :meth:`receive` before anything else; a miss goes to ``_refuse_cleartext``."""
        self.vip_src: Any = None
        """Destination -> virtual IP to send from (``roadwarrior.VipSources``), once a
        CFG_REPLY gave this node one; None on every other node (the packet path checks only
        that; an instance attribute: the cheapest lookup on the per-packet path)."""
        self.dns_resolver: str | None = None
        """``dns: {resolver: ADDR}``: the configured resolver (``/etc/resolv.conf``, :mod:`.dns`)."""
        self.cp_dns: tuple[str, ...] = ()
        """DNS servers of the CFG_REPLY that gave this node a virtual IP (strongSwan's resolve
        plugin puts them ahead of the configured one); set by :mod:`.roadwarrior`."""
        self._plain_output = type(self).output is Node.output
        """No subclass processing on output (a router, a host): forwarding may go straight
        to the route cache."""

    # --- routing ---------------------------------------------------------------
    def add_route(self, route: Route) -> None:
        self.routes.append(route)
        n = route.prefix
        bisect.insort(self._rt, (int(n.network_address), int(n.netmask), n.prefixlen, route),
                      key=lambda r: -r[2])  # after the routes of equal length, as a stable sort
        if n.prefixlen not in self._by_len:
            self._by_len[n.prefixlen] = {}
            self._lens = sorted([*self._lens, (int(n.netmask), n.prefixlen)], key=lambda x: -x[1])
        self._by_len[n.prefixlen].setdefault(int(n.network_address), route)  # equal: the first
        self._cache.clear()
        self._fast.clear()

    def lookup(self, dst: bytes) -> tuple[Interface, bytes] | None:
        """(egress interface, next-hop address): longest prefix match over connected and static
        routes, else the shortest-path fallback (:mod:`.routing`); None when no route."""
        hit = self._cache.get(dst, 0)
        if hit != 0:
            return hit  # type: ignore[return-value]
        a = int.from_bytes(dst, "big")
        res = None
        by_len = self._by_len
        for mask, length in self._lens:  # longest prefix first
            r = by_len[length].get(a & mask)
            if r is not None:
                res = (r.iface, r.via or dst)
                break
        else:
            router = getattr(self.net, "router", None)
            if router is not None:
                res = router.route(self, dst)
        self._cache[dst] = res
        return res

    def primary_addr(self, toward: bytes) -> bytes:
        """The source address to use toward ``toward``: the egress interface's."""
        hop = self.lookup(toward)
        return hop[0].ip if hop else self.ifaces[0].ip

    def next_ident(self) -> int:
        self.ident = (self.ident + 1) & 0xFFFF
        return self.ident

    # --- receive ----------------------------------------------------------------
    def receive(self, data: bytes, pkt_id: int, iface: Interface | None) -> None:
        """A packet arrived on ``iface`` (None: from inside the node, e.g. decrypted).

        Forwarding leaves no record of its own: the ``link_tx`` into this node (with its
        ``arrive`` time) and the ``link_tx`` out of it (same packet id, TTL one lower in the
        bytes) say it all.
        """
        ck = self._cleartext
        if ck is not None and iface is not None:
            proto = data[9]  # IPsec for us is not cleartext: the stack's inbound() takes it
            if (proto != 50 and proto != 51 or data[16:20] not in self.local) and \
                    ck.get(data[12:20], ck) is not None:
                if (data[6] & 0x3F or data[7]) and data[16:20] in self.local:
                    # a fragment for us: checked once reassembled (a non-first one has no
                    # ports, and IKE/ESP-in-UDP to us is not cleartext), as Linux defragments
                    # in ip_local_deliver before the transport's xfrm4_policy_check
                    self.local_in(data, pkt_id, True)
                    return
                if self._refuse_cleartext(data, pkt_id):  # type: ignore[attr-defined]
                    return
        if data[16:20] in self.local:
            if data[6] & 0x3F or data[7]:  # MF or a fragment offset: reassemble first
                self.local_in(data, pkt_id)
            else:
                self.deliver(data, pkt_id)
        elif self.forwarding:
            ttl = data[8]
            if ttl <= 1:
                self.net.drop(self.net.env.now, self.name, pkt_id, TTL_EXCEEDED, "")
                return
            # TTL - 1 with the checksum updated incrementally (RFC 1624), as packet.decrement_ttl
            c = ((data[10] << 8) | data[11]) + 0x0100
            c = (c & 0xFFFF) + (c >> 16)
            b = bytearray(data)
            b[8] = ttl - 1
            b[10] = c >> 8
            b[11] = c & 0xFF
            new = bytes(b)
            keep = self.net.keep
            if data is keep.data:  # the trace holds ``data``: the copy has the same base
                keep.data = new
            if self._plain_output:  # Node.output, inlined
                hop = self._fast.get(new[16:20])
                if hop is not None and len(new) <= hop[1]:
                    hop[0].send(new, pkt_id)
                else:
                    self.transmit(new, pkt_id)
            else:
                self.output(new, pkt_id, True)
        else:
            self.net.drop(self.net.env.now, self.name, pkt_id, NOT_FOR_ME, P.ntoa(data[16:20]))

    def local_in(self, data: bytes, pkt_id: int, cleartext: bool = False) -> None:
        """Deliver a packet addressed to this node; ``cleartext``: it came from a link and a
        gateway's inbound policies check it once reassembled (see :meth:`receive`)."""
        if P.is_fragment(data):
            whole = self.reassemble(data, pkt_id)
            if whole is None:
                return
            data = whole
            if cleartext and data[9] != 50 and data[9] != 51 and \
                    self._refuse_cleartext(data, pkt_id):  # type: ignore[attr-defined]
                return
        self.deliver(data, pkt_id)

    def reassemble(self, data: bytes, pkt_id: int) -> bytes | None:
        """Feed fragment ``data`` to the node's reassembler: the whole datagram once this piece
        completes it (a ``reassemble`` record), else None.

        Every refusal is a drop with its reason: a malformed fragment (``malformed``), one the
        reassembler refuses (``frag_*``, :mod:`ipsecsim.core.ip.reassembly`), and each datagram
        that timed out since the last fragment came (``frag_timeout``, under the packet id of
        its first fragment).
        """
        net = self.net
        now = net.env.now
        reasm = self.reasm
        due = reasm.get_timer()
        if due is not None and due <= now:
            for first in reasm.handle_timer(now):
                net.drop(now, self.name, first, FRAG_TIMEOUT,
                         f"incomplete {reasm.timeout:g} s after its first fragment")
        try:
            whole = reasm.add(data, now, pkt_id)
        except DecodeError as exc:
            net.drop(now, self.name, pkt_id, MALFORMED, str(exc))
            return None
        except PacketDrop as exc:
            net.drop(now, self.name, pkt_id, exc.reason, exc.detail)
            return None
        if whole is not None and net.trace.enabled:
            net.trace.emit(now, "reassemble", self.name, pkt_id, len(whole))
        return whole

    def deliver(self, data: bytes, pkt_id: int) -> None:
        """A whole (reassembled) packet for this node: ICMP, UDP listeners, else a drop."""
        net = self.net
        proto = data[9]
        if proto == P.IPPROTO_ICMP:
            self.icmp_in(data, pkt_id)
        elif proto == P.IPPROTO_UDP:
            h = (data[0] & 0x0F) * 4  # a whole packet here: reassembled if it was fragmented
            dport = (data[h + 2] << 8) | data[h + 3]
            lst = self.udp_listeners.get(dport)
            if lst is None:
                net.drop(net.env.now, self.name, pkt_id, NO_LISTENER, f"udp/{dport}")
            else:
                lst.udp_receive(self, data, pkt_id)  # type: ignore[attr-defined]
        elif proto == P.IPPROTO_TCP:
            h = (data[0] & 0x0F) * 4
            tl = self.tcp_listeners.get((data[h + 2] << 8) | data[h + 3]) if len(data) >= h + 20 else None
            if tl is None:
                net.drop(net.env.now, self.name, pkt_id, NO_LISTENER, "tcp")
            else:
                tl.tcp_receive(self, data, pkt_id)  # type: ignore[attr-defined]
        else:
            net.drop(net.env.now, self.name, pkt_id, NO_LISTENER, f"protocol {proto}")

    def icmp_in(self, data: bytes, pkt_id: int) -> None:
        net = self.net
        h = P.header_len(data)
        t, code = data[h], data[h + 1]
        if t == P.ICMP_ECHO_REQUEST:
            body = data[h + 4:]
            reply = P.icmp(data[16:20], data[12:16], P.ICMP_ECHO_REPLY, 0, body[:4], body[4:],
                           self.next_ident(), P.has_df(data))
            self.output(reply, pkt_id)
        elif t == P.ICMP_ECHO_REPLY:
            if net.app_deliver(self, data, pkt_id) is None and self.echo_listener is not None:
                self.echo_listener(data, pkt_id)
        elif t == P.ICMP_DEST_UNREACH and code == P.ICMP_FRAG_NEEDED:
            mtu = (data[h + 6] << 8) | data[h + 7]
            inner = data[h + 8:]
            dst = inner[16:20]
            old = self.pmtu.get(dst, 65535)
            if mtu < old:
                self.pmtu[dst] = mtu
                for watch in self.pmtu_watchers:
                    watch(dst)
            if net.trace.enabled:
                net.trace.emit(net.env.now, "note", self.name,
                               f"PMTU to {P.ntoa(dst)} is now {self.pmtu.get(dst)} (ICMP from {P.ntoa(data[12:16])})")
            if self.echo_listener is not None:
                self.echo_listener(data, pkt_id)
        else:
            net.drop(net.env.now, self.name, pkt_id, NO_LISTENER, f"icmp type {t} code {code}")

    # --- send -------------------------------------------------------------------
    def output(self, data: bytes, pkt_id: int, forwarded: bool = False) -> None:
        """Route ``data`` out: lookup, MTU check (fragment or ICMP), hand to the link."""
        hop = self._fast.get(data[16:20])
        if hop is not None and len(data) <= hop[1]:
            hop[0].send(data, pkt_id)
        else:
            self.transmit(data, pkt_id)

    def transmit(self, data: bytes, pkt_id: int, df_override: bool | None = None,
                 icmp_to: bytes | None = None, overhead: int = 0) -> None:
        """Lookup + MTU + link. ``icmp_to``/``overhead``: where a too-big error goes (IPsec)."""
        dst = data[16:20]
        fast = self._fast.get(dst)
        if fast is not None and len(data) <= fast[1]:
            fast[0].send(data, pkt_id)
            return
        net = self.net
        hop: Any = self._cache.get(dst, 0)
        if hop == 0:
            hop = self.lookup(dst)
        if hop is None:
            net.drop(net.env.now, self.name, pkt_id, NO_ROUTE, P.ntoa(data[16:20]))
            return
        iface = hop[0]
        link = iface.link
        if link is None:
            net.drop(net.env.now, self.name, pkt_id, NO_ROUTE, f"{iface.name} has no link")
            return
        mtu = link.cfg.mtu
        self._fast[dst] = (iface.out, mtu)
        if len(data) <= mtu:
            iface.out.send(data, pkt_id)
            return
        self._too_long(data, pkt_id, iface, mtu, df_override, icmp_to, overhead)

    def _too_long(self, data: bytes, pkt_id: int, iface: Interface, mtu: int,
                  df_override: bool | None, icmp_to: bytes | None, overhead: int) -> None:
        """Over the egress MTU: ICMP when DF says so, else fragments (RFC 791 §2.3)."""
        net = self.net
        link = iface.link
        assert link is not None
        df = P.has_df(data) if df_override is None else df_override
        if df:
            self.too_big(data, pkt_id, mtu - overhead, icmp_to)
            return
        frags = fragment(data, mtu, ignore_df=True)  # DF was cleared or overridden just above
        if net.trace.enabled:
            net.trace.emit(net.env.now, "fragment", self.name, pkt_id, len(data), len(frags), mtu)
        for f in frags:
            iface.out.send(f, pkt_id)

    def too_big(self, data: bytes, pkt_id: int, mtu: int, icmp_to: bytes | None = None) -> None:
        """Drop a DF packet over the MTU and tell its source (ICMP 3/4, RFC 1191 §4)."""
        net = self.net
        src = icmp_to or data[12:16]
        net.drop(net.env.now, self.name, pkt_id, FRAG_NEEDED, f"{len(data)} > MTU {mtu}")
        if net.trace.enabled:
            net.trace.emit(net.env.now, "icmp_error", self.name, pkt_id, P.ICMP_DEST_UNREACH,
                           P.ICMP_FRAG_NEEDED, mtu)
        if src in self.local:
            self.pmtu[data[16:20]] = mtu
            return
        err = P.icmp_frag_needed(self.primary_addr(src), data, mtu, self.next_ident(), to=src)
        self.output(err, net.control_id())

    def send_packet(self, data: bytes, pkt_id: int) -> None:
        """Originate a packet (traffic generators, IKE)."""
        self.output(data, pkt_id)

    # --- console ---------------------------------------------------------------------
    def sh(self, line: str) -> str:
        """Type ``line`` on this node's console at the current simulated time and return what
        it prints (``swanctl --list-sas``, ``ping -c 3 10.2.0.10``, ``ip xfrm state``, ...).
        A command that takes simulated time -- ``ping``, ``swanctl --initiate`` -- runs the
        simulation forward until it completes; see :mod:`ipsecsim.console.shell`."""
        if self.console is None:
            raise RuntimeError(f"node {self.name} has no console (build it with a Simulation)")
        return self.console.sh(self.name, line)  # type: ignore[no-any-return]
