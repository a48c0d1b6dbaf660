"""IKEv2 identities (the IDi/IDr payloads, RFC 7296 §3.5) and strongSwan's text syntax for them.

An :class:`Identity` is what travels in an ID payload: a type and its bytes.
:meth:`Identity.parse` reads the strings a swanctl.conf ``id =`` line holds,
with strongSwan's rules (``identification_create_from_string``):

* ``%any`` (or an empty string) -- matches any peer identity;
* an IPv4 / IPv6 literal -- ``ID_IPV4_ADDR`` / ``ID_IPV6_ADDR``;
* a string with ``=`` -- a Distinguished Name (``C=CH, O=strongSwan, CN=gw``),
  carried as the DER encoding of the X.501 Name (``ID_DER_ASN1_DN``);
* ``@#0a1b..`` -- a key identifier (``ID_KEY_ID``) given in hex;
* ``fqdn:``, ``email:``, ``ipv4:``, ``ipv6:``, ``asn1dn:``, ``keyid:`` -- an explicit
  type, the value as text or, after ``#``, in hex;
* ``@gw.example`` -- an FQDN (the leading ``@`` says "do not resolve this");
* any other string with ``@`` -- an e-mail address (``ID_RFC822_ADDR``);
* anything else -- an FQDN.

``str(identity)`` writes it back so that parsing gives the same identity.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from .constants import (  # noqa: F401 -- the wire ID types (RFC 7296 §3.5) live in constants
    ID_DER_ASN1_DN,
    ID_DER_ASN1_GN,
    ID_FQDN,
    ID_IPV4_ADDR,
    ID_IPV6_ADDR,
    ID_KEY_ID,
    ID_RFC822_ADDR,
)
from .constants import ID_TYPE_NAMES as _WIRE_ID_TYPE_NAMES

ID_ANY = 0
"""Not on the wire: strongSwan's ``%any``, a pattern that matches every identity."""

ID_TYPE_NAMES: dict[int, str] = {ID_ANY: "ID_ANY", **_WIRE_ID_TYPE_NAMES}

