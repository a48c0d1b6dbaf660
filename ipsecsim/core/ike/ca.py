"""A deterministic certificate authority: same seed, byte-identical certificates and keys.

Real X.509 from ``cryptography``; only the randomness is ours. Keys are drawn
from the injected :class:`~ipsecsim.core.rng.Rng` (ECDSA scalars, Ed25519 seeds,
RSA primes found by Miller-Rabin over rng-drawn candidates), serial numbers too,
validity is fixed (2025-01-01 .. 2035-01-01) and every signature the CA makes
is deterministic (RFC 6979 ECDSA, PKCS#1 v1.5, Ed25519). So a seeded run hands
strongSwan and Wireshark the same files every time.

The PEM helpers at the end write what swanctl loads from its ``x509ca/``,
``x509/`` and ``private/`` folders.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from ..rng import Rng
from .auth import LocalCredential, PeerCredential, PrivateKey
from .certs import AuthError, verify_chain  # noqa: F401 -- verify_chain is part of this module's surface
from .ids import (
    ID_DER_ASN1_DN,
    ID_FQDN,
    ID_IPV4_ADDR,
    ID_IPV6_ADDR,
    ID_RFC822_ADDR,
    Identity,
    parse_dn_der,
)

NOT_BEFORE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
"""Fixed start of validity, so the same seed gives the same DER on any day."""
NOT_AFTER = dt.datetime(2035, 1, 1, tzinfo=dt.UTC)
"""Fixed end of validity."""

KEY_TYPES = ("ecdsa", "ecdsa384", "ecdsa521", "rsa", "ed25519")

_CURVES: dict[str, ec.EllipticCurve] = {
    "ecdsa": ec.SECP256R1(),
    "ecdsa384": ec.SECP384R1(),
    "ecdsa521": ec.SECP521R1(),
}
RSA_BITS = 2048
RSA_E = 65537
_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p**0.5) + 1))]


# --- seeded key generation ---


def _is_probable_prime(n: int, rng: Rng, rounds: int = 5) -> bool:
    """Miller-Rabin: base 2 first (rejects almost every composite), then rng-drawn bases.

    Five rounds in all: for the 1024-bit primes of a 2048-bit RSA key FIPS 186-5
    Table B.1 (FIPS 186-4 Table C.3) asks for 4 rounds at error probability
    2**-100 and 5 at 2**-112.
    """
    if n in (2, 3):
        return True
    if n < 2 or n % 2 == 0:
        return False
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for i in range(rounds):
        a = 2 if i == 0 else 2 + rng.int_bits(n.bit_length()) % (n - 3)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _rsa_prime(bits: int, rng: Rng, e: int = RSA_E) -> int:
    """A ``bits``-bit prime p with gcd(p-1, e) = 1 and its two top bits set (so p*q has 2*bits bits)."""
    while True:
        cand = rng.int_bits(bits) | (3 << (bits - 2)) | 1
        # step through odd numbers from the drawn start, cheap sieve first
        for off in range(0, 2 * 2048, 2):
            n = cand + off
            if n.bit_length() != bits:
                break
            if any(n % p == 0 for p in _SMALL_PRIMES):
                continue
            if (n - 1) % e == 0:
                continue
            if _is_probable_prime(n, rng):
                return n


def rsa_key_from_rng(rng: Rng, bits: int = RSA_BITS) -> rsa.RSAPrivateKey:
    """An RSA key (e = 65537) whose primes come from ``rng`` -- same stream, same key."""
    half = bits // 2
    while True:
        p = _rsa_prime(half, rng)
        q = _rsa_prime(bits - half, rng)
        # FIPS 186-4 B.3.1: |p - q| must not be tiny; (astronomically unlikely, checked anyway)
        if p == q or abs(p - q).bit_length() <= half - 100:
            continue
        if p < q:
            p, q = q, p
        phi = (p - 1) * (q - 1)
        d = pow(RSA_E, -1, phi)
        numbers = rsa.RSAPrivateNumbers(
            p=p, q=q, d=d,
            dmp1=rsa.rsa_crt_dmp1(d, p), dmq1=rsa.rsa_crt_dmq1(d, q), iqmp=rsa.rsa_crt_iqmp(p, q),
            public_numbers=rsa.RSAPublicNumbers(RSA_E, p * q),
        )
        return numbers.private_key()


_RSA_CACHE: dict[tuple[int | str, str, int], rsa.RSAPrivateKey] = {}


def _fresh_key(key_type: str, rng: Rng) -> PrivateKey:
    """:func:`key_from_rng` for an rng no draw has been made from yet (a new ``child``).

    Such a stream is named by its (seed, label), so RSA keys -- about 0.5 s each
    in pure Python -- are cached in-process under that name; the result is the
    same key either way.
    """
    if key_type != "rsa":
        return key_from_rng(key_type, rng)
    name = (rng.seed, rng.label, RSA_BITS)
    if name not in _RSA_CACHE:
        _RSA_CACHE[name] = rsa_key_from_rng(rng)
    return _RSA_CACHE[name]


def key_from_rng(key_type: str, rng: Rng) -> PrivateKey:
    """A private key of ``key_type`` (``ecdsa``, ``ecdsa384``, ``ecdsa521``, ``rsa``, ``ed25519``)."""
    if key_type in _CURVES:
        curve = _CURVES[key_type]
        while True:  # rejection sampling: uniform in [1, n-1] without typing in the order n
            try:
                return ec.derive_private_key(rng.int_bits(curve.key_size), curve)
            except ValueError:
                continue
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(rng.bytes(32))
    if key_type == "rsa":
        return rsa_key_from_rng(rng)
    raise ValueError(f"unknown key type {key_type!r} (choose one of {', '.join(KEY_TYPES)})")


def _sign_hash(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name == "secp384r1":
            return hashes.SHA384()
        if key.curve.name == "secp521r1":
            return hashes.SHA512()
    return hashes.SHA256()


def _sign(builder: x509.CertificateBuilder, key: PrivateKey) -> x509.Certificate:
    deterministic = True if isinstance(key, ec.EllipticCurvePrivateKey) else None
    return builder.sign(key, _sign_hash(key), ecdsa_deterministic=deterministic)


def _serial(rng: Rng) -> int:
    """A positive serial of at most 20 octets (RFC 5280 §4.1.2.2), from the rng."""
    return (rng.int_bits(127) | 1 << 126)


def _builder(subject: x509.Name, issuer: x509.Name, pub: CertificatePublicKeyTypes, serial: int,
             ca: bool) -> x509.CertificateBuilder:
    """What the root and every end-entity certificate share: names, key, serial, the fixed
    validity, basicConstraints, keyUsage (certificate and CRL signing only for the CA) and
    the subjectKeyIdentifier -- in this order, which the DER (and so the seed) depends on."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(pub)
        .serial_number(serial)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=ca,
                crl_sign=ca, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
    )


