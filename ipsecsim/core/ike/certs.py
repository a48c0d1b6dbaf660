"""X.509 for IKE: which identities a certificate vouches for, CERTREQ hashes, chain checks.

The certificate side of authentication (RFC 7296 §3.6, §3.7; RFC 5280 path
rules cut down to what IKE peers need: issuer name, signature, CA flag and,
when asked, validity). Everything that refuses raises :class:`AuthError`
with a sentence saying why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from ..errors import IpsecSimError
from .constants import AUTHENTICATION_FAILED
from .ids import (
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

_DER = serialization.Encoding.DER


class AuthError(IpsecSimError):
    """The peer's (or our) authentication failed; the message is a sentence saying why."""

    notify = AUTHENTICATION_FAILED
    """The notify type this error is answered with (RFC 7296 §3.10.1)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _load(cert: bytes | x509.Certificate) -> x509.Certificate:
    if isinstance(cert, x509.Certificate):
        return cert
    try:
        return x509.load_der_x509_certificate(cert)
    except ValueError as exc:
        raise AuthError(f"a CERT payload does not hold a DER X.509 certificate ({exc})") from None


def subject_text(cert: x509.Certificate) -> str:
    """The certificate's subject as ``C=.., O=.., CN=..``."""
    return dn_to_text(cert.subject) or "(empty subject)"


def cert_identities(cert: x509.Certificate) -> list[Identity]:
    """Every identity a certificate vouches for: its subject DN and its subjectAltNames."""
    ids = [Identity(ID_DER_ASN1_DN, cert.subject.public_bytes())]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ids
    for gn in san:
        if isinstance(gn, x509.DNSName):
            ids.append(Identity(ID_FQDN, gn.value.encode()))
        elif isinstance(gn, x509.RFC822Name):
            ids.append(Identity(ID_RFC822_ADDR, gn.value.encode()))
        elif isinstance(gn, x509.IPAddress):
            ip = gn.value
            if isinstance(ip, IPv4Address | IPv6Address):  # a network (8/32 bytes) is no identity
                ids.append(Identity(ID_IPV4_ADDR if ip.version == 4 else ID_IPV6_ADDR, ip.packed))
        elif isinstance(gn, x509.DirectoryName):
            ids.append(Identity(ID_DER_ASN1_DN, gn.value.public_bytes()))
    return ids


def _same_dn(a: bytes, b: bytes) -> bool:
    """DN equality by attribute type and value (string encodings may differ)."""
    try:
        na, nb = parse_dn_der(a), parse_dn_der(b)
    except ValueError:
        return a == b
    flat = [[(x.oid, x.value) for x in rdn] for rdn in na.rdns]
    return flat == [[(x.oid, x.value) for x in rdn] for rdn in nb.rdns]


def cert_has_identity(cert: x509.Certificate, identity: Identity) -> bool:
    """Whether the certificate vouches for ``identity`` (subject DN, SAN, or key id)."""
    if identity.is_any:
        return True
    if identity.id_type == ID_KEY_ID:
        try:
            ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        except x509.ExtensionNotFound:
            return False
        return ski.digest == identity.data
    for have in cert_identities(cert):
        if have.id_type != identity.id_type:
            continue
        if have.id_type == ID_DER_ASN1_DN and _same_dn(have.data, identity.data):
            return True
        if have.id_type in (ID_FQDN, ID_RFC822_ADDR) and have.data.lower() == identity.data.lower():
            return True
        if have.data == identity.data:
            return True
    return False


def ca_key_hash(cert: bytes | x509.Certificate) -> bytes:
    """SHA-1 of the CA's SubjectPublicKeyInfo: how CERTREQ names a CA (RFC 7296 §3.7)."""
    if isinstance(cert, bytes):
        return _der_key_hash(cert)  # every IKE_SA_INIT/IKE_AUTH asks again: parse each CA once
    spki = cert.public_key().public_bytes(_DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha1(spki).digest()


@lru_cache(maxsize=256)
def _der_key_hash(der: bytes) -> bytes:
    return ca_key_hash(_load(der))


def certreq_data(anchors: Sequence[bytes | x509.Certificate]) -> bytes:
    """Certification Authority field of a CERTREQ (encoding 4, X.509 signature): the hashes concatenated."""
    return b"".join(ca_key_hash(a) for a in anchors)


def requested_cas(data: bytes, anchors: Sequence[bytes | x509.Certificate]) -> list[x509.Certificate]:
    """The certificates among ``anchors`` that a received CERTREQ's data asks for."""
    wanted = {data[i : i + 20] for i in range(0, len(data) - 19, 20)}
    return [c for c in (_load(a) for a in anchors) if ca_key_hash(c) in wanted]


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _check_time(cert: x509.Certificate, at: datetime | None) -> None:
    if at is None:
        return
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise AuthError(
            f"certificate for {subject_text(cert)} is not valid at {at.isoformat()} "
            f"(valid {cert.not_valid_before_utc.date()} to {cert.not_valid_after_utc.date()})"
        )


def verify_chain(
    cert_der: bytes | x509.Certificate,
    anchors: Sequence[bytes | x509.Certificate],
    intermediates: Sequence[bytes | x509.Certificate] = (),
    at: datetime | None = None,
    max_depth: int = 8,
) -> list[x509.Certificate]:
    """Check that the certificate chains up to one of ``anchors``; return the path (leaf first).

    Each step needs the issuer's subject to equal the certificate's issuer name,
    the issuer's key to verify the signature and the issuer to be a CA
    (basicConstraints CA:TRUE). ``intermediates`` are CA certificates the peer
    sent along. Raises :class:`AuthError` with a sentence when no path exists.
    """
    leaf = _load(cert_der)
    trusted = [_load(a) for a in anchors]
    pool = [_load(c) for c in intermediates]
    names = "; ".join(subject_text(a) for a in trusted) or "none configured"
    path = [leaf]
    current = leaf
    _check_time(leaf, at)
    if any(leaf.public_bytes(_DER) == a.public_bytes(_DER) for a in trusted):
        return path
    for _ in range(max_depth):
        for anchor in trusted:
            if _signed_by(current, anchor):
                if not _is_ca(anchor):
                    raise AuthError(
                        f"certificate for {subject_text(current)} is signed by "
                        f"{subject_text(anchor)}, which is not a CA (no basicConstraints CA:TRUE)"
                    )
                _check_time(anchor, at)
                return path + [anchor]
        step = next((c for c in pool if c not in path and _signed_by(current, c) and _is_ca(c)), None)
        if step is None:
            break
        _check_time(step, at)
        path.append(step)
        current = step
    same_name = [a for a in trusted if a.subject == current.issuer]
    if same_name:
        raise AuthError(
            f"certificate for {subject_text(current)} names {dn_to_text(current.issuer)} as issuer, "
            f"but its signature does not verify with that trusted CA's key "
            f"(a different CA with the same name?)"
        )
    raise AuthError(
        f"certificate for {subject_text(leaf)} is not signed by any trusted CA (trusted: {names})"
    )
