"""Mint the testbed's certificates and keys into its swanctl folders (run once; the files are
checked in, so a run never needs this script).

The names and subjects follow strongSwan's test network (testing/hosts/*, testing/tests/
ikev2/net2net-cert, ikev2/ecdsa-certs, af-alg/rw-cert): a "strongSwan Root CA" (RSA) and
a "strongSwan EC Root CA" (ECDSA), gateways with ``DNS:<host>.strongswan.org`` and road
warriors with ``email:<host>@strongswan.org`` in subjectAltName. The keys are our own
(strongSwan's are not copied). Every folder holds exactly what its swanctl.conf names:

- net2net-cert: RSA certificates in x509/, keys in private/ (moon: PKCS#8 PEM) and rsa/
  (sun: PKCS#1 PEM);
- net2net-ecdsa: ECDSA certificates; moon's key SEC1 PEM in ecdsa/, sun's certificate DER in
  x509/ and its key encrypted PKCS#8 DER in pkcs8/ (opened with ``secrets.pkcs8-sun``);
- rw-cert: moon, carol, dave with RSA certificates; carol's key encrypted PEM in private/
  (``secrets.private-carol``).

    python topologies/strongswan-testbed/mkcerts.py
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = Path(__file__).parent
NOT_BEFORE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2044, 1, 1, tzinfo=dt.UTC)
PASSWORDS = {"sun": "u7SPWQ6zZ3GnVcLz", "carol": "Vh3PqS8kTw2xYb5R"}
"""Key passwords; the same strings are in the folders' swanctl.conf secrets."""


def name(cn: str, ou: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CH"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "strongSwan Project")]
    if ou:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(parts)


def new_key(kind: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(65537, 3072)
    return ec.generate_private_key(ec.SECP384R1() if kind == "ec384" else ec.SECP256R1())


class Ca:
    def __init__(self, cn: str, kind: str) -> None:
        self.key = new_key(kind)
        self.name = name(cn)
        pub = self.key.public_key()
        self.cert = (x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
                     .public_key(pub).serial_number(1)
                     .not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                                  False, False), True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), False)
                     .sign(self.key, hashes.SHA256()))
        self.serial = 1

    def issue(self, host: str, kind: str) -> tuple[x509.Certificate, object]:
        key = new_key(kind)
        self.serial += 1
        gateway = host in ("moon", "sun")
        ident = f"{host}.strongswan.org" if gateway else f"{host}@strongswan.org"
        san = x509.DNSName(ident) if gateway else x509.RFC822Name(ident)
        cert = (x509.CertificateBuilder().subject_name(name(ident, "Research" if gateway else None))
                .issuer_name(self.name).public_key(key.public_key()).serial_number(self.serial)
                .not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
                .add_extension(x509.SubjectAlternativeName([san]), False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.key.public_key()), False)  # type: ignore[arg-type]
                .add_extension(x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if gateway else ExtendedKeyUsageOID.CLIENT_AUTH]),
                    False)
                .sign(self.key, hashes.SHA256()))
        return cert, key


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_bytes(key: object, fmt: str, password: str | None = None, der: bool = False) -> bytes:
    enc = serialization.Encoding.DER if der else serialization.Encoding.PEM
    form = {"pkcs8": serialization.PrivateFormat.PKCS8,
            "traditional": serialization.PrivateFormat.TraditionalOpenSSL}[fmt]
    crypt = (serialization.BestAvailableEncryption(password.encode()) if password
             else serialization.NoEncryption())
    return key.private_bytes(enc, form, crypt)  # type: ignore[attr-defined,no-any-return]


def put(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print(path.relative_to(HERE))


def folder(scenario: str, host: str) -> Path:
    return HERE / scenario / host / "etc" / "swanctl"


def main() -> None:
    rsa_ca = Ca("strongSwan Root CA", "rsa")
    ec_ca = Ca("strongSwan EC Root CA", "ec384")
    # net2net-cert: RSA
    for host, where, fmt in (("moon", "private", "pkcs8"), ("sun", "rsa", "traditional")):
        cert, key = rsa_ca.issue(host, "rsa")
        d = folder("net2net-cert", host)
        put(d / "x509ca" / "strongswanCert.pem", pem(rsa_ca.cert))
        put(d / "x509" / f"{host}Cert.pem", pem(cert))
        put(d / where / f"{host}Key.pem", key_bytes(key, fmt))
    # net2net-ecdsa: ECDSA; sun's certificate DER, its key encrypted PKCS#8 DER
    d = folder("net2net-ecdsa", "moon")
    cert, key = ec_ca.issue("moon", "ec256")
    put(d / "x509ca" / "strongswan_ecCert.pem", pem(ec_ca.cert))
    put(d / "x509" / "moonCert.pem", pem(cert))
    put(d / "ecdsa" / "moonKey.pem", key_bytes(key, "traditional"))
    d = folder("net2net-ecdsa", "sun")
    cert, key = ec_ca.issue("sun", "ec256")
    put(d / "x509ca" / "strongswan_ecCert.pem", pem(ec_ca.cert))
    put(d / "x509" / "sunCert.der", cert.public_bytes(serialization.Encoding.DER))
    put(d / "pkcs8" / "sunKey.der", key_bytes(key, "pkcs8", PASSWORDS["sun"], der=True))
    # rw-cert: moon and two road warriors, RSA; carol's key encrypted
    for host in ("moon", "carol", "dave"):
        cert, key = rsa_ca.issue(host, "rsa")
        d = folder("rw-cert", host)
        put(d / "x509ca" / "strongswanCert.pem", pem(rsa_ca.cert))
        put(d / "x509" / f"{host}Cert.pem", pem(cert))
        put(d / "private" / f"{host}Key.pem", key_bytes(key, "pkcs8", PASSWORDS.get(host)))


if __name__ == "__main__":
    main()
