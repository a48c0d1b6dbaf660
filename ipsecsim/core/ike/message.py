"""IKEv2 messages (RFC 7296 §3.1-§3.2, §3.14): header, payload chain, SK encryption.

``encode(msg, sk)`` and ``decode(data, sk)`` are the only two entry points the
engine needs; with an :class:`SkCipher` every payload of the message travels
inside one SK payload. The payload classes and IKEv2 constants are re-exported
here, so ``from ipsecsim.core.ike.message import SA, KE, Notify, COOKIE`` works.
Where a payload class and a payload-type number share a name (SA, KE, CP) the
class wins here; the numbers are ``SA.ptype`` or ``PT_SA``/``PT_KE``/``PT_CP``
(every payload type has a ``PT_`` name), and plain ints in ``.constants``.

Speed matters (every simulated handshake runs through here several times), so
the hot path is ``struct`` and plain loops, no reflection.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TypeVar

from ..errors import DecodeError
from .constants import (  # noqa: F401 -- re-exported: import the constants from here
    ADDITIONAL_IP4_ADDRESS,
    ADDITIONAL_IP6_ADDRESS,
    ADDITIONAL_TS_POSSIBLE,
    ANOTHER_AUTH_FOLLOWS,
    APPLICATION_VERSION,
    ATTR_KEY_LENGTH,
    AUTH,
    AUTH_DIGITAL_SIGNATURE,
    AUTH_DSS_SIG,
    AUTH_ECDSA_SHA256_P256,
    AUTH_ECDSA_SHA384_P384,
    AUTH_ECDSA_SHA512_P521,
    AUTH_LIFETIME,
    AUTH_RSA_SIG,
    AUTH_SHARED_KEY_MIC,
    AUTHENTICATION_FAILED,
    CERT,
    CERT_HASH_URL_X509,
    CERT_X509_SIGNATURE,
    CERTREQ,
    CFG_ACK,
    CFG_REPLY,
    CFG_REQUEST,
    CFG_SET,
    CFG_TYPE_NAMES,
    CHILD_SA_NOT_FOUND,
    CHILDLESS_IKEV2_SUPPORTED,
    COOKIE,
    COOKIE2,
    CREATE_CHILD_SA,
    EAP,
    EAP_ONLY_AUTHENTICATION,
    ESP_TFC_PADDING_NOT_SUPPORTED,
    EXCHANGE_NAMES,
    FAILED_CP_REQUIRED,
    FLAG_INITIATOR,
    FLAG_RESPONSE,
    FLAG_VERSION,
    HASH_IDENTITY,
    HASH_SHA1,
    HASH_SHA2_256,
    HASH_SHA2_384,
    HASH_SHA2_512,
    HTTP_CERT_LOOKUP_SUPPORTED,
    ID_DER_ASN1_DN,
    ID_DER_ASN1_GN,
    ID_FQDN,
    ID_IPV4_ADDR,
    ID_IPV6_ADDR,
    ID_KEY_ID,
    ID_RFC822_ADDR,
    ID_TYPE_NAMES,
    IKE_AUTH,
    IKE_HEADER_LEN,
    IKE_INTERMEDIATE,
    IKE_MAJOR_VERSION,
    IKE_MINOR_VERSION,
    IKE_SA_INIT,
    IKE_SESSION_RESUME,
    IKEV2_FRAGMENTATION_SUPPORTED,
    IKEV2_MESSAGE_ID_SYNC_SUPPORTED,
    INFORMATIONAL,
    INITIAL_CONTACT,
    INTERMEDIATE_EXCHANGE_SUPPORTED,
    INTERNAL_ADDRESS_FAILURE,
    INTERNAL_IP4_ADDRESS,
    INTERNAL_IP4_DHCP,
    INTERNAL_IP4_DNS,
    INTERNAL_IP4_NBNS,
    INTERNAL_IP4_NETMASK,
    INTERNAL_IP4_SUBNET,
    INTERNAL_IP6_ADDRESS,
    INTERNAL_IP6_DNS,
    INVALID_IKE_SPI,
    INVALID_KE_PAYLOAD,
    INVALID_MAJOR_VERSION,
    INVALID_MESSAGE_ID,
    INVALID_SELECTORS,
    INVALID_SPI,
    INVALID_SYNTAX,
    IPCOMP_SUPPORTED,
    MOBIKE_SUPPORTED,
    MULTIPLE_AUTH_SUPPORTED,
    NAT_DETECTION_DESTINATION_IP,
    NAT_DETECTION_SOURCE_IP,
    NO_ADDITIONAL_ADDRESSES,
    NO_ADDITIONAL_SAS,
    NO_NATS_ALLOWED,
    NO_NEXT_PAYLOAD,
    NO_PROPOSAL_CHOSEN,
    NON_FIRST_FRAGMENTS_ALSO,
    NONCE,
    NOTIFY_ERROR_MAX,
    NOTIFY_NAMES,
    PAYLOAD_NAMES,
    PROTOCOL_IDS,
    PT_AUTH,
    PT_CERT,
    PT_CERTREQ,
    PT_CP,
    PT_D,
    PT_EAP,
    PT_KE,
    PT_N,
    PT_NONCE,
    PT_SA,
    PT_SK,
    PT_V,
    REDIRECT,
    REDIRECT_SUPPORTED,
    REDIRECTED_FROM,
    REKEY_SA,
    SET_WINDOW_SIZE,
    SIGNATURE_HASH_ALGORITHMS,
    SINGLE_PAIR_REQUIRED,
    SK,
    SKF,
    SUPPORTED_ATTRIBUTES,
    TEMPORARY_FAILURE,
    TS_IPV4_ADDR_RANGE,
    TS_IPV6_ADDR_RANGE,
    TS_UNACCEPTABLE,
    UNSUPPORTED_CRITICAL_PAYLOAD,
    UPDATE_SA_ADDRESSES,
    USE_PPK,
    USE_TRANSPORT_MODE,
    D,
    IDi,
    IDr,
    N,
    PT_IDi,
    PT_IDr,
    PT_TSi,
    PT_TSr,
    TSi,
    TSr,
    V,
)
from .constants import SK as _SK
from .cp_codec import summary as cp_summary
from .payloads import (  # noqa: F401 -- re-exported
    CP,
    DECODERS,
    ID,
    KE,
    SA,
    TS,
    Auth,
    Cert,
    CertReq,
    Delete,
    EapPayload,
    Encrypted,
    Nonce,
    Notify,
    Payload,
    SaProposal,
    Transform,
    Unknown,
    VendorID,
    proposals_from_sa,
    sa_proposals_from,
)
from .sk import IntegrityError, SkCipher  # noqa: F401 -- re-exported

_P = TypeVar("_P")
_HDR = struct.Struct(">8s8sBBBBII")
_GEN = struct.Struct(">BBH")
_pack_gen = _GEN.pack
_unpack_gen = _GEN.unpack_from


class UnsupportedCriticalPayload(DecodeError):
    """A payload of a type we do not know arrived with the Critical bit set (RFC 7296 §2.5)."""

    notify_type = UNSUPPORTED_CRITICAL_PAYLOAD

    def __init__(self, payload_type: int) -> None:
        super().__init__(f"payload type {payload_type} is unknown and marked critical")
        self.payload_type = payload_type


class InvalidMajorVersion(DecodeError):
    """The header says a major version other than 2 (RFC 7296 §2.5)."""

    notify_type = INVALID_MAJOR_VERSION

    def __init__(self, major: int) -> None:
        super().__init__(f"IKE major version {major}, this implementation speaks 2")
        self.major = major


@dataclass(frozen=True, slots=True)
class Header:
    """The fixed IKE header (RFC 7296 §3.1)."""

    spi_i: bytes
    """Initiator's IKE SPI (8 bytes)."""
    spi_r: bytes
    """Responder's IKE SPI (8 bytes, zero in the first IKE_SA_INIT request)."""
    next_payload: int
    major: int
    minor: int
    exchange: int
    flags: int
    msg_id: int
    length: int
    """Total message length from the header, which must equal the datagram's."""

    @property
    def initiator(self) -> bool:
        """The I flag: sent by the original initiator of the IKE SA."""
        return bool(self.flags & FLAG_INITIATOR)

    @property
    def response(self) -> bool:
        """The R flag."""
        return bool(self.flags & FLAG_RESPONSE)


