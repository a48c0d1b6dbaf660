"""Identities: strongSwan's text syntax, the ID payload body, DN encoding, matching."""

from __future__ import annotations

import ipaddress
import json
import os

import pytest
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from ipsecsim.core.ike.ids import (
    ANY,
    ID_ANY,
    ID_DER_ASN1_DN,
    ID_FQDN,
    ID_IPV4_ADDR,
    ID_IPV6_ADDR,
    ID_KEY_ID,
    ID_RFC822_ADDR,
    Identity,
    dn_to_text,
    parse_dn_der,
)
from tests.helpers.paths import VECTORS


@pytest.mark.parametrize(
    "text, id_type, data",
    [
        ("192.0.2.1", ID_IPV4_ADDR, bytes([192, 0, 2, 1])),
        ("2001:db8::1", ID_IPV6_ADDR, ipaddress.IPv6Address("2001:db8::1").packed),
        ("gw.example", ID_FQDN, b"gw.example"),
        ("@gw.example", ID_FQDN, b"gw.example"),  # leading '@': FQDN, '@' dropped
        ("@192.0.2.1", ID_FQDN, b"192.0.2.1"),  # '@' keeps an address-looking name an FQDN
        ("alice@corp.example", ID_RFC822_ADDR, b"alice@corp.example"),
        ("@#0a1b2c", ID_KEY_ID, bytes.fromhex("0a1b2c")),
        ("%any", ID_ANY, b""),
    ],
)
def test_parse_each_type(text: str, id_type: int, data: bytes) -> None:
    ident = Identity.parse(text)
    assert (ident.id_type, ident.data) == (id_type, data)


def test_dn_is_der_of_the_x501_name_in_written_order() -> None:
    ident = Identity.parse("C=CH, O=strongSwan, CN=gw")
    assert ident.id_type == ID_DER_ASN1_DN
    # the same Name built directly with cryptography, PrintableString as strongSwan encodes it
    expected = x509.Name([
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COUNTRY_NAME, "CH", _type=_ASN1Type.PrintableString)]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "strongSwan", _type=_ASN1Type.PrintableString)]),
        x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, "gw", _type=_ASN1Type.PrintableString)]),
    ])
    assert ident.data == expected.public_bytes()
    # DER: SEQUENCE { SET { SEQUENCE { OID 2.5.4.6, PrintableString "CH" } } ... }
    assert ident.data[:2] == bytes([0x30, len(ident.data) - 2])
    assert bytes.fromhex("0603550406130243 48".replace(" ", "")) in ident.data
    assert str(ident) == "C=CH, O=strongSwan, CN=gw"


def test_dn_non_printable_value_is_utf8_and_decodes_back() -> None:
    ident = Identity.parse("O=Zürich AG, CN=gw-ä")
    name = parse_dn_der(ident.data)
    assert [a.value for a in name] == ["Zürich AG", "gw-ä"]
    assert all(a._type == _ASN1Type.UTF8String for a in name)
    assert dn_to_text(ident.data) == "O=Zürich AG, CN=gw-ä"


def test_dn_escaped_comma_and_slash_syntax() -> None:
    a = Identity.parse(r"O=Acme\, Inc., CN=gw")
    assert [x.value for x in parse_dn_der(a.data)] == ["Acme, Inc.", "gw"]
    assert Identity.parse(str(a)) == a
    b = Identity.parse("/C=CH/O=strongSwan/CN=gw")
    assert b == Identity.parse("C=CH, O=strongSwan, CN=gw")


def test_dn_unknown_attribute_is_a_sentence() -> None:
    with pytest.raises(ValueError, match="unknown DN attribute 'XYZ'"):
        Identity.parse("XYZ=1, CN=gw")


@pytest.mark.parametrize(
    "text",
    ["192.0.2.1", "2001:db8::1", "gw.example", "@gw.example", "@192.0.2.1", "a@b.example",
     "C=CH, O=strongSwan, CN=gw", "CN=only", "@#00ff", "%any", "O=Zürich AG, CN=x",
     "C=CH, O=strongSwan, E=admin@gw.example, CN=gw"],
)
def test_text_round_trip(text: str) -> None:
    ident = Identity.parse(text)
    assert Identity.parse(str(ident)) == ident


def test_body_is_type_three_reserved_bytes_then_data() -> None:
    # RFC 7296 §3.5: ID Type (1 octet), RESERVED (3 octets), Identification Data
    ident = Identity.parse("gw.example")
    assert ident.body == b"\x02\x00\x00\x00gw.example"
    assert Identity.from_body(ident.body) == ident
    with pytest.raises(ValueError, match="shorter than its 4-byte header"):
        Identity.from_body(b"\x02\x00")


