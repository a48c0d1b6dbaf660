"""IPv4 fragmentation by a source or router (RFC 791 §3.2) and the reassembler's view of a
fragment (:data:`~ipsecsim.core.ip.reassembly.FAMILIES`), beside the header codecs of
:mod:`.ipv4`. IPv6 fragments only at the source, with its Fragment header: its own module.
"""

from __future__ import annotations

import struct

from ..errors import DecodeError
from .ipv4 import (
    DF,
    IPV4_HEADER_LEN,
    MF,
    OFFMASK,
    FragmentationNeeded,
    _bounds,
    set_ipv4_checksum,
)

__all__ = ["fragment", "fragment_info", "reassembled"]


def fragment(pkt: bytes, mtu: int, *, ignore_df: bool = False) -> list[bytes]:
    """Split IPv4 packet ``pkt`` into fragments of at most ``mtu`` bytes (RFC 791 §3.2).

    Returns ``[pkt]`` when it fits. Raises :class:`FragmentationNeeded` when DF is set
    and it does not, unless ``ignore_df`` (the caller has decided, as an IPsec gateway
    clearing DF on the outer header may, RFC 4301 §8.1): the DF bit is then copied into
    every fragment as it was. Options are copied into every fragment (a simplification:
    RFC 791 copies only options with the copy flag). :class:`DecodeError` when ``pkt``
    is no IPv4 packet, ``ValueError`` when ``mtu`` cannot carry its header and 8 bytes.
    """
    hl, tlen = _bounds(pkt)
    if tlen <= mtu:
        return [pkt]
    ff = (pkt[6] << 8) | pkt[7]
    if ff & DF and not ignore_df:
        raise FragmentationNeeded(mtu, tlen)
    chunk = (mtu - hl) & ~7
    if chunk <= 0:
        raise ValueError(f"MTU {mtu} cannot carry a {hl}-byte header and 8 bytes of data")
    base = (ff & DF) | (ff & OFFMASK)
    last_mf = ff & MF
    payload = pkt[hl:tlen]
    out = []
    hdr = bytearray(pkt[:hl])
    for start in range(0, len(payload), chunk):
        part = payload[start:start + chunk]
        more = start + chunk < len(payload)
        flags = (base + start // 8) | (MF if more or last_mf else 0)
        struct.pack_into("!HHH", hdr, 2, hl + len(part), (pkt[4] << 8) | pkt[5], flags)
        set_ipv4_checksum(hdr)
        out.append(bytes(hdr) + part)
    return out


def fragment_info(pkt: bytes) -> tuple[tuple[bytes, bytes, int], int, bool, bytes, int] | None:
    """The reassembler's view of IPv4 packet ``pkt``: ``(key, offset, more, data, header_len)``,
    or None when it is a whole datagram, not a fragment (RFC 791 §3.2).

    ``key`` is (source + destination, identification, protocol); ``offset`` and ``data``
    place the fragment's payload in bytes. :class:`DecodeError` for a packet that is not
    IPv4, does not fit its buffer, fails its header checksum, or is a fragment no sender
    makes: empty, or with MF set and a length that is not a multiple of 8 (RFC 791: every
    fragment but the last carries 8-byte units).
    """
    if len(pkt) < IPV4_HEADER_LEN or pkt[0] >> 4 != 4:
        _bounds(pkt)  # raises, saying which
    hl = (pkt[0] & 15) * 4
    tlen = (pkt[2] << 8) | pkt[3]
    if hl < IPV4_HEADER_LEN or tlen < hl or tlen > len(pkt):
        _bounds(pkt)
    if -int.from_bytes(pkt[:hl], "big") % 0xFFFF:  # header_checksum, options included
        raise DecodeError("IPv4 header checksum is wrong")
    ff = (pkt[6] << 8) | pkt[7]
    if not ff & (MF | OFFMASK):
        return None
    data = pkt[hl:tlen]
    if not data:
        raise DecodeError("an IPv4 fragment with no data")
    more = bool(ff & MF)
    if more and len(data) & 7:
        raise DecodeError(f"an IPv4 fragment with MF set carries {len(data)} bytes, not a multiple of 8")
    return (pkt[12:20], pkt[4:6], pkt[9]), (ff & OFFMASK) * 8, more, data, hl


def reassembled(head: bytes, payload: bytes) -> bytes:
    """The whole datagram from the first fragment's header ``head`` and the joined payload:
    total length set, offset and MF cleared, DF kept as the first fragment had it (Linux keeps
    DF when a fragment had it, for path MTU discovery), checksum recomputed."""
    hdr = bytearray(head)
    total = len(hdr) + len(payload)
    hdr[2] = total >> 8
    hdr[3] = total & 0xFF
    hdr[6] &= DF >> 8
    hdr[7] = hdr[10] = hdr[11] = 0
    c = -int.from_bytes(hdr, "big") % 0xFFFF  # header_checksum, options included
    hdr[10] = c >> 8
    hdr[11] = c & 0xFF
    return b"".join((hdr, payload))