@dataclass(slots=True)
class IkeMessage:
    """One IKEv2 message, decrypted: header fields and the list of payloads in order."""

    spi_i: bytes
    spi_r: bytes
    exchange: int
    """IKE_SA_INIT=34, IKE_AUTH=35, CREATE_CHILD_SA=36, INFORMATIONAL=37."""
    msg_id: int
    initiator: bool
    """I flag: the sender is the original initiator of the IKE SA."""
    response: bool
    """R flag: this message is a response."""
    payloads: list = field(default_factory=list)
    """Payload objects (SA, KE, Nonce, ID, Notify, ...) in wire order."""
    encrypted: bool = field(default=False, compare=False)
    """Set by :func:`decode`: the payloads came out of a verified SK payload. Everything
    after IKE_SA_INIT must be (RFC 7296 §3.14); not compared by ``==``."""
    fragments: int = field(default=0, compare=False)
    """How many SKF fragments it was sent or received in (RFC 7383); 0: one datagram."""

    def find(self, cls: type[_P]) -> _P | None:
        """The first payload of class ``cls``, or None."""
        for p in self.payloads:
            if type(p) is cls:
                return p
        return None

    def find_all(self, cls: type[_P]) -> list[_P]:
        """Every payload of class ``cls``, in order."""
        return [p for p in self.payloads if type(p) is cls]

    def notify(self, notify_type: int) -> Notify | None:
        """The first Notify of ``notify_type``, or None."""
        for p in self.payloads:
            if type(p) is Notify and p.notify_type == notify_type:
                return p
        return None

    def error_notify(self) -> Notify | None:
        """The first error Notify (types up to 16383, RFC 7296 §3.10.1), or None."""
        for p in self.payloads:
            if type(p) is Notify and p.is_error:
                return p
        return None

    def find_id(self, initiator: bool) -> ID | None:
        """IDi (``initiator=True``) or IDr."""
        for p in self.payloads:
            if type(p) is ID and p.initiator == initiator:
                return p
        return None

    def find_ts(self, initiator: bool) -> TS | None:
        """TSi (``initiator=True``) or TSr."""
        for p in self.payloads:
            if type(p) is TS and p.initiator == initiator:
                return p
        return None

    @property
    def exchange_name(self) -> str:
        return EXCHANGE_NAMES.get(self.exchange, f"EXCHANGE_{self.exchange}")

    def payload_names(self) -> list[str]:
        """Short names as a ladder diagram writes them: SA, KE, Ni, N(COOKIE), IDi, TSr, ..."""
        out = []
        for p in self.payloads:
            t = type(p)
            if t is Notify:
                out.append(f"N({NOTIFY_NAMES.get(p.notify_type, p.notify_type)})")
            elif t is Nonce:
                out.append("Nr" if self.response else "Ni")
            elif t is Unknown:
                out.append(PAYLOAD_NAMES.get(p.ptype, f"UNKNOWN({p.ptype})"))
            elif t is EapPayload:
                out.append(p.label())
            elif t is CP:  # charon's CPRQ(ADDR DNS) / CPRP(ADDR DNS)
                out.append(cp_summary(p))
            else:
                out.append(PAYLOAD_NAMES[p.ptype])
        return out

    def summary(self) -> str:
        """Ladder text: ``IKE_SA_INIT request { SA, KE, Ni, N(NAT_DETECTION_SOURCE_IP) }``."""
        kind = "response" if self.response else "request"
        names = ", ".join(self.payload_names())
        if self.fragments:  # RFC 7383: the ladder shows one message, with its fragment count
            names += f", SKF({self.fragments} fragments)"
        return f"{self.exchange_name} {kind} {{ {names} }}" if names else f"{self.exchange_name} {kind} {{ }}"


