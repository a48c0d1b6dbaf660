"""IPv4 / UDP / ICMP codecs, fragmentation and reassembly (RFC 791, 768, 792, 1071, 1624)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsecsim.core.errors import DecodeError
from ipsecsim.core.ip import (
    FragmentationNeeded,
    Reassembler,
    build_ipv4,
    checksum,
    decrement_ttl,
    echo_reply_for,
    fragment,
    icmp_echo_packet,
    icmp_frag_needed,
    ipv4_dst,
    ipv4_ports,
    ipv4_src,
    parse_icmp_echo,
    parse_ipv4,
    parse_udp,
    udp_packet,
)


def ref_checksum(data: bytes) -> int:
    """RFC 1071 §4.1, word by word."""
    if len(data) % 2:
        data += b"\0"
    s = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


@given(st.binary(max_size=300))
def test_checksum_matches_rfc1071(data):
    assert checksum(data) == ref_checksum(data)


def test_rfc1071_example():
    # RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (one's complement), checksum 220d
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_ipv4_header_agrees_with_scapy():
    scapy = pytest.importorskip("scapy.layers.inet")
    pkt = udp_packet("192.0.2.1", "198.51.100.7", 1234, 5678, b"hello", ident=77, ttl=9)
    theirs = scapy.IP(pkt)
    assert theirs.src == "192.0.2.1" and theirs.ttl == 9 and theirs.id == 77
    del theirs.chksum, theirs["UDP"].chksum  # let Scapy recompute both
    assert bytes(scapy.IP(bytes(theirs))) == pkt


@pytest.mark.parametrize("mutate,message", [
    (lambda b: b[:19], "shorter than a header"),
    (lambda b: bytes([0x65]) + b[1:], "version 6"),
    (lambda b: bytes([0x44]) + b[1:], "IHL 4"),
    (lambda b: b[:2] + (999).to_bytes(2, "big") + b[4:], "total length"),
    (lambda b: b[:8] + bytes([b[8] ^ 1]) + b[9:], "checksum"),
])
def test_parse_ipv4_rejects(mutate, message):
    pkt = icmp_echo_packet("10.0.0.1", "10.0.0.2")
    parse_ipv4(pkt)
    with pytest.raises(DecodeError, match=message):
        parse_ipv4(mutate(pkt))


def test_udp_checksum_over_the_pseudo_header_and_zero_allowed():
    pkt = udp_packet("10.0.0.1", "10.0.0.2", 500, 4500, b"ike")
    h, payload = parse_udp(pkt)
    assert (h.sport, h.dport, h.length, payload) == (500, 4500, 11, b"ike")
    assert h.checksum != 0
    moved = pkt[:12] + bytes([10, 0, 0, 9]) + pkt[16:]  # other source: pseudo-header differs
    with pytest.raises(DecodeError, match="UDP checksum"):
        parse_udp(moved)
    plain = udp_packet("10.0.0.1", "10.0.0.2", 500, 4500, b"ike", with_checksum=False)
    assert parse_udp(plain[:12] + bytes([10, 0, 0, 9]) + plain[16:])[1] == b"ike"


def test_icmp_echo_request_and_reply():
    req = icmp_echo_packet("10.1.0.1", "10.2.0.1", ident=5, seq=6, data=b"ping")
    e = parse_icmp_echo(req)
    assert (e.type, e.ident, e.seq, e.data) == (8, 5, 6, b"ping")
    rep = echo_reply_for(req)
    assert (ipv4_src(rep), ipv4_dst(rep)) == (ipv4_dst(req), ipv4_src(req))
    assert parse_icmp_echo(rep).type == 0
    bad = bytearray(req)
    bad[-1] ^= 1
    with pytest.raises(DecodeError, match="ICMP checksum"):
        parse_icmp_echo(bytes(bad))
    assert ipv4_ports(req) == (8, 0)


def test_decrement_ttl_updates_the_checksum_incrementally():
    pkt = udp_packet("10.0.0.1", "10.0.0.2", 1, 2, b"x", ttl=3)
    once = decrement_ttl(pkt)
    assert once is not None and once[8] == 2
    parse_ipv4(once)  # checksum still right (RFC 1624)
    assert decrement_ttl(decrement_ttl(once)) is None


def test_icmp_frag_needed_quotes_the_header():
    big = udp_packet("10.1.0.1", "10.2.0.1", 1, 2, bytes(1400))
    err = icmp_frag_needed("10.9.9.9", big, 1280)
    h = parse_ipv4(err)
    assert h.proto == 1 and h.dst == big[12:16]
    assert err[20] == 3 and err[21] == 4 and int.from_bytes(err[26:28], "big") == 1280
    assert err[28:56] == big[:28] and checksum(err[20:]) == 0


@settings(max_examples=100, deadline=None)
@given(size=st.integers(min_value=0, max_value=9000), mtu=st.integers(min_value=68, max_value=1500),
       seed=st.integers(min_value=0, max_value=2**16))
def test_fragment_and_reassemble_in_any_order(size, mtu, seed):
    pkt = build_ipv4("10.0.0.1", "10.0.0.2", 17, bytes(random.Random(seed).randbytes(size)), ident=4242)
    frags = fragment(pkt, mtu)
    assert all(len(f) <= mtu for f in frags)
    for f in frags:
        parse_ipv4(f)
    random.Random(seed).shuffle(frags)
    r = Reassembler()
    outs = [r.add(f, 0.0) for f in frags]
    assert [o for o in outs if o is not None] == [pkt]
    assert outs[-1] == pkt and len(r) == 0


def test_df_set_raises_fragmentation_needed():
    pkt = build_ipv4("10.0.0.1", "10.0.0.2", 17, bytes(2000), df=True)
    with pytest.raises(FragmentationNeeded) as exc:
        fragment(pkt, 1500)
    assert exc.value.mtu == 1500 and exc.value.size == 2020


def test_reassembly_times_out():
    pkt = build_ipv4("10.0.0.1", "10.0.0.2", 17, bytes(3000), ident=9)
    frags = fragment(pkt, 1000)
    r = Reassembler(timeout=30)
    assert r.add(frags[0], now=1.0) is None
    assert r.expire(20.0) == 0 and len(r) == 1
    assert r.expire(31.5) == 1 and len(r) == 0 and r.expired == 1
