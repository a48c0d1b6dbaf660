"""swanctl's credential folders, read with ``cryptography``: certificates, private and public keys.

swanctl(8) ``--load-creds`` loads every file of ``x509/`` (end-entity certificates),
``x509ca/`` (CA certificates: trust anchors), ``private/`` (any private key), ``rsa/``
(RSA keys), ``ecdsa/`` (EC keys), ``pkcs8/`` (PKCS#8, possibly encrypted) and
``pubkey/`` (raw public keys), each PEM or DER (``src/swanctl/commands/load_creds.c``).
An encrypted key is opened with the ``secret`` of the ``secrets`` section of its
folder's type whose ``file`` names it (``secrets { private-moon { file = moonKey.pem
secret = ... } }``); the name is compared without case, as swanctl does.

This module reads no file: :func:`build` takes the bytes the loader read. A file that
cannot be used is recorded in :attr:`Credentials.problems` (and a warning), as swanctl
skips it and goes on; it becomes an error only where a connection needs it. A wrong
key password is always an error: it was configured and it is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ..core.errors import ConfigError
from ..core.ike.auth import PrivateKey, PublicKey
from ..core.ike.certs import cert_has_identity
from ..core.ike.ids import Identity

CERT_FOLDERS = ("x509", "x509ca")
"""Certificate folders: end-entity certificates, CA certificates (trust anchors)."""
KEY_FOLDERS = ("private", "rsa", "ecdsa", "pkcs8")
"""Private key folders, in the order swanctl loads them."""
PUBKEY_FOLDER = "pubkey"
"""Raw public keys (``pubkeys =``)."""
FOLDERS = (*CERT_FOLDERS, *KEY_FOLDERS, PUBKEY_FOLDER)
"""Every folder this module reads."""
UNMODELLED_FOLDERS = {
    "x509crl": "certificate revocation lists are not modelled",
    "x509ocsp": "OCSP signer certificates are not modelled",
    "x509aa": "attribute authority certificates are not modelled",
    "x509ac": "attribute certificates are not modelled",
    "pkcs12": "PKCS#12 containers are not modelled",
    "bliss": "BLISS keys are not modelled",
}
"""swanctl folders the simulator does not read; the loader warns when one holds files."""

Password = tuple[bytes, str]
"""A key password and where it was configured (``FILE:LINE: secrets.private-x``)."""


@dataclass(frozen=True)
class CertFile:
    """A certificate read from a swanctl folder."""

    folder: str
    """``x509`` or ``x509ca`` (or the folder a reference implied)."""
    path: str
    """The file (as the loader named it)."""
    cert: x509.Certificate
    """The certificate."""
    pem: bool
    """Whether the file was PEM (else DER)."""

    @property
    def der(self) -> bytes:
        """The certificate in DER."""
        return self.cert.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class KeyFile:
    """A private key read from a swanctl folder."""

    folder: str
    """``private``, ``rsa``, ``ecdsa`` or ``pkcs8``."""
    path: str
    """The file."""
    key: PrivateKey
    """The key, decrypted."""
    pem: bool
    """Whether the file was PEM (else DER)."""
    encrypted: bool
    """Whether the file was encrypted (opened with a ``secrets`` password)."""


@dataclass(frozen=True)
class PubkeyFile:
    """A raw public key read from ``pubkey/``."""

    path: str
    """The file."""
    key: PublicKey
    """The key."""
    pem: bool
    """Whether the file was PEM (else DER)."""


def _spki(key: PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass
class Credentials:
    """Everything the swanctl folders under :attr:`root` hold, by file path."""

    root: str
    """The swanctl folder (``moon/etc/swanctl``); relative references start here."""
    certs: dict[str, CertFile] = field(default_factory=dict)
    """Certificates by path (``x509/`` and ``x509ca/``, and referenced files)."""
    keys: dict[str, KeyFile] = field(default_factory=dict)
    """Private keys by path."""
    pubkeys: dict[str, PubkeyFile] = field(default_factory=dict)
    """Raw public keys by path."""
    problems: dict[str, str] = field(default_factory=dict)
    """Files that could not be used, with why (``no such file``, ``not a certificate``...)."""
    warnings: list[str] = field(default_factory=list)
    """One line per problem file, ``PATH: why (skipped)``."""

    def path(self, folder: str, ref: str) -> str:
        """The file a reference names: absolute as is, else under ``root/folder``."""
        return os.path.normpath(ref if os.path.isabs(ref) else os.path.join(self.root, folder, ref))

    def cert(self, folder: str, ref: str) -> CertFile:
        """The certificate ``ref`` names (``certs = moonCert.pem``); ConfigError naming the file."""
        path = self.path(folder, ref)
        got = self.certs.get(path)
        if got is None:
            raise ConfigError(f"{path}: {self.problems.get(path, 'no such file')}")
        return got

    def pubkey(self, ref: str) -> PubkeyFile:
        """The raw public key ``ref`` names (``pubkeys = moonPub.pem``)."""
        path = self.path(PUBKEY_FOLDER, ref)
        got = self.pubkeys.get(path)
        if got is None:
            raise ConfigError(f"{path}: {self.problems.get(path, 'no such file')}")
        return got

    def key_for(self, cert: CertFile) -> KeyFile | None:
        """The private key whose public key is the certificate's (charon pairs them so)."""
        want = _spki(cert.cert.public_key())  # type: ignore[arg-type]
        for k in self.keys.values():
            if _spki(k.key.public_key()) == want:
                return k
        return None

    def anchors(self) -> list[CertFile]:
        """The CA certificates of ``x509ca/`` (every loaded CA is trusted), in file order."""
        return [c for c in self.certs.values() if c.folder == "x509ca"]

    def certs_for(self, identity: str) -> list[CertFile]:
        """``x509/`` certificates that vouch for ``identity`` (subject or subjectAltName)."""
        ident = Identity.parse(identity)
        return [c for c in self.certs.values()
                if c.folder == "x509" and cert_has_identity(c.cert, ident)]

    def key_problems(self) -> list[str]:
        """Problems of files in the key folders, for a message about a missing key."""
        dirs = {os.path.normpath(os.path.join(self.root, f)) for f in KEY_FOLDERS}
        return [f"{p}: {why}" for p, why in self.problems.items() if os.path.dirname(p) in dirs]


