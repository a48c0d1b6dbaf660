"""IKEv2 payloads (RFC 7296 §3.3-§3.16) as slotted dataclasses, with their body codecs.

Each payload class knows its payload type (``ptype``) and encodes its *body*
(the bytes after the 4-byte generic payload header) with ``_body()``. The
matching decoder for each type lives in :data:`DECODERS`. The message module
chains payloads together and handles the generic headers and the SK payload.

Wire layouts are in the RFC 7296 section named on each class.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import ClassVar

from .. import algorithms as A
from ..errors import DecodeError
from ..proposals import Proposal
from ..selectors import TrafficSelector
from . import constants as C
from .negotiate import Suite, proposal_transforms

_pack = struct.pack
_unpack_from = struct.unpack_from
_PROTO_IDS = C.PROTOCOL_IDS
_PROTO_NAMES = {v: k for k, v in _PROTO_IDS.items()}


# ---------------------------------------------------------------- SA (§3.3)
@dataclass(slots=True)
class Transform:
    """One transform substructure (RFC 7296 §3.3.2)."""

    type: int
    """Transform type: ENCR=1, PRF=2, INTEG=3, DH=4, ESN=5."""
    id: int
    """Transform ID within its type (IANA)."""
    key_bits: int = 0
    """Key Length attribute (§3.3.5) in bits; 0 = attribute absent."""
    other_attrs: bytes = b""
    """Raw bytes of any other attributes, kept for round trip (a receiver must reject them)."""

    def name(self) -> str:
        return A.transform_name(self.type, self.id, self.key_bits)


@dataclass(slots=True)
class SaProposal:
    """One proposal substructure (RFC 7296 §3.3.1)."""

    num: int
    """Proposal number (1 for the first, consecutive)."""
    protocol: int
    """Protocol ID: IKE=1, AH=2, ESP=3."""
    spi: bytes
    """Sender's SPI: empty in IKE_SA_INIT, 8 bytes for an IKE rekey, 4 for ESP/AH."""
    transforms: list[Transform]
    """Transforms in the order they appear."""

    def to_proposal(self) -> Proposal:
        """The typed :class:`~ipsecsim.core.proposals.Proposal` this offer stands for."""
        encr: list[tuple[int, int]] = []
        integ: list[int] = []
        prf: list[int] = []
        dh: list[int] = []
        esn: list[int] = []
        for t in self.transforms:
            if t.type == A.TRANSFORM_ENCR:
                encr.append((t.id, t.key_bits))
            elif t.type == A.TRANSFORM_INTEG:
                if t.id != A.AUTH_NONE:
                    integ.append(t.id)
            elif t.type == A.TRANSFORM_PRF:
                prf.append(t.id)
            elif t.type == A.TRANSFORM_DH:
                dh.append(t.id)
            elif t.type == A.TRANSFORM_ESN:
                esn.append(t.id)
        return Proposal(
            _PROTO_NAMES.get(self.protocol, str(self.protocol)),
            tuple(encr), tuple(integ), tuple(prf), tuple(dh), tuple(esn),
        )

    def unknown_transform_types(self) -> list[int]:
        """Transform types outside 1..5 (the proposal must then be rejected, §3.3.6)."""
        return [t.type for t in self.transforms if not 1 <= t.type <= 5]


def _transforms_of(p: Proposal) -> list[Transform]:
    """The wire transforms of a configured proposal (negotiate.proposal_transforms: the
    same order and ESN rule the responder matches against), with a Key Length attribute
    only for ciphers that send one."""
    out: list[Transform] = []
    for ttype, iana, bits in proposal_transforms(p):
        if ttype == A.TRANSFORM_ENCR:
            alg = A.ENCR_ALGS.get((iana, bits))
            if not (alg.send_key_length if alg is not None else bits):
                bits = 0
        out.append(Transform(ttype, iana, bits))
    return out


def sa_proposals_from(proposals: list[Proposal], spi: bytes) -> list[SaProposal]:
    """Wire proposals, numbered from 1, for typed proposals, all carrying ``spi``."""
    return [
        SaProposal(n, _PROTO_IDS[p.protocol], spi, _transforms_of(p))
        for n, p in enumerate(proposals, 1)
    ]


