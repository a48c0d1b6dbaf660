"""The simulator's fast IPv4 helpers, checked against Scapy (an independent IPv4 implementation)
and against ipsecsim.core.ip's checksum-verifying parser."""

from __future__ import annotations

import pytest

from ipsecsim.core import ip as P
from ipsecsim.core.ip import parse_ipv4

scapy_all = pytest.importorskip("scapy.all")


def sample(size: int = 1500, df: bool = False) -> bytes:
    return P.udp(P.aton("10.1.0.10"), P.aton("10.2.0.10"), 40000, 40001,
                 bytes(range(256)) * ((size - 28) // 256) + bytes((size - 28) % 256), ident=0x1234, df=df)


def test_udp_packet_matches_scapy():
    p = sample(300)
    s = scapy_all.IP(p)
    assert s.src == "10.1.0.10" and s.dst == "10.2.0.10" and s.len == 300 and s.id == 0x1234
    assert s[scapy_all.UDP].sport == 40000 and len(bytes(s[scapy_all.UDP].payload)) == 272
    # scapy recomputes the header checksum when rebuilding: it must equal ours
    rebuilt = scapy_all.IP(bytes(s))
    del rebuilt.chksum
    assert bytes(rebuilt)[10:12] == p[10:12]


def test_ttl_decrement_keeps_a_valid_checksum():
    p = sample(200)
    for _ in range(10):
        p = P.decrement_ttl(p)
        parse_ipv4(p, verify=True)  # raises DecodeError on a bad checksum
    assert p[8] == 54
    p1 = P.udp(P.aton("1.2.3.4"), P.aton("5.6.7.8"), 1, 2, b"", ident=1)
    p1 = p1[:8] + b"\x01" + p1[9:]
    assert P.decrement_ttl(p1) is None


@pytest.mark.parametrize("size,mtu", [(1556, 1500), (4000, 1500), (1400, 576), (100, 68)])
def test_fragments_reassemble_in_scapy_and_here(size, mtu):
    p = sample(size)
    frags = P.fragment(p, mtu)
    assert all(len(f) <= mtu for f in frags) and len(frags) > 1 or size <= mtu
    for f in frags:
        parse_ipv4(f, verify=True)
    whole = scapy_all.defragment([scapy_all.IP(f) for f in frags])
    assert len(whole) == 1 and bytes(whole[0][scapy_all.UDP].payload) == p[28:]
    r = P.Reassembler()
    out = [r.add(f, 0.0) for f in reversed(frags)]  # out of order
    assert out[:-1] == [None] * (len(frags) - 1) and out[-1] == p


def test_reassembly_times_out():
    frags = P.fragment(sample(3000), 1500)
    r = P.Reassembler(timeout=30)
    assert r.add(frags[0], 0.0) is None
    assert r.expire(31.0) == 1
    assert r.add(frags[1], 31.0) is None and r.add(frags[2], 31.0) is None  # the first piece is gone


def test_nat_rewrite_recomputes_checksums():
    p = sample(100)
    q = P.rewrite(p, src=P.aton("198.51.100.10"), sport=20000)
    parse_ipv4(q, verify=True)
    s = scapy_all.IP(q)
    assert s.src == "198.51.100.10" and s[scapy_all.UDP].sport == 20000
    ping = P.icmp(P.aton("10.0.0.1"), P.aton("10.0.0.2"), P.ICMP_ECHO_REQUEST, 0, b"\x00\x07\x00\x01", b"abc")
    q = P.rewrite(ping, icmp_id=999)
    s = scapy_all.IP(q)
    assert s[scapy_all.ICMP].id == 999
    chk = s[scapy_all.ICMP].chksum
    del s[scapy_all.ICMP].chksum
    assert scapy_all.IP(bytes(s))[scapy_all.ICMP].chksum == chk


def test_cbr_packet_builder_matches_packet_udp_for_every_ident():
    """packet.udp_parts + the header checksum -(sum + ident) mod 0xFFFF must build exactly
    what packet.udp builds (RFC 1071 one's complement checksum; RFC 768 UDP checksum 0), for
    every IPv4 identification 0..65535, with and without DF, including a size below 28."""
    src, dst = P.aton("10.1.0.10"), P.aton("10.2.0.10")
    for size, df in ((1000, False), (1500, True), (20, False)):
        n = max(0, size - 28)
        hsum, tail = P.udp_parts(src, dst, 40000, n, df)
        for ident in range(65536):
            pkt = P.ipv4_header(0x45, 0, 20 + len(tail), ident, P.DF if df else 0, 64,
                                P.IPPROTO_UDP, -(hsum + ident) % 0xFFFF, src, dst) + tail
            assert pkt == P.udp(src, dst, 40000, 40000, bytes(n), ident, df), (size, df, ident)
