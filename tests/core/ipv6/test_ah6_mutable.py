"""AH's ICV over IPv6 with a Hop-by-Hop option, checked by Scapy (RFC 4302 §3.3.3.1.2).

Scapy's ``zero_mutable_fields`` is the oracle: it zeroes traffic class, flow label and
hop limit and the data of options whose type has the change-en-route bit 0x20 (RFC 8200
§4.2). A router changing any of those must not break the ICV -- for us or for Scapy --
and changing anything else must.
"""

from __future__ import annotations

import pytest

from ipsecsim.core.ah6 import zero_mutable6
from ipsecsim.core.errors import PacketDrop
from ipsecsim.core.ip import ipv6
from tests.core.ipv6.helpers6 import H6_A, H6_B, pair6, scapy_sa
from tests.helpers.dataplane import AH_ALGS

pytest.importorskip("scapy.layers.ipsec")
from scapy.layers.inet import UDP  # noqa: E402
from scapy.layers.inet6 import HBHOptUnknown, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop  # noqa: E402
from scapy.layers.ipsec import AH, IPSecIntegrityError  # noqa: E402

MUTABLE, IMMUTABLE = 0x3E, 0x1E  # RFC 4727 experimental option types, with and without bit 0x20


def packet_with_options() -> bytes:
    return bytes(IPv6(src=H6_A, dst=H6_B, tc=0x2E, fl=0x12345, hlim=9)
                 / IPv6ExtHdrHopByHop(options=[HBHOptUnknown(otype=MUTABLE, optdata=b"abcd"),
                                               HBHOptUnknown(otype=IMMUTABLE, optdata=b"xy")])
                 / IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=MUTABLE, optdata=b"12")])
                 / UDP(sport=5000, dport=5001) / b"options ride along")


def option_data_at(pkt: bytes, otype: int) -> int:
    ch = ipv6.walk(pkt)
    for t, at, _n in ipv6.options(pkt, ch.headers[0]):
        if t == otype:
            return at
    raise AssertionError(otype)


def en_route(wire: bytes, immutable_too: bool = False) -> bytes:
    """What a path may do: new traffic class, flow label, hop limit, mutable option data."""
    w = bytearray(wire)
    w[0] = (w[0] & 0xF0) | 0x0B
    w[1], w[2], w[3] = 0xA5, 0x5A, 0xFF
    w[7] = 1
    at = option_data_at(wire, MUTABLE)
    w[at:at + 4] = b"WXYZ"
    if immutable_too:
        w[option_data_at(wire, IMMUTABLE)] ^= 0x40
    return bytes(w)


@pytest.mark.parametrize("integ", AH_ALGS, ids=[i.name for i in AH_ALGS])
def test_transport_ah_with_hop_by_hop_verified_by_scapy_after_changes_en_route(integ):
    tx, rx = pair6("ah", "transport6", None, integ)
    theirs = scapy_sa(tx, 6)
    pkt = packet_with_options()
    wire = tx.encapsulate(pkt)
    # AH sits after Hop-by-Hop and the Destination Options before any Routing header (Scapy, Linux)
    s = IPv6(wire)
    assert s[IPv6ExtHdrHopByHop].nh == 60 and s[IPv6ExtHdrDestOpt].nh == 51 and s[AH].nh == 17
    assert bytes(theirs.decrypt(IPv6(wire))) == pkt
    moved = en_route(wire)
    theirs.decrypt(IPv6(moved))  # Scapy: still a good ICV
    got = rx.decapsulate(moved)
    assert got[8:] != pkt[8:] and got[40 + 2 + 6:] == pkt[40 + 2 + 6:]  # the path's changes kept
    broken = en_route(tx.encapsulate(pkt), immutable_too=True)  # a fresh sequence number
    with pytest.raises(IPSecIntegrityError):
        theirs.decrypt(IPv6(broken))
    with pytest.raises(PacketDrop) as exc:
        rx.decapsulate(broken)
    assert exc.value.reason == "bad_icv" and rx.drops["bad_icv"] == 1


@pytest.mark.parametrize("integ", AH_ALGS, ids=[i.name for i in AH_ALGS])
def test_scapy_transport_ah_with_hop_by_hop_opens_here_after_changes_en_route(integ):
    _tx, rx = pair6("ah", "transport6", None, integ)
    theirs = scapy_sa(rx, 6)
    pkt = packet_with_options()
    wire = bytes(theirs.encrypt(IPv6(pkt), seq_num=1))
    assert rx.decapsulate(wire) == pkt
    bad = bytearray(en_route(wire))
    bad[-1] ^= 1  # the UDP payload: covered
    with pytest.raises(PacketDrop):
        rx.decapsulate(bytes(bad))
    # a later packet, changed en route (mutable fields only), still verifies
    wire2 = bytes(theirs.encrypt(IPv6(pkt), seq_num=2))
    assert rx.decapsulate(en_route(wire2))[48:] == pkt[48:]


def test_zero_mutable6_matches_scapy_zero_mutable_fields():
    from scapy.layers.ipsec import zero_mutable_fields

    tx, _rx = pair6("ah", "transport6", None, AH_ALGS[0])
    wire = tx.encapsulate(packet_with_options())
    s = IPv6(wire)
    off = len(wire) - len(bytes(s[AH]))
    want = bytes(zero_mutable_fields(IPv6(wire), sending=True))[:off]
    assert bytes(zero_mutable6(wire[:off])) == want
    assert want[1:4] == b"\0\0\0" and want[7] == 0 and want[0] == 0x60


def test_tunnel_ah_outer_header_mutable_fields():
    """6in6 AH: the outer hop limit, traffic class and flow label are not covered; the
    outer source address is (a rewrite fails the ICV: AH and NAT do not mix)."""
    tx, rx = pair6("ah", "6in6", None, AH_ALGS[1])
    theirs = scapy_sa(tx, 6)
    inner = packet_with_options()
    wire = bytearray(tx.encapsulate(inner))
    wire[7] = 3
    wire[1] = 0x7F
    assert bytes(theirs.decrypt(IPv6(bytes(wire)))) == inner
    assert rx.decapsulate(bytes(wire)) == inner
    wire2 = bytearray(tx.encapsulate(inner))
    wire2[23] ^= 1  # outer source address
    with pytest.raises(PacketDrop) as exc:
        rx.decapsulate(bytes(wire2))
    assert exc.value.reason == "bad_icv"