def proposals_from_sa(sa: SA | list[SaProposal]) -> list[Proposal]:
    """The reverse of :func:`sa_proposals_from`: typed proposals in offer order."""
    props = sa.proposals if isinstance(sa, SA) else sa
    return [p.to_proposal() for p in props]


@dataclass(slots=True)
class SA:
    """Security Association payload (RFC 7296 §3.3)."""

    ptype: ClassVar[int] = C.SA
    proposals: list[SaProposal]
    """Proposals in preference order (a response carries exactly one)."""

    @classmethod
    def chosen(cls, suite: Suite, spi: bytes) -> SA:
        """A responder's SA: the one proposal it took (a ``negotiate.Suite``: its number,
        protocol and transforms echoed back) with the responder's own ``spi`` (§2.7)."""
        return cls([SaProposal(suite.num, _PROTO_IDS[suite.protocol], spi,
                               [Transform(t, i, b) for t, i, b in suite.transforms])])

    def _body(self) -> bytes:
        parts = []
        last = len(self.proposals) - 1
        for i, p in enumerate(self.proposals):
            tparts = []
            tlast = len(p.transforms) - 1
            for j, t in enumerate(p.transforms):
                attrs = _pack(">HH", 0x8000 | C.ATTR_KEY_LENGTH, t.key_bits) if t.key_bits else b""
                attrs += t.other_attrs
                tparts.append(_pack(">BBHBBH", 0 if j == tlast else 3, 0, 8 + len(attrs),
                                    t.type, 0, t.id) + attrs)
            tbytes = b"".join(tparts)
            parts.append(_pack(">BBHBBBB", 0 if i == last else 2, 0, 8 + len(p.spi) + len(tbytes),
                               p.num, p.protocol, len(p.spi), len(p.transforms)))
            parts.append(p.spi)
            parts.append(tbytes)
        return b"".join(parts)


_TRANSFORM = struct.Struct(">BxHBxH")
_unpack_tr = _TRANSFORM.unpack_from
_KEY_LENGTH_TV = _pack(">H", 0x8000 | C.ATTR_KEY_LENGTH)


def _dec_attrs(body: bytes, toff: int, tend: int, ttype: int, tid: int, num: int) -> Transform:
    key_bits, other = 0, []
    aoff = toff + 8
    while aoff < tend:
        atype, aval = _unpack_from(">HH", body, aoff)
        if atype & 0x8000:  # TV format
            if atype & 0x7FFF == C.ATTR_KEY_LENGTH:
                key_bits = aval
            else:
                other.append(body[aoff:aoff + 4])
            aoff += 4
        else:  # TLV format, aval is the length
            other.append(body[aoff:aoff + 4 + aval])
            aoff += 4 + aval
    if aoff != tend:
        raise DecodeError(f"SA proposal {num}: transform attributes overrun")
    return Transform(ttype, tid, key_bits, b"".join(other))


def _dec_sa(body: bytes) -> SA:
    props: list[SaProposal] = []
    off, n = 0, len(body)
    while off < n:
        last, _, plen, num, proto, spi_size, ntrans = _unpack_from(">BBHBBBB", body, off)
        end = off + plen
        if plen < 8 + spi_size or end > n or last not in (0, 2):
            raise DecodeError(f"SA proposal {num}: bad length {plen} or last-substruc {last}")
        spi = body[off + 8:off + 8 + spi_size]
        toff = off + 8 + spi_size
        transforms: list[Transform] = []
        for _ in range(ntrans):
            tlast, tlen, ttype, tid = _unpack_tr(body, toff)
            tend = toff + tlen
            if tlen < 8 or tend > end or tlast not in (0, 3):
                raise DecodeError(f"SA proposal {num}: bad transform length {tlen}")
            if tlen == 8:  # the common cases first: no attribute, or only Key Length
                transforms.append(Transform(ttype, tid))
            elif tlen == 12 and body[toff + 8:toff + 10] == _KEY_LENGTH_TV:
                transforms.append(Transform(ttype, tid, _unpack_from(">H", body, toff + 10)[0]))
            else:
                transforms.append(_dec_attrs(body, toff, tend, ttype, tid, num))
            toff = tend
        if toff != end:
            raise DecodeError(f"SA proposal {num}: {ntrans} transforms do not fill the proposal")
        props.append(SaProposal(num, proto, spi, transforms))
        off = end
        if last == 0:
            break
    if off != n:
        raise DecodeError("SA payload: bytes after the last proposal")
    return SA(props)


