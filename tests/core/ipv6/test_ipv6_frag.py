"""IPv6 source fragmentation and reassembly (RFC 8200 §4.5) against Scapy's ``fragment6`` /
``defragment6``, and the fragments no sender makes: dropped with a reason, never a crash."""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import DecodeError, PacketDrop
from ipsecsim.core.ip import Reassembler, ipv6, reassembly
from ipsecsim.core.ip.ipv6_frag import fragment6, fragment_info6, reassembled6

pytest.importorskip("scapy.layers.inet6")
from scapy.layers.inet import UDP  # noqa: E402
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, defragment6  # noqa: E402
from scapy.layers.inet6 import fragment6 as scapy_fragment6  # noqa: E402

A, B = "2001:db8:1::5", "2001:db8:2::7"
PAYLOAD = bytes(range(256)) * 16  # 4096 bytes


def big(hbh: bool = False) -> bytes:
    p = IPv6(src=A, dst=B)
    if hbh:
        p = p / IPv6ExtHdrHopByHop()
    return bytes(p / UDP(sport=7, dport=7) / PAYLOAD)


def reassemble(frags: list[bytes], r: Reassembler | None = None) -> bytes | None:
    r = Reassembler() if r is None else r  # an empty Reassembler is falsy (len 0)
    out = None
    for f in frags:
        out = r.add(f) or out
    return out


@pytest.mark.parametrize("mtu", [1280, 1500, 1283])
@pytest.mark.parametrize("hbh", [False, True], ids=["plain", "hop-by-hop"])
def test_fragments_are_scapys_byte_for_byte_and_reassemble(mtu, hbh):
    pkt = big(hbh)
    ours = fragment6(pkt, mtu, ident=0xCAFE)
    assert all(len(f) <= mtu for f in ours) and len(ours) in (3, 4)
    # Scapy's Fragment header goes where it is put; RFC 8200 §4.5 puts it after Hop-by-Hop
    s = IPv6(src=A, dst=B)
    if hbh:
        s = s / IPv6ExtHdrHopByHop()
    s = s / IPv6ExtHdrFragment(id=0xCAFE) / UDP(sport=7, dport=7) / PAYLOAD
    theirs = [bytes(f) for f in scapy_fragment6(s, mtu)]
    assert ours == theirs
    assert reassemble(ours) == pkt
    assert reassemble(ours[::-1]) == pkt  # any order
    assert bytes(defragment6([IPv6(f) for f in ours])) == pkt


def test_a_packet_that_fits_is_not_fragmented_and_the_family_is_registered():
    small = ipv6.build_udp6(A, B, 1, 2, b"fits")
    assert fragment6(small, 1280, ident=1) == [small]
    assert set(reassembly.FAMILIES) == {4, 6}
    assert Reassembler().add(small) == small  # no Fragment header: a whole datagram
    with pytest.raises(ValueError, match="minimum"):
        fragment6(big(), 1000, ident=1)


def test_atomic_fragment_is_a_datagram_of_one_piece():
    """RFC 6946: offset 0 and M clear -- reassembled at once, the Fragment header removed."""
    pkt = ipv6.build_udp6(A, B, 1, 2, b"atomic")
    atomic = bytes(IPv6(src=A, dst=B) / IPv6ExtHdrFragment(id=9, offset=0, m=0) / IPv6(pkt)[UDP])
    assert Reassembler().add(atomic) == pkt


def test_overlapping_fragments_discard_the_datagram():
    """RFC 5722 §4: an overlap discards the whole datagram (counted by the reason)."""
    frags = fragment6(big(), 1280, ident=5)
    r = Reassembler()
    assert r.add(frags[0]) is None
    f = bytearray(frags[1])
    off = ((f[42] << 8) | f[43]) - 8  # 8 bytes back: over the first fragment's end
    f[42], f[43] = off >> 8, off & 0xFF
    with pytest.raises(PacketDrop) as exc:
        r.add(bytes(f))
    assert exc.value.reason == "frag_overlap" and len(r) == 0 and r.held == 0
    assert r.add(frags[0]) is None  # a new datagram starts afresh


def test_duplicate_fragment_is_refused_alone():
    frags = fragment6(big(), 1280, ident=6)
    r = Reassembler()
    r.add(frags[0])
    with pytest.raises(PacketDrop) as exc:
        r.add(frags[0])
    assert exc.value.reason == "frag_duplicate"
    assert reassemble(frags[1:], r) == big()


def test_a_fragment_of_a_fragment_is_refused():
    pkt = big()
    frags = fragment6(pkt, 1280, ident=7)
    with pytest.raises(DecodeError, match="already a fragment"):
        fragment6(frags[0], 1280, ident=8)  # the source fragments once
    # a first fragment whose fragmentable part holds another Fragment header
    inner = bytes(IPv6(src=A, dst=B) / IPv6ExtHdrFragment(id=1, nh=44) / IPv6ExtHdrFragment(id=2, m=1)
                  / UDP() / bytes(16))
    with pytest.raises(DecodeError, match="fragment of a fragment"):
        Reassembler().add(inner)
    # ... or a datagram that reassembles into one (its second Fragment header sits after the first's data)
    hdr = bytes(IPv6(src=A, dst=B) / IPv6ExtHdrFragment(id=3, nh=44, m=0, offset=0)
                / IPv6ExtHdrFragment(id=4, nh=17, m=1, offset=0) / UDP() / bytes(8))
    with pytest.raises(DecodeError):
        Reassembler().add(hdr)
    with pytest.raises(DecodeError, match="fragment of a fragment"):
        reassembled6(hdr[:48], hdr[48:])


def test_malformed_fragments_are_decode_errors():
    frags = fragment6(big(), 1280, ident=11)
    short = bytearray(frags[0][:-3])  # M set, length not a multiple of 8
    short[4:6] = (len(short) - 40).to_bytes(2, "big")
    cases = {
        "multiple of 8": bytes(short),
        "no data": bytes(IPv6(src=A, dst=B) / IPv6ExtHdrFragment(id=1, m=1)),
        "exceeds": frags[0][:44],
        "truncated": bytes(IPv6(src=A, dst=B, plen=4) / IPv6ExtHdrFragment(id=1, m=1))[:44],
        # RFC 7112: the first fragment holds the whole chain; this Destination Options
        # header claims 64 bytes of a 16-byte fragment
        "runs past": bytes(IPv6(src=A, dst=B) / IPv6ExtHdrFragment(id=1, m=1, nh=60)
                           / (bytes((17, 7)) + bytes(14))),
    }
    for match, bad in cases.items():
        r = Reassembler()
        with pytest.raises(DecodeError, match=match):
            r.add(bad)
        assert len(r) == 0
    assert fragment_info6(big()) is None


def test_the_largest_datagram_the_default_reassembler_takes():
    """max_size 65,535 bounds headers through the Fragment header plus the fragmentable
    part: payload length 65,487 reassembles, one byte more is frag_oversize (a larger
    max_size takes IPv6's full 65,535, RFC 8200 §4.5)."""
    for plen, ok in ((65487, True), (65488, False)):
        pkt = ipv6.build_udp6(A, B, 1, 2, bytes(plen - 8))
        frags = fragment6(pkt, 9000, ident=plen)
        if ok:
            assert reassemble(frags) == pkt
        else:
            with pytest.raises(PacketDrop) as exc:
                reassemble(frags)
            assert exc.value.reason == "frag_oversize"
            assert reassemble(frags, Reassembler(max_size=65535 + 48)) == pkt
