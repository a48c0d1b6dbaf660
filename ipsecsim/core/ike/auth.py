"""IKEv2 authentication: the AUTH payload (RFC 7296 §2.15) by pre-shared key or signature.

Both peers sign (or MAC) the same construction, the *signed octets*::

    InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI
    MACedIDForI           = prf(SK_pi, RestOfInitIDPayload)

(and symmetrically for the responder with its own message, the initiator's
nonce and SK_pr). :func:`signed_octets` builds it, then

* a pre-shared key MACs it: ``AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), octets)``
  (:func:`psk_auth`, method 2);
* a private key signs it: RSA PKCS#1 v1.5 with SHA-1 (method 1, RFC 7296 §3.8),
  ECDSA with a fixed curve/hash pair and a raw ``r || s`` signature (methods
  9/10/11, RFC 4754 §7), or any key with RFC 7427 "Digital Signature" (method 14):
  the AUTH data then starts with an ASN.1 AlgorithmIdentifier naming the scheme
  and hash, which the peer must have offered in SIGNATURE_HASH_ALGORITHMS.

Every signature is deterministic for a given key (PKCS#1 v1.5 and Ed25519 are
by nature; ECDSA uses RFC 6979 nonces), so a seeded run is reproducible byte
for byte. RSA-PSS draws a random salt and is therefore only *verified* by
default; :class:`LocalCredential` can ask for it (``rsa_pss=True``).

Failures raise :class:`AuthError` with one sentence saying why; the engine
answers it with the AUTHENTICATION_FAILED notify.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ..algorithms import PrfAlg
from . import constants as C
from .certs import (  # noqa: F401 -- AuthError and the certificate checks are part of auth's surface
    _DER,
    AUTHENTICATION_FAILED,
    AuthError,
    _check_time,
    _load,
    ca_key_hash,
    cert_has_identity,
    cert_identities,
    certreq_data,
    requested_cas,
    subject_text,
    verify_chain,
)
from .constants import (
    HASH_IDENTITY,
    HASH_SHA1,
    HASH_SHA2_256,
    HASH_SHA2_384,
    HASH_SHA2_512,
    SIGNATURE_HASH_ALGORITHMS,  # noqa: F401 -- part of auth's surface
)
from .ids import Identity
from .kdf import prf
from .message import Auth

# --- authentication methods (RFC 7296 §3.8; RFC 4754 §3; RFC 7427 §3): the numbers live in
# constants.py; these are the short names the signature code reads best with ---
RSA_SIG = C.AUTH_RSA_SIG
SHARED_KEY_MIC = C.AUTH_SHARED_KEY_MIC
DSS = C.AUTH_DSS_SIG
ECDSA_256 = C.AUTH_ECDSA_SHA256_P256
ECDSA_384 = C.AUTH_ECDSA_SHA384_P384
ECDSA_521 = C.AUTH_ECDSA_SHA512_P521
DIGITAL_SIGNATURE = C.AUTH_DIGITAL_SIGNATURE

AUTH_METHOD_NAMES: dict[int, str] = {
    RSA_SIG: "RSA signature",
    SHARED_KEY_MIC: "pre-shared key",
    DSS: "DSS signature",
    ECDSA_256: "ECDSA-256 signature",
    ECDSA_384: "ECDSA-384 signature",
    ECDSA_521: "ECDSA-521 signature",
    DIGITAL_SIGNATURE: "digital signature (RFC 7427)",
}

# Hash algorithms of the SIGNATURE_HASH_ALGORITHMS notify (RFC 7427 §4; RFC 8420 §2):
# HASH_SHA1 .. HASH_SHA2_512 and HASH_IDENTITY (no separate hash: Ed25519 hashes itself),
# imported from constants.py with the notify type.
HASH_NAMES: dict[int, str] = {
    HASH_SHA1: "SHA-1",
    HASH_SHA2_256: "SHA-256",
    HASH_SHA2_384: "SHA-384",
    HASH_SHA2_512: "SHA-512",
    HASH_IDENTITY: "Identity",
}
SUPPORTED_HASHES: frozenset[int] = frozenset(
    {HASH_SHA2_256, HASH_SHA2_384, HASH_SHA2_512, HASH_IDENTITY}
)
"""What we announce in SIGNATURE_HASH_ALGORITHMS (SHA-1 is verified but not offered)."""

_HASHES: dict[int, type[hashes.HashAlgorithm]] = {
    HASH_SHA1: hashes.SHA1,
    HASH_SHA2_256: hashes.SHA256,
    HASH_SHA2_384: hashes.SHA384,
    HASH_SHA2_512: hashes.SHA512,
}


KEY_PAD = b"Key Pad for IKEv2"
"""RFC 7296 §2.15: the pad that turns a shared secret into the AUTH key."""


# --- RFC 7427 Appendix A: AlgorithmIdentifier encodings, typed in from the RFC ---
# Each entry: the DER AlgorithmIdentifier that follows the 1-byte length in the
# AUTH data of method 14.

# A.1.1 sha1WithRSAEncryption (1.2.840.113549.1.1.5), NULL parameters
ALGID_SHA1_RSA = bytes.fromhex("300d06092a864886f70d0101050500")
# A.1.2 sha256WithRSAEncryption (1.2.840.113549.1.1.11)
ALGID_SHA256_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")
# A.1.3 sha384WithRSAEncryption (1.2.840.113549.1.1.12)
ALGID_SHA384_RSA = bytes.fromhex("300d06092a864886f70d01010c0500")
# A.1.4 sha512WithRSAEncryption (1.2.840.113549.1.1.13)
ALGID_SHA512_RSA = bytes.fromhex("300d06092a864886f70d01010d0500")
# A.3.1 ecdsa-with-sha1 (1.2.840.10045.4.1), parameters absent
ALGID_ECDSA_SHA1 = bytes.fromhex("300906072a8648ce3d0401")
# A.3.2 ecdsa-with-sha256 (1.2.840.10045.4.3.2)
ALGID_ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")
# A.3.3 ecdsa-with-sha384 (1.2.840.10045.4.3.3)
ALGID_ECDSA_SHA384 = bytes.fromhex("300a06082a8648ce3d040303")
# A.3.4 ecdsa-with-sha512 (1.2.840.10045.4.3.4)
ALGID_ECDSA_SHA512 = bytes.fromhex("300a06082a8648ce3d040304")
# A.4.3 RSASSA-PSS with SHA-256 (1.2.840.113549.1.1.10): hashAlgorithm sha256,
# maskGenAlgorithm mgf1 with sha256, saltLength 32
ALGID_RSA_PSS_SHA256 = bytes.fromhex(
    "304106092a864886f70d01010a3034a00f300d06096086480165030402010500"
    "a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120"
)
# The same RSASSA-PSS-params (RFC 4055 §3.1) with SHA-384 / SHA-512 and salt = hash length:
# only the hash OID's last arc (02/03) and the saltLength byte differ from A.4.3.
ALGID_RSA_PSS_SHA384 = (
    ALGID_RSA_PSS_SHA256.replace(bytes.fromhex("6086480165030402010500"),
                                 bytes.fromhex("6086480165030402020500"))[:-1] + b"\x30"
)
ALGID_RSA_PSS_SHA512 = (
    ALGID_RSA_PSS_SHA256.replace(bytes.fromhex("6086480165030402010500"),
                                 bytes.fromhex("6086480165030402030500"))[:-1] + b"\x40"
)
# RFC 8420 §3 (and its Appendix A): id-Ed25519 (1.3.101.112), parameters absent
ALGID_ED25519 = bytes.fromhex("300506032b6570")


@dataclass(frozen=True, slots=True)
class SigScheme:
    """One signature scheme as RFC 7427 names it by AlgorithmIdentifier."""

    name: str
    """Human name, e.g. ``ECDSA with SHA-256``."""
    key: str
    """Key kind it needs: ``RSA``, ``ECDSA`` or ``Ed25519``."""
    hash_id: int
    """RFC 7427 hash algorithm number (``HASH_*``)."""
    alg_id: bytes
    """DER AlgorithmIdentifier (RFC 7427 Appendix A)."""
    pss: bool = False
    """RSASSA-PSS instead of PKCS#1 v1.5 (RSA only)."""