# --------------------------------------------------------------------------- readers


def _is_pem(data: bytes) -> bool:
    return b"-----BEGIN " in data


def read_certificate(data: bytes, path: str) -> tuple[x509.Certificate, bool]:
    """An X.509 certificate from PEM (the first of a bundle) or DER; ``(cert, was_pem)``."""
    try:
        if _is_pem(data):
            return x509.load_pem_x509_certificates(data)[0], True
        return x509.load_der_x509_certificate(data), False
    except ValueError:
        raise ConfigError(f"{path}: not an X.509 certificate (PEM or DER)") from None


def _encrypted(data: bytes) -> bool:
    return _is_pem(data) and (b"ENCRYPTED PRIVATE KEY" in data or b"Proc-Type: 4,ENCRYPTED" in data)


_KINDS: dict[str, tuple[type, ...]] = {
    "private": (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey),
    "pkcs8": (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey),
    "rsa": (rsa.RSAPrivateKey,),
    "ecdsa": (ec.EllipticCurvePrivateKey,),
}


def read_private_key(data: bytes, path: str, folder: str,
                     passwords: Sequence[Password] = ()) -> tuple[PrivateKey, bool, bool]:
    """A private key from PEM or DER (PKCS#8, PKCS#1, SEC1); ``(key, was_pem, was_encrypted)``.

    An encrypted key is tried with each password; none working is a :class:`ConfigError`
    saying the password is wrong (and where it was configured); no password at all says
    which ``secrets`` entry would open it.
    """
    pem = _is_pem(data)
    load = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    encrypted = _encrypted(data)
    if not pem:
        try:
            load(data, password=None)
        except TypeError:
            encrypted = True
        except ValueError:
            pass
    if encrypted and not passwords:
        raise ConfigError(
            f"{path}: the key is encrypted and no secrets section gives its password "
            f"(secrets {{ {folder}-NAME {{ file = {os.path.basename(path)}, secret = ... }} }})")
    key = None
    last = ""
    for password, where in passwords if encrypted else ((b"", ""),):
        try:
            key = load(data, password=password if encrypted else None)
            break
        except ValueError as exc:
            if not encrypted:
                raise ConfigError(f"{path}: not a private key (PEM or DER): {exc}") from None
            last = where
        except TypeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        except Exception as exc:  # cryptography raises UnsupportedAlgorithm for odd keys
            raise ConfigError(f"{path}: cannot read the key: {exc}") from None
    if key is None:
        raise ConfigError(f"{path}: wrong password: the secret configured at {last} "
                          "does not decrypt this key")
    kinds = _KINDS.get(folder, _KINDS["private"])
    if not isinstance(key, kinds):
        what = {"rsa": "RSA", "ecdsa": "ECDSA"}.get(folder, "RSA, ECDSA or Ed25519")
        raise ConfigError(f"{path}: {_kind(key)} key, but {folder}/ holds {what} keys only")
    return key, pem, encrypted  # type: ignore[return-value]


