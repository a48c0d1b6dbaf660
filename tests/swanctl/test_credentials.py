"""swanctl's credential folders: PEM and DER, key types per folder, encrypted keys.

What swanctl loads from where follows swanctl(8) and src/swanctl/commands/load_creds.c
(x509/, x509ca/, private/, rsa/, ecdsa/, pkcs8/, pubkey/; a key password is the
``secret`` of the ``secrets`` section of the folder's type whose ``file`` names the
key, compared without case).
"""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import serialization

from ipsecsim.core.errors import ConfigError
from ipsecsim.swanctl.convert import key_passwords
from ipsecsim.swanctl.credentials import build, read_private_key
from ipsecsim.swanctl.load import read_credentials
from ipsecsim.swanctl.parser import parse

from .folders import Ca, der_cert, key_bytes, pem_cert, write


@pytest.fixture(scope="module")
def ca() -> Ca:
    return Ca.new()


def test_certificates_pem_and_der_and_anchors(ca):
    key, cert = ca.issue("moon.strongswan.org")
    creds = build("sw", [("x509", "sw/x509/moonCert.der", der_cert(cert)),
                         ("x509ca", "sw/x509ca/ca.pem", pem_cert(ca.cert)),
                         ("private", "sw/private/moonKey.pem", key_bytes(key))])
    moon = creds.cert("x509", "moonCert.der")
    assert moon.pem is False and moon.cert == cert and moon.der == der_cert(cert)
    assert [c.path for c in creds.anchors()] == [os.path.normpath("sw/x509ca/ca.pem")]
    assert creds.anchors()[0].pem is True
    assert creds.key_for(moon) is not None and creds.key_for(moon).path.endswith("moonKey.pem")
    assert [c.path for c in creds.certs_for("moon.strongswan.org")] == [moon.path]
    assert creds.certs_for("C=CH, O=strongSwan Project, CN=moon.strongswan.org") == [moon]
    assert creds.certs_for("sun.strongswan.org") == []


def test_key_formats_per_folder(ca):
    rsa_key, rsa_cert = ca.issue("sun.strongswan.org", rsa_key=True)
    ec_key, ec_cert = ca.issue("moon.strongswan.org")
    creds = build("sw", [
        ("rsa", "sw/rsa/sunKey.pem", key_bytes(rsa_key, "traditional")),      # PKCS#1 PEM
        ("ecdsa", "sw/ecdsa/moonKey.der", key_bytes(ec_key, "traditional", der=True)),  # SEC1 DER
        ("x509", "sw/x509/sun.pem", pem_cert(rsa_cert)),
        ("x509", "sw/x509/moon.pem", pem_cert(ec_cert)),
    ])
    assert creds.problems == {}
    sun_key = creds.key_for(creds.cert("x509", "sun.pem"))
    moon_key = creds.key_for(creds.cert("x509", "moon.pem"))
    assert sun_key is not None and sun_key.folder == "rsa" and sun_key.pem and not sun_key.encrypted
    assert moon_key is not None and moon_key.folder == "ecdsa" and not moon_key.pem


def test_a_key_of_the_wrong_type_for_its_folder_is_skipped_with_a_warning(ca):
    ec_key, _ = ca.issue("moon.strongswan.org")
    creds = build("sw", [("rsa", "sw/rsa/moonKey.pem", key_bytes(ec_key))])
    assert creds.keys == {}
    assert creds.warnings == [f"{os.path.normpath('sw/rsa/moonKey.pem')}: an ECDSA key, "
                              "but rsa/ holds RSA keys only (skipped)"]


def test_garbage_files_are_skipped_and_named():
    creds = build("sw", [("x509", "sw/x509/notes.txt", b"hello"),
                         ("private", "sw/private/empty.pem", b"")])
    assert set(creds.problems.values()) == {"not an X.509 certificate (PEM or DER)",
                                            "not a private key (PEM or DER): " +
                                            creds.problems[os.path.normpath("sw/private/empty.pem")]
                                            .split(": ", 1)[1]}
    with pytest.raises(ConfigError, match=r"sw/x509/notes.txt: not an X.509 certificate"):
        creds.cert("x509", "notes.txt")
    with pytest.raises(ConfigError, match=r"^sw/x509/gone.pem: no such file$"):
        creds.cert("x509", "gone.pem")