SCHEMES: tuple[SigScheme, ...] = (
    SigScheme("RSA PKCS#1 v1.5 with SHA-1", "RSA", HASH_SHA1, ALGID_SHA1_RSA),
    SigScheme("RSA PKCS#1 v1.5 with SHA-256", "RSA", HASH_SHA2_256, ALGID_SHA256_RSA),
    SigScheme("RSA PKCS#1 v1.5 with SHA-384", "RSA", HASH_SHA2_384, ALGID_SHA384_RSA),
    SigScheme("RSA PKCS#1 v1.5 with SHA-512", "RSA", HASH_SHA2_512, ALGID_SHA512_RSA),
    SigScheme("RSASSA-PSS with SHA-256", "RSA", HASH_SHA2_256, ALGID_RSA_PSS_SHA256, pss=True),
    SigScheme("RSASSA-PSS with SHA-384", "RSA", HASH_SHA2_384, ALGID_RSA_PSS_SHA384, pss=True),
    SigScheme("RSASSA-PSS with SHA-512", "RSA", HASH_SHA2_512, ALGID_RSA_PSS_SHA512, pss=True),
    SigScheme("ECDSA with SHA-1", "ECDSA", HASH_SHA1, ALGID_ECDSA_SHA1),
    SigScheme("ECDSA with SHA-256", "ECDSA", HASH_SHA2_256, ALGID_ECDSA_SHA256),
    SigScheme("ECDSA with SHA-384", "ECDSA", HASH_SHA2_384, ALGID_ECDSA_SHA384),
    SigScheme("ECDSA with SHA-512", "ECDSA", HASH_SHA2_512, ALGID_ECDSA_SHA512),
    SigScheme("Ed25519", "Ed25519", HASH_IDENTITY, ALGID_ED25519),
)
_BY_ALGID = {s.alg_id: s for s in SCHEMES}