# --- the CA ---


@dataclass(frozen=True)
class Issued:
    """One end-entity certificate with its key."""

    cert: x509.Certificate
    """The certificate."""
    cert_der: bytes
    """Its DER encoding (what goes into a CERT payload)."""
    key: PrivateKey
    """The private key matching the certificate."""
    identity: Identity
    """The IKE identity the certificate vouches for."""
    chain: tuple[bytes, ...] = field(default=())
    """DER of the issuing CA certificate(s) above it (not including the leaf)."""

    def credential(self) -> LocalCredential:
        """A :class:`LocalCredential` that signs with this key and sends this certificate."""
        return LocalCredential(identity=self.identity, key=self.key, certs=(self.cert_der,))

    def key_pem(self) -> bytes:
        return key_pem(self.key)

    def cert_pem(self) -> bytes:
        return cert_pem(self.cert)


def _subject_and_san(identity: Identity, text: str) -> tuple[x509.Name, list[x509.GeneralName]]:
    """Subject DN and subjectAltNames for an identity (CN is the identity's text)."""
    t = identity.id_type
    if t == ID_DER_ASN1_DN:
        return parse_dn_der(identity.data), []
    cn = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])
    if t == ID_FQDN:
        return cn, [x509.DNSName(identity.data.decode())]
    if t == ID_RFC822_ADDR:
        return cn, [x509.RFC822Name(identity.data.decode())]
    if t in (ID_IPV4_ADDR, ID_IPV6_ADDR):
        return cn, [x509.IPAddress(ipaddress.ip_address(identity.data))]
    raise ValueError(f"cannot put identity {text!r} ({identity.type_name}) into a certificate")