@pytest.mark.parametrize("vector", ["charon_ike_aes256-sha256-modp2048.json"])
def test_same_body_as_strongswan_sends_for_the_same_id(vector: str) -> None:
    """charon configured with ``id = a.example`` sent this IDi (tests/vectors, capture_charon_ike.py)."""
    from ipsecsim.core import algorithms as A
    from ipsecsim.core.ike import message as M
    from ipsecsim.core.ike.sk import SkCipher
    from ipsecsim.core.rng import Rng

    with open(os.path.join(VECTORS, vector)) as f:
        vec = json.load(f)
    keys = {k: bytes.fromhex(v) for k, v in vec["ike_keys"].items()}
    sk = SkCipher(A.ENCR_ALGS[(A.ENCR_AES_CBC, 256)], A.INTEG_ALGS[A.AUTH_HMAC_SHA2_256_128],
                  keys["SK_ei"], keys["SK_ai"], Rng(0))
    auth_req = M.decode(bytes.fromhex(vec["messages"][2]["hex"]), sk)
    idi = auth_req.find_id(True)
    assert Identity.parse("a.example").body == idi.body
    assert Identity.from_body(idi.body) == Identity.parse("@a.example")


def test_matches_exact_any_and_wildcards() -> None:
    gw = Identity.parse("gw-b.example")
    assert gw.matches("gw-b.example")
    assert gw.matches("GW-B.example")  # DNS names compare without case
    assert gw.matches(ANY) and gw.matches("%any")
    assert not gw.matches("gw-a.example")
    assert gw.matches("*.example") and not gw.matches("*.other")
    assert not gw.matches("192.0.2.1")
    assert not Identity.parse("192.0.2.1").matches("gw-b.example")
    assert Identity.parse("bob@corp.example").matches("*@corp.example")
    dn = Identity.parse("C=CH, O=strongSwan, CN=gw")
    assert dn.matches("C=CH, O=strongSwan, CN=*")
    assert not dn.matches("C=CH, O=other, CN=*")
    assert not dn.matches("C=CH, CN=*")  # different number of components


def test_garbage_dn_der_rejected() -> None:
    for bad in (b"", b"\x31\x00", b"\x30\x05\x31\x03\x30\x01", b"\x30\x81"):
        with pytest.raises(ValueError):
            parse_dn_der(bad)
    # and an unparseable DN still prints (as hex) rather than crash
    assert str(Identity(ID_DER_ASN1_DN, b"\x30\x05")).startswith("DN#")


def test_explicit_type_prefixes() -> None:
    # strongSwan's "type:value" syntax, with '#' for hex data
    assert Identity.parse("fqdn:192.0.2.1") == Identity(ID_FQDN, b"192.0.2.1")
    assert Identity.parse("email:operator") == Identity(ID_RFC822_ADDR, b"operator")
    assert Identity.parse("keyid:#0a0b") == Identity(ID_KEY_ID, b"\x0a\x0b")
    assert Identity.parse("ipv6:2001:db8::1").id_type == ID_IPV6_ADDR
    assert Identity.parse("asn1dn:CN=x") == Identity.parse("CN=x")
    dn = Identity.parse("C=CH, CN=gw")
    assert Identity.parse("asn1dn:#" + dn.data.hex()) == dn
    with pytest.raises(ValueError, match="is not an IPv4 address"):
        Identity.parse("ipv4:2001:db8::1")
    for text in ("email:operator", "email:@odd", "fqdn:a=b"):
        ident = Identity.parse(text)
        assert Identity.parse(str(ident)) == ident


_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_value = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\\"),
                 min_size=1, max_size=12).filter(lambda v: v.strip() == v)


@given(st.one_of(
    st.ip_addresses().map(str),
    st.lists(_label, min_size=1, max_size=4).map(".".join),
    st.tuples(_label, _label).map(lambda t: f"{t[0]}@{t[1]}.example"),
    st.lists(st.tuples(st.sampled_from(["O", "OU", "CN", "L", "DC"]), _value), min_size=1,
             max_size=4).map(lambda rdns: ", ".join(f"{k}={v.replace(',', chr(92) + ',')}" for k, v in rdns)),
))
def test_round_trip_property(text: str) -> None:
    ident = Identity.parse(text)
    assert Identity.parse(str(ident)) == ident
    assert Identity.from_body(ident.body) == ident
    assert ident.matches(str(ident)) and ident.matches("%any")
