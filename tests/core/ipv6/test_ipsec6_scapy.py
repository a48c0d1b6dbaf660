"""ESP and AH over IPv6 against Scapy's ``scapy.layers.ipsec.SecurityAssociation`` (issue 14).

Every algorithm set of tests/helpers/dataplane.py, in tunnel 6in6, 4in6 (IPv4 inside
IPv6), 6in4 (IPv6 inside IPv4) and transport mode over IPv6, both directions: what we
seal Scapy opens (verifying the ICV), what Scapy seals we open. Scapy is the byte
oracle for the placement of ESP/AH in the IPv6 chain (``split_for_transport``), AH's
8-byte alignment over IPv6 (RFC 4302 §3.3.3.2.1) and its mutable fields
(``zero_mutable_fields``, RFC 4302 §3.3.3.1.2).
"""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import PacketDrop
from ipsecsim.core.ip.ipv6 import walk
from tests.core.ipv6.helpers6 import LAYOUTS, inner_packets, pair6, scapy_ip, scapy_sa
from tests.helpers.dataplane import AH_ALGS, ESP_ALGS, alg_id

pytest.importorskip("scapy.layers.ipsec")

CASES = [("esp", lay, e, i) for e, i in ESP_ALGS for lay in LAYOUTS] + [
    ("ah", lay, None, i) for i in AH_ALGS for lay in LAYOUTS]
IDS = [f"{p}-{lay}-{alg_id(e, i)}" for p, lay, e, i in CASES]


@pytest.mark.parametrize("proto,layout,encr,integ", CASES, ids=IDS)
def test_we_seal_scapy_opens(proto, layout, encr, integ):
    _mode, (outer, inner) = LAYOUTS[layout]
    tx, _rx = pair6(proto, layout, encr, integ)
    theirs = scapy_sa(tx, outer)
    pkts = inner_packets(inner)
    for pkt in pkts:
        wire = tx.encapsulate(pkt)
        assert wire[0] >> 4 == outer
        assert len(wire) == len(pkt) + tx.overhead(len(pkt))  # the overhead figure is what is sent
        got = theirs.decrypt(scapy_ip(wire))  # raises IPSecIntegrityError on a bad ICV
        assert bytes(got) == pkt
    assert tx.seq == len(pkts) and tx.packets == len(pkts)


@pytest.mark.parametrize("proto,layout,encr,integ", CASES, ids=IDS)
def test_scapy_seals_we_open(proto, layout, encr, integ):
    _mode, (outer, inner) = LAYOUTS[layout]
    _tx, rx = pair6(proto, layout, encr, integ)
    theirs = scapy_sa(rx, outer)
    pkts = inner_packets(inner)
    for n, pkt in enumerate(pkts, start=1):
        wire = bytes(theirs.encrypt(scapy_ip(pkt), seq_num=n))
        assert rx.decapsulate(wire) == pkt
    assert rx.packets == len(pkts) and not rx.drops


@pytest.mark.parametrize("proto,layout,encr,integ", CASES[::4], ids=IDS[::4])
def test_scapy_packet_altered_is_refused_and_counted(proto, layout, encr, integ):
    _mode, (outer, inner) = LAYOUTS[layout]
    _tx, rx = pair6(proto, layout, encr, integ)
    theirs = scapy_sa(rx, outer)
    wire = bytearray(bytes(theirs.encrypt(scapy_ip(inner_packets(inner)[0]), seq_num=1)))
    wire[-1] ^= 0x01  # last byte: ICV (ESP) or payload (AH)
    with pytest.raises(PacketDrop) as exc:
        rx.decapsulate(bytes(wire))
    assert exc.value.reason == "bad_icv"
    assert rx.drops["bad_icv"] == 1


@pytest.mark.parametrize("integ", AH_ALGS, ids=[i.name for i in AH_ALGS])
def test_ah_over_ipv6_is_a_multiple_of_8_bytes(integ):
    """RFC 4302 §3.3.3.2.1: IPv6 AH is 8-byte aligned (28 -> 32, 36 -> 40, 44 -> 48); over
    an IPv4 outer header (6in4) 4-byte alignment stays (28, 36, 44)."""
    from scapy.layers.ipsec import AH

    want6 = {"sha256": 32, "sha384": 40, "sha512": 48}[integ.name]
    for layout, want in (("6in6", want6), ("transport6", want6), ("6in4", 12 + integ.icv_size)):
        tx, _rx = pair6("ah", layout, None, integ)
        pkt = inner_packets(6)[0]
        wire = tx.encapsulate(pkt)
        ah = scapy_ip(wire)[AH]
        assert (ah.payloadlen + 2) * 4 == want, layout
        assert len(wire) - len(pkt) == want + (0 if layout == "transport6" else (40 if layout == "6in6" else 20))


