"""AH (RFC 4302) over IPv4: mutable fields, NAT breaking it, tampering, both modes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsecsim.core.ah import zero_mutable
from ipsecsim.core.errors import PacketDrop
from ipsecsim.core.ip import (
    decrement_ttl,
    icmp_echo_packet,
    parse_ipv4,
    set_ipv4_checksum,
    udp_packet,
)
from tests.helpers.dataplane import AH_ALGS, MODES, SHA256, sa_pair

CASES = [(m, i) for i in AH_ALGS for m in MODES]
IDS = [f"{m}-{i.name}" for m, i in CASES]
PKT = icmp_echo_packet("10.1.0.5", "10.2.0.7", data=b"authenticated, not encrypted")


@pytest.mark.parametrize("mode,integ", CASES, ids=IDS)
@settings(max_examples=20, deadline=None)
@given(payload=st.binary(max_size=9000))
def test_round_trip(mode, integ, payload):
    tx, rx = sa_pair("ah", mode, None, integ, replay_window=0)
    pkt = udp_packet("10.1.0.5", "10.2.0.7", 1000, 2000, payload)
    wire = tx.encapsulate(pkt)
    h = parse_ipv4(wire)
    assert h.proto == 51
    ah_len = (wire[21] + 2) * 4
    assert ah_len == 12 + integ.icv_size and ah_len % 4 == 0  # ICV padded to 32 bits for IPv4
    assert wire[20] == (4 if mode == "tunnel" else 17)  # next header
    assert rx.decapsulate(wire) == pkt
    assert wire.endswith(pkt if mode == "tunnel" else pkt[20:])  # AH does not encrypt


@pytest.mark.parametrize("mode", MODES)
def test_mutable_fields_may_change_in_transit(mode):
    """TOS, TTL, flags/fragment offset and checksum are zeroed for the ICV (RFC 4302 §3.3.3.1.1)."""
    tx, rx = sa_pair("ah", mode, None, SHA256)
    sent = tx.encapsulate(PKT)
    wire = bytearray(decrement_ttl(decrement_ttl(sent)))  # two routers
    wire[1] = 0xB8  # a router re-marks DSCP (EF)
    wire[6] |= 0x40  # and sets DF
    set_ipv4_checksum(wire)
    assert wire[:12] != sent[:12] and zero_mutable(bytes(wire[:20])) == zero_mutable(sent[:20])
    assert rx.decapsulate(bytes(wire))[20:] == PKT[20:]


@pytest.mark.parametrize("mode", MODES)
def test_nat_rewriting_the_source_breaks_ah(mode):
    tx, rx = sa_pair("ah", mode, None, SHA256)
    wire = bytearray(tx.encapsulate(PKT))
    wire[12:16] = bytes([192, 0, 2, 200])  # NAT: new source address, checksum fixed up
    set_ipv4_checksum(wire)
    with pytest.raises(PacketDrop) as exc:
        rx.decapsulate(bytes(wire))
    assert exc.value.reason == "bad_icv"
    assert rx.drops["bad_icv"] == 1


@pytest.mark.parametrize("mode,integ", CASES, ids=IDS)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_any_single_flipped_bit_is_rejected_and_counted(mode, integ, data):
    tx, rx = sa_pair("ah", mode, None, integ)
    wire = bytearray(tx.encapsulate(PKT))
    bit = data.draw(st.integers(min_value=0, max_value=len(wire) * 8 - 1))
    wire[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(PacketDrop):
        rx.decapsulate(bytes(wire))
    assert sum(rx.drops.values()) == 1 and rx.packets == 0


def test_esn_high_bits_are_authenticated_but_not_sent():
    tx, rx = sa_pair("ah", "tunnel", None, SHA256, esn=True)
    tx.seq = 2**32 + 7
    rx.replay.accept(2**32 + 2)
    wire = tx.encapsulate(PKT)
    assert int.from_bytes(wire[28:32], "big") == 8  # only the low half on the wire
    assert rx.decapsulate(wire) == PKT
    _tx2, rx2 = sa_pair("ah", "tunnel", None, SHA256, esn=True)
    rx2.replay.accept(2)  # expects high half 0: the ICV cannot match
    with pytest.raises(PacketDrop) as exc:
        rx2.decapsulate(tx.encapsulate(PKT))
    assert exc.value.reason == "bad_icv"