def _chain(payloads: list) -> bytes:
    """The payloads with their generic headers; each header names the next payload's type."""
    parts = []
    n = len(payloads)
    for i, p in enumerate(payloads):
        body = p._body()
        t = type(p)
        if t is Encrypted:
            nxt, crit = p.first_payload, 0
        else:
            nxt = payloads[i + 1].ptype if i + 1 < n else 0
            crit = 0x80 if t is Unknown and p.critical else 0
        parts.append(_pack_gen(nxt, crit, 4 + len(body)))
        parts.append(body)
    return b"".join(parts)


def encode(msg: IkeMessage, sk: SkCipher | None = None) -> bytes:
    """The message on the wire; with ``sk`` all payloads go inside one SK payload (§3.14)."""
    flags = (FLAG_INITIATOR if msg.initiator else 0) | (FLAG_RESPONSE if msg.response else 0)
    payloads = msg.payloads
    if sk is None:
        body = _chain(payloads)
        first = payloads[0].ptype if payloads else 0
        return _HDR.pack(msg.spi_i, msg.spi_r, first, 0x20, msg.exchange, flags, msg.msg_id,
                         IKE_HEADER_LEN + len(body)) + body
    return _seal(msg, sk, _chain(payloads), flags)


def encode_chained(msg: IkeMessage, sk: SkCipher, inner: bytes) -> bytes:
    """``encode(msg, sk)`` when the caller already has ``inner = _chain(msg.payloads)`` (the
    fragmentation check measures it first): the same bytes, without chaining twice."""
    flags = (FLAG_INITIATOR if msg.initiator else 0) | (FLAG_RESPONSE if msg.response else 0)
    return _seal(msg, sk, inner, flags)


