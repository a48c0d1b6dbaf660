"""EAP packets (RFC 3748 §4): one function to read them, one to write them.

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Code      |  Identifier   |            Length             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Type      |  Type-Data ...
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Request (1) and Response (2) carry a Type (§5); Success (3) and Failure (4) are four
octets. In IKEv2 the packet rides whole in the EAP payload (RFC 7296 §3.16). Type names
follow strongSwan's ``eap_type_names`` (``libstrongswan/eap/eap.c``), as charon logs them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

REQUEST, RESPONSE, SUCCESS, FAILURE = 1, 2, 3, 4
CODE_NAMES = {REQUEST: "EAP_REQUEST", RESPONSE: "EAP_RESPONSE", SUCCESS: "EAP_SUCCESS",
              FAILURE: "EAP_FAILURE"}

# Types (RFC 3748 §5, IANA "Method Types")
IDENTITY, NOTIFICATION, NAK, MD5, TLS, MSCHAPV2 = 1, 2, 3, 4, 13, 26
TYPE_NAMES = {IDENTITY: "EAP_IDENTITY", NOTIFICATION: "EAP_NOTIFICATION", NAK: "EAP_NAK",
              MD5: "EAP_MD5", TLS: "EAP_TLS", MSCHAPV2: "EAP_MSCHAPV2"}
METHODS = {"eap-md5": MD5, "eap-mschapv2": MSCHAPV2, "eap-tls": TLS}
"""swanctl's ``auth = eap-NAME`` -> EAP type (``auth = eap`` takes whatever the server asks)."""
METHOD_LABELS = {MD5: "EAP-MD5", MSCHAPV2: "EAP-MSCHAPv2", TLS: "EAP-TLS", IDENTITY: "EAP-Identity"}


class EapError(ValueError):
    """A malformed EAP packet or one a method cannot use; the sentence says what was wrong."""


@dataclass(frozen=True, slots=True)
class EapPacket:
    """One EAP packet."""

    code: int
    """REQUEST, RESPONSE, SUCCESS or FAILURE."""
    ident: int
    """The Identifier (0..255) that pairs a Response with its Request (§4.1)."""
    type: int = 0
    """The method Type of a Request/Response (0 for Success/Failure)."""
    data: bytes = b""
    """Type-Data."""

    @property
    def name(self) -> str:
        """charon's name for it: the type of a Request/Response, else the code."""
        if self.code in (REQUEST, RESPONSE):
            return type_name(self.type)
        return CODE_NAMES.get(self.code, f"EAP code {self.code}")


def type_name(t: int) -> str:
    return TYPE_NAMES.get(t, f"EAP type {t}")


def encode(p: EapPacket) -> bytes:
    """The packet's octets (§4)."""
    if p.code in (SUCCESS, FAILURE):
        return struct.pack("!BBH", p.code, p.ident, 4)
    return struct.pack("!BBHB", p.code, p.ident, 5 + len(p.data), p.type) + p.data


def decode(data: bytes) -> EapPacket:
    """Read one packet; :class:`EapError` when the octets are not an EAP packet."""
    if len(data) < 4:
        raise EapError(f"EAP packet of {len(data)} bytes is shorter than its 4-byte header")
    code, ident, length = struct.unpack_from("!BBH", data)
    if code not in CODE_NAMES:
        raise EapError(f"EAP code {code} is not Request, Response, Success or Failure")
    if length > len(data) or length < 4:
        raise EapError(f"EAP Length {length} does not fit the {len(data)} bytes received")
    if code in (SUCCESS, FAILURE):
        return EapPacket(code, ident)
    if length < 5:
        raise EapError(f"{CODE_NAMES[code]} without a Type")
    return EapPacket(code, ident, data[4], bytes(data[5:length]))


def nak(ident: int, wanted: int) -> EapPacket:
    """Legacy Nak (§5.3.1): the Response naming the type we would accept (0: none)."""
    return EapPacket(RESPONSE, ident, NAK, bytes([wanted]))