DETERMINISTIC = [("esp", lay, e, None) for e, i in ESP_ALGS if e.aead for lay in LAYOUTS] + [
    ("ah", lay, None, i) for i in AH_ALGS for lay in LAYOUTS]


@pytest.mark.parametrize("proto,layout,encr,integ", DETERMINISTIC,
                         ids=[f"{p}-{lay}-{alg_id(e, i)}" for p, lay, e, i in DETERMINISTIC])
def test_byte_for_byte_with_scapy(proto, layout, encr, integ):
    """AEAD ESP (IV = the sequence number, RFC 4106 §3.1) and AH have no randomness: given
    the same IV, Scapy's packet and ours are the same bytes -- outer header, ESP/AH
    placement, next header 41 or 4, padding, ICV."""
    import struct

    _mode, (outer, inner) = LAYOUTS[layout]
    tx, _rx = pair6(proto, layout, encr, integ)
    theirs = scapy_sa(tx, outer)
    for n, pkt in enumerate(inner_packets(inner), start=1):
        kw = {"iv": struct.pack("!Q", n)} if proto == "esp" else {}
        if outer == 4:  # our outer IPv4 identification is the low 16 bits of Seq (AH covers it)
            theirs.tunnel_header.id = n
        assert tx.encapsulate(pkt) == bytes(theirs.encrypt(scapy_ip(pkt), seq_num=n, **kw))


def test_transport_placement_around_a_routing_header_matches_scapy():
    """RFC 4303 §3.1.1: ESP after Hop-by-Hop, Destination Options and Routing, before a
    Destination Options header that follows the Routing header (Scapy's and Linux's choice)."""
    import struct

    from scapy.layers.inet import UDP
    from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting

    from tests.core.ipv6.helpers6 import H6_A, H6_B
    from tests.helpers.dataplane import GCM128

    pkt = bytes(IPv6(src=H6_A, dst=H6_B) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt()
                / IPv6ExtHdrRouting(addresses=["2001:db8::77"], segleft=0) / IPv6ExtHdrDestOpt()
                / UDP(sport=9, dport=9) / b"routed")
    tx, rx = pair6("esp", "transport6", GCM128, None)
    wire = tx.encapsulate(pkt)
    theirs = scapy_sa(tx, 6)
    assert wire == bytes(theirs.encrypt(IPv6(pkt), seq_num=1, iv=struct.pack("!Q", 1)))
    ch = walk(wire)
    assert [h.kind for h in ch.headers] == [0, 60, 43] and ch.upper == 50
    assert rx.decapsulate(wire) == pkt


ESN_CASES = [("esp", "6in6", e, i) for e, i in ESP_ALGS[::2]] + [("ah", "transport6", None, AH_ALGS[1]),
                                                                 ("esp", "4in6", *ESP_ALGS[1])]


@pytest.mark.parametrize("proto,layout,encr,integ", ESN_CASES,
                         ids=[f"{p}-{lay}-{alg_id(e, i)}" for p, lay, e, i in ESN_CASES])
def test_esn_near_2_32_both_ways(proto, layout, encr, integ):
    """ESN (RFC 4303 §2.2.1, RFC 4302 §3.3.3.2): the high 32 bits are in the ICV, not on the wire."""
    _mode, (outer, inner) = LAYOUTS[layout]
    tx, rx = pair6(proto, layout, encr, integ, esn=True)
    tx.seq = 2**32 + 4
    rx.replay.accept(2**32 + 1)
    theirs = scapy_sa(tx, outer)
    pkt = inner_packets(inner)[0]
    assert bytes(theirs.decrypt(scapy_ip(tx.encapsulate(pkt)), esn_en=True, esn=1)) == pkt
    back = bytes(theirs.encrypt(scapy_ip(pkt), seq_num=6, esn_en=True, esn=1))
    assert rx.decapsulate(back) == pkt and rx.replay.top == 2**32 + 6
