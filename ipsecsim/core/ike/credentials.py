"""Credentials of an IKE endpoint: pre-shared keys from ``secrets``, certificates and trust.

``auth: psk`` takes the secret whose ids match both identities; ``auth: pubkey``
takes ``certs:``/``key:`` PEM files, or else a certificate the endpoint's
``CertificateAuthority`` mints for our identity (``key:`` may then name the key
type: ``ecdsa`` (default), ``ecdsa384``, ``ecdsa521``, ``rsa``, ``ed25519``). Trust
anchors are the endpoint's ``trust`` list, its CA, and ``remote.cacerts`` files.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.serialization import Encoding

from . import message as M
from .auth import AuthError, LocalCredential, PeerCredential, PrivateKey
from .certs import certreq_data
from .config import ConnectionConfig
from .ids import ANY, Identity
from .ikesa import IkeSa, id_text, ident

if TYPE_CHECKING:
    from .endpoint import IkeEndpoint


def local_credential(ep: IkeEndpoint, sa: IkeSa) -> LocalCredential:
    """Our credential for ``sa``: the PSK from ``secrets``, or a key and certificate."""
    conn = sa.conn
    me = ident(conn.local.id or sa.local[0])
    if conn.local.auth == "psk":
        peer = conn.remote.id or (id_text(sa.peer_id) if sa.peer_id else sa.remote[0])
        psk = ep.config.psk(conn.local.id or sa.local[0], peer)
        if psk is None:
            raise AuthError(f"no shared secret for {me} and {peer} in secrets")
        return LocalCredential(me, psk=psk)
    return _pubkey_cred(ep, conn, me)


def _pubkey_cred(ep: IkeEndpoint, conn: ConnectionConfig, ident: Identity) -> LocalCredential:
    from .ca import KEY_TYPES

    if conn.local.certs and conn.local.key and conn.local.key not in KEY_TYPES:
        key = _key_file(conn.local.key, tuple(ep.config.key_passwords(conn.local.key)))
        certs = tuple(der for path in conn.local.certs for der in _pem_file_ders(path))
        return LocalCredential(ident, key=key, certs=certs)
    if ep.ca is None:
        raise AuthError(f"auth: pubkey for {ident} needs certs:/key: files or a CA")
    key_type = conn.local.key or "ecdsa"
    text = conn.local.id or str(ident)
    issued = ep.issued.get(f"{text}/{key_type}")
    if issued is None:
        issued = ep.issued[f"{text}/{key_type}"] = ep.ca.issue(text, key_type)
    return LocalCredential(ident, key=issued.key, certs=(issued.cert_der,))


def _anchors(ep: IkeEndpoint, conn: ConnectionConfig) -> tuple[bytes, ...]:
    out = list(ep.trust)
    if ep.ca is not None:
        out.append(ep.ca.cert_der)
    for path in conn.remote.cacerts:
        out += _pem_file_ders(path)
    return tuple(dict.fromkeys(out))


def peer_credential(ep: IkeEndpoint, sa: IkeSa, peer_id: Identity) -> PeerCredential:
    """What the peer of ``sa`` must prove: its PSK, or a certificate from a trusted CA."""
    conn = sa.conn
    expected = ident(conn.remote.id) if conn.remote.id else ANY
    if conn.remote.auth == "psk":
        local = conn.local.id or sa.local[0]
        peer = conn.remote.id or id_text(peer_id)
        psk = ep.config.psk(local, peer)
        if psk is None:
            raise AuthError(f"no shared secret for {local} and {peer} in secrets")
        return PeerCredential(expected, psk=psk, psk_ids=(local, peer))
    return PeerCredential(expected, anchors=_anchors(ep, conn))


def certreq(ep: IkeEndpoint, conn: ConnectionConfig) -> M.CertReq | None:
    """CERTREQ naming the CAs we trust for ``conn``'s peer: SHA-1 of each CA's
    SubjectPublicKeyInfo (RFC 7296 §3.7). charon sends its certificate only when asked
    this way (its default ``send_cert = ifasked``)."""
    anchors = _anchors(ep, conn)
    if not anchors:
        return None
    return M.CertReq(M.CERT_X509_SIGNATURE, certreq_data(anchors))


@lru_cache(maxsize=256)
def _pem_file_ders(path: str) -> tuple[bytes, ...]:
    """DER of every certificate in a PEM file, or of the one certificate of a DER file (read
    once per path); swanctl takes either (``x509/``, ``x509ca/``)."""
    from cryptography import x509

    from .ca import load_pem_certs

    with open(path, "rb") as fp:
        data = fp.read()
    if data.lstrip().startswith(b"-----"):
        return tuple(c.public_bytes(Encoding.DER) for c in load_pem_certs(data))
    try:
        return (x509.load_der_x509_certificate(data).public_bytes(Encoding.DER),)
    except ValueError as exc:
        raise AuthError(f"{path}: not a certificate (PEM or DER): {exc}") from None


@lru_cache(maxsize=64)
def _key_file(path: str, passwords: tuple[bytes, ...]) -> PrivateKey:
    """A private key file, PEM or DER, opened with the first of ``passwords`` that works when
    it is encrypted (``secrets.private-x { file, secret }``); AuthError says which failed."""
    from cryptography.hazmat.primitives import serialization

    from .ca import checked_key

    with open(path, "rb") as fp:
        data = fp.read()
    pem = data.lstrip().startswith(b"-----")
    load = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    try:
        return checked_key(load(data, password=None))
    except TypeError:  # encrypted
        pass
    except ValueError as exc:
        raise AuthError(f"{path}: not a private key (PEM or DER): {exc}") from None
    if not passwords:
        raise AuthError(f"{path}: the key is encrypted and no secrets entry gives its password "
                        "(secrets: {private-NAME: {file: ..., secret: ...}})")
    for pw in passwords:
        try:
            return checked_key(load(data, password=pw))
        except ValueError:
            continue
    raise AuthError(f"{path}: wrong password: no secret given for this file decrypts it")
