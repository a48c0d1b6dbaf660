"""Inputs for the fuzz properties: garbage, and real packets and messages bent out of shape.

Random bytes rarely get past a parser's first length check, so most strategies start from a
well-formed input (a UDP, ICMP or TCP packet, a fragment, a sealed ESP packet, a charon
message) and flip, cut, extend or splice it; :func:`packets` can also repair the IPv4 header
checksum afterwards so the damage reaches the layers behind it.
"""

from __future__ import annotations

from hypothesis import strategies as st

from ipsecsim.core import ip
from ipsecsim.core.ip import tcp as T

SRC, DST = "192.0.2.1", "198.51.100.7"


def _bases() -> list[bytes]:
    s, d = ip.addr(SRC), ip.addr(DST)
    udp = ip.udp_packet(SRC, DST, 4500, 4500, bytes(range(40)))
    big = ip.udp_packet(SRC, DST, 500, 500, bytes(300))
    return [
        udp,
        ip.udp_packet(SRC, DST, 53, 33000, b"\x00" * 12, with_checksum=False),
        ip.icmp_echo_packet(SRC, DST, 7, 1, b"ping" * 8),
        T.tcp(s, d, 40000, 443, 1, 0, 0x02, 65535, options=T.syn_options(1460, 7)),
        T.tcp(s, d, 40000, 443, 5, 9, 0x18, 1000, payload=b"GET / HTTP/1.1\r\n"),
        *ip.fragment(big, 120, ignore_df=True),
    ]


BASES = _bases()


@st.composite
def mutated(draw: st.DrawFn, base: bytes, start: int = 0) -> bytes:
    """``base`` with 1-4 edits at or after ``start``: a byte set, a cut, bytes inserted."""
    b = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(("set", "set", "set", "cut", "insert")))
        if len(b) <= start:
            break
        pos = draw(st.integers(start, len(b) - 1))
        if kind == "set":
            b[pos] = draw(st.integers(0, 255))
        elif kind == "cut":
            del b[pos:pos + draw(st.integers(1, 16))]
        else:
            b[pos:pos] = draw(st.binary(min_size=1, max_size=16))
    return bytes(b)


def _fix_header(pkt: bytes) -> bytes:
    """Recompute the IPv4 header checksum when the header fits, so parsing goes on."""
    if len(pkt) < 20 or pkt[0] >> 4 != 4:
        return pkt
    hl = (pkt[0] & 15) * 4
    if hl < 20 or hl > len(pkt):
        return pkt
    hdr = bytearray(pkt[:hl])
    hdr[10:12] = b"\0\0"
    hdr[10:12] = ip.header_checksum(hdr).to_bytes(2, "big")
    return bytes(hdr) + pkt[hl:]


@st.composite
def packets(draw: st.DrawFn) -> bytes:
    """An IPv4-ish packet: garbage, or a real one mutated (header checksum repaired or not)."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=200))
    pkt = draw(mutated(draw(st.sampled_from(BASES))))
    return _fix_header(pkt) if draw(st.booleans()) else pkt
