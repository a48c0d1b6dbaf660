"""IPv6 header, extension-header chain, UDP and ICMPv6 codecs against Scapy's ``inet6``
(RFC 8200 §3, §4, §8.1; RFC 4443 §2.3, §3.2, §4) and the hostile chains they refuse."""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import DecodeError
from ipsecsim.core.ip import icmpv6, ipv6
from ipsecsim.core.ip.ipv6 import aton6

pytest.importorskip("scapy.layers.inet6")
from scapy.layers.inet import UDP  # noqa: E402
from scapy.layers.inet6 import (  # noqa: E402
    HBHOptUnknown,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6PacketTooBig,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)

A, B = "2001:db8:1::5", "fe80::1:2"
A6, B6 = aton6(A), aton6(B)


def test_header_build_and_parse_match_scapy():
    ours = ipv6.build_ipv6(A, B, 59, b"x" * 11, hop_limit=7, traffic_class=0xB8, flow_label=0xABCDE)
    theirs = bytes(IPv6(src=A, dst=B, nh=59, hlim=7, tc=0xB8, fl=0xABCDE) / (b"x" * 11))
    assert ours == theirs
    h = ipv6.parse_ipv6(theirs + b"link pad")
    assert (h.traffic_class, h.flow_label, h.payload_length, h.next_header, h.hop_limit, h.src, h.dst) == (
        0xB8, 0xABCDE, 11, 59, 7, A, B)
    assert ipv6.ntoa6(A6) == A and len(ipv6.IPv6Header.__slots__) == 7


def test_udp6_checksum_matches_scapy_and_is_verified():
    for payload in (b"", b"odd", bytes(range(256)) * 3):
        ours = ipv6.build_udp6(A, B, 500, 4500, payload)
        assert ours == bytes(IPv6(src=A, dst=B) / UDP(sport=500, dport=4500) / payload)
        hdr, data = ipv6.parse_udp6(ours)
        assert (hdr.sport, hdr.dport, hdr.length, data) == (500, 4500, 8 + len(payload), payload)
    bad = bytearray(ours)
    bad[-1] ^= 0xFF
    with pytest.raises(DecodeError, match="checksum"):
        ipv6.parse_udp6(bytes(bad))
    zero = bytearray(ours)
    zero[46] = zero[47] = 0
    with pytest.raises(DecodeError, match="zero checksum"):  # RFC 8200 §8.1
        ipv6.parse_udp6(bytes(zero))


def chained() -> bytes:
    return bytes(IPv6(src=A, dst=B)
                 / IPv6ExtHdrHopByHop(options=[HBHOptUnknown(otype=0x3E, optdata=b"abc")])
                 / IPv6ExtHdrDestOpt()
                 / IPv6ExtHdrRouting(addresses=["2001:db8::99"], segleft=0)
                 / IPv6ExtHdrFragment(id=77, offset=0, m=0)
                 / UDP(sport=1, dport=2) / b"payload")


def test_walk_follows_the_chain_scapy_builds():
    pkt = chained()
    ch = ipv6.walk(pkt)
    assert [h.kind for h in ch.headers] == [0, 60, 43, 44]
    s = IPv6(pkt)
    assert [h.offset for h in ch.headers] == [40, 40 + len(s[IPv6ExtHdrHopByHop]) - len(s[IPv6ExtHdrDestOpt]),
                                              len(pkt) - len(s[IPv6ExtHdrRouting]),
                                              len(pkt) - len(s[IPv6ExtHdrFragment])]
    assert ch.upper == 17 and ch.upper_offset == len(pkt) - len(s[UDP]) and ch.end == len(pkt)
    assert pkt[ch.nh_at] == 17 and ch.fragment is not None and not ch.more_fragments
    opts = ipv6.options(pkt, ch.headers[0])
    assert opts[0] == (0x3E, 44, 3)


