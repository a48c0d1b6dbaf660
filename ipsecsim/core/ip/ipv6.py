"""IPv6 (RFC 8200): the fixed header, the extension-header chain, UDP over IPv6.

Checked codecs in the style of :mod:`.ipv4`: ``build_*`` makes bytes, ``parse_*`` reads
them and raises :class:`~ipsecsim.core.errors.DecodeError` saying what is wrong.

* :func:`walk` follows the Next Header chain (RFC 8200 §4): Hop-by-Hop Options (only
  right after the fixed header, §4.3), Routing (§4.4), Fragment (§4.5), Destination
  Options (§4.6) and AH (RFC 4302 §2, length in 4-byte units) are stepped over; ESP
  (RFC 4303), a non-first fragment, or an upper-layer protocol end it. The walk is
  bounded -- at most :data:`MAX_EXT_HEADERS` headers, each inside the payload length --
  so a hostile chain is a :class:`DecodeError`, never a loop or an ``IndexError``.
* UDP over IPv6 checksums over the pseudo-header of RFC 8200 §8.1 (source, destination,
  upper-layer length, next header) and may not be zero: a sender sends 0xFFFF for a
  computed 0, a receiver refuses a 0 (§8.1).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from ..errors import DecodeError
from .inet import IPPROTO_AH, IPPROTO_ESP, IPPROTO_UDP, checksum
from .ipv4 import UDP_HEADER_LEN, UdpHeader

IPV6_HEADER_LEN = 40
IPV6_MIN_MTU = 1280
"""Every IPv6 link carries 1280-byte packets (RFC 8200 §5)."""
DEFAULT_HOP_LIMIT = 64

IPPROTO_HOPOPTS = 0
IPPROTO_IPV6 = 41  # IPv6-in-IP: ESP/AH next header in tunnel mode with an IPv6 inner packet
IPPROTO_ROUTING = 43
IPPROTO_FRAGMENT = 44
IPPROTO_ICMPV6 = 58
IPPROTO_NONE = 59
IPPROTO_DSTOPTS = 60

EXTENSION_HEADERS = frozenset((IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT, IPPROTO_DSTOPTS,
                               IPPROTO_AH))
"""Headers :func:`walk` steps over; ESP ends the walk (what follows is ciphertext)."""
MAX_EXT_HEADERS = 16
"""Most extension headers one packet may carry before :func:`walk` calls it hostile (Linux
accepts a few per kind; RFC 8200 §4.1 allows each once, Destination Options twice)."""

_HDR = struct.Struct("!IHBB16s16s")
_UDP = struct.Struct("!HHHH")
_PSEUDO = struct.Struct("!16s16sI3xB")


def aton6(a: str) -> bytes:
    """The 16 bytes of IPv6 address ``a``; :class:`DecodeError` if it is none."""
    try:
        return ipaddress.IPv6Address(a).packed
    except ValueError:
        raise DecodeError(f"{a!r} is not an IPv6 address") from None


def ntoa6(b: bytes) -> str:
    """The compressed text form (RFC 5952) of 16-byte address ``b``."""
    return str(ipaddress.IPv6Address(bytes(b)))


@dataclass(frozen=True, slots=True)
class IPv6Header:
    """The fixed IPv6 header (RFC 8200 §3)."""

    traffic_class: int
    """DSCP and ECN (RFC 2474, RFC 3168)."""
    flow_label: int
    """20 bits (RFC 6437)."""
    payload_length: int
    """Bytes after the fixed header, extension headers included."""
    next_header: int
    """The first extension header or the upper-layer protocol."""
    hop_limit: int
    src: str
    dst: str


def build_ipv6_header(src: str | bytes, dst: str | bytes, next_header: int, payload_length: int,
                      hop_limit: int = DEFAULT_HOP_LIMIT, traffic_class: int = 0,
                      flow_label: int = 0) -> bytes:
    """The 40-byte fixed header; addresses as text or 16 bytes."""
    s = src if isinstance(src, bytes) else aton6(src)
    d = dst if isinstance(dst, bytes) else aton6(dst)
    if not 0 <= payload_length <= 0xFFFF:
        raise DecodeError(f"IPv6 payload length {payload_length} does not fit 16 bits (no jumbograms)")
    word = (6 << 28) | ((traffic_class & 0xFF) << 20) | (flow_label & 0xFFFFF)
    return _HDR.pack(word, payload_length, next_header, hop_limit, s, d)


def build_ipv6(src: str | bytes, dst: str | bytes, next_header: int, payload: bytes, **kw: int) -> bytes:
    """A whole IPv6 packet: header for ``payload`` (which may start with extension headers)."""
    return build_ipv6_header(src, dst, next_header, len(payload), **kw) + payload


def bounds6(pkt: bytes) -> int:
    """The packet's end (40 + payload length) after checking version and length; DecodeError."""
    if len(pkt) < IPV6_HEADER_LEN:
        raise DecodeError(f"IPv6 header truncated ({len(pkt)} of 40 bytes)")
    if pkt[0] >> 4 != 6:
        raise DecodeError(f"IP version {pkt[0] >> 4}, expected 6")
    end = IPV6_HEADER_LEN + ((pkt[4] << 8) | pkt[5])
    if end > len(pkt):
        raise DecodeError(f"IPv6 payload length {end - 40} exceeds the {len(pkt) - 40} bytes received")
    return end


