"""IPv4, UDP and ICMP echo codecs (RFC 791, RFC 768, RFC 792), fragmentation and reassembly.

Pull/push functions over ``bytes``: ``parse_*`` takes bytes and returns a small
frozen dataclass (or raises :class:`DecodeError`), ``build_*`` does the reverse.
The per-packet path does not need the dataclasses: :func:`ipv4_src`,
:func:`ipv4_dst`, :func:`ipv4_proto` and friends are plain slices.

Only what IPsec needs is modelled: IPv4 options are carried opaquely, UDP
checksums are computed over the pseudo-header (0 = none, RFC 768), ICMP covers
echo request/reply and "fragmentation needed" (RFC 1191).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import DecodeError, IpsecSimError

IPPROTO_ICMP = 1
IPPROTO_IPIP = 4  # IPv4-in-IPv4: ESP/AH next header in tunnel mode
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ESP = 50
IPPROTO_AH = 51

ICMP_ECHO_REPLY = 0
ICMP_DEST_UNREACH = 3
ICMP_ECHO_REQUEST = 8
ICMP_FRAG_NEEDED_CODE = 4

IP_DF = 0x4000
IP_MF = 0x2000
IP_OFFMASK = 0x1FFF
DEFAULT_TTL = 64
IPV4_HEADER_LEN = 20
UDP_HEADER_LEN = 8

_HDR = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")
_ICMP_ECHO = struct.Struct("!BBHHH")


class FragmentationNeeded(IpsecSimError):
    """A packet with DF set is larger than the link MTU (RFC 1191); ``mtu`` is the limit."""

    def __init__(self, mtu: int, size: int) -> None:
        super().__init__(f"packet of {size} bytes with DF set exceeds MTU {mtu}")
        self.mtu = mtu
        self.size = size


# ---------------------------------------------------------------- checksums


def checksum(data: bytes | bytearray | memoryview) -> int:
    """The Internet checksum (RFC 1071) of ``data``: one's complement of the one's complement sum.

    Computed as a remainder: 2**16 is 1 modulo 0xFFFF, so the one's complement sum
    of the 16-bit words of ``data`` is congruent to ``data`` read as one big integer.
    """
    if len(data) & 1:
        data = bytes(data) + b"\0"
    x = int.from_bytes(data, "big")
    if x == 0:
        return 0xFFFF  # sum 0, complement 0xFFFF
    return -x % 0xFFFF


def header_checksum(hdr: bytes | bytearray | memoryview) -> int:
    """Checksum of the first 20 bytes (an option-less IPv4 header); 0 when the header is valid."""
    return -int.from_bytes(hdr[:20], "big") % 0xFFFF


def addr(text: str) -> bytes:
    """Dotted quad to 4 bytes."""
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 for p in parts):
        raise DecodeError(f"{text!r} is not an IPv4 address")
    try:
        return bytes(map(int, parts))
    except ValueError as exc:  # an octet above 255
        raise DecodeError(f"{text!r} is not an IPv4 address") from exc


def ntoa(raw: bytes) -> str:
    """4 bytes to a dotted quad."""
    if len(raw) != 4:
        raise DecodeError(f"an IPv4 address is 4 bytes, not {len(raw)}")
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


# ---------------------------------------------------------------- IPv4


@dataclass(frozen=True, slots=True)
class IPv4Header:
    """A parsed IPv4 header (RFC 791 §3.1)."""

    src: bytes
    """Source address, 4 bytes."""
    dst: bytes
    """Destination address, 4 bytes."""
    proto: int
    """Protocol of the payload (IANA protocol number)."""
    total_length: int
    """Header plus payload, in bytes."""
    ident: int = 0
    """Identification (fragment reassembly key)."""
    flags_frag: int = 0
    """Flags (DF 0x4000, MF 0x2000) and fragment offset in 8-byte units."""
    ttl: int = DEFAULT_TTL
    """Time to live."""
    tos: int = 0
    """Type of service (DSCP and ECN)."""
    options: bytes = b""
    """Raw options, a multiple of 4 bytes."""
    checksum: int = 0
    """The checksum as found on the wire (``build`` always recomputes it)."""

    @property
    def header_length(self) -> int:
        return IPV4_HEADER_LEN + len(self.options)

    @property
    def src_str(self) -> str:
        return ntoa(self.src)

    @property
    def dst_str(self) -> str:
        return ntoa(self.dst)

    @property
    def more_fragments(self) -> bool:
        return bool(self.flags_frag & IP_MF)

    @property
    def frag_offset(self) -> int:
        """Fragment offset in bytes."""
        return (self.flags_frag & IP_OFFMASK) * 8


def parse_ipv4(pkt: bytes | bytearray | memoryview, verify: bool = True) -> IPv4Header:
    """Parse the IPv4 header of ``pkt``.

    Raises :class:`DecodeError` for a truncated packet, version other than 4,
    IHL < 5, total length inconsistent with the buffer, or (when ``verify``) a
    bad header checksum. Bytes after ``total_length`` (link padding) are allowed.
    """
    n = len(pkt)
    if n < IPV4_HEADER_LEN:
        raise DecodeError(f"IPv4 packet of {n} bytes is shorter than a header")
    vihl, tos, tlen, ident, ff, ttl, proto, csum, src, dst = _HDR.unpack_from(pkt)
    if vihl >> 4 != 4:
        raise DecodeError(f"IP version {vihl >> 4}, expected 4")
    hl = (vihl & 15) * 4
    if hl < IPV4_HEADER_LEN:
        raise DecodeError(f"IPv4 IHL {vihl & 15} < 5")
    if tlen < hl or tlen > n:
        raise DecodeError(f"IPv4 total length {tlen} does not fit header {hl} / buffer {n}")
    if verify:
        c = header_checksum(pkt) if hl == IPV4_HEADER_LEN else checksum(bytes(pkt[:hl]))
        if c != 0:
            raise DecodeError(f"IPv4 header checksum 0x{csum:04x} is wrong")
    return IPv4Header(src, dst, proto, tlen, ident, ff, ttl, tos, bytes(pkt[IPV4_HEADER_LEN:hl]), csum)


def build_ipv4_header(h: IPv4Header, payload_len: int) -> bytes:
    """Serialise ``h`` for a payload of ``payload_len`` bytes (length and checksum computed)."""
    if len(h.options) % 4:
        raise ValueError("IPv4 options must be a multiple of 4 bytes")
    hl = IPV4_HEADER_LEN + len(h.options)
    raw = bytearray(_HDR.pack(0x40 | hl // 4, h.tos, hl + payload_len, h.ident, h.flags_frag,
                              h.ttl, h.proto, 0, h.src, h.dst) + h.options)
    struct.pack_into("!H", raw, 10, checksum(raw))
    return bytes(raw)


def build_ipv4(src: str | bytes, dst: str | bytes, proto: int, payload: bytes, *, ident: int = 0,
               ttl: int = DEFAULT_TTL, tos: int = 0, df: bool = False) -> bytes:
    """A whole IPv4 packet (20-byte header, no options) around ``payload``."""
    s = addr(src) if isinstance(src, str) else src
    d = addr(dst) if isinstance(dst, str) else dst
    hdr = bytearray(_HDR.pack(0x45, tos, IPV4_HEADER_LEN + len(payload), ident & 0xFFFF,
                              IP_DF if df else 0, ttl, proto, 0, s, d))
    struct.pack_into("!H", hdr, 10, header_checksum(hdr))
    return bytes(hdr) + payload


def set_ipv4_checksum(hdr: bytearray) -> None:
    """Recompute the header checksum of the IPv4 header at the start of ``hdr`` in place."""
    hl = (hdr[0] & 15) * 4
    hdr[10:12] = b"\0\0"
    c = header_checksum(hdr) if hl == IPV4_HEADER_LEN else checksum(bytes(hdr[:hl]))
    struct.pack_into("!H", hdr, 10, c)


# fast field access for the per-packet path (no validation)
def ipv4_src(pkt: bytes) -> bytes:
    return pkt[12:16]


def ipv4_dst(pkt: bytes) -> bytes:
    return pkt[16:20]


def ipv4_proto(pkt: bytes) -> int:
    return pkt[9]


def ipv4_ihl(pkt: bytes) -> int:
    """Header length in bytes."""
    return (pkt[0] & 15) * 4


def ipv4_total_length(pkt: bytes) -> int:
    return (pkt[2] << 8) | pkt[3]


def ipv4_payload(pkt: bytes) -> bytes:
    return pkt[(pkt[0] & 15) * 4:(pkt[2] << 8) | pkt[3]]


def ipv4_ports(pkt: bytes) -> tuple[int, int]:
    """(source, destination) port of a first-fragment TCP/UDP packet; (0, 0) otherwise.

    For ICMP the pair is (type, code), as RFC 4301 §4.4.1.1 puts them in the port fields.
    """
    proto = pkt[9]
    hl = (pkt[0] & 15) * 4
    if (pkt[6] & 0x1F) or pkt[7]:  # non-first fragment: ports unknown (OPAQUE)
        return 0, 0
    if proto in (IPPROTO_TCP, IPPROTO_UDP) and len(pkt) >= hl + 4:
        return (pkt[hl] << 8) | pkt[hl + 1], (pkt[hl + 2] << 8) | pkt[hl + 3]
    if proto == IPPROTO_ICMP and len(pkt) >= hl + 2:
        return pkt[hl], pkt[hl + 1]
    return 0, 0


def decrement_ttl(pkt: bytes) -> bytes | None:
    """The packet with TTL - 1 and an updated checksum (RFC 1624), or None when TTL runs out."""
    ttl = pkt[8]
    if ttl <= 1:
        return None
    b = bytearray(pkt)
    b[8] = ttl - 1
    # incremental update: TTL is the high byte of word 4 (RFC 1624 eqn. 3)
    c = ((b[10] << 8) | b[11]) + 0x0100
    c = (c & 0xFFFF) + (c >> 16)
    b[10], b[11] = c >> 8, c & 0xFF
    return bytes(b)


# ---------------------------------------------------------------- UDP


@dataclass(frozen=True, slots=True)
class UdpHeader:
    """A parsed UDP header (RFC 768)."""

    sport: int
    """Source port."""
    dport: int
    """Destination port."""
    length: int
    """Header plus payload."""
    checksum: int
    """0 means "no checksum" (allowed over IPv4)."""


def _pseudo(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    return src + dst + struct.pack("!BBH", 0, proto, length)


def l4_checksum(src: bytes, dst: bytes, proto: int, segment: bytes) -> int:
    """TCP/UDP checksum of ``segment`` (its checksum field zeroed) over the IPv4 pseudo-header."""
    return checksum(_pseudo(src, dst, proto, len(segment)) + segment)


def build_udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes,
              with_checksum: bool = True) -> bytes:
    """A UDP datagram; the checksum covers the pseudo-header (0xFFFF sent for a computed 0)."""
    length = UDP_HEADER_LEN + len(payload)
    seg = _UDP.pack(sport, dport, length, 0) + payload
    if not with_checksum:
        return seg
    c = l4_checksum(src, dst, IPPROTO_UDP, seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def parse_udp(pkt: bytes, verify: bool = True) -> tuple[UdpHeader, bytes]:
    """The UDP header and payload of an IPv4 packet ``pkt`` (the IP header is not re-checked).

    Raises :class:`DecodeError` for a truncated datagram, a length field that
    does not match, or (when ``verify`` and the checksum is non-zero) a bad checksum.
    """
    hl = (pkt[0] & 15) * 4
    end = (pkt[2] << 8) | pkt[3]
    seg = pkt[hl:end]
    if len(seg) < UDP_HEADER_LEN:
        raise DecodeError(f"UDP datagram of {len(seg)} bytes is shorter than its header")
    sport, dport, length, csum = _UDP.unpack_from(seg)
    if length < UDP_HEADER_LEN or length > len(seg):
        raise DecodeError(f"UDP length {length} does not fit {len(seg)} bytes")
    seg = seg[:length]
    if verify and csum and l4_checksum(pkt[12:16], pkt[16:20], IPPROTO_UDP, seg) not in (0, 0xFFFF):
        raise DecodeError(f"UDP checksum 0x{csum:04x} is wrong")
    return UdpHeader(sport, dport, length, csum), seg[UDP_HEADER_LEN:]


def udp_packet(src: str, dst: str, sport: int, dport: int, payload: bytes, *, ident: int = 0,
               ttl: int = DEFAULT_TTL, with_checksum: bool = True) -> bytes:
    """A whole IPv4 + UDP packet from dotted-quad addresses."""
    s, d = addr(src), addr(dst)
    return build_ipv4(s, d, IPPROTO_UDP, build_udp(s, d, sport, dport, payload, with_checksum),
                      ident=ident, ttl=ttl)


def fix_l4_checksum(pkt: bytes) -> bytes:
    """Recompute the TCP or UDP checksum of an unfragmented IPv4 packet (RFC 3948 §3.1.2)."""
    proto = pkt[9]
    hl = (pkt[0] & 15) * 4
    end = (pkt[2] << 8) | pkt[3]
    if (pkt[6] & 0x3F) or pkt[7]:
        return pkt
    if proto == IPPROTO_UDP and end - hl >= 8:
        if pkt[hl + 6] == 0 and pkt[hl + 7] == 0:
            return pkt  # no checksum was sent
        off = 6
    elif proto == IPPROTO_TCP and end - hl >= 20:
        off = 16
    else:
        return pkt
    b = bytearray(pkt)
    b[hl + off:hl + off + 2] = b"\0\0"
    c = l4_checksum(pkt[12:16], pkt[16:20], proto, bytes(b[hl:end]))
    if proto == IPPROTO_UDP and c == 0:
        c = 0xFFFF
    struct.pack_into("!H", b, hl + off, c)
    return bytes(b)


# ---------------------------------------------------------------- ICMP


@dataclass(frozen=True, slots=True)
class IcmpEcho:
    """An ICMP echo request (type 8) or reply (type 0), RFC 792."""

    type: int
    """8 (request) or 0 (reply)."""
    ident: int
    """Identifier chosen by the pinging host."""
    seq: int
    """Sequence number of the ping."""
    data: bytes
    """Payload echoed back."""


def build_icmp_echo(type_: int, ident: int, seq: int, data: bytes) -> bytes:
    """The ICMP message (no IP header) with its checksum."""
    msg = bytearray(_ICMP_ECHO.pack(type_, 0, 0, ident, seq) + data)
    struct.pack_into("!H", msg, 2, checksum(msg))
    return bytes(msg)


def parse_icmp_echo(pkt: bytes, verify: bool = True) -> IcmpEcho:
    """The echo request/reply carried by IPv4 packet ``pkt``; DecodeError otherwise."""
    hl = (pkt[0] & 15) * 4
    msg = pkt[hl:(pkt[2] << 8) | pkt[3]]
    if len(msg) < 8:
        raise DecodeError(f"ICMP message of {len(msg)} bytes is too short")
    t, code, _c, ident, seq = _ICMP_ECHO.unpack_from(msg)
    if t not in (ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY) or code != 0:
        raise DecodeError(f"ICMP type {t} code {code} is not an echo")
    if verify and checksum(msg) != 0:
        raise DecodeError("ICMP checksum is wrong")
    return IcmpEcho(t, ident, seq, bytes(msg[8:]))


def icmp_echo_packet(src: str, dst: str, ident: int = 1, seq: int = 1, data: bytes = b"",
                     *, reply: bool = False, ip_ident: int = 0, ttl: int = DEFAULT_TTL) -> bytes:
    """A whole IPv4 + ICMP echo request (or reply) packet from dotted-quad addresses."""
    t = ICMP_ECHO_REPLY if reply else ICMP_ECHO_REQUEST
    return build_ipv4(addr(src), addr(dst), IPPROTO_ICMP, build_icmp_echo(t, ident, seq, data),
                      ident=ip_ident, ttl=ttl)


def echo_reply_for(request: bytes, ttl: int = DEFAULT_TTL) -> bytes:
    """The echo reply answering IPv4 echo request ``request`` (addresses swapped)."""
    e = parse_icmp_echo(request)
    return build_ipv4(request[16:20], request[12:16], IPPROTO_ICMP,
                      build_icmp_echo(ICMP_ECHO_REPLY, e.ident, e.seq, e.data), ttl=ttl)


def icmp_frag_needed(router: str | bytes, original: bytes, mtu: int) -> bytes:
    """ICMP "fragmentation needed and DF set" (type 3 code 4, RFC 1191) from ``router``.

    Quotes the original IP header plus 8 bytes, as RFC 792 asks.
    """
    hl = (original[0] & 15) * 4
    quote = original[:hl + 8]
    msg = bytearray(struct.pack("!BBHHH", ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED_CODE, 0, 0, mtu) + quote)
    struct.pack_into("!H", msg, 2, checksum(msg))
    src = addr(router) if isinstance(router, str) else router
    return build_ipv4(src, original[12:16], IPPROTO_ICMP, bytes(msg))


# ---------------------------------------------------------------- fragmentation


def fragment(pkt: bytes, mtu: int) -> list[bytes]:
    """Split IPv4 packet ``pkt`` into fragments of at most ``mtu`` bytes (RFC 791 §3.2).

    Returns ``[pkt]`` when it fits. Raises :class:`FragmentationNeeded` when DF
    is set and it does not. Options are copied into every fragment (a
    simplification: RFC 791 copies only options with the copy flag).
    """
    tlen = (pkt[2] << 8) | pkt[3]
    if tlen <= mtu:
        return [pkt]
    ff = (pkt[6] << 8) | pkt[7]
    if ff & IP_DF:
        raise FragmentationNeeded(mtu, tlen)
    hl = (pkt[0] & 15) * 4
    chunk = (mtu - hl) & ~7
    if chunk <= 0:
        raise ValueError(f"MTU {mtu} is too small for a {hl}-byte header")
    base_off = (ff & IP_OFFMASK) * 8
    last_mf = ff & IP_MF
    payload = pkt[hl:tlen]
    out = []
    hdr = bytearray(pkt[:hl])
    for start in range(0, len(payload), chunk):
        part = payload[start:start + chunk]
        more = start + chunk < len(payload)
        flags = ((base_off + start) // 8) | (IP_MF if more or last_mf else 0)
        struct.pack_into("!HHH", hdr, 2, hl + len(part), (pkt[4] << 8) | pkt[5], flags)
        set_ipv4_checksum(hdr)
        out.append(bytes(hdr) + part)
    return out


class Reassembler:
    """Collects IPv4 fragments into whole packets (RFC 791 §3.2, RFC 815 hole tracking).

    Keyed by (src, dst, protocol, identification). Incomplete packets are
    discarded by :meth:`expire` after ``timeout`` seconds (Linux: 30 s).
    """

    def __init__(self, timeout: float = 30.0, max_size: int = 65535) -> None:
        self.timeout = timeout
        self.max_size = max_size
        self._parts: dict[tuple[bytes, bytes, int, int], tuple[float, dict[int, bytes], list]] = {}
        self.expired = 0
        """Packets given up on by :meth:`expire`."""

    def __len__(self) -> int:
        return len(self._parts)

    def add(self, pkt: bytes, now: float = 0.0) -> bytes | None:
        """Feed one packet; returns a whole packet (``pkt`` itself if not a fragment) or None."""
        ff = (pkt[6] << 8) | pkt[7]
        if not ff & (IP_MF | IP_OFFMASK):
            return pkt
        hl = (pkt[0] & 15) * 4
        tlen = (pkt[2] << 8) | pkt[3]
        key = (pkt[12:16], pkt[16:20], pkt[9], (pkt[4] << 8) | pkt[5])
        entry = self._parts.get(key)
        if entry is None:
            entry = (now, {}, [None, None])  # [first-fragment header, total payload length]
            self._parts[key] = entry
        _t, parts, meta = entry
        off = (ff & IP_OFFMASK) * 8
        parts[off] = pkt[hl:tlen]
        if off == 0:
            meta[0] = pkt[:hl]
        if not ff & IP_MF:
            meta[1] = off + tlen - hl
        if meta[0] is None or meta[1] is None:
            return None
        pos = 0
        for o in sorted(parts):
            if o > pos:
                return None
            pos = max(pos, o + len(parts[o]))
        if pos < meta[1]:
            return None
        buf = bytearray(meta[1])
        for o in sorted(parts):
            seg = parts[o][: meta[1] - o]
            buf[o:o + len(seg)] = seg
        del self._parts[key]
        hdr = bytearray(meta[0])
        if len(hdr) + len(buf) > self.max_size:
            raise DecodeError(f"reassembled packet of {len(hdr) + len(buf)} bytes is too large")
        struct.pack_into("!HH", hdr, 2, len(hdr) + len(buf), (hdr[4] << 8) | hdr[5])
        struct.pack_into("!H", hdr, 6, 0)
        set_ipv4_checksum(hdr)
        return bytes(hdr) + bytes(buf)

    def expire(self, now: float) -> int:
        """Drop partial packets older than ``timeout``; returns how many were dropped."""
        old = [k for k, (t, _p, _m) in self._parts.items() if now - t >= self.timeout]
        for k in old:
            del self._parts[k]
        self.expired += len(old)
        return len(old)