# Short attribute names of a DN string, in strongSwan's spelling (src/libstrongswan/
# utils/identification.c, x501rdns[]); the first name of an OID is the one we print.
_DN_ATTRS: list[tuple[str, x509.ObjectIdentifier]] = [
    ("C", NameOID.COUNTRY_NAME),
    ("ST", NameOID.STATE_OR_PROVINCE_NAME),
    ("L", NameOID.LOCALITY_NAME),
    ("O", NameOID.ORGANIZATION_NAME),
    ("OU", NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("CN", NameOID.COMMON_NAME),
    ("SN", NameOID.SURNAME),
    ("serialNumber", NameOID.SERIAL_NUMBER),
    ("G", NameOID.GIVEN_NAME),
    ("T", NameOID.TITLE),
    ("DC", NameOID.DOMAIN_COMPONENT),
    ("UID", NameOID.USER_ID),
    ("E", NameOID.EMAIL_ADDRESS),
    ("emailAddress", NameOID.EMAIL_ADDRESS),
    ("S", NameOID.STATE_OR_PROVINCE_NAME),
]
_NAME_TO_OID = {name.lower(): oid for name, oid in _DN_ATTRS}
_OID_TO_NAME: dict[x509.ObjectIdentifier, str] = {}
for _n, _o in _DN_ATTRS:
    _OID_TO_NAME.setdefault(_o, _n)

_PRINTABLE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")


def _dn_from_text(text: str) -> bytes:
    """DER of the X.501 Name written as ``C=CH, O=strongSwan, CN=gw`` (RDNs in DER order).

    Like strongSwan, a value made only of PrintableString characters is encoded as
    PrintableString, any other as UTF8String, and an e-mail attribute as IA5String.
    Separators are ``,`` or ``/``; ``\\,`` keeps a literal comma in a value.
    """
    sep = "/" if text.startswith("/") else ","
    parts: list[str] = []
    cur = ""
    escaped = False
    for ch in text.lstrip("/"):
        if escaped:
            cur += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == sep:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    rdns = []
    for part in parts:
        part = part.strip()
        if not part:
            continue
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq:
            raise ValueError(f"DN component {part!r} has no '=' (expected e.g. CN=gw)")
        oid = _NAME_TO_OID.get(key.lower())
        if oid is None:
            try:
                oid = x509.ObjectIdentifier(key)
            except ValueError:
                known = ", ".join(n for n, _ in _DN_ATTRS)
                raise ValueError(f"unknown DN attribute {key!r} (known: {known})") from None
        value = value.strip()
        if oid == NameOID.EMAIL_ADDRESS:
            asn1 = _ASN1Type.IA5String
        elif set(value) <= _PRINTABLE:
            asn1 = _ASN1Type.PrintableString
        else:
            asn1 = _ASN1Type.UTF8String
        attr = x509.NameAttribute(oid, value, _type=asn1)
        rdns.append(x509.RelativeDistinguishedName([attr]))
    if not rdns:
        raise ValueError(f"{text!r} holds no DN component")
    return x509.Name(rdns).public_bytes()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,")


def dn_to_text(der_or_name: bytes | x509.Name) -> str:
    """``C=CH, O=strongSwan, CN=gw`` for a DER Name (or an ``x509.Name``), in DER order."""
    name = der_or_name if isinstance(der_or_name, x509.Name) else parse_dn_der(der_or_name)
    out = []
    for rdn in name.rdns:
        for attr in rdn:
            key = _OID_TO_NAME.get(attr.oid, attr.oid.dotted_string)
            value = attr.value if isinstance(attr.value, str) else attr.value.hex()
            out.append(f"{key}={_escape(value)}")
    return ", ".join(out)


# --- a minimal DER reader for X.501 Names (cryptography parses Names only inside certificates) ---

_STRING_TYPES = {
    12: ("utf-8", _ASN1Type.UTF8String),
    18: ("ascii", _ASN1Type.NumericString),
    19: ("ascii", _ASN1Type.PrintableString),
    20: ("latin-1", _ASN1Type.T61String),
    22: ("ascii", _ASN1Type.IA5String),
    26: ("ascii", _ASN1Type.VisibleString),
    28: ("utf-32-be", _ASN1Type.UniversalString),
    30: ("utf-16-be", _ASN1Type.BMPString),
}


def _tlv(buf: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, value, next position) of the DER element at ``pos``."""
    if pos + 2 > len(buf):
        raise ValueError("DER element truncated")
    tag, first = buf[pos], buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > len(buf):
            raise ValueError("bad DER length")
        length = int.from_bytes(buf[pos : pos + n], "big")
        pos += n
    end = pos + length
    if end > len(buf):
        raise ValueError("DER element longer than its container")
    return tag, buf[pos:end], end


def _oid(raw: bytes) -> x509.ObjectIdentifier:
    arcs: list[int] = []
    v = 0
    for b in raw:
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(v)
            v = 0
    if not arcs:
        raise ValueError("empty OID")
    first = arcs[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return x509.ObjectIdentifier(".".join(str(a) for a in head + arcs[1:]))


def parse_dn_der(der: bytes) -> x509.Name:
    """Decode the DER of an X.501 Name (the data of an ``ID_DER_ASN1_DN`` payload)."""
    tag, body, end = _tlv(der, 0)
    if tag != 0x30 or end != len(der):
        raise ValueError("a DN must be one DER SEQUENCE")
    rdns = []
    pos = 0
    while pos < len(body):
        tag, rdn_body, pos = _tlv(body, pos)
        if tag != 0x31:
            raise ValueError("a DN holds SETs of attributes")
        attrs = []
        p = 0
        while p < len(rdn_body):
            tag, atv, p = _tlv(rdn_body, p)
            if tag != 0x30:
                raise ValueError("an attribute is a SEQUENCE")
            otag, oid_raw, q = _tlv(atv, 0)
            vtag, vraw, _ = _tlv(atv, q)
            if otag != 0x06:
                raise ValueError("an attribute starts with an OID")
            if vtag not in _STRING_TYPES:
                raise ValueError(f"unsupported DN string type (tag {vtag})")
            codec, asn1 = _STRING_TYPES[vtag]
            attrs.append(x509.NameAttribute(_oid(oid_raw), vraw.decode(codec), _type=asn1))
        rdns.append(x509.RelativeDistinguishedName(attrs))
    return x509.Name(rdns)


# --- the identity ---


@dataclass(frozen=True, slots=True)
class Identity:
    """One IKE identity: the ID type and the ID payload's identification data."""

    id_type: int
    """An ``ID_*`` constant (``ID_ANY`` only as a pattern, never on the wire)."""
    data: bytes
    """Identification data: 4/16 address bytes, ASCII FQDN or e-mail, DER Name, or key id."""

    @classmethod
    def parse(cls, text: str) -> Identity:
        """An identity from strongSwan's text syntax (see the module docstring)."""
        text = text.strip()
        if text in ("", "%any", "%any6", "*"):
            return ANY
        prefix, colon, rest = text.partition(":")
        if colon and prefix.lower() in _PREFIXES:
            return cls._typed(_PREFIXES[prefix.lower()], rest)
        if text.startswith("@#"):
            return cls(ID_KEY_ID, bytes.fromhex(text[2:].replace(":", "")))
        if "=" in text and not text.startswith("@"):
            return cls(ID_DER_ASN1_DN, _dn_from_text(text))
        if "@" in text:
            if text.startswith("@"):
                return cls(ID_FQDN, text[1:].encode())
            return cls(ID_RFC822_ADDR, text.encode())
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            return cls(ID_FQDN, text.encode())
        kind = ID_IPV4_ADDR if addr.version == 4 else ID_IPV6_ADDR
        return cls(kind, addr.packed)

    @classmethod
    def _typed(cls, id_type: int, value: str) -> Identity:
        """strongSwan's explicit ``type:value`` form; ``#`` introduces hex data."""
        if value.startswith("#"):
            return cls(id_type, bytes.fromhex(value[1:].replace(":", "")))
        if id_type in (ID_IPV4_ADDR, ID_IPV6_ADDR):
            addr = ipaddress.ip_address(value)
            if (addr.version == 4) != (id_type == ID_IPV4_ADDR):
                raise ValueError(f"{value!r} is not an IPv{4 if id_type == ID_IPV4_ADDR else 6} address")
            return cls(id_type, addr.packed)
        if id_type == ID_DER_ASN1_DN:
            return cls(id_type, _dn_from_text(value))
        return cls(id_type, value.encode())

    @classmethod
    def from_body(cls, body: bytes) -> Identity:
        """An identity from an ID payload body: type(1) | RESERVED(3) | data (RFC 7296 §3.5)."""
        if len(body) < 4:
            raise ValueError(f"ID payload body of {len(body)} bytes is shorter than its 4-byte header")
        return cls(body[0], bytes(body[4:]))

    @property
    def body(self) -> bytes:
        """The ID payload body the AUTH computation signs: type(1) | 3 zero bytes | data."""
        return bytes([self.id_type, 0, 0, 0]) + self.data

    @property
    def is_any(self) -> bool:
        return self.id_type == ID_ANY

    @property
    def type_name(self) -> str:
        return ID_TYPE_NAMES.get(self.id_type, f"ID_TYPE_{self.id_type}")

    def __str__(self) -> str:
        t, d = self.id_type, self.data
        if t == ID_ANY:
            return "%any"
        if t in (ID_IPV4_ADDR, ID_IPV6_ADDR) and len(d) in (4, 16):
            return str(ipaddress.ip_address(d))
        if t == ID_FQDN:
            text = d.decode("ascii", "replace")
            # Keep the round trip: an FQDN that would read back as something else gets its '@'.
            looks_other = "=" in text or "@" in text or _is_ip(text) or text in ("", "%any")
            return f"@{text}" if looks_other else text
        if t == ID_RFC822_ADDR:
            text = d.decode("ascii", "replace")
            return text if "@" in text and "=" not in text and not text.startswith("@") else f"email:{text}"
        if t == ID_DER_ASN1_DN:
            try:
                return dn_to_text(d)
            except ValueError:
                return f"DN#{d.hex()}"
        return f"@#{d.hex()}"

    def __repr__(self) -> str:
        return f"Identity({self.type_name}, {str(self)!r})"

    def matches(self, pattern: Identity | str) -> bool:
        """Whether this (received) identity satisfies a configured ``pattern``.

        ``%any`` matches everything; otherwise type and data must be equal, with
        strongSwan's wildcards: an FQDN or e-mail pattern ``*.example`` /
        ``*@example`` matches by suffix, and a DN component ``CN=*`` matches any value.
        """
        if isinstance(pattern, str):
            pattern = Identity.parse(pattern)
        if pattern.is_any:
            return True
        if self.id_type != pattern.id_type:
            return False
        if self.data == pattern.data:
            return True
        if pattern.id_type in (ID_FQDN, ID_RFC822_ADDR) and pattern.data.startswith(b"*"):
            return self.data.lower().endswith(pattern.data[1:].lower())
        if pattern.id_type == ID_FQDN:
            return self.data.lower() == pattern.data.lower()
        if pattern.id_type == ID_DER_ASN1_DN:
            return _dn_matches(self.data, pattern.data)
        return False


ANY = Identity(ID_ANY, b"")
"""The ``%any`` pattern."""

# strongSwan's ``type:value`` prefixes (identification_create_from_string)
_PREFIXES: dict[str, int] = {
    "ipv4": ID_IPV4_ADDR,
    "ipv6": ID_IPV6_ADDR,
    "fqdn": ID_FQDN,
    "email": ID_RFC822_ADDR,
    "rfc822": ID_RFC822_ADDR,
    "userfqdn": ID_RFC822_ADDR,
    "asn1dn": ID_DER_ASN1_DN,
    "keyid": ID_KEY_ID,
}


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _dn_matches(data: bytes, pattern: bytes) -> bool:
    try:
        have = [a for rdn in parse_dn_der(data).rdns for a in rdn]
        want = [a for rdn in parse_dn_der(pattern).rdns for a in rdn]
    except ValueError:
        return False
    if len(have) != len(want):
        return False
    return all(h.oid == w.oid and (w.value == "*" or h.value == w.value) for h, w in zip(have, want, strict=True))
