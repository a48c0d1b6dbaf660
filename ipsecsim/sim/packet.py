"""Fast IPv4 helpers for the simulation's packet path (RFC 791, RFC 768, RFC 792).

The simulator moves packets as plain ``bytes`` plus a small integer packet id.
These helpers read and write only what forwarding needs (addresses, protocol,
TTL, DF/MF, fragment offset, ports) with slicing and ``struct``, so a hop costs
no object allocation beyond the bytes. Addresses are kept as 4-byte ``bytes``
on the hot path (hashable dictionary keys, no int conversion).

Fragmentation and reassembly (RFC 791 §2.3, §3.2) live here too, because they
act per egress interface and per destination node.
"""

from __future__ import annotations

import socket
import struct

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ESP = 50
IPPROTO_AH = 51

ICMP_ECHO_REPLY = 0
ICMP_DEST_UNREACH = 3
ICMP_FRAG_NEEDED = 4  # code of type 3 (RFC 1191 §4)
ICMP_ECHO_REQUEST = 8
ICMP_TIME_EXCEEDED = 11

DF = 0x4000
MF = 0x2000

_HDR = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")


def aton(addr: str) -> bytes:
    """Dotted quad to 4 bytes."""
    return socket.inet_aton(addr)


def ntoa(addr: bytes) -> str:
    """4 bytes to dotted quad."""
    return socket.inet_ntoa(addr)


_H10 = struct.Struct("!10H")


def checksum(data: bytes) -> int:
    """Internet checksum (RFC 1071) of ``data``."""
    if len(data) == 20:  # an IPv4 header: one unpack
        s = sum(_H10.unpack(data))
        s = (s & 0xFFFF) + (s >> 16)
        s = (s & 0xFFFF) + (s >> 16)
        return ~s & 0xFFFF
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, ident: int = 0,
         df: bool = False, ttl: int = 64, tos: int = 0) -> bytes:
    """An IPv4 packet (20-byte header, checksum filled in) around ``payload``."""
    hdr = _HDR.pack(0x45, tos, 20 + len(payload), ident & 0xFFFF, DF if df else 0,
                    ttl, proto, 0, src, dst)
    c = checksum(hdr)
    return hdr[:10] + c.to_bytes(2, "big") + hdr[12:] + payload


def udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes, ident: int = 0,
        df: bool = False) -> bytes:
    """An IPv4/UDP packet; UDP checksum 0 (none, allowed over IPv4 by RFC 768)."""
    n = len(payload)
    hdr = _HDR.pack(0x45, 0, 28 + n, ident & 0xFFFF, DF if df else 0, 64, IPPROTO_UDP, 0, src, dst)
    c = checksum(hdr)
    # one copy of the payload: the parts are joined once
    return b"".join((hdr[:10], c.to_bytes(2, "big"), hdr[12:], _UDP.pack(sport, dport, 8 + n, 0), payload))


def udp_parts(src: bytes, dst: bytes, port: int, n: int, df: bool = False) -> tuple[int, bytes]:
    """What :func:`udp` builds for ``n`` zero payload bytes between ``port`` and ``port``,
    split for a flow that sends many such packets: (sum of the IPv4 header's 16-bit words
    but the identification, UDP header + payload). The packet with identification ``ident``
    is ``ipv4_header(0x45, 0, 28 + n, ident, DF or 0, 64, IPPROTO_UDP, -(sum + ident) % 0xFFFF,
    src, dst) + tail`` -- the checksum being RFC 1071's one's complement of the folded sum."""
    hdr = _HDR.pack(0x45, 0, 28 + n, 0, DF if df else 0, 64, IPPROTO_UDP, 0, src, dst)
    return sum(_H10.unpack(hdr)), _UDP.pack(port, port, 8 + n, 0) + bytes(n)


ipv4_header = _HDR.pack
"""Pack a 20-byte IPv4 header: (0x45, tos, total length, ident, flags+offset, ttl, proto,
checksum, src, dst)."""


def icmp(src: bytes, dst: bytes, icmp_type: int, code: int, rest: bytes, body: bytes,
         ident: int = 0, df: bool = False) -> bytes:
    """An IPv4/ICMP packet; ``rest`` is the 4 bytes after the checksum."""
    msg = bytes((icmp_type, code, 0, 0)) + rest + body
    c = checksum(msg)
    msg = msg[:2] + c.to_bytes(2, "big") + msg[4:]
    return ipv4(src, dst, IPPROTO_ICMP, msg, ident, df)


def header_len(p: bytes) -> int:
    return (p[0] & 0x0F) * 4


def flags_offset(p: bytes) -> int:
    """The 16-bit flags + fragment offset field."""
    return (p[6] << 8) | p[7]


def is_fragment(p: bytes) -> bool:
    return bool(((p[6] << 8) | p[7]) & 0x3FFF)


def has_df(p: bytes) -> bool:
    return bool(p[6] & 0x40)


def ports(p: bytes) -> tuple[int, int]:
    """(source, destination) port of a UDP/TCP packet; (0, 0) for other protocols or fragments."""
    if p[9] not in (IPPROTO_UDP, IPPROTO_TCP) or is_fragment(p):
        return 0, 0
    h = header_len(p)
    return (p[h] << 8) | p[h + 1], (p[h + 2] << 8) | p[h + 3]