def parse_ipv6(pkt: bytes) -> IPv6Header:
    """The fixed header of ``pkt``; DecodeError when it is no IPv6 packet or is truncated."""
    bounds6(pkt)
    word, plen, nh, hlim, s, d = _HDR.unpack_from(pkt)
    return IPv6Header((word >> 20) & 0xFF, word & 0xFFFFF, plen, nh, hlim, ntoa6(s), ntoa6(d))


@dataclass(frozen=True, slots=True)
class ExtHeader:
    """One extension header in a packet."""

    kind: int
    """Its protocol number (0, 43, 44, 60 or 51)."""
    offset: int
    """Where it starts in the packet."""
    length: int
    """Its length in bytes."""
    nh_at: int
    """Where the Next Header field pointing at it is (6 for the fixed header's)."""


@dataclass(frozen=True, slots=True)
class Chain:
    """The extension-header chain of one packet, as :func:`walk` found it."""

    headers: tuple[ExtHeader, ...]
    upper: int
    """The protocol after the last header stepped over (ESP, TCP, UDP, ICMPv6, 59, ...)."""
    upper_offset: int
    """Where that protocol's data starts."""
    nh_at: int
    """Where the Next Header field holding :attr:`upper` is."""
    end: int
    """40 + payload length: where the packet ends (bytes after are link padding)."""
    fragment: ExtHeader | None = None
    """The Fragment header, if any."""
    more_fragments: bool = False
    fragment_offset: int = 0
    """In bytes; non-zero means the walk stopped at the Fragment header (what follows is data)."""

    def find(self, kind: int) -> ExtHeader | None:
        """The first header of ``kind``, or None."""
        for h in self.headers:
            if h.kind == kind:
                return h
        return None


def walk(pkt: bytes, end: int | None = None, nh: int | None = None, prefix: bool = False) -> Chain:
    """The extension-header chain of IPv6 packet ``pkt`` (RFC 8200 §4).

    ``end`` and ``nh`` default to the packet's own (the fixed header is checked); a caller
    walking a header prefix (the headers before AH or a Fragment header) passes them and
    ``prefix=True``, and the walk stops where the prefix ends. :class:`DecodeError` for a chain
    running past ``end``, a Hop-by-Hop header not first, more than :data:`MAX_EXT_HEADERS`
    headers, or a second Fragment header in one packet (a fragment of a fragment).
    """
    if end is None:
        end = bounds6(pkt)
    nh_at = 6
    if nh is None:
        nh = pkt[6]
    off = IPV6_HEADER_LEN
    found: list[ExtHeader] = []
    frag: ExtHeader | None = None
    more = False
    foff = 0
    while nh in EXTENSION_HEADERS:
        if prefix and off == end:
            break
        if len(found) >= MAX_EXT_HEADERS:
            raise DecodeError(f"more than {MAX_EXT_HEADERS} IPv6 extension headers")
        if off + 8 > end:
            raise DecodeError(f"IPv6 extension header {nh} at byte {off} truncated (packet ends at {end})")
        if nh == IPPROTO_HOPOPTS and off != IPV6_HEADER_LEN:
            raise DecodeError("a Hop-by-Hop Options header not right after the IPv6 header (RFC 8200 §4.3)")
        if nh == IPPROTO_FRAGMENT:
            if frag is not None:
                raise DecodeError("a second Fragment header: a fragment of a fragment (RFC 8200 §4.5)")
            length = 8
        elif nh == IPPROTO_AH:
            length = (pkt[off + 1] + 2) * 4
        else:
            length = (pkt[off + 1] + 1) * 8
        if off + length > end:
            raise DecodeError(f"IPv6 extension header {nh} of {length} bytes at byte {off} "
                              f"runs past the packet's end at {end}")
        h = ExtHeader(nh, off, length, nh_at)
        found.append(h)
        nh_at = off
        nh = pkt[off]
        off += length
        if h.kind == IPPROTO_FRAGMENT:
            frag = h
            fo = (pkt[h.offset + 2] << 8) | pkt[h.offset + 3]
            more = bool(fo & 1)
            foff = fo & 0xFFF8
            if foff:
                break  # what follows is a later piece of the fragmentable part, not headers
    return Chain(tuple(found), nh, off, nh_at, end, frag, more, foff)