# Methods 9/10/11: the curve, hash and r/s size each one fixes (RFC 4754 §3, §7).
_ECDSA_METHODS: dict[int, tuple[str, int, int]] = {
    ECDSA_256: ("secp256r1", HASH_SHA2_256, 32),
    ECDSA_384: ("secp384r1", HASH_SHA2_384, 48),
    ECDSA_521: ("secp521r1", HASH_SHA2_512, 66),
}
_CURVE_HASH = {"secp256r1": HASH_SHA2_256, "secp384r1": HASH_SHA2_384, "secp521r1": HASH_SHA2_512}

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


# --- credentials ---


@dataclass(frozen=True)
class LocalCredential:
    """How we prove who we are: a pre-shared key, or a private key with its certificate chain."""

    identity: Identity
    """Our IKE identity (sent in IDi/IDr)."""
    psk: bytes | None = None
    """Shared secret for method 2; set exactly one of ``psk`` and ``key``."""
    key: PrivateKey | None = None
    """Private key for signature methods."""
    certs: tuple[bytes, ...] = ()
    """DER certificates to send in CERT payloads: our end-entity certificate first."""
    method: int | None = None
    """Force an AUTH method (e.g. ``RSA_SIG``); ``None`` picks RFC 7427 when the peer offered hashes."""
    rsa_pss: bool = False
    """With method 14 and an RSA key, sign RSASSA-PSS (random salt: not reproducible) instead of PKCS#1 v1.5."""


@dataclass(frozen=True)
class PeerCredential:
    """What we accept from the peer: its identity and how it must prove it."""

    identity: Identity
    """The identity we expect (``%any`` accepts whatever the peer claims)."""
    psk: bytes | None = None
    """Shared secret when the peer authenticates with method 2."""
    anchors: tuple[bytes | x509.Certificate, ...] = ()
    """Trusted CA certificates for signature methods."""
    pinned: bytes | None = None
    """A DER certificate the peer must use exactly (trusted without a CA)."""
    key_type: str | None = None
    """Require this key kind from the peer: ``RSA``, ``ECDSA`` or ``Ed25519`` (``None``: any)."""
    psk_ids: tuple[str, ...] = ()
    """The identities the shared secret was configured for; only words error messages."""
    at: datetime | None = None
    """Check certificate validity at this (timezone-aware) time; ``None`` skips the check."""

    @property
    def wants_signature(self) -> bool:
        return bool(self.anchors) or self.pinned is not None


# --- the AUTH construction ---


def signed_octets(
    message: bytes, peer_nonce: bytes, prf_alg: PrfAlg, sk_p: bytes, id_body: bytes
) -> bytes:
    """RFC 7296 §2.15: ``RealMessage | NonceData | prf(SK_p, RestOfIDPayload)``.

    ``message`` is our whole first message (IKE_SA_INIT request for the initiator,
    response for the responder) as sent; ``peer_nonce`` is the *other* side's
    nonce data; ``sk_p`` is our SK_pi / SK_pr; ``id_body`` is our ID payload body
    from the ID type onward (:attr:`Identity.body`).
    """
    return message + peer_nonce + prf(prf_alg, sk_p, id_body)