def l4(p: bytes) -> bytes:
    """The payload after the IP header."""
    return p[header_len(p):]


def decrement_ttl(p: bytes) -> bytes | None:
    """The packet with TTL - 1 and its checksum updated incrementally (RFC 1624), or None at TTL <= 1."""
    ttl = p[8]
    if ttl <= 1:
        return None
    c = ((p[10] << 8) | p[11]) + 0x0100
    c = (c & 0xFFFF) + (c >> 16)
    b = bytearray(p)
    b[8] = ttl - 1
    b[10] = c >> 8
    b[11] = c & 0xFF
    return bytes(b)


def rewrite(p: bytes, src: bytes | None = None, dst: bytes | None = None,
            sport: int | None = None, dport: int | None = None, icmp_id: int | None = None) -> bytes:
    """A copy with addresses/ports (or the ICMP echo id) replaced, checksums recomputed (NAT)."""
    b = bytearray(p)
    h = header_len(p)
    if src is not None:
        b[12:16] = src
    if dst is not None:
        b[16:20] = dst
    b[10:12] = b"\0\0"
    b[10:12] = checksum(bytes(b[:h])).to_bytes(2, "big")
    if p[9] == IPPROTO_UDP:
        if sport is not None:
            b[h:h + 2] = sport.to_bytes(2, "big")
        if dport is not None:
            b[h + 2:h + 4] = dport.to_bytes(2, "big")
        b[h + 6:h + 8] = b"\0\0"  # checksum 0: none (RFC 768); NAT-T receivers ignore it (RFC 3948 §3.1.2)
    elif p[9] == IPPROTO_ICMP and icmp_id is not None:
        b[h + 4:h + 6] = icmp_id.to_bytes(2, "big")
        b[h + 2:h + 4] = b"\0\0"
        b[h + 2:h + 4] = checksum(bytes(b[h:])).to_bytes(2, "big")
    return bytes(b)


def fragment(p: bytes, mtu: int) -> list[bytes]:
    """Split ``p`` into fragments of at most ``mtu`` bytes (RFC 791 §3.2; 8-byte units).

    The caller has checked DF. Options are not copied (the simulator writes none).
    """
    h = header_len(p)
    hdr = bytearray(p[:h])
    payload = p[h:]
    chunk = (mtu - h) // 8 * 8
    if chunk <= 0:
        raise ValueError(f"MTU {mtu} cannot carry a {h}-byte header and 8 bytes of data")
    base = flags_offset(p)
    base_off = base & 0x1FFF
    base_mf = base & MF
    out = []
    for i in range(0, len(payload), chunk):
        part = payload[i:i + chunk]
        last = i + chunk >= len(payload)
        fo = (base & DF) | (base_off + i // 8) | (base_mf if last else MF)
        hdr[2:4] = (h + len(part)).to_bytes(2, "big")
        hdr[6:8] = fo.to_bytes(2, "big")
        hdr[10:12] = b"\0\0"
        hdr[10:12] = checksum(bytes(hdr)).to_bytes(2, "big")
        out.append(bytes(hdr) + part)
    return out


class Reassembler:
    """Reassembly buffers keyed by (src, dst, id, protocol) (RFC 791 §3.2), with a timeout."""

    __slots__ = ("buffers", "timeout")

    def __init__(self, timeout: float = 30.0) -> None:
        self.buffers: dict[tuple, list] = {}
        """key -> [first_seen, {offset: payload}, total_len or -1, header of offset 0]"""
        self.timeout = timeout

    def add(self, p: bytes, now: float) -> bytes | None:
        """Add one fragment; the whole packet once every piece is in, else None."""
        key = (p[12:16], p[16:20], p[4:6], p[9])
        if len(self.buffers) > 256:
            self.expire(now)  # incomplete packets (a fragment was lost) must not pile up
        buf = self.buffers.get(key)
        if buf is None or now - buf[0] > self.timeout:
            buf = self.buffers[key] = [now, {}, -1, None]
        h = header_len(p)
        fo = flags_offset(p)
        off = (fo & 0x1FFF) * 8
        data = p[h:]
        buf[1][off] = data
        if off == 0:
            buf[3] = p[:h]
        if not fo & MF:
            buf[2] = off + len(data)
        total = buf[2]
        if total < 0 or buf[3] is None:
            return None
        have = 0
        parts = []
        for o in sorted(buf[1]):
            if o != have:
                return None
            parts.append(buf[1][o])
            have += len(buf[1][o])
        if have != total:
            return None
        del self.buffers[key]
        hdr = bytearray(buf[3])
        hdr[2:4] = (len(hdr) + total).to_bytes(2, "big")
        hdr[6:8] = (flags_offset(bytes(hdr)) & DF).to_bytes(2, "big")
        hdr[10:12] = b"\0\0"
        hdr[10:12] = checksum(bytes(hdr)).to_bytes(2, "big")
        return bytes(hdr) + b"".join(parts)

    def expire(self, now: float) -> int:
        """Forget buffers older than the timeout; returns how many were dropped."""
        old = [k for k, b in self.buffers.items() if now - b[0] > self.timeout]
        for k in old:
            del self.buffers[k]
        return len(old)
