"""The peer's data plane: ESP-in-UDP payloads to and from the IPsec stack, and an echo responder.

A UDP socket on port 4500 hands us the UDP *payload* only. RFC 3948 §2.2 tells
the three kinds apart by their first bytes (:func:`ipsecsim.core.natt.classify`):

* a single ``0xFF`` byte is a NAT keepalive (§2.3);
* four zero bytes (the non-ESP marker) start an IKE message;
* anything else starts with an ESP SPI (never zero).

The stack works on IP packets, so an ESP payload is wrapped back into the IPv4 +
UDP header it arrived in (addresses and ports from the socket), and what the stack
sends out is unwrapped to the UDP payload and destination again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..core import ip
from ..core.errors import DecodeError, PacketDrop
from ..core.natt import classify

__all__ = ["EspInUdp", "classify", "echo_reply"]

UDP_ECHO_PORT = 7

Addr = tuple[str, int]


def echo_reply(pkt: bytes, inner_addrs: Iterable[str]) -> bytes | None:
    """The answer to an ICMP echo request or a UDP datagram to port 7 for one of ``inner_addrs``.

    None when ``pkt`` is neither, or is addressed elsewhere.
    """
    try:
        h = ip.parse_ipv4(pkt)
    except DecodeError:
        return None
    if ip.ntoa(pkt[16:20]) not in set(inner_addrs):
        return None
    if h.proto == ip.IPPROTO_ICMP:
        try:
            e = ip.parse_icmp_echo(pkt)
        except DecodeError:
            return None
        if e.type != ip.ICMP_ECHO_REQUEST:
            return None
        return ip.echo_reply_for(pkt)
    if h.proto == ip.IPPROTO_UDP:
        try:
            u, data = ip.parse_udp(pkt)
        except DecodeError:
            return None
        if u.dport != UDP_ECHO_PORT:
            return None
        return ip.udp_packet(ip.ntoa(pkt[16:20]), ip.ntoa(pkt[12:16]), UDP_ECHO_PORT, u.sport, data)
    return None


def _packets(result: Any) -> list[bytes]:
    """The stack may return one packet, None, or a list of packets: always a list."""
    if result is None:
        return []
    if isinstance(result, (bytes, bytearray, memoryview)):
        return [bytes(result)] if result else []  # b"": a keepalive, consumed
    return [bytes(p) for p in result if p]


class EspInUdp:
    """ESP-in-UDP payloads <-> IP packets for an :class:`~ipsecsim.core.stack.IPsecStack`."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.drops: dict[str, int] = {}
        """Packets the stack refused, by drop reason."""
        self.received = 0
        self.sent = 0

    def _drop(self, reason: str) -> None:
        self.drops[reason] = self.drops.get(reason, 0) + 1

    def inbound(self, payload: bytes, src: Addr, dst: Addr, now: float) -> list[bytes]:
        """Decapsulate one ESP-in-UDP payload; the inner packets (empty if dropped)."""
        outer = ip.udp_packet(src[0], dst[0], src[1], dst[1], payload, with_checksum=False)
        try:
            inner = _packets(self.stack.inbound(outer, now))
        except PacketDrop as exc:
            self._drop(exc.reason)
            return []
        except DecodeError:
            self._drop("malformed")
            return []
        self.received += 1
        # the inner packets of a tunnel SA; the outer one back means "not IPsec": ignore it
        return [p for p in inner if p != outer]

    def outbound(self, pkt: bytes, now: float) -> list[tuple[bytes, Addr, Addr]]:
        """Protect ``pkt``; (UDP payload, our address, peer address) to send from port 4500."""
        try:
            outs = _packets(self.stack.outbound(pkt, now))
        except PacketDrop as exc:
            self._drop(exc.reason)
            return []
        sends = []
        for o in outs:
            if o[9] != ip.IPPROTO_UDP:
                self._drop("no_udp_encap")  # plain ESP would need a raw socket
                continue
            u, data = ip.parse_udp(o, verify=False)
            sends.append((data, (ip.ntoa(o[12:16]), u.sport), (ip.ntoa(o[16:20]), u.dport)))
        self.sent += len(sends)
        return sends