def psk_auth(prf_alg: PrfAlg, psk: bytes, octets: bytes) -> bytes:
    """RFC 7296 §2.15: ``prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)``."""
    return prf(prf_alg, prf(prf_alg, psk, KEY_PAD), octets)


def encode_hash_algorithms(hash_ids: Iterable[int]) -> bytes:
    """Notification data of SIGNATURE_HASH_ALGORITHMS: 2-byte hash numbers (RFC 7427 §4)."""
    return b"".join(h.to_bytes(2, "big") for h in sorted(set(hash_ids)))


def decode_hash_algorithms(data: bytes) -> set[int]:
    """The hash numbers of a SIGNATURE_HASH_ALGORITHMS notify (odd trailing byte ignored)."""
    return {int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data) - 1, 2)}


def key_kind(key: PrivateKey | PublicKey) -> str:
    """``RSA``, ``ECDSA`` or ``Ed25519``."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ECDSA"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "Ed25519"
    raise AuthError(f"{type(key).__name__} keys are not supported for IKE authentication")


def _hash(hash_id: int) -> hashes.HashAlgorithm:
    return _HASHES[hash_id]()


def _raw_sign(key: PrivateKey, scheme: SigScheme, data: bytes) -> bytes:
    """Sign ``data``; ECDSA signatures come back DER-encoded (RFC 3279 Ecdsa-Sig-Value)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(_hash(scheme.hash_id), deterministic_signing=True))
    return key.sign(data, *_rsa_padding(scheme))


def _raw_verify(pub: PublicKey, scheme: SigScheme, signature: bytes, data: bytes) -> None:
    """Raise InvalidSignature unless ``signature`` (DER for ECDSA) is good."""
    if isinstance(pub, ed25519.Ed25519PublicKey):
        pub.verify(signature, data)
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        pub.verify(signature, data, ec.ECDSA(_hash(scheme.hash_id)))
    else:
        pub.verify(signature, data, *_rsa_padding(scheme))


def _rsa_padding(scheme: SigScheme) -> tuple[padding.AsymmetricPadding, hashes.HashAlgorithm]:
    """RSASSA-PSS (salt = hash length, MGF1 with the same hash) or PKCS#1 v1.5, and the hash."""
    h = _hash(scheme.hash_id)
    if scheme.pss:
        return padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h
    return padding.PKCS1v15(), h


def _scheme(key: str, hash_id: int, pss: bool = False) -> SigScheme:
    for s in SCHEMES:
        if s.key == key and s.hash_id == hash_id and s.pss == pss:
            return s
    raise AuthError(f"no {key} signature scheme with {HASH_NAMES.get(hash_id, hash_id)}")


def choose_method(key: PrivateKey, peer_hashes: set[int], method: int | None = None,
                  rsa_pss: bool = False) -> tuple[int, SigScheme]:
    """The AUTH method and signature scheme we sign with, given the peer's hash list.

    RFC 7427 method 14 when the peer announced SIGNATURE_HASH_ALGORITHMS with a
    hash our key can use (for ECDSA the hash that matches the curve first, for
    RSA the weakest acceptable SHA-2 first, as strongSwan does); otherwise the
    classic method for the key (RSA_SIG, or ECDSA_256/384/521 by curve). Ed25519
    exists only as method 14 (RFC 8420), so it is used even when the peer did not
    announce the Identity hash.
    """
    kind = key_kind(key)
    if kind == "Ed25519":
        if method not in (None, DIGITAL_SIGNATURE):
            raise AuthError(f"an Ed25519 key can only sign with method 14, not {AUTH_METHOD_NAMES.get(method, method)}")
        return DIGITAL_SIGNATURE, _scheme("Ed25519", HASH_IDENTITY)
    curve = key.curve.name if isinstance(key, ec.EllipticCurvePrivateKey) else None
    if method in (None, DIGITAL_SIGNATURE):
        order = [HASH_SHA2_256, HASH_SHA2_384, HASH_SHA2_512]
        if curve is not None:
            first = _CURVE_HASH.get(curve, HASH_SHA2_256)
            order.remove(first)
            order.insert(0, first)
        for h in order:
            if h in peer_hashes:
                return DIGITAL_SIGNATURE, _scheme(kind, h, pss=rsa_pss and kind == "RSA")
        if method == DIGITAL_SIGNATURE:
            offered = ", ".join(HASH_NAMES.get(h, str(h)) for h in sorted(peer_hashes)) or "none"
            raise AuthError(f"cannot sign with RFC 7427: the peer offered no SHA-2 hash (offered: {offered})")
    if kind == "RSA":
        if method not in (None, RSA_SIG):
            raise AuthError(f"an RSA key cannot sign with {AUTH_METHOD_NAMES.get(method, method)}")
        return RSA_SIG, _scheme("RSA", HASH_SHA1)
    for m, (c, h, _size) in _ECDSA_METHODS.items():
        if c == curve and method in (None, m):
            return m, _scheme("ECDSA", h)
    name = AUTH_METHOD_NAMES.get(method, str(method)) if method is not None else None
    raise AuthError(f"an ECDSA key on {curve} cannot sign with {name}")


