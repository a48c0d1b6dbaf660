"""IPv6 fragmentation, by the source only, with the Fragment header (RFC 8200 §4.5), and the
reassembler's view of an IPv6 fragment (:data:`~ipsecsim.core.ip.reassembly.FAMILIES` entry 6).

Routers never fragment IPv6: a packet too big for the next link is dropped and answered
with ICMPv6 Packet Too Big (:mod:`.icmpv6`, RFC 8201), and the source fragments to the
path MTU it learned. So :func:`fragment6` refuses a packet that already is a fragment, and
the reassembler refuses a fragment whose fragmentable part holds another Fragment header
(a fragment of a fragment) or whose first piece does not hold the whole header chain up to
the upper-layer header (RFC 8200 §4.5, RFC 7112). Overlapping fragments discard the
datagram (RFC 5722), which the family-agnostic :class:`~.reassembly.Reassembler` does.

The reassembler's ``max_size`` bounds the first fragment's headers (its Fragment header
included) plus the fragmentable part, so with the default 65,535 an IPv6 datagram
reassembles when its payload length is at most 65,487 bytes; the last 48 bytes of IPv6's
16-bit payload length need a larger ``max_size``.
"""

from __future__ import annotations

import struct
from collections.abc import Hashable

from ..errors import DecodeError
from .ipv6 import (
    IPPROTO_DSTOPTS,
    IPPROTO_FRAGMENT,
    IPPROTO_HOPOPTS,
    IPPROTO_ROUTING,
    IPV6_HEADER_LEN,
    IPV6_MIN_MTU,
    walk,
)

__all__ = ["fragment6", "fragment_info6", "reassembled6", "unfragmentable_length"]

_FRAG = struct.Struct("!BBHI")


def unfragmentable_length(pkt: bytes) -> tuple[int, int]:
    """(length of the Unfragmentable Part, where its last Next Header field is): the fixed
    header, Hop-by-Hop Options, and everything up to the last Routing header (RFC 8200
    §4.5; Destination Options before a Routing header are for the hops it names)."""
    ch = walk(pkt)
    length, nh_at = IPV6_HEADER_LEN, 6
    last_rt = -1
    for i, h in enumerate(ch.headers):
        if h.kind == IPPROTO_ROUTING:
            last_rt = i
    for i, h in enumerate(ch.headers):
        if h.kind == IPPROTO_HOPOPTS or i <= last_rt and h.kind in (IPPROTO_ROUTING, IPPROTO_DSTOPTS):
            length, nh_at = h.offset + h.length, h.offset
        else:
            break
    return length, nh_at


def fragment6(pkt: bytes, mtu: int, ident: int) -> list[bytes]:
    """Split IPv6 packet ``pkt`` into fragments of at most ``mtu`` bytes with Fragment
    headers of identification ``ident`` (RFC 8200 §4.5); ``[pkt]`` when it fits.

    DecodeError when ``pkt`` is no well-formed IPv6 packet or already carries a Fragment
    header (IPv6 fragments only at the source, once); ValueError for an ``mtu`` under the
    1280 bytes every IPv6 link carries (RFC 8200 §5).
    """
    ch = walk(pkt)
    if ch.fragment is not None:
        raise DecodeError("the packet is already a fragment; IPv6 fragments once, at the source")
    if ch.end <= mtu:
        return [pkt[:ch.end]]
    if mtu < IPV6_MIN_MTU:
        raise ValueError(f"MTU {mtu} is under IPv6's minimum of {IPV6_MIN_MTU} (RFC 8200 §5)")
    if not 0 <= ident <= 0xFFFFFFFF:
        raise ValueError(f"fragment identification {ident} is not a 32-bit value")
    ulen, nh_at = unfragmentable_length(pkt)
    first_nh = pkt[nh_at]
    rest = pkt[ulen:ch.end]
    last = mtu - ulen - 8  # the last fragment may use all of it, the others a multiple of 8
    chunk = last & ~7
    if chunk <= 0:
        raise ValueError(f"MTU {mtu} cannot carry a {ulen}-byte unfragmentable part and 8 bytes")
    head = bytearray(pkt[:ulen])
    head[nh_at] = IPPROTO_FRAGMENT
    out = []
    start = 0
    while True:
        more = len(rest) - start > last
        part = rest[start:start + chunk] if more else rest[start:]
        plen = ulen - IPV6_HEADER_LEN + 8 + len(part)
        head[4], head[5] = plen >> 8, plen & 0xFF
        out.append(bytes(head) + _FRAG.pack(first_nh, 0, start | more, ident) + part)
        if not more:
            break
        start += chunk
    return out


def fragment_info6(pkt: bytes) -> tuple[Hashable, int, bool, bytes, int] | None:
    """The reassembler's view of IPv6 packet ``pkt``: ``(key, offset, more, data,
    header_len)``, or None when it carries no Fragment header.

    ``key`` is (source, destination, identification) (RFC 8200 §4.5); ``header_len``
    runs to the end of the Fragment header. An atomic fragment (offset 0, M clear) is a
    datagram of one piece (RFC 6946). DecodeError for an empty fragment, a non-last one
    whose length is not a multiple of 8, a first fragment whose header chain runs past
    its end (the chain must be whole in the first fragment, RFC 7112), or a second
    Fragment header.
    """
    ch = walk(pkt)
    f = ch.fragment
    if f is None:
        return None
    hl = f.offset + 8
    data = pkt[hl:ch.end]
    if not data:
        raise DecodeError("an IPv6 fragment with no data")
    if ch.more_fragments and len(data) & 7:
        raise DecodeError(f"an IPv6 fragment with M set carries {len(data)} bytes, not a multiple of 8")
    key = (6, pkt[8:40], pkt[f.offset + 4:f.offset + 8])
    return key, ch.fragment_offset, ch.more_fragments, data, hl


def reassembled6(head: bytes, payload: bytes) -> bytes:
    """The whole datagram from the first fragment's bytes up to the end of its Fragment
    header (``head``) and the joined fragmentable part: the Fragment header removed, the
    Next Header before it given the Fragment header's, the payload length set.
    DecodeError when the result still carries a Fragment header (a fragment of a fragment)."""
    frag_at = len(head) - 8
    ch = walk(head, end=frag_at, nh=head[6], prefix=True)
    if ch.upper != IPPROTO_FRAGMENT or ch.upper_offset != frag_at:
        raise DecodeError("the first fragment's header chain does not end at its Fragment header")
    hdr = bytearray(head[:frag_at])
    hdr[ch.nh_at] = head[frag_at]
    plen = len(hdr) - IPV6_HEADER_LEN + len(payload)
    if plen > 0xFFFF:
        raise DecodeError(f"reassembled IPv6 payload of {plen} bytes exceeds 65535 (RFC 8200 §4.5)")
    hdr[4], hdr[5] = plen >> 8, plen & 0xFF
    out = b"".join((hdr, payload))
    if walk(out).fragment is not None:
        raise DecodeError("the reassembled datagram holds another Fragment header: a fragment of a fragment")
    return out