def _seal(msg: IkeMessage, sk: SkCipher, inner: bytes, flags: int) -> bytes:
    first = msg.payloads[0].ptype if msg.payloads else 0
    sk_len = 4 + sk.sealed_size(len(inner))
    aad = _HDR.pack(msg.spi_i, msg.spi_r, _SK, 0x20, msg.exchange, flags, msg.msg_id,
                    IKE_HEADER_LEN + sk_len) + _pack_gen(first, 0, sk_len)
    return aad + sk.seal(aad, inner)


def decode_header(data: bytes) -> Header:
    """The fixed IKE header; :class:`DecodeError` if short or its length disagrees with ``data``."""
    if len(data) < IKE_HEADER_LEN:
        raise DecodeError(f"IKE message of {len(data)} bytes is shorter than its 28-byte header")
    spi_i, spi_r, nxt, ver, exch, flags, msg_id, length = _HDR.unpack_from(data)
    if length != len(data):
        raise DecodeError(f"IKE header says {length} bytes, datagram has {len(data)}")
    return Header(spi_i, spi_r, nxt, ver >> 4, ver & 0x0F, exch, flags, msg_id, length)


def _parse_chain(data: bytes, off: int, end: int, nxt: int, out: list,
                 sk: SkCipher | None, outer: bool) -> bool:
    """Append the payloads to ``out``; True when they came out of an SK payload."""
    decoders = DECODERS
    while nxt:
        ptype = nxt
        if off + 4 > end:
            raise DecodeError(f"payload {PAYLOAD_NAMES.get(ptype, ptype)} header runs past the end")
        nxt, flags, plen = _unpack_gen(data, off)
        if plen < 4 or off + plen > end:
            raise DecodeError(f"payload {PAYLOAD_NAMES.get(ptype, ptype)} has bad length {plen}")
        if ptype == _SK:
            if not outer:
                raise DecodeError("SK payload nested inside an SK payload")
            if off + plen != end:
                raise DecodeError("SK payload is not the last payload of the message")
            body = data[off + 4:end]
            if sk is None:
                out.append(Encrypted(nxt, body))
                return False
            plain = sk.open(data[:off + 4], body)
            _parse_chain(plain, 0, len(plain), nxt, out, None, False)
            return True
        dec = decoders.get(ptype)
        if dec is None:
            critical = bool(flags & 0x80)
            if critical:
                raise UnsupportedCriticalPayload(ptype)
            out.append(Unknown(ptype, False, data[off + 4:off + plen]))
        else:
            out.append(dec(data[off + 4:off + plen]))
        off += plen
    if off != end:
        raise DecodeError(f"{end - off} bytes after the last payload")
    return False


def decode(data: bytes, sk: SkCipher | None = None) -> IkeMessage:
    """Parse a message; with ``sk``, verify and decrypt its SK payload.

    Raises :class:`DecodeError` (or a subclass carrying ``notify_type``) for
    malformed bytes and :class:`IntegrityError` when the SK ICV fails. Without
    ``sk`` an SK payload stays an :class:`Encrypted` placeholder.
    """
    n = len(data)
    if n < IKE_HEADER_LEN:
        decode_header(data)  # raises with the reason
    spi_i, spi_r, nxt, ver, exch, flags, msg_id, length = _HDR.unpack_from(data)
    if length != n:
        decode_header(data)
    if ver >> 4 != 2:
        raise InvalidMajorVersion(ver >> 4)
    payloads: list = []
    try:
        encrypted = _parse_chain(data, IKE_HEADER_LEN, n, nxt, payloads, sk, True)
    except (struct.error, IndexError) as exc:
        raise DecodeError(f"truncated payload in {EXCHANGE_NAMES.get(exch, exch)} "
                          f"message: {exc}") from None
    return IkeMessage(spi_i, spi_r, exch, msg_id, bool(flags & FLAG_INITIATOR),
                      bool(flags & FLAG_RESPONSE), payloads, encrypted)
