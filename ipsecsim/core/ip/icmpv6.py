"""ICMPv6 (RFC 4443): echo request and reply (§4.1, §4.2) and Packet Too Big (§3.2).

The checksum covers the IPv6 pseudo-header with next header 58 (RFC 4443 §2.3,
RFC 8200 §8.1). Packet Too Big is what an IPv6 router sends instead of fragmenting
(RFC 8201): it carries the next link's MTU and as much of the dropped packet as fits in
a 1280-byte reply (RFC 4443 §2.4 (c)).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import DecodeError
from .inet import checksum
from .ipv6 import (
    DEFAULT_HOP_LIMIT,
    IPPROTO_ICMPV6,
    IPV6_HEADER_LEN,
    IPV6_MIN_MTU,
    build_ipv6_header,
    pseudo_header,
    walk,
)

ICMPV6_DEST_UNREACH = 1
ICMPV6_PACKET_TOO_BIG = 2
ICMPV6_TIME_EXCEEDED = 3
ICMPV6_ECHO_REQUEST = 128
ICMPV6_ECHO_REPLY = 129

_ECHO = struct.Struct("!BBHHH")
_PTB = struct.Struct("!BBHI")


@dataclass(frozen=True, slots=True)
class Icmpv6Echo:
    """An ICMPv6 echo request (128) or reply (129), RFC 4443 §4."""

    type: int
    ident: int
    seq: int
    data: bytes


def _with_checksum(src: bytes, dst: bytes, msg: bytearray) -> bytes:
    c = checksum(pseudo_header(src, dst, len(msg), IPPROTO_ICMPV6) + msg)
    msg[2], msg[3] = c >> 8, c & 0xFF
    return bytes(msg)


def icmpv6_packet(src: bytes, dst: bytes, msg: bytes, hop_limit: int = DEFAULT_HOP_LIMIT) -> bytes:
    """A whole IPv6 packet carrying ICMPv6 message ``msg`` (checksum field filled in)."""
    body = _with_checksum(src, dst, bytearray(msg))
    return build_ipv6_header(src, dst, IPPROTO_ICMPV6, len(body), hop_limit=hop_limit) + body


def echo6_packet(src: bytes, dst: bytes, ident: int, seq: int, data: bytes = b"",
                 reply: bool = False, hop_limit: int = DEFAULT_HOP_LIMIT) -> bytes:
    """An echo request (or reply) from ``src`` to ``dst`` (16-byte addresses)."""
    t = ICMPV6_ECHO_REPLY if reply else ICMPV6_ECHO_REQUEST
    return icmpv6_packet(src, dst, _ECHO.pack(t, 0, 0, ident, seq) + data, hop_limit)


def parse_icmpv6(pkt: bytes) -> tuple[int, int, bytes]:
    """(type, code, message body after the 4-byte header) of an IPv6 ICMPv6 packet, the
    checksum verified; DecodeError otherwise."""
    ch = walk(pkt)
    if ch.upper != IPPROTO_ICMPV6 or ch.fragment_offset:
        raise DecodeError(f"IPv6 next header {ch.upper} is not ICMPv6")
    msg = pkt[ch.upper_offset:ch.end]
    if len(msg) < 4:
        raise DecodeError(f"ICMPv6 header truncated ({len(msg)} bytes)")
    if checksum(pseudo_header(pkt[8:24], pkt[24:40], len(msg), IPPROTO_ICMPV6) + msg) not in (0, 0xFFFF):
        raise DecodeError("ICMPv6 checksum is wrong")
    return msg[0], msg[1], msg[4:]


def parse_echo6(pkt: bytes) -> Icmpv6Echo:
    """The echo request or reply in ``pkt``; DecodeError for anything else."""
    t, code, body = parse_icmpv6(pkt)
    if t not in (ICMPV6_ECHO_REQUEST, ICMPV6_ECHO_REPLY) or code != 0 or len(body) < 4:
        raise DecodeError(f"ICMPv6 type {t} code {code} is not an echo")
    ident, seq = struct.unpack_from("!HH", body)
    return Icmpv6Echo(t, ident, seq, body[4:])


def echo6_reply_for(pkt: bytes) -> bytes | None:
    """The echo reply answering ``pkt``, or None when ``pkt`` is no echo request."""
    try:
        e = parse_echo6(pkt)
    except DecodeError:
        return None
    if e.type != ICMPV6_ECHO_REQUEST:
        return None
    return echo6_packet(pkt[24:40], pkt[8:24], e.ident, e.seq, e.data, reply=True)


def packet_too_big(router: bytes, offending: bytes, mtu: int) -> bytes:
    """The Packet Too Big message a router at ``router`` sends back to the source of
    ``offending`` (RFC 4443 §3.2): the MTU of the next hop, then as much of the packet as
    keeps the reply within 1280 bytes (§2.4 (c))."""
    room = IPV6_MIN_MTU - IPV6_HEADER_LEN - _PTB.size
    msg = _PTB.pack(ICMPV6_PACKET_TOO_BIG, 0, 0, mtu) + offending[:room]
    return icmpv6_packet(router, offending[8:24], msg)


def parse_packet_too_big(pkt: bytes) -> tuple[int, bytes]:
    """(MTU, the start of the packet that was too big) of a Packet Too Big; DecodeError."""
    t, code, body = parse_icmpv6(pkt)
    if t != ICMPV6_PACKET_TOO_BIG or len(body) < 4:
        raise DecodeError(f"ICMPv6 type {t} code {code} is not Packet Too Big")
    return struct.unpack_from("!I", body)[0], body[4:]
