"""TCP segments in IPv4 (RFC 9293 §3.1): the header, the MSS and window-scale options, and
the MSS clamping a gateway applies to SYNs (what ``iptables ... -j TCPMSS`` does).

Sans-IO like the rest of :mod:`ipsecsim.core.ip`: bytes in, bytes out. The simulator's TCP
(:mod:`ipsecsim.sim.tcp`) builds its segments here, so a pcap shows real TCP that tshark
dissects and follows.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from ..errors import DecodeError
from .inet import IPPROTO_TCP
from .ipv4 import _HDR, DEFAULT_TTL, DF, _bounds, l4_checksum

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
"""TCP header flags (RFC 9293 §3.1)."""
TCP_HEADER_LEN = 20
OPT_END, OPT_NOP, OPT_MSS, OPT_WSCALE = 0, 1, 2, 3
"""Option kinds: end of list, no-operation, maximum segment size, window scale (RFC 7323 §2)."""
DEFAULT_MSS = 536
"""RFC 9293 §3.7.1: the MSS assumed when a SYN carries none (IPv4)."""

_TCP = struct.Struct("!HHIIBBHHH")


class TcpSegment(NamedTuple):
    """A parsed TCP header (options decoded for MSS and window scale only)."""

    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    """The raw 16-bit window field (unscaled)."""
    mss: int | None
    """The MSS option of a SYN (None when absent)."""
    wscale: int | None
    """The window-scale shift of a SYN (None when absent)."""
    payload_len: int


def syn_options(mss: int, wscale: int | None) -> bytes:
    """MSS (kind 2, 4 bytes) then NOP + window scale (kind 3, 3 bytes), as Linux orders them."""
    opts = struct.pack("!BBH", OPT_MSS, 4, mss)
    if wscale is not None:
        opts += struct.pack("!BBBB", OPT_NOP, OPT_WSCALE, 3, wscale)
    return opts


def tcp(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int,
        window: int, payload_len: int = 0, options: bytes = b"", ident: int = 0,
        df: bool = True, ttl: int = DEFAULT_TTL, payload: bytes | None = None) -> bytes:
    """An IPv4/TCP packet with a correct TCP checksum; ``payload_len`` zero bytes unless a
    ``payload`` is given. ``options`` must be a multiple of 4 bytes."""
    if len(options) % 4:
        raise ValueError("TCP options must be padded to a multiple of 4 bytes")
    body = bytes(payload_len) if payload is None else payload
    hlen = TCP_HEADER_LEN + len(options)
    seg = _TCP.pack(sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (hlen // 4) << 4, flags,
                    window, 0, 0) + options + body
    c = l4_checksum(src, dst, IPPROTO_TCP, seg)
    hdr = _HDR.pack(0x45, 0, 20 + len(seg), ident & 0xFFFF, DF if df else 0, ttl, IPPROTO_TCP, 0,
                    src, dst)
    hc = -int.from_bytes(hdr, "big") % 0xFFFF
    return b"".join((hdr[:10], hc.to_bytes(2, "big"), hdr[12:], seg[:16], c.to_bytes(2, "big"),
                     seg[18:]))


def parse_tcp(pkt: bytes, verify: bool = False) -> TcpSegment:
    """The TCP header of an unfragmented IPv4 packet; :class:`DecodeError` when it is
    truncated, its data offset does not fit, an option runs past the header, or (``verify``)
    its checksum is wrong."""
    hl, end = _bounds(pkt)
    if pkt[9] != IPPROTO_TCP:
        raise DecodeError(f"IP protocol {pkt[9]} is not TCP")
    seg = pkt[hl:end]
    if len(seg) < TCP_HEADER_LEN:
        raise DecodeError(f"TCP segment of {len(seg)} bytes is shorter than its header")
    sport, dport, seq, ack, off, flags, window, _csum, _urg = _TCP.unpack_from(seg)
    thl = (off >> 4) * 4
    if thl < TCP_HEADER_LEN or thl > len(seg):
        raise DecodeError(f"TCP data offset {thl} does not fit {len(seg)} bytes")
    if verify and l4_checksum(pkt[12:16], pkt[16:20], IPPROTO_TCP, seg) != 0:
        raise DecodeError("TCP checksum is wrong")
    mss = wscale = None
    i = TCP_HEADER_LEN
    while i < thl:
        kind = seg[i]
        if kind == OPT_END:
            break
        if kind == OPT_NOP:
            i += 1
            continue
        if i + 1 >= thl or seg[i + 1] < 2 or i + seg[i + 1] > thl:
            raise DecodeError(f"TCP option {kind} at offset {i} runs past the header")
        ln = seg[i + 1]
        if kind == OPT_MSS and ln == 4:
            mss = (seg[i + 2] << 8) | seg[i + 3]
        elif kind == OPT_WSCALE and ln == 3:
            wscale = seg[i + 2]
        i += ln
    return TcpSegment(sport, dport, seq, ack, flags, window, mss, wscale, len(seg) - thl)


def clamp_mss(pkt: bytes, mss: int) -> bytes:
    """``pkt`` with the MSS option of its SYN lowered to ``mss`` (RFC 4459 §3.2, what a
    gateway's ``TCPMSS --set-mss`` does), the TCP checksum updated; any other packet, or a
    SYN already at or below ``mss``, comes back as the same object."""
    if len(pkt) < 40 or pkt[9] != IPPROTO_TCP or (pkt[6] & 0x3F) or pkt[7]:
        return pkt
    hl = (pkt[0] & 0x0F) * 4
    if len(pkt) < hl + TCP_HEADER_LEN or not pkt[hl + 13] & SYN:
        return pkt
    thl = (pkt[hl + 12] >> 4) * 4
    i = hl + TCP_HEADER_LEN
    stop = min(hl + thl, len(pkt))
    while i + 3 < stop:
        kind = pkt[i]
        if kind == OPT_END:
            break
        if kind == OPT_NOP:
            i += 1
            continue
        ln = pkt[i + 1]
        if ln < 2:
            break
        if kind == OPT_MSS and ln == 4:
            old = (pkt[i + 2] << 8) | pkt[i + 3]
            if old <= mss:
                return pkt
            b = bytearray(pkt)
            b[i + 2:i + 4] = mss.to_bytes(2, "big")
            # RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'); the option word is 16-bit aligned
            # only when its offset from the TCP header is even, as Linux's TCPMSS assumes
            c = (~((b[hl + 16] << 8) | b[hl + 17]) & 0xFFFF) + (~old & 0xFFFF) + mss
            if (i - hl) % 2:  # an odd offset: the two bytes straddle 16-bit words
                b[hl + 16:hl + 18] = b"\0\0"
                c = l4_checksum(pkt[12:16], pkt[16:20], IPPROTO_TCP, bytes(b[hl:]))
            else:
                c = (c & 0xFFFF) + (c >> 16)
                c = (c & 0xFFFF) + (c >> 16)
                c = ~c & 0xFFFF
            b[hl + 16:hl + 18] = c.to_bytes(2, "big")
            return bytes(b)
        i += ln
    return pkt