# ---------------------------------------------------------------- KE (§3.4)
@dataclass(slots=True)
class KE:
    """Key Exchange payload (RFC 7296 §3.4)."""

    ptype: ClassVar[int] = C.KE
    group: int
    """Diffie-Hellman group number (IANA transform type 4)."""
    data: bytes
    """Public value (RFC 5903 §7 x||y for ECP, RFC 8031 for Curve25519/448)."""

    def _body(self) -> bytes:
        return _pack(">HH", self.group, 0) + self.data


def _dec_ke(body: bytes) -> KE:
    if len(body) < 4:
        raise DecodeError("KE payload shorter than 4 bytes")
    return KE(_unpack_from(">H", body)[0], body[4:])


# ---------------------------------------------------------------- Nonce (§3.9)
@dataclass(slots=True)
class Nonce:
    """Nonce payload (RFC 7296 §3.9): 16..256 bytes."""

    ptype: ClassVar[int] = C.NONCE
    data: bytes

    def _body(self) -> bytes:
        return self.data


def _dec_nonce(body: bytes) -> Nonce:
    return Nonce(body)


# ---------------------------------------------------------------- ID (§3.5)
@dataclass(slots=True)
class ID:
    """Identification payload IDi or IDr (RFC 7296 §3.5)."""

    initiator: bool
    """True for IDi (type 35), False for IDr (type 36)."""
    id_type: int
    """ID_FQDN, ID_RFC822_ADDR, ID_IPV4_ADDR, ID_DER_ASN1_DN, ..."""
    data: bytes
    """Identification data."""

    @property
    def ptype(self) -> int:
        return C.IDi if self.initiator else C.IDr

    @property
    def body(self) -> bytes:
        """The payload after the generic header -- what AUTH signs as RestOfIDPayload (§2.15)."""
        return _pack(">B3x", self.id_type) + self.data

    def _body(self) -> bytes:
        return self.body


def _dec_id(body: bytes, initiator: bool) -> ID:
    if len(body) < 4:
        raise DecodeError("ID payload shorter than 4 bytes")
    return ID(initiator, body[0], body[4:])


# ---------------------------------------------------------------- CERT / CERTREQ (§3.6, §3.7)
@dataclass(slots=True)
class Cert:
    """Certificate payload (RFC 7296 §3.6)."""

    ptype: ClassVar[int] = C.CERT
    encoding: int
    """Certificate encoding, 4 = X.509 Certificate - Signature (DER)."""
    data: bytes

    def _body(self) -> bytes:
        return bytes((self.encoding,)) + self.data


@dataclass(slots=True)
class CertReq:
    """Certificate Request payload (RFC 7296 §3.7)."""

    ptype: ClassVar[int] = C.CERTREQ
    encoding: int
    data: bytes
    """For X.509: concatenated SHA-1 hashes of trusted CAs' public keys."""

    def _body(self) -> bytes:
        return bytes((self.encoding,)) + self.data


def _dec_cert(body: bytes) -> Cert:
    if not body:
        raise DecodeError("CERT payload is empty")
    return Cert(body[0], body[1:])


def _dec_certreq(body: bytes) -> CertReq:
    if not body:
        raise DecodeError("CERTREQ payload is empty")
    return CertReq(body[0], body[1:])


# ---------------------------------------------------------------- AUTH (§3.8)
@dataclass(slots=True)
class Auth:
    """Authentication payload (RFC 7296 §3.8)."""

    ptype: ClassVar[int] = C.AUTH
    method: int
    """1 RSA, 2 shared key MIC, 9-11 ECDSA, 14 digital signature (RFC 7427)."""
    data: bytes

    def _body(self) -> bytes:
        return _pack(">B3x", self.method) + self.data


def _dec_auth(body: bytes) -> Auth:
    if len(body) < 4:
        raise DecodeError("AUTH payload shorter than 4 bytes")
    return Auth(body[0], body[4:])