SECRETS = """secrets {
   pkcs8-moon {
      file = MOONKEY.PEM
      secret = "not this one"
      secret-2 = "the right one"
   }
   private-other {
      file = other.pem
      secret = wrong
   }
}
"""


def test_encrypted_pkcs8_opened_with_the_matching_secret(ca):
    key, _ = ca.issue("moon.strongswan.org")
    tree, _ = parse(SECRETS, "sw/swanctl.conf")
    pw = key_passwords(tree)
    assert pw[("pkcs8", "moonkey.pem")] == [
        (b"not this one", "sw/swanctl.conf:4 (secrets.pkcs8-moon.secret)"),
        (b"the right one", "sw/swanctl.conf:5 (secrets.pkcs8-moon.secret-2)")]
    creds = build("sw", [("pkcs8", "sw/pkcs8/moonKey.pem",
                          key_bytes(key, password=b"the right one"))], pw)
    got = creds.keys[os.path.normpath("sw/pkcs8/moonKey.pem")]
    assert got.encrypted and got.pem
    assert got.key.private_numbers() == key.private_numbers()


def test_a_wrong_key_password_says_so(ca):
    key, _ = ca.issue("moon.strongswan.org")
    tree, _ = parse(SECRETS, "sw/swanctl.conf")
    with pytest.raises(ConfigError) as err:
        build("sw", [("private", "sw/private/other.pem", key_bytes(key, password=b"right"))],
              key_passwords(tree))
    assert str(err.value) == (f"{os.path.normpath('sw/private/other.pem')}: wrong password: the "
                              "secret configured at sw/swanctl.conf:9 (secrets.private-other."
                              "secret) does not decrypt this key")


def test_an_encrypted_key_without_a_password_is_a_problem_naming_the_secret_to_add(ca):
    key, _ = ca.issue("moon.strongswan.org")
    der = key_bytes(key, password=b"pw", der=True)
    with pytest.raises(ConfigError, match=r"the key is encrypted and no secrets section gives its "
                                          r"password \(secrets \{ pkcs8-NAME \{ file = k.der"):
        read_private_key(der, "k.der", "pkcs8")
    creds = build("sw", [("pkcs8", "sw/pkcs8/k.der", der)])
    assert creds.keys == {} and len(creds.warnings) == 1
    assert "the key is encrypted and no secrets section gives its password" in creds.warnings[0]


def test_pubkey_folder(ca):
    key, _ = ca.issue("moon.strongswan.org")
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    creds = build("sw", [("pubkey", "sw/pubkey/moonPub.pem", pub)])
    assert creds.pubkey("moonPub.pem").key.public_numbers() == key.public_key().public_numbers()


def test_read_credentials_reads_the_folders_and_referenced_files(ca, tmp_path):
    key, cert = ca.issue("moon.strongswan.org")
    outside = write(tmp_path / "elsewhere", {"moon.pem": pem_cert(cert)})
    root = write(tmp_path / "swanctl", {
        "swanctl.conf": f"connections {{ gw {{ local {{ certs = {outside / 'moon.pem'}, "
                        "missing.pem }\n remote { cacerts = sub/ca.der } } }\n",
        "x509ca/sub/ca.der": der_cert(ca.cert),
        "private/moonKey.pem": key_bytes(key),
        "x509crl/ca.crl": b"-",
    })
    tree, _ = parse((root / "swanctl.conf").read_text(), str(root / "swanctl.conf"))
    creds = read_credentials(str(root), tree)
    assert creds.cert("x509", str(outside / "moon.pem")).cert == cert
    assert creds.cert("x509ca", "sub/ca.der").pem is False   # read because it is referenced
    assert creds.problems == {str(root / "x509" / "missing.pem"): "no such file"}
    assert creds.warnings == [f"{root / 'x509crl'}: not modelled by the simulator (ignored): "
                              "certificate revocation lists are not modelled"]
