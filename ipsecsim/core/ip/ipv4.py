"""IPv4, UDP and ICMP over ``bytes`` (RFC 791, RFC 768, RFC 792): codecs, fast helpers
(fragmentation is :mod:`.ipv4_frag`).

Two tiers, one module:

* **Codecs** check what they read. ``parse_*`` take bytes from the wire and return a small
  frozen dataclass, :func:`aton`/:func:`ntoa` convert addresses, :func:`fix_l4_checksum`,
  :func:`echo_reply_for`, :func:`icmp_frag_needed` (and :mod:`.ipv4_frag`'s ``fragment``,
  ``fragment_info``) take a received packet.
  On bad input each raises :class:`~ipsecsim.core.errors.DecodeError` and nothing else
  (``errors.py``: callers count it as ``malformed``). ``build_*`` and the other builders
  do the reverse.
* **Fast helpers** for the per-packet path of a simulator or a node: :func:`header_len`,
  :func:`flags_offset`, :func:`is_fragment`, :func:`has_df`, :func:`ports`, :func:`l4`,
  :func:`ipv4_src` and friends, :func:`decrement_ttl`, :func:`rewrite`, and the builders
  :func:`udp`, :func:`udp_parts`, :func:`ipv4_header`, :func:`icmp`. Plain slices and
  ``struct``, no object allocated beyond the bytes, addresses kept as 4-byte ``bytes``
  (hashable dictionary keys). They read a packet the caller has built or already parsed:
  no length checks, so a truncated packet raises ``IndexError`` there by design.

Only what IPsec needs is modelled: IPv4 options are carried opaquely, UDP checksums are
computed over the pseudo-header (0 = none, RFC 768), ICMP covers echo request/reply and
"fragmentation needed" (RFC 1191). Reassembly, family-agnostic, is :mod:`.reassembly`.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from ..errors import DecodeError, IpsecSimError
from .inet import IPPROTO_AH as IPPROTO_AH  # re-exported: the packet path imports this module alone
from .inet import IPPROTO_ESP as IPPROTO_ESP
from .inet import IPPROTO_ICMP as IPPROTO_ICMP
from .inet import IPPROTO_IPIP as IPPROTO_IPIP
from .inet import IPPROTO_TCP as IPPROTO_TCP
from .inet import IPPROTO_UDP as IPPROTO_UDP
from .inet import checksum as checksum

ICMP_ECHO_REPLY = 0
ICMP_DEST_UNREACH = 3
ICMP_FRAG_NEEDED = 4  # code of type 3 (RFC 1191 §4)
ICMP_ECHO_REQUEST = 8
ICMP_TIME_EXCEEDED = 11

DF = 0x4000
"""Don't Fragment, in the 16-bit flags + fragment offset field."""
MF = 0x2000
"""More Fragments."""
OFFMASK = 0x1FFF
"""The fragment offset, in 8-byte units."""
DEFAULT_TTL = 64
IPV4_HEADER_LEN = 20
UDP_HEADER_LEN = 8

_HDR = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")
_H10 = struct.Struct("!10H")
_ICMP_ECHO = struct.Struct("!BBHHH")
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")


class FragmentationNeeded(IpsecSimError):
    """A packet with DF set is larger than the link MTU (RFC 1191); ``mtu`` is the limit."""

    def __init__(self, mtu: int, size: int) -> None:
        super().__init__(f"packet of {size} bytes with DF set exceeds MTU {mtu}")
        self.mtu = mtu
        self.size = size


# ---------------------------------------------------------------- addresses and checksums


_ATON: dict[str, bytes] = {}
_NTOA: dict[bytes, str] = {}
"""Addresses converted so far, each at most :data:`_MEMO_MAX` (a flood of new addresses
cannot grow them): a dictionary hit costs less than the C ``inet_aton``/``inet_ntoa`` the
simulator used (the sans-IO core imports no ``socket``), reading or formatting four octets
in Python more."""
_MEMO_MAX = 4096


def aton(text: str) -> bytes:
    """Dotted quad to 4 bytes; :class:`DecodeError` for anything else.

    Four decimal octets, no leading zeros, as :mod:`ipaddress` reads them (``inet_aton``
    would read ``010.0.0.1`` as octal and ``10.1`` as ``10.0.0.1``).
    """
    b = _ATON.get(text) if type(text) is str else None
    if b is None:
        if type(text) is not str or _DOTTED.fullmatch(text) is None:
            raise DecodeError(f"{text!r} is not an IPv4 address")
        b = bytes(map(int, text.split(".")))
        if len(_ATON) < _MEMO_MAX:
            _ATON[text] = b
    return b


addr = aton
"""The name the core's callers use for :func:`aton`."""


def ntoa(raw: bytes | bytearray) -> str:
    """4 bytes to a dotted quad."""
    s = _NTOA.get(raw) if type(raw) is bytes else None
    if s is None:
        try:
            a, b, c, d = raw
        except ValueError:
            raise DecodeError(f"an IPv4 address is 4 bytes, not {len(raw)}") from None
        s = f"{a}.{b}.{c}.{d}"
        if type(raw) is bytes and len(_NTOA) < _MEMO_MAX:
            _NTOA[raw] = s
    return s


