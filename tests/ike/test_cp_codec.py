"""The configuration payload's codec (RFC 7296 §3.15, §3.15.1), with Scapy's
``scapy.contrib.ikev2.IKEv2_CP`` as an independent encoder, and the attribute helpers
charon's wording depends on (``message.c`` ``get_string()``: ``CPRQ(ADDR DNS)``)."""

from __future__ import annotations

import ipaddress

import pytest

from ipsecsim.core.ike import constants as C
from ipsecsim.core.ike import cp
from ipsecsim.core.ike.payloads import CP, DECODERS

scapy_ikev2 = pytest.importorskip("scapy.contrib.ikev2")


def _scapy_body(cfg_type: int, attrs: list[tuple[int, str | None]]) -> bytes:
    # Scapy encodes an IPv4 value when told its length (4); without a value, an empty one
    ca = [scapy_ikev2.ConfigurationAttribute(type=t) if v is None
          else scapy_ikev2.ConfigurationAttribute(type=t, length=4, value=v) for t, v in attrs]
    return bytes(scapy_ikev2.IKEv2_CP(CFGType=cfg_type, attributes=ca))[4:]  # no generic header


def test_request_matches_scapy() -> None:
    """§3.15.1: a zero-length INTERNAL_IP4_ADDRESS / INTERNAL_IP4_DNS asks for one."""
    ours = CP(C.CFG_REQUEST, [(C.INTERNAL_IP4_ADDRESS, b""), (C.INTERNAL_IP4_DNS, b"")])
    assert ours._body() == _scapy_body(1, [(1, None), (3, None)])
    assert ours._body().hex() == "01000000" "00010000" "00030000"


def test_reply_matches_scapy_and_decodes() -> None:
    ours = CP(C.CFG_REPLY, [cp.address_attr("10.3.0.1"), cp.value_attr("dns", "10.1.0.53")])
    body = ours._body()
    assert body == _scapy_body(2, [(1, "10.3.0.1"), (3, "10.1.0.53")])
    back = DECODERS[C.CP](body)
    assert isinstance(back, CP)
    assert cp.addresses(back) == ["10.3.0.1"]
    assert cp.servers(back, C.INTERNAL_IP4_DNS) == ["10.1.0.53"]
    assert cp.summary(back) == "CPRP(ADDR DNS)"


def test_ipv6_attributes() -> None:
    """§3.15.1: INTERNAL_IP6_ADDRESS is 17 bytes (address, prefix length; charon sends /64),
    INTERNAL_IP6_DNS 16; an empty INTERNAL_IP6_ADDRESS asks for one."""
    t, v = cp.address_attr("fec3::1")
    assert t == C.INTERNAL_IP6_ADDRESS == 8
    assert v == ipaddress.IPv6Address("fec3::1").packed + bytes([64])
    assert cp.address_attr("::") == (C.INTERNAL_IP6_ADDRESS, b"")
    assert cp.value_attr("dns", "fec1::53") == (C.INTERNAL_IP6_DNS,
                                                ipaddress.IPv6Address("fec1::53").packed)
    back = DECODERS[C.CP](CP(C.CFG_REPLY, [(t, v), cp.value_attr("dns", "fec1::53")])._body())
    assert cp.addresses(back) == ["fec3::1"]
    assert cp.servers(back, C.INTERNAL_IP6_DNS) == ["fec1::53"]
    assert cp.summary(back) == "CPRP(ADDR6 DNS6)"


def test_unknown_attributes_are_kept_on_decode_and_ignored_by_the_logic() -> None:
    """§3.15.1: unknown attribute types are ignored by the receiver; the codec keeps them."""
    body = CP(C.CFG_REQUEST, [(C.INTERNAL_IP4_ADDRESS, b""), (28675, b"\x01\x02"),
                              (C.APPLICATION_VERSION, b"strongSwan")])._body()
    back = DECODERS[C.CP](body)
    assert back.attributes == [(1, b""), (28675, b"\x01\x02"), (7, b"strongSwan")]
    assert cp.addresses(back) == ["0.0.0.0"]
    assert cp.summary(back) == "CPRQ(ADDR (28675) VER)"


def test_wrong_lengths_are_not_taken_as_addresses() -> None:
    """An INTERNAL_IP4_ADDRESS of 3 bytes or a 5-byte DNS value is not an address (§3.15.1
    fixes the lengths): skipped, never an exception."""
    back = DECODERS[C.CP](CP(C.CFG_REPLY, [(1, b"\x0a\x03\x00"), (3, b"\x01\x02\x03\x04\x05"),
                                           (1, b"\x0a\x03\x00\x07")])._body())
    assert cp.addresses(back) == ["10.3.0.7"]
    assert cp.servers(back, C.INTERNAL_IP4_DNS) == []
    assert not cp.well_formed(1, b"\x0a\x03\x00")


def test_truncated_attribute_is_a_decode_error() -> None:
    from ipsecsim.core.errors import DecodeError
    with pytest.raises(DecodeError):
        DECODERS[C.CP](bytes.fromhex("02000000" "00010008" "0a030001"))


def test_empty_payload_prints_cp_alone() -> None:
    assert cp.summary(CP(C.CFG_REQUEST, [])) == "CP"