def build_auth(cred: LocalCredential, octets: bytes, prf_alg: PrfAlg,
               peer_hashes: set[int] | frozenset[int] = frozenset()) -> Auth:
    """Our AUTH payload over ``octets`` (from :func:`signed_octets`)."""
    if cred.psk is not None:
        if cred.key is not None:
            raise AuthError(f"credential for {cred.identity} holds both a pre-shared key and a private key")
        return Auth(SHARED_KEY_MIC, psk_auth(prf_alg, cred.psk, octets))
    if cred.key is None:
        raise AuthError(f"no pre-shared key or private key is configured for {cred.identity}")
    method, scheme = choose_method(cred.key, set(peer_hashes), cred.method, cred.rsa_pss)
    sig = _raw_sign(cred.key, scheme, octets)
    if method == DIGITAL_SIGNATURE:
        return Auth(method, bytes([len(scheme.alg_id)]) + scheme.alg_id + sig)
    if method in _ECDSA_METHODS:
        size = _ECDSA_METHODS[method][2]
        r, s = decode_dss_signature(sig)
        return Auth(method, r.to_bytes(size, "big") + s.to_bytes(size, "big"))
    return Auth(method, sig)


def describe_auth(auth: Auth) -> str:
    """One line for traces and ladders: method, scheme and size, e.g. ``ECDSA with SHA-256 (RFC 7427), 72 bytes``."""
    if auth.method == DIGITAL_SIGNATURE and auth.data:
        scheme = _BY_ALGID.get(auth.data[1 : 1 + auth.data[0]])
        name = scheme.name if scheme is not None else "unknown algorithm"
        return f"{name} (RFC 7427), {len(auth.data)} bytes"
    return f"{AUTH_METHOD_NAMES.get(auth.method, f'method {auth.method}')}, {len(auth.data)} bytes"


# --- verification ---


def _who(peer_id: Identity | None, expected: PeerCredential) -> str:
    if peer_id is not None and not peer_id.is_any:
        return str(peer_id)
    return "the peer" if expected.identity.is_any else str(expected.identity)


def _a(word: str) -> str:
    return ("an " if word[0] in "AEIOU" else "a ") + word


def _kind_name(kind: str) -> str:
    return {"rsa": "RSA", "ecdsa": "ECDSA", "ed25519": "Ed25519"}.get(kind.lower(), kind)


def _method_text(method: int, scheme: SigScheme | None = None) -> str:
    if scheme is not None:
        return f"{scheme.key} signature ({scheme.name})"
    return AUTH_METHOD_NAMES.get(method, f"authentication method {method}")


def _parse_method14(data: bytes, who: str) -> tuple[SigScheme, bytes]:
    if not data:
        raise AuthError(f"AUTH payload from {who} is empty")
    n = data[0]
    alg_id, sig = data[1 : 1 + n], data[1 + n :]
    if len(alg_id) != n or not sig:
        raise AuthError(f"AUTH payload from {who} is too short for its AlgorithmIdentifier length {n}")
    scheme = _BY_ALGID.get(alg_id)
    if scheme is None:
        raise AuthError(
            f"AUTH payload from {who} names a signature algorithm we do not support "
            f"(AlgorithmIdentifier {alg_id.hex()})"
        )
    return scheme, sig