def header_checksum(hdr: bytes | bytearray | memoryview) -> int:
    """Checksum of the first 20 bytes (an option-less IPv4 header); 0 when the header is valid."""
    return -int.from_bytes(hdr[:20], "big") % 0xFFFF


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
        return bool(self.flags_frag & MF)

    @property
    def frag_offset(self) -> int:
        """Fragment offset in bytes."""
        return (self.flags_frag & OFFMASK) * 8


def _bounds(pkt: bytes | bytearray | memoryview) -> tuple[int, int]:
    """(header length, total length) of the IPv4 packet ``pkt``, both checked against the
    buffer; :class:`DecodeError` when the header does not say an IPv4 packet that fits."""
    n = len(pkt)
    if n < IPV4_HEADER_LEN:
        raise DecodeError(f"IPv4 packet of {n} bytes is shorter than a header")
    if pkt[0] >> 4 != 4:
        raise DecodeError(f"IP version {pkt[0] >> 4}, expected 4")
    hl = (pkt[0] & 15) * 4
    if hl < IPV4_HEADER_LEN:
        raise DecodeError(f"IPv4 IHL {pkt[0] & 15} < 5")
    tlen = (pkt[2] << 8) | pkt[3]
    if tlen < hl or tlen > n:
        raise DecodeError(f"IPv4 total length {tlen} does not fit header {hl} / buffer {n}")
    return hl, tlen


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
    s = aton(src) if isinstance(src, str) else src
    d = aton(dst) if isinstance(dst, str) else dst
    hdr = bytearray(_HDR.pack(0x45, tos, IPV4_HEADER_LEN + len(payload), ident & 0xFFFF,
                              DF if df else 0, ttl, proto, 0, s, d))
    struct.pack_into("!H", hdr, 10, header_checksum(hdr))
    return bytes(hdr) + payload


ipv4_header = _HDR.pack
"""Pack a 20-byte IPv4 header: (0x45, tos, total length, ident, flags+offset, ttl, proto,
checksum, src, dst) -- the packet path's builder, checksum supplied by the caller."""


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


def ipv4_total_length(pkt: bytes) -> int:
    return (pkt[2] << 8) | pkt[3]


def header_len(pkt: bytes) -> int:
    """Header length in bytes (IHL * 4)."""
    return (pkt[0] & 0x0F) * 4


def flags_offset(pkt: bytes) -> int:
    """The 16-bit flags + fragment offset field."""
    return (pkt[6] << 8) | pkt[7]


def is_fragment(pkt: bytes) -> bool:
    """MF set or a fragment offset: a piece of a datagram, not a whole one."""
    return bool(pkt[6] & 0x3F or pkt[7])


def has_df(pkt: bytes) -> bool:
    return bool(pkt[6] & 0x40)


def l4(pkt: bytes) -> bytes:
    """The payload after the IP header, up to the total length."""
    return pkt[(pkt[0] & 15) * 4:(pkt[2] << 8) | pkt[3]]