# ---------------------------------------------------------------- Notify (§3.10)
@dataclass(slots=True)
class Notify:
    """Notify payload (RFC 7296 §3.10)."""

    ptype: ClassVar[int] = C.N
    notify_type: int
    protocol: int = 0
    """Protocol ID of the SA it concerns (0 when none, IKE=1, AH=2, ESP=3)."""
    spi: bytes = b""
    data: bytes = b""

    @property
    def is_error(self) -> bool:
        return self.notify_type <= C.NOTIFY_ERROR_MAX

    @property
    def name(self) -> str:
        return C.NOTIFY_NAMES.get(self.notify_type, str(self.notify_type))

    def _body(self) -> bytes:
        return _pack(">BBH", self.protocol, len(self.spi), self.notify_type) + self.spi + self.data


def _dec_notify(body: bytes) -> Notify:
    if len(body) < 4:
        raise DecodeError("Notify payload shorter than 4 bytes")
    proto, spi_size, ntype = _unpack_from(">BBH", body)
    if 4 + spi_size > len(body):
        raise DecodeError("Notify payload SPI overruns the payload")
    return Notify(ntype, proto, body[4:4 + spi_size], body[4 + spi_size:])


# ---------------------------------------------------------------- Delete (§3.11)
@dataclass(slots=True)
class Delete:
    """Delete payload (RFC 7296 §3.11); an IKE SA delete has no SPIs."""

    ptype: ClassVar[int] = C.D
    protocol: int
    spis: list[bytes] = field(default_factory=list)

    def _body(self) -> bytes:
        size = len(self.spis[0]) if self.spis else 0
        return _pack(">BBH", self.protocol, size, len(self.spis)) + b"".join(self.spis)


def _dec_delete(body: bytes) -> Delete:
    if len(body) < 4:
        raise DecodeError("Delete payload shorter than 4 bytes")
    proto, size, count = _unpack_from(">BBH", body)
    if len(body) != 4 + size * count:
        raise DecodeError(f"Delete payload: {count} SPIs of {size} bytes do not fill it")
    return Delete(proto, [body[4 + i * size:4 + (i + 1) * size] for i in range(count)])


# ---------------------------------------------------------------- Vendor ID (§3.12)
@dataclass(slots=True)
class VendorID:
    """Vendor ID payload (RFC 7296 §3.12)."""

    ptype: ClassVar[int] = C.V
    data: bytes

    def _body(self) -> bytes:
        return self.data


def _dec_vendor(body: bytes) -> VendorID:
    return VendorID(body)


# ---------------------------------------------------------------- TS (§3.13)
_TS4 = struct.Struct(">BBHHHII")


@dataclass(slots=True)
class TS:
    """Traffic Selector payload TSi or TSr (RFC 7296 §3.13)."""

    initiator: bool
    """True for TSi (type 44), False for TSr (type 45)."""
    selectors: list[TrafficSelector]
    """IPv4 address-range selectors (TS_IPV4_ADDR_RANGE)."""
    others: list[bytes] = field(default_factory=list)
    """Raw selectors of other types (e.g. IPv6), kept for round trip."""

    @property
    def ptype(self) -> int:
        return C.TSi if self.initiator else C.TSr

    def _body(self) -> bytes:
        pk = _TS4.pack
        parts = [_pack(">B3x", len(self.selectors) + len(self.others))]
        for s in self.selectors:
            parts.append(pk(C.TS_IPV4_ADDR_RANGE, s.proto, 16, s.port_start, s.port_end,
                            s.start, s.end))
        parts.extend(self.others)
        return b"".join(parts)


def _dec_ts(body: bytes, initiator: bool) -> TS:
    if len(body) < 4:
        raise DecodeError("TS payload shorter than 4 bytes")
    count = body[0]
    off, sels, others = 4, [], []
    for _ in range(count):
        ts_type, proto, slen = _unpack_from(">BBH", body, off)
        if slen < 8 or off + slen > len(body):
            raise DecodeError(f"traffic selector length {slen} is invalid")
        if ts_type == C.TS_IPV4_ADDR_RANGE:
            if slen != 16:
                raise DecodeError(f"TS_IPV4_ADDR_RANGE of length {slen}, expected 16")
            _, _, _, ps, pe, start, end = _TS4.unpack_from(body, off)
            sels.append(TrafficSelector(start, end, proto, ps, pe))
        else:
            others.append(body[off:off + slen])
        off += slen
    if off != len(body):
        raise DecodeError(f"TS payload: {count} selectors do not fill the payload")
    return TS(initiator, sels, others)


