"""The peer's data plane between UDP sockets and the node: datagrams <-> IP packets, an echo responder.

A UDP socket hands us the UDP *payload* only; the node works on IP packets. A
datagram is wrapped back into the IPv4 + UDP header it arrived in (addresses and
ports from the socket, :func:`to_packet`), and what the node sends is unwrapped to
the UDP payload, source and destination again (:func:`from_packet`). On port 4500
the node tells IKE (non-ESP marker), ESP and NAT keepalives apart (RFC 3948 §2.2).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..core import ip
from ..core.errors import DecodeError
from ..core.natt import classify

__all__ = ["classify", "echo_reply", "from_packet", "to_packet"]

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


def to_packet(payload: bytes, src: Addr, dst: Addr) -> bytes:
    """The IPv4/UDP packet a datagram arrived in (no UDP checksum: the kernel checked it)."""
    return ip.udp_packet(src[0], dst[0], src[1], dst[1], payload, with_checksum=False)


def from_packet(pkt: bytes) -> tuple[bytes, Addr, Addr] | None:
    """(UDP payload, source, destination) of an IPv4/UDP packet to send from a socket; None
    for anything else (plain ESP or AH would need a raw socket)."""
    try:
        h = ip.parse_ipv4(pkt, verify=False)
        if h.proto != ip.IPPROTO_UDP:
            return None
        u, data = ip.parse_udp(pkt, verify=False)
    except (DecodeError, IndexError):
        return None
    return data, (h.src_str, u.sport), (h.dst_str, u.dport)
