"""NAT: port-restricted cone and symmetric behaviour, with mapping timeouts (RFC 4787 terms).

* **port-restricted** -- endpoint-independent mapping (one public port per inside
  address:port, whoever it talks to) and address-and-port-dependent filtering
  (inbound only from a remote address:port the inside endpoint has sent to).
* **symmetric** -- address-and-port-dependent mapping (a new public port per
  remote address:port) and the same filtering.

UDP is mapped by port and ICMP echo by identifier. ESP has no ports: it is
translated by address only (one inside host per remote peer), which is why
IPsec through NAT uses UDP encapsulation (RFC 3948). AH cannot pass: its ICV
covers the outer source address the NAT must rewrite (RFC 4302 §3.3.3.1,
RFC 3715 §2.1), so the NAT drops it with reason ``nat_ah`` saying so.
A mapping idle for longer than its timeout is forgotten; a late inbound packet
is then dropped as ``nat_no_mapping``. Fragments are reassembled before translation
(only the first one carries ports), as Linux's connection tracking does, and the
translated datagram is fragmented again on egress if it does not fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.ip import ipv4 as P
from .nodes import TTL_EXCEEDED, Interface, Node

if TYPE_CHECKING:
    from .network import Network

NAT_AH = "nat_ah"
NAT_NO_MAPPING = "nat_no_mapping"
NAT_FILTERED = "nat_filtered"
NAT_UNSUPPORTED = "nat_unsupported"

AH_DETAIL = ("AH authenticates the outer source address (RFC 4302 §3.3.3.1); a NAT must rewrite it, "
             "so the ICV would fail -- use ESP in UDP (RFC 3948) through NAT (RFC 3715 §2.1)")


class Nat(Node):
    """A router that translates between inside interfaces and one outside address."""

    role = "nat"

    def __init__(self, net: Network, name: str, addrs: list[str], outside: str,
                 behaviour: str = "port_restricted", timeout: float = 120.0, port_base: int = 20000) -> None:
        super().__init__(net, name, addrs, forwarding=True)
        self.pub = P.aton(outside)
        self.behaviour = behaviour
        self.timeout = timeout
        self.next_port = port_base
        self.out_map: dict[tuple, list] = {}
        """mapping key -> [public port, last used, allowed remotes set, inside (addr, port)]"""
        self.in_map: dict[tuple[int, int], list] = {}
        """(proto, public port) -> the same entry"""
        self.esp_map: dict[bytes, list] = {}
        """remote address -> [inside address, last used] (ESP, address-only)"""

    def _entry_alive(self, e: list, now: float) -> bool:
        return now - e[1] <= self.timeout

    def receive(self, data: bytes, pkt_id: int, iface: Interface | None) -> None:
        now = self.net.env.now
        dst = data[16:20]
        inbound = iface is not None and iface.ip == self.pub
        if (dst != self.pub) if inbound else (dst in self.local):
            super().receive(data, pkt_id, iface)
            return
        if data[6] & 0x3F or data[7]:
            # a fragment: only the first carries the ports the mapping needs, so translate the
            # whole datagram, as Linux connection tracking reassembles before NAT
            # (nf_defrag_ipv4); the egress link fragments it again if it must
            whole = self.reassemble(data, pkt_id)
            if whole is None:
                return
            data = whole
        out = self._translate_in(data, pkt_id, now) if inbound else self._translate_out(data, pkt_id, now)
        if out is None:
            return
        out = P.decrement_ttl(out)
        if out is None:
            self.net.drop(now, self.name, pkt_id, TTL_EXCEEDED, "")
            return
        self.output(out, pkt_id, forwarded=True)

    def _alloc(self, proto: int) -> int:
        while (proto, self.next_port) in self.in_map:
            self.next_port += 1
        port = self.next_port
        self.next_port = self.next_port + 1 if self.next_port < 65535 else 20000
        return port

    def _translate_out(self, data: bytes, pkt_id: int, now: float) -> bytes | None:
        proto = data[9]
        src, dst = data[12:16], data[16:20]
        if proto == P.IPPROTO_AH:
            self.net.drop(now, self.name, pkt_id, NAT_AH, AH_DETAIL)
            return None
        if proto == P.IPPROTO_ESP:
            self.esp_map[dst] = [src, now]
            return P.rewrite(data, src=self.pub)
        if proto == P.IPPROTO_UDP:
            sport, dport = P.ports(data)
        elif proto == P.IPPROTO_ICMP and data[P.header_len(data)] in (P.ICMP_ECHO_REQUEST,):
            h = P.header_len(data)
            sport, dport = (data[h + 4] << 8) | data[h + 5], 0
        else:
            self.net.drop(now, self.name, pkt_id, NAT_UNSUPPORTED, f"protocol {proto}")
            return None
        key = (proto, src, sport) if self.behaviour == "port_restricted" else (proto, src, sport, dst, dport)
        if len(self.out_map) > 4096:
            for k, old in [(k, v) for k, v in self.out_map.items() if not self._entry_alive(v, now)]:
                self._forget(k, old, now)
        e = self.out_map.get(key)
        if e is not None and not self._entry_alive(e, now):
            self._forget(key, e, now)
            e = None
        if e is None:
            port = self._alloc(proto)
            e = [port, now, set(), (src, sport)]
            self.out_map[key] = e
            self.in_map[(proto, port)] = e
            if self.net.trace.enabled:
                self.net.trace.emit(now, "note", self.name,
                                    f"NAT mapping {P.ntoa(src)}:{sport} -> {P.ntoa(self.pub)}:{port} "
                                    f"({'icmp' if proto == 1 else 'udp'}, {self.behaviour})")
        e[1] = now
        e[2].add((dst, dport))
        if proto == P.IPPROTO_UDP:
            return P.rewrite(data, src=self.pub, sport=e[0])
        return P.rewrite(data, src=self.pub, icmp_id=e[0])

    def _forget(self, key: tuple, e: list, now: float) -> None:
        self.out_map.pop(key, None)
        self.in_map.pop((key[0], e[0]), None)
        if self.net.trace.enabled:
            self.net.trace.emit(now, "note", self.name, f"NAT mapping to port {e[0]} timed out")

    def _translate_in(self, data: bytes, pkt_id: int, now: float) -> bytes | None:
        proto = data[9]
        src = data[12:16]
        if proto == P.IPPROTO_ESP:
            m = self.esp_map.get(src)
            if m is None or now - m[1] > self.timeout:
                self.net.drop(now, self.name, pkt_id, NAT_NO_MAPPING, f"ESP from {P.ntoa(src)}")
                return None
            m[1] = now
            return P.rewrite(data, dst=m[0])
        if proto == P.IPPROTO_AH:
            self.net.drop(now, self.name, pkt_id, NAT_AH, AH_DETAIL)
            return None
        if proto == P.IPPROTO_UDP:
            sport, dport = P.ports(data)
        elif proto == P.IPPROTO_ICMP and data[P.header_len(data)] == P.ICMP_ECHO_REPLY:
            h = P.header_len(data)
            sport, dport = 0, (data[h + 4] << 8) | data[h + 5]
        else:
            self.net.drop(now, self.name, pkt_id, NAT_UNSUPPORTED, f"inbound protocol {proto}")
            return None
        e = self.in_map.get((proto, dport))
        if e is None or not self._entry_alive(e, now):
            if e is not None:
                key = next((k for k, v in self.out_map.items() if v is e), None)
                if key is not None:
                    self._forget(key, e, now)
            self.net.drop(now, self.name, pkt_id, NAT_NO_MAPPING, f"port {dport}")
            return None
        if (src, sport) not in e[2]:
            self.net.drop(now, self.name, pkt_id, NAT_FILTERED,
                          f"{P.ntoa(src)}:{sport} never contacted from port {dport}")
            return None
        e[1] = now
        inside, iport = e[3]
        if proto == P.IPPROTO_UDP:
            return P.rewrite(data, dst=inside, dport=iport)
        return P.rewrite(data, dst=inside, icmp_id=iport)