def ports(pkt: bytes) -> tuple[int, int]:
    """(source, destination) port of a TCP/UDP packet or first fragment; (0, 0) otherwise.

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


ipv4_ports = ports
"""The name the SPD and SAD use for :func:`ports`."""


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


def rewrite(pkt: bytes, src: bytes | None = None, dst: bytes | None = None,
            sport: int | None = None, dport: int | None = None, icmp_id: int | None = None) -> bytes:
    """A copy with addresses/ports (or the ICMP echo id) replaced, checksums recomputed (NAT)."""
    b = bytearray(pkt)
    h = (pkt[0] & 15) * 4
    if src is not None:
        b[12:16] = src
    if dst is not None:
        b[16:20] = dst
    set_ipv4_checksum(b)
    if pkt[9] == IPPROTO_UDP:
        if sport is not None:
            b[h:h + 2] = sport.to_bytes(2, "big")
        if dport is not None:
            b[h + 2:h + 4] = dport.to_bytes(2, "big")
        b[h + 6:h + 8] = b"\0\0"  # checksum 0: none (RFC 768); NAT-T receivers ignore it (RFC 3948 §3.1.2)
    elif pkt[9] == IPPROTO_ICMP and icmp_id is not None:
        b[h + 4:h + 6] = icmp_id.to_bytes(2, "big")
        b[h + 2:h + 4] = b"\0\0"
        b[h + 2:h + 4] = checksum(b[h:]).to_bytes(2, "big")
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


def udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, ident: int = 0,
        df: bool = False, *, ttl: int = DEFAULT_TTL, with_checksum: bool = False) -> bytes:
    """An IPv4/UDP packet between 4-byte addresses, the packet path's builder.

    UDP checksum 0 (none, allowed over IPv4 by RFC 768) unless ``with_checksum``; the
    payload is copied once (the parts are joined in one go).
    """
    n = len(payload)
    hdr = _HDR.pack(0x45, 0, 28 + n, ident & 0xFFFF, DF if df else 0, ttl, IPPROTO_UDP, 0, src, dst)
    c = -int.from_bytes(hdr, "big") % 0xFFFF  # header_checksum, inlined
    uc = 0
    if with_checksum:
        uc = l4_checksum(src, dst, IPPROTO_UDP, _UDP.pack(sport, dport, 8 + n, 0) + payload) or 0xFFFF
    return b"".join((hdr[:10], c.to_bytes(2, "big"), hdr[12:], _UDP.pack(sport, dport, 8 + n, uc), payload))


def udp_parts(src: bytes, dst: bytes, port: int, n: int, df: bool = False) -> tuple[int, bytes]:
    """What :func:`udp` builds for ``n`` zero payload bytes between ``port`` and ``port``,
    split for a flow that sends many such packets: (sum of the IPv4 header's 16-bit words
    but the identification, UDP header + payload). The packet with identification ``ident``
    is ``ipv4_header(0x45, 0, 28 + n, ident, DF or 0, 64, IPPROTO_UDP, -(sum + ident) % 0xFFFF,
    src, dst) + tail`` -- the checksum being RFC 1071's one's complement of the folded sum."""
    hdr = _HDR.pack(0x45, 0, 28 + n, 0, DF if df else 0, DEFAULT_TTL, IPPROTO_UDP, 0, src, dst)
    return sum(_H10.unpack(hdr)), _UDP.pack(port, port, 8 + n, 0) + bytes(n)


def udp_packet(src: str | bytes, dst: str | bytes, sport: int, dport: int, payload: bytes, *,
               ident: int = 0, ttl: int = DEFAULT_TTL, with_checksum: bool = True) -> bytes:
    """:func:`udp` from dotted-quad (or 4-byte) addresses, with the UDP checksum a real
    stack sends by default."""
    s = aton(src) if isinstance(src, str) else src
    d = aton(dst) if isinstance(dst, str) else dst
    return udp(s, d, sport, dport, payload, ident, ttl=ttl, with_checksum=with_checksum)


def parse_udp(pkt: bytes, verify: bool = True) -> tuple[UdpHeader, bytes]:
    """The UDP header and payload of an IPv4 packet ``pkt`` (its header checksum is not
    re-checked; its lengths are).

    Raises :class:`DecodeError` for a truncated packet or datagram, a length field that
    does not match, or (when ``verify`` and the checksum is non-zero) a bad checksum.
    """
    hl, end = _bounds(pkt)
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


def fix_l4_checksum(pkt: bytes) -> bytes:
    """Recompute the TCP or UDP checksum of an unfragmented IPv4 packet (RFC 3948 §3.1.2).

    Other packets come back as they are; :class:`DecodeError` when ``pkt`` is no IPv4 packet.
    """
    hl, end = _bounds(pkt)
    proto = pkt[9]
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


def icmp(src: bytes, dst: bytes, icmp_type: int, code: int, rest: bytes, body: bytes,
         ident: int = 0, df: bool = False, *, ttl: int = DEFAULT_TTL) -> bytes:
    """An IPv4/ICMP packet; ``rest`` is the 4 bytes after the checksum (RFC 792)."""
    msg = b"".join((bytes((icmp_type, code, 0, 0)), rest, body))
    c = checksum(msg)
    hdr = _HDR.pack(0x45, 0, 20 + len(msg), ident & 0xFFFF, DF if df else 0, ttl, IPPROTO_ICMP, 0,
                    src, dst)
    h = -int.from_bytes(hdr, "big") % 0xFFFF  # header_checksum, inlined
    return b"".join((hdr[:10], h.to_bytes(2, "big"), hdr[12:], msg[:2], c.to_bytes(2, "big"), msg[4:]))


def parse_icmp_echo(pkt: bytes, verify: bool = True) -> IcmpEcho:
    """The echo request/reply carried by IPv4 packet ``pkt``; DecodeError otherwise."""
    hl, end = _bounds(pkt)
    msg = pkt[hl:end]
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
    return icmp(aton(src), aton(dst), t, 0, struct.pack("!HH", ident, seq), data, ip_ident, ttl=ttl)


def echo_reply_for(request: bytes, ttl: int = DEFAULT_TTL) -> bytes:
    """The echo reply answering IPv4 echo request ``request`` (addresses swapped)."""
    e = parse_icmp_echo(request)
    return icmp(request[16:20], request[12:16], ICMP_ECHO_REPLY, 0, struct.pack("!HH", e.ident, e.seq),
                e.data, ttl=ttl)


def icmp_frag_needed(router: str | bytes, original: bytes, mtu: int, ident: int = 0,
                     to: bytes | None = None) -> bytes:
    """ICMP "fragmentation needed and DF set" (type 3 code 4, RFC 1191) from ``router``.

    Quotes the original IP header plus 8 bytes, as RFC 792 asks, and goes to the
    original's source unless ``to`` names another (an IPsec gateway reports to the
    inner packet's source, RFC 4301 §8.2).
    """
    hl, _end = _bounds(original)
    src = aton(router) if isinstance(router, str) else router
    return icmp(src, original[12:16] if to is None else to, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
                struct.pack("!HH", 0, mtu), original[:hl + 8], ident)
