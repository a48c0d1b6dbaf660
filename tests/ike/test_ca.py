"""The seeded CA: reproducible DER, real X.509 that cryptography and OpenSSL accept, chain checks."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ipsecsim.core.ike import ca as CA
from ipsecsim.core.ike.auth import AuthError, cert_has_identity
from ipsecsim.core.ike.ca import CertificateAuthority, verify_chain
from ipsecsim.core.ike.ids import Identity, dn_to_text
from ipsecsim.core.rng import Rng
from tests.helpers.oracles import need_tool
from tests.helpers.paths import VECTORS
from tests.interop.fixtures import interop  # noqa: F401 - the fixture


def test_same_seed_same_der_for_every_key_type() -> None:
    a, b = CertificateAuthority(Rng(7)), CertificateAuthority(Rng(7))
    assert a.cert_der == b.cert_der
    for kt in CA.KEY_TYPES:
        x, y = a.issue("gw.example", kt), b.issue("gw.example", kt)
        assert x.cert_der == y.cert_der, kt
        assert x.key_pem() == y.key_pem(), kt


def test_different_seed_different_keys_and_serials() -> None:
    a, b = CertificateAuthority(Rng(7)), CertificateAuthority(Rng(8))
    assert a.cert.serial_number != b.cert.serial_number
    assert a.cert.public_key() != b.cert.public_key()
    for kt in ("ecdsa", "ed25519"):
        assert a.issue("gw.example", kt).cert_der != b.issue("gw.example", kt).cert_der


def test_issue_order_does_not_matter() -> None:
    a, b = CertificateAuthority(Rng(3)), CertificateAuthority(Rng(3))
    a1, a2 = a.issue("one.example"), a.issue("two.example")
    b2, b1 = b.issue("two.example"), b.issue("one.example")
    assert (a1.cert_der, a2.cert_der) == (b1.cert_der, b2.cert_der)
    assert a1.cert.serial_number != a2.cert.serial_number
    # an explicit rng decides alone
    assert a.issue("x.example", rng=Rng("k")).cert_der == b.issue("x.example", rng=Rng("k")).cert_der


@pytest.mark.parametrize(
    "identity, san",
    [
        ("gw.example", x509.DNSName("gw.example")),
        ("@gw.example", x509.DNSName("gw.example")),
        ("alice@corp.example", x509.RFC822Name("alice@corp.example")),
        ("192.0.2.7", x509.IPAddress(ipaddress.ip_address("192.0.2.7"))),
        ("2001:db8::7", x509.IPAddress(ipaddress.ip_address("2001:db8::7"))),
    ],
)
def test_certificate_carries_identity(identity: str, san: x509.GeneralName) -> None:
    issued = CertificateAuthority(Rng(1)).issue(identity)
    cert = x509.load_der_x509_certificate(issued.cert_der)  # cryptography reads what we made
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert list(names) == [san]
    cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert cn == identity.lstrip("@")
    assert cert_has_identity(cert, Identity.parse(identity))
    assert not cert_has_identity(cert, Identity.parse("other.example"))


def test_dn_identity_becomes_the_subject() -> None:
    issued = CertificateAuthority(Rng(1)).issue("C=CH, O=strongSwan, CN=gw")
    cert = x509.load_der_x509_certificate(issued.cert_der)
    assert cert.subject.public_bytes() == Identity.parse("C=CH, O=strongSwan, CN=gw").data
    assert cert.subject.rfc4514_string() == "CN=gw,O=strongSwan,C=CH"
    assert cert_has_identity(cert, issued.identity)


def test_fixed_validity_ca_flags_and_key_match() -> None:
    ca = CertificateAuthority(Rng(1), name="Test Root")
    issued = ca.issue("gw.example", "ecdsa384")
    for c in (ca.cert, issued.cert):
        assert c.not_valid_before_utc == dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        assert c.not_valid_after_utc == dt.datetime(2035, 1, 1, tzinfo=dt.UTC)
    assert ca.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not issued.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert issued.cert.issuer == ca.cert.subject
    assert issued.cert.public_key() == issued.key.public_key()
    assert isinstance(issued.key, ec.EllipticCurvePrivateKey) and issued.key.curve.name == "secp384r1"
    assert isinstance(ca.issue("e.example", "ed25519").key, ed25519.Ed25519PrivateKey)


def test_seeded_rsa_key_is_a_valid_2048_bit_key() -> None:
    key = CertificateAuthority(Rng(7)).issue("gw.example", "rsa").key  # as in the same-seed test
    assert isinstance(key, rsa.RSAPrivateKey)
    n = key.private_numbers()
    assert key.key_size == 2048 and n.public_numbers.e == 65537
    assert n.p * n.q == n.public_numbers.n and n.p != n.q
    # e*d = 1 mod lcm(p-1, q-1) -- (OpenSSL also checked the key when cryptography loaded it)
    assert pow(pow(12345, 65537, n.public_numbers.n), n.d, n.public_numbers.n) == 12345


def test_miller_rabin_on_known_numbers() -> None:
    rng = Rng(0)
    primes = [2, 3, 1999, 2003, 2**127 - 1, 2**89 - 1, 1_000_000_007, 65537]  # M127, M89 Mersenne
    composites = [0, 1, 4, 2**64, 2001, 561, 41041, 825265, 2**128 + 1, (2**61 - 1) * (2**89 - 1),
                  3215031751]
    # 561, 41041, 825265: Carmichael numbers; 3215031751 = 151*751*28351 fools bases 2,3,5,7
    assert all(CA._is_probable_prime(p, rng) for p in primes)
    assert not any(CA._is_probable_prime(c, rng) for c in composites)


def test_verify_chain_good_and_wrong_ca() -> None:
    ca, other = CertificateAuthority(Rng(1)), CertificateAuthority(Rng(2), name="Other CA")
    issued = ca.issue("gw-b.example")
    path = verify_chain(issued.cert_der, [ca.cert_der])
    assert [c.subject for c in path] == [issued.cert.subject, ca.cert.subject]
    with pytest.raises(AuthError, match=r"^certificate for CN=gw-b.example is not signed by any "
                                        r"trusted CA \(trusted: CN=Other CA\)$"):
        verify_chain(issued.cert_der, [other.cert])
    impostor = CertificateAuthority(Rng(3))  # same name "ipsecsim CA", different key
    with pytest.raises(AuthError, match="names CN=ipsecsim CA as issuer, but its signature does not verify"):
        verify_chain(issued.cert_der, [impostor.cert])
    with pytest.raises(AuthError, match="is not valid at 2040-01-01"):
        verify_chain(issued.cert_der, [ca.cert], at=dt.datetime(2040, 1, 1, tzinfo=dt.UTC))


def test_verify_chain_through_an_intermediate_and_refuses_a_leaf_as_ca() -> None:
    root = CertificateAuthority(Rng(1), name="Root")
    sub = CertificateAuthority(Rng(2), name="Sub")
    # let the root sign the sub-CA's key as a CA
    builder = (x509.CertificateBuilder().subject_name(sub.cert.subject).issuer_name(root.cert.subject)
               .public_key(sub.key.public_key()).serial_number(99)
               .not_valid_before(CA.NOT_BEFORE).not_valid_after(CA.NOT_AFTER)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True))
    sub_cert = CA._sign(builder, root.key)
    leaf = sub.issue("deep.example")
    path = verify_chain(leaf.cert_der, [root.cert], intermediates=[sub_cert])
    assert [dn_to_text(c.subject) for c in path] == ["CN=deep.example", "CN=Sub", "CN=Root"]
    with pytest.raises(AuthError, match="not signed by any trusted CA"):
        verify_chain(leaf.cert_der, [root.cert])  # intermediate missing
    # a leaf certificate cannot act as a CA
    fake = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "evil")]))
            .issuer_name(leaf.cert.subject).public_key(leaf.key.public_key()).serial_number(5)
            .not_valid_before(CA.NOT_BEFORE).not_valid_after(CA.NOT_AFTER))
    evil = CA._sign(fake, leaf.key)
    with pytest.raises(AuthError, match="which is not a CA"):
        verify_chain(evil, [leaf.cert])


def test_pem_files_for_swanctl(tmp_path) -> None:
    ca = CertificateAuthority(Rng(1))
    issued = ca.issue("gw-a.example", "ed25519")
    paths = CA.write_swanctl(tmp_path / "swanctl", ca, issued, name="gw-a")
    assert paths["x509ca"] == tmp_path / "swanctl" / "x509ca" / "ipsecsim_CA.pem"
    assert CA.load_pem_certs(paths["x509ca"].read_bytes()) == [ca.cert]
    assert x509.load_pem_x509_certificate(paths["x509"].read_bytes()) == issued.cert
    key = CA.load_pem_key(paths["private"].read_bytes())
    assert key.public_key() == issued.key.public_key()
    assert paths["private"].stat().st_mode & 0o777 == 0o600
    assert paths["private"].read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


@pytest.mark.parametrize("key_type", ["ecdsa", "rsa", "ed25519"])
def test_openssl_verifies_the_chain(tmp_path, key_type: str) -> None:
    """OpenSSL, an independent X.509 implementation, accepts CA and leaf."""
    openssl = need_tool("openssl")
    ca = CertificateAuthority(Rng(5), key_type="ecdsa" if key_type != "rsa" else "rsa")
    issued = ca.issue("gw.example", key_type)
    (tmp_path / "ca.pem").write_bytes(CA.cert_pem(ca.cert))
    (tmp_path / "leaf.pem").write_bytes(issued.cert_pem())
    out = subprocess.run(
        [openssl, "verify", "-attime", str(int(dt.datetime(2030, 1, 1).timestamp())),
         "-CAfile", str(tmp_path / "ca.pem"), str(tmp_path / "leaf.pem")],
        capture_output=True, text=True, env={**os.environ, "OPENSSL_CONF": "/dev/null"},
    )
    assert out.returncode == 0 and out.stdout.strip().endswith(": OK"), out.stdout + out.stderr
    # and it checks the key file matches the certificate
    (tmp_path / "key.pem").write_bytes(issued.key_pem())
    pub_from_key = subprocess.run([openssl, "pkey", "-in", str(tmp_path / "key.pem"), "-pubout"],
                                  capture_output=True, check=True).stdout
    assert pub_from_key == issued.cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


# ---------------------------------------------------------------- strongSwan loads and trusts them


def _capture_module():
    import importlib.util

    path = str(VECTORS / "capture_charon_pubkey.py")
    spec = importlib.util.spec_from_file_location("capture_charon_pubkey", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.oracle
@pytest.mark.parametrize("key_type, id_a, id_b", [
    ("rsa", "a.example", "b.example"),
    ("ed25519", "C=CH, O=ipsecsim, CN=gw-a", "C=CH, O=ipsecsim, CN=gw-b"),
])
def test_strongswan_authenticates_with_our_certificates(interop, key_type, id_a, id_b) -> None:  # noqa: F811
    """Two charons (5.9.8) load our PEM files, trust our CA and establish with ``auth = pubkey``."""
    a, b, _ = _capture_module().establish(interop, key_type, None, id_a, id_b)
    for charon, local, remote in ((a, id_a, id_b), (b, id_b, id_a)):
        sas = charon.wait_for(lambda s: [x for x in s if x.get("state") == "ESTABLISHED"])
        assert sas, charon.log()[-3000:]
        assert (sas[0]["local-id"], sas[0]["remote-id"]) == (local, remote)
    scheme = "RSA_EMSA_PKCS1_SHA2_256" if key_type == "rsa" else "ED25519"
    assert f"authentication of '{id_b}' with {scheme} successful" in a.log()