class CertificateAuthority:
    """A self-signed root CA whose key, serials and signatures all come from ``rng``."""

    def __init__(self, rng: Rng, name: str = "ipsecsim CA", key_type: str = "ecdsa") -> None:
        self.rng = rng
        self.name = name
        self.key: PrivateKey = _fresh_key(key_type, rng.child("ca-key"))
        self.subject = (
            parse_dn_der(Identity.parse(name).data)
            if "=" in name
            else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        )
        builder = _builder(self.subject, self.subject, self.key.public_key(),
                           _serial(rng.child("ca-serial")), ca=True)
        self.cert: x509.Certificate = _sign(builder, self.key)
        self.cert_der: bytes = self.cert.public_bytes(serialization.Encoding.DER)
        self._issued = 0

    def issue(self, identity: str, key_type: str = "ecdsa", rng: Rng | None = None) -> Issued:
        """A certificate for ``identity`` (strongSwan ID syntax) with a fresh key of ``key_type``.

        The key and serial come from ``rng`` if given, else from a sub-stream of
        the CA's rng named after the identity and key type -- so issuing in a
        different order gives the same certificate for the same identity.
        """
        ident = Identity.parse(identity)
        text = identity.lstrip("@") if ident.id_type == ID_FQDN else str(ident)
        src = rng if rng is not None else self.rng.child(f"issue/{identity}/{key_type}")
        key = _fresh_key(key_type, src.child("key"))
        subject, san = _subject_and_san(ident, text)
        builder = _builder(subject, self.subject, key.public_key(),
                           _serial(src.child("serial")), ca=False).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
            critical=False,
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = _sign(builder, self.key)
        der = cert.public_bytes(serialization.Encoding.DER)
        return Issued(cert, der, key, ident, (self.cert_der,))

    def peer_credential(self, identity: str | Identity, key_type: str | None = None) -> PeerCredential:
        """A :class:`PeerCredential` trusting this CA for a peer claiming ``identity``."""
        ident = identity if isinstance(identity, Identity) else Identity.parse(identity)
        return PeerCredential(identity=ident, anchors=(self.cert_der,), key_type=key_type)

    def verify(self, cert_der: bytes) -> None:
        """Raise :class:`AuthError` unless ``cert_der`` was issued by this CA."""
        verify_chain(cert_der, [self.cert])


# --- PEM files for strongSwan ---


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM (swanctl's ``private/`` folder loads any key type in this form)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_swanctl(swanctl_dir: str | Path, ca: CertificateAuthority, issued: Issued,
                  name: str = "local") -> dict[str, Path]:
    """Write the CA certificate, our certificate and our key where swanctl looks for them.

    Creates ``x509ca/<ca>.pem``, ``x509/<name>.pem`` and ``private/<name>.pem``
    under ``swanctl_dir`` (the key file mode 0600) and returns their paths.
    """
    root = Path(swanctl_dir)
    paths = {
        "x509ca": root / "x509ca" / f"{_file_name(ca.name)}.pem",
        "x509": root / "x509" / f"{name}.pem",
        "private": root / "private" / f"{name}.pem",
    }
    for p in paths.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    paths["x509ca"].write_bytes(cert_pem(ca.cert))
    paths["x509"].write_bytes(issued.cert_pem())
    paths["private"].write_bytes(issued.key_pem())
    paths["private"].chmod(0o600)
    return paths


def _file_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text).strip("_") or "ca"


def load_pem_certs(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle (e.g. a swanctl ``cacerts`` file)."""
    return x509.load_pem_x509_certificates(data)


def load_pem_key(data: bytes) -> PrivateKey:
    """A private key from PEM (PKCS#8, PKCS#1 RSA or SEC1 EC), unencrypted."""
    return checked_key(serialization.load_pem_private_key(data, password=None))


def checked_key(key: Any) -> PrivateKey:
    """``key`` if it can sign IKE AUTH payloads here, else AuthError."""
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise AuthError(f"{type(key).__name__} keys cannot authenticate IKE here (use RSA, ECDSA or Ed25519)")
    return key