def options(pkt: bytes, h: ExtHeader) -> list[tuple[int, int, int]]:
    """(option type, data offset, data length) of each TLV option in Hop-by-Hop or
    Destination Options header ``h`` (RFC 8200 §4.2), Pad1 and PadN included.
    DecodeError when an option runs past the header."""
    out = []
    i = h.offset + 2
    stop = h.offset + h.length
    while i < stop:
        t = pkt[i]
        if t == 0:  # Pad1: a single byte, no length
            out.append((0, i + 1, 0))
            i += 1
            continue
        if i + 2 > stop or i + 2 + pkt[i + 1] > stop:
            raise DecodeError(f"IPv6 option {t} at byte {i} runs past its header")
        n = pkt[i + 1]
        out.append((t, i + 2, n))
        i += 2 + n
    return out


def pad_options(data: bytes) -> bytes:
    """TLV options ``data`` padded with Pad1/PadN so that 2 + len is a multiple of 8."""
    n = -(len(data) + 2) % 8
    if n == 1:
        return data + b"\0"
    if n:
        return data + bytes((1, n - 2)) + bytes(n - 2)
    return data


def build_options_header(next_header: int, opts: bytes) -> bytes:
    """A Hop-by-Hop or Destination Options header carrying TLV options ``opts``, padded."""
    body = pad_options(opts)
    return bytes((next_header, (len(body) + 2) // 8 - 1)) + body


# ------------------------------------------------------------------ UDP over IPv6


def pseudo_header(src: bytes, dst: bytes, length: int, next_header: int) -> bytes:
    """The upper-layer checksum's pseudo-header (RFC 8200 §8.1)."""
    return _PSEUDO.pack(src, dst, length, next_header)


def l4_checksum6(src: bytes, dst: bytes, next_header: int, data: bytes) -> int:
    """The checksum field value for upper-layer ``data`` (checksum field zeroed)."""
    return checksum(pseudo_header(src, dst, len(data), next_header) + data)


def build_udp6(src: str | bytes, dst: str | bytes, sport: int, dport: int, payload: bytes,
               **kw: int) -> bytes:
    """A whole IPv6 UDP packet with its mandatory checksum (0 sent as 0xFFFF, RFC 8200 §8.1)."""
    s = src if isinstance(src, bytes) else aton6(src)
    d = dst if isinstance(dst, bytes) else aton6(dst)
    n = UDP_HEADER_LEN + len(payload)
    seg = _UDP.pack(sport, dport, n, 0) + payload
    c = l4_checksum6(s, d, IPPROTO_UDP, seg) or 0xFFFF
    return build_ipv6_header(s, d, IPPROTO_UDP, n, **kw) + seg[:6] + bytes((c >> 8, c & 0xFF)) + payload


def parse_udp6(pkt: bytes) -> tuple[UdpHeader, bytes]:
    """(UDP header, payload) of an IPv6 UDP packet, extension headers stepped over; the
    checksum is verified and a zero checksum refused (RFC 8200 §8.1). DecodeError."""
    ch = walk(pkt)
    if ch.upper != IPPROTO_UDP or ch.fragment_offset:
        raise DecodeError(f"IPv6 next header {ch.upper} is not UDP")
    seg = pkt[ch.upper_offset:ch.end]
    if len(seg) < UDP_HEADER_LEN:
        raise DecodeError(f"UDP header truncated ({len(seg)} bytes)")
    sport, dport, length, csum = _UDP.unpack_from(seg)
    if length != len(seg):
        raise DecodeError(f"UDP length {length} does not match the {len(seg)} bytes after the IPv6 headers")
    if csum == 0:
        raise DecodeError("UDP over IPv6 with a zero checksum (RFC 8200 §8.1)")
    if checksum(pseudo_header(pkt[8:24], pkt[24:40], length, IPPROTO_UDP) + seg) not in (0, 0xFFFF):
        raise DecodeError("UDP checksum over the IPv6 pseudo-header is wrong")
    return UdpHeader(sport, dport, length, csum), seg[UDP_HEADER_LEN:]


def decrement_hop_limit(pkt: bytes) -> bytes | None:
    """``pkt`` with its hop limit one lower, or None when it reaches 0 (the router drops it
    and may send ICMPv6 Time Exceeded, RFC 8200 §3). No checksum to fix."""
    if pkt[7] <= 1:
        return None
    return pkt[:7] + bytes((pkt[7] - 1,)) + pkt[8:]


def is_esp_or_ah(pkt: bytes) -> bool:
    """Whether the chain of ``pkt`` reaches ESP or carries AH."""
    ch = walk(pkt)
    return ch.upper == IPPROTO_ESP or ch.find(IPPROTO_AH) is not None