def verify_auth(
    auth: Auth,
    octets: bytes,
    prf_alg: PrfAlg,
    expected: PeerCredential,
    certs: Sequence[bytes] = (),
    peer_id: Identity | None = None,
    our_hashes: set[int] | frozenset[int] = SUPPORTED_HASHES,
) -> x509.Certificate | None:
    """Check the peer's AUTH payload over ``octets``; raise :class:`AuthError` saying why not.

    ``certs`` are the DER certificates from the peer's CERT payloads (end entity
    first); ``peer_id`` is the identity from its ID payload. Returns the
    certificate that authenticated the peer (``None`` for a pre-shared key).
    """
    who = _who(peer_id, expected)
    if peer_id is not None and not peer_id.matches(expected.identity):
        raise AuthError(f"peer identified itself as {peer_id} but we expect {expected.identity}")
    if auth.method == SHARED_KEY_MIC:
        if expected.psk is None:
            raise AuthError(
                f"{who} authenticated with a pre-shared key but we require a certificate signature"
            )
        if not hmac.compare_digest(psk_auth(prf_alg, expected.psk, octets), auth.data):
            ids = "/".join(expected.psk_ids) or who
            raise AuthError(
                f"AUTH payload from {who} did not verify with the pre-shared key configured for {ids}"
            )
        return None
    if auth.method not in (RSA_SIG, DIGITAL_SIGNATURE, *_ECDSA_METHODS):
        raise AuthError(f"{who} used {_method_text(auth.method)}, which we do not support")

    scheme: SigScheme | None
    if auth.method == DIGITAL_SIGNATURE:
        scheme, signature = _parse_method14(auth.data, who)
        if scheme.hash_id not in our_hashes:
            raise AuthError(
                f"{who} signed with {scheme.name}, but we did not offer "
                f"{HASH_NAMES.get(scheme.hash_id)} in SIGNATURE_HASH_ALGORITHMS"
            )
    elif auth.method == RSA_SIG:
        scheme, signature = _scheme("RSA", HASH_SHA1), auth.data
    else:
        scheme, signature = _scheme("ECDSA", _ECDSA_METHODS[auth.method][1]), auth.data
    if not expected.wants_signature:
        raise AuthError(f"peer used {_method_text(auth.method, scheme)} but we require a pre-shared key")
    if expected.key_type is not None and scheme.key.lower() != expected.key_type.lower():
        raise AuthError(
            f"peer used {scheme.key} signature but we require {_kind_name(expected.key_type)}"
        )

    cert = _peer_cert(certs, expected, who)
    pub = cert.public_key()
    if key_kind(pub) != scheme.key:  # type: ignore[arg-type]
        raise AuthError(
            f"{who} used {_method_text(auth.method, scheme)}, but its certificate "
            f"{subject_text(cert)} holds {_a(key_kind(pub))} key"  # type: ignore[arg-type]
        )
    claimed = peer_id if peer_id is not None else expected.identity
    if not cert_has_identity(cert, claimed):
        have = ", ".join(str(i) for i in cert_identities(cert))
        raise AuthError(
            f"certificate {subject_text(cert)} does not vouch for identity {claimed} "
            f"(it names: {have})"
        )
    if auth.method in _ECDSA_METHODS:
        curve, _h, size = _ECDSA_METHODS[auth.method]
        if pub.curve.name != curve:  # type: ignore[union-attr]
            raise AuthError(
                f"{who} used {_method_text(auth.method)}, which needs a {curve} key, "
                f"but its certificate holds a {pub.curve.name} key"  # type: ignore[union-attr]
            )
        if len(signature) != 2 * size:
            raise AuthError(
                f"AUTH payload from {who} holds {len(signature)} bytes; "
                f"{_method_text(auth.method)} is r||s of {2 * size} bytes (RFC 4754 §7)"
            )
        signature = encode_dss_signature(
            int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
        )
    try:
        _raw_verify(pub, scheme, signature, octets)  # type: ignore[arg-type]
    except (InvalidSignature, ValueError):
        raise AuthError(
            f"AUTH payload from {who} did not verify with the public key of certificate "
            f"{subject_text(cert)} ({scheme.name})"
        ) from None
    return cert


def _peer_cert(certs: Sequence[bytes], expected: PeerCredential, who: str) -> x509.Certificate:
    """The certificate that must have signed: pinned, or the first CERT payload's, chain-checked."""
    if expected.pinned is not None:
        pinned = _load(expected.pinned)
        if certs and _load(certs[0]).public_bytes(_DER) != pinned.public_bytes(_DER):
            raise AuthError(
                f"{who} sent certificate {subject_text(_load(certs[0]))}, "
                f"not the pinned certificate {subject_text(pinned)}"
            )
        _check_time(pinned, expected.at)
        return pinned
    if not certs:
        raise AuthError(f"{who} sent no certificate and none is configured for it")
    verify_chain(certs[0], expected.anchors, certs[1:], at=expected.at)
    return _load(certs[0])

