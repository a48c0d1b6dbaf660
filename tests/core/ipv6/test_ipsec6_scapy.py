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