def test_hostile_chains_are_decode_errors():
    pkt = chained()
    cases = {
        "exceeds": pkt[:45],  # payload length says more than arrived
        "runs past": ipv6.build_ipv6(A, B, 60, bytes((17, 5)) + bytes(6)),
        "not right after": bytes(IPv6(src=A, dst=B) / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / b"12345678"),
        "fragment of a fragment": bytes(IPv6(src=A, dst=B) / IPv6ExtHdrFragment(nh=44)
                                        / IPv6ExtHdrFragment(nh=17) / UDP()),
        "more than 16": ipv6.build_ipv6(A, B, 60, (bytes((60, 0)) + bytes(6)) * 17 + bytes((59, 0)) + bytes(6)),
        "truncated": ipv6.build_ipv6(A, B, 43, b"\x11\x00"),
        "expected 6": b"\x45" + bytes(39),
        "header truncated": b"\x60" + bytes(10),
    }
    for match, bad in cases.items():
        with pytest.raises(DecodeError, match=match):
            ipv6.walk(bad)
    # 16 headers are fine: the bound is a count, not a refusal of long chains
    ok = ipv6.build_ipv6(A, B, 60, (bytes((60, 0)) + bytes(6)) * 15 + bytes((59, 0)) + bytes(6))
    assert len(ipv6.walk(ok).headers) == 16 and ipv6.walk(ok).upper == 59
    # an option running past its header
    opt = bytes(IPv6(src=A, dst=B) / IPv6ExtHdrDestOpt(nh=59, options=[HBHOptUnknown(otype=0x1E, optdata=b"abcd")]))
    bad = bytearray(opt)
    bad[43] = 200  # option data length
    h = ipv6.walk(bytes(bad)).headers[0]
    with pytest.raises(DecodeError, match="runs past"):
        ipv6.options(bytes(bad), h)


def test_icmpv6_echo_matches_scapy_and_is_answered():
    ours = icmpv6.echo6_packet(A6, B6, 0x1234, 7, b"ping6 data")
    assert ours == bytes(IPv6(src=A, dst=B) / ICMPv6EchoRequest(id=0x1234, seq=7, data=b"ping6 data"))
    e = icmpv6.parse_echo6(ours)
    assert (e.type, e.ident, e.seq, e.data) == (128, 0x1234, 7, b"ping6 data")
    reply = icmpv6.echo6_reply_for(ours)
    assert reply == bytes(IPv6(src=B, dst=A) / ICMPv6EchoReply(id=0x1234, seq=7, data=b"ping6 data"))
    assert icmpv6.echo6_reply_for(reply) is None  # a reply is not answered
    bad = bytearray(ours)
    bad[-1] ^= 1
    with pytest.raises(DecodeError, match="checksum"):
        icmpv6.parse_icmpv6(bytes(bad))


def test_packet_too_big_matches_scapy_and_fits_1280_bytes():
    big = ipv6.build_udp6(A, B, 1, 2, bytes(3000))
    router = aton6("2001:db8::fe")
    ours = icmpv6.packet_too_big(router, big, 1400)
    assert len(ours) == 1280  # RFC 4443 §2.4 (c): as much as fits the minimum MTU
    theirs = IPv6(src="2001:db8::fe", dst=A) / ICMPv6PacketTooBig(mtu=1400) / big[:1280 - 48]
    assert ours == bytes(theirs)
    mtu, quoted = icmpv6.parse_packet_too_big(ours)
    assert mtu == 1400 and quoted == big[:1232]
    with pytest.raises(DecodeError, match="not Packet Too Big"):
        icmpv6.parse_packet_too_big(icmpv6.echo6_packet(A6, B6, 1, 1))


def test_hop_limit_decrement():
    pkt = ipv6.build_ipv6(A, B, 59, b"", hop_limit=2)
    once = ipv6.decrement_hop_limit(pkt)
    assert once is not None and once[7] == 1 and once[:7] == pkt[:7] and once[8:] == pkt[8:]
    assert ipv6.decrement_hop_limit(once) is None