def _kind(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "an RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "an ECDSA"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "an Ed25519"
    return f"a {type(key).__name__}"


def read_public_key(data: bytes, path: str) -> tuple[PublicKey, bool]:
    """A raw public key (SubjectPublicKeyInfo, or PKCS#1 RSA) from PEM or DER."""
    pem = _is_pem(data)
    try:
        if pem:
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_der_public_key(data)
    except (ValueError, TypeError):
        raise ConfigError(f"{path}: not a public key (PEM or DER)") from None
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise ConfigError(f"{path}: {type(key).__name__} keys cannot authenticate IKE here")
    return key, pem


# --------------------------------------------------------------------------- building


def build(root: str, files: Iterable[tuple[str, str, bytes | None]],
          passwords: Mapping[tuple[str, str], Sequence[Password]] | None = None) -> Credentials:
    """:class:`Credentials` from ``(folder, path, data)`` triples (``data`` None: missing).

    ``passwords`` maps ``(folder, file name lower-cased)`` to the passwords that
    ``secrets`` configures for it (see :func:`~ipsecsim.swanctl.convert.key_passwords`).
    Only a wrong password raises; other unusable files become :attr:`Credentials.problems`.
    """
    creds = Credentials(root)
    passwords = passwords or {}
    for folder, path, data in files:
        path = os.path.normpath(path)
        if path in creds.certs or path in creds.keys or path in creds.pubkeys:
            continue
        if data is None:
            creds.problems[path] = "no such file"
            continue
        try:
            if folder in CERT_FOLDERS:
                cert, pem = read_certificate(data, path)
                creds.certs[path] = CertFile(folder, path, cert, pem)
            elif folder in KEY_FOLDERS:
                pw = passwords.get((folder, os.path.basename(path).lower()), ())
                key, pem, enc = read_private_key(data, path, folder, pw)
                creds.keys[path] = KeyFile(folder, path, key, pem, enc)
            elif folder == PUBKEY_FOLDER:
                pub, pem = read_public_key(data, path)
                creds.pubkeys[path] = PubkeyFile(path, pub, pem)
            else:
                raise ValueError(f"unknown credential folder {folder!r}")
        except ConfigError as exc:
            if ": wrong password:" in str(exc):
                raise
            why = str(exc).removeprefix(f"{path}: ")
            creds.problems[path] = why
            creds.warnings.append(f"{path}: {why} (skipped)")
    return creds