# ---------------------------------------------------------------- CP (§3.15)
@dataclass(slots=True)
class CP:
    """Configuration payload (RFC 7296 §3.15)."""

    ptype: ClassVar[int] = C.CP
    cfg_type: int
    """CFG_REQUEST=1, CFG_REPLY=2, CFG_SET=3, CFG_ACK=4."""
    attributes: list[tuple[int, bytes]] = field(default_factory=list)
    """(attribute type, value) pairs; an empty value asks for one."""

    def _body(self) -> bytes:
        parts = [_pack(">B3x", self.cfg_type)]
        for atype, value in self.attributes:
            parts.append(_pack(">HH", atype & 0x7FFF, len(value)))
            parts.append(value)
        return b"".join(parts)


def _dec_cp(body: bytes) -> CP:
    if len(body) < 4:
        raise DecodeError("CP payload shorter than 4 bytes")
    attrs = []
    off = 4
    while off < len(body):
        atype, alen = _unpack_from(">HH", body, off)
        if off + 4 + alen > len(body):
            raise DecodeError("CP attribute overruns the payload")
        attrs.append((atype & 0x7FFF, body[off + 4:off + 4 + alen]))
        off += 4 + alen
    return CP(body[0], attrs)


# ---------------------------------------------------------------- EAP (§3.16)
@dataclass(slots=True)
class EapPayload:
    """EAP payload (RFC 7296 §3.16): one whole EAP packet (RFC 3748 §4), ``eap/packet.py``."""

    ptype: ClassVar[int] = C.EAP
    data: bytes
    """The EAP packet: Code, Identifier, Length, [Type, Type-Data]."""

    def _body(self) -> bytes:
        return self.data

    def label(self) -> str:
        """charon's ``EAP/REQ/MD5``, ``EAP/RES/ID``, ``EAP/SUCC`` (``encoding/message.c``)."""
        d = self.data
        code = {1: "REQ", 2: "RES", 3: "SUCC", 4: "FAIL"}.get(d[0] if d else 0, "?")
        if code in ("SUCC", "FAIL") or len(d) < 5:
            return f"EAP/{code}"
        short = {1: "ID", 2: "NTF", 3: "NAK", 4: "MD5", 13: "TLS", 26: "MSCHAPV2"}
        return f"EAP/{code}/{short.get(d[4], str(d[4]))}"


# ---------------------------------------------------------------- SK placeholder, unknown
@dataclass(slots=True)
class Encrypted:
    """An SK payload left encrypted (decode without an :class:`SkCipher`)."""

    ptype: ClassVar[int] = C.SK
    first_payload: int
    """Type of the first payload inside (the SK header's Next Payload field)."""
    data: bytes
    """IV || ciphertext || ICV."""

    def _body(self) -> bytes:
        return self.data


@dataclass(slots=True)
class Unknown:
    """A payload this codec does not parse, kept as bytes (e.g. EAP, or an unassigned type)."""

    ptype: int
    critical: bool
    """The Critical bit (§3.2); set on an unknown type the receiver must reject the message."""
    data: bytes

    def _body(self) -> bytes:
        return self.data


Payload = SA | KE | Nonce | ID | Cert | CertReq | Auth | Notify | Delete | VendorID | TS | CP | \
    EapPayload | Encrypted | Unknown

DECODERS: dict[int, Callable[[bytes], Payload]] = {
    C.SA: _dec_sa,
    C.KE: _dec_ke,
    C.IDi: partial(_dec_id, initiator=True),
    C.IDr: partial(_dec_id, initiator=False),
    C.CERT: _dec_cert,
    C.CERTREQ: _dec_certreq,
    C.AUTH: _dec_auth,
    C.NONCE: _dec_nonce,
    C.N: _dec_notify,
    C.D: _dec_delete,
    C.V: _dec_vendor,
    C.TSi: partial(_dec_ts, initiator=True),
    C.TSr: partial(_dec_ts, initiator=False),
    C.CP: _dec_cp,
    C.EAP: EapPayload,
}
"""Payload type -> function(body bytes) -> payload object."""
