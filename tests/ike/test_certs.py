"""IKE_AUTH with certificates (auth: pubkey): RSA, ECDSA and Ed25519 from the seeded CA.

RFC 7296 §2.15 (RSA method 1, ECDSA methods 9-11 per RFC 4754) and RFC 7427
(method 14, the only one for Ed25519 per RFC 8420).
"""

from __future__ import annotations

import pytest

from ipsecsim.core.ike import events as E
from ipsecsim.core.ike import states as S
from ipsecsim.core.ike.ca import CertificateAuthority
from ipsecsim.core.rng import Rng
from tests.helpers.ike_pair import Pair, configs
from tests.ike.test_engine import assert_keys_agree, ike_state


def pubkey(key_a: str, key_b: str, remote_id_b: str = "gw-a.example") -> tuple:
    a = {"local": {"auth": "pubkey", "key": key_a}, "remote": {"auth": "pubkey"}}
    b = {"local": {"auth": "pubkey", "key": key_b},
         "remote": {"auth": "pubkey", "id": remote_id_b}}
    return configs(a=a, b=b)


@pytest.mark.parametrize("key_a,key_b", [("ecdsa", "ecdsa"), ("rsa", "ed25519"),
                                         ("ed25519", "rsa")])
def test_certificate_handshake(key_a, key_b):
    ca = CertificateAuthority(Rng(11), "C=CH, O=ipsecsim, CN=Test CA")
    p = Pair(*pubkey(key_a, key_b), ca=ca)
    p.a.start(0.0)
    # IKE_AUTH { IDi, CERT, N(INITIAL_CONTACT), CERTREQ, IDr, AUTH, SA, TSi, TSr } -->
    #                <-- { IDr, CERT, AUTH, SA, TSi, TSr }
    # (strongSwan message.c ike_auth_i_order puts INITIAL_CONTACT between CERT and CERTREQ)
    p.pump()
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    auth_req = [e.payloads for e in p.of("a", E.IkeMessageEvent) if e.exchange == "IKE_AUTH"][0]
    assert "CERT, N(INITIAL_CONTACT), CERTREQ" in auth_req
    sa_b = next(iter(p.b.ike_sas.values()))
    assert sa_b.peer_cert is not None
    assert_keys_agree(p)


def test_untrusted_certificate_fails_authentication():
    ca_a = CertificateAuthority(Rng(11), "CA one")
    ca_b = CertificateAuthority(Rng(12), "CA two")
    p = Pair(*pubkey("ecdsa", "ecdsa"))
    p.a.ca, p.b.ca = ca_a, ca_b
    p.a.start(0.0)
    p.pump()
    fb, = [f for f in p.of("b", E.IkeFailure)]
    assert fb.notify == "AUTHENTICATION_FAILED" and fb.sent_by_us and fb.reason
    assert not p.a.ike_sas and not p.b.ike_sas


def test_wrong_identity_fails_authentication():
    ca = CertificateAuthority(Rng(11), "CA")
    p = Pair(*pubkey("ecdsa", "ecdsa", remote_id_b="someone-else.example"), ca=ca)
    p.a.start(0.0)
    p.pump()
    fb, = p.of("b", E.IkeFailure)
    assert fb.notify == "AUTHENTICATION_FAILED" and "someone-else.example" in fb.reason


def test_certificates_from_pem_files(tmp_path):
    """certs:/key:/cacerts: name PEM files (the `ipsecsim peer` way); no CA object is passed."""
    from ipsecsim.core.ike.ca import cert_pem

    ca = CertificateAuthority(Rng(13), "File CA")
    (tmp_path / "ca.pem").write_bytes(cert_pem(ca.cert))
    sides = {}
    for name, ident in (("a", "gw-a.example"), ("b", "gw-b.example")):
        issued = ca.issue(ident, "ecdsa")
        (tmp_path / f"{name}.pem").write_bytes(issued.cert_pem())
        (tmp_path / f"{name}.key").write_bytes(issued.key_pem())
        sides[name] = {"local": {"auth": "pubkey", "certs": [str(tmp_path / f"{name}.pem")],
                                 "key": str(tmp_path / f"{name}.key")},
                       "remote": {"auth": "pubkey", "cacerts": [str(tmp_path / "ca.pem")]}}
    p = Pair(*configs(a=sides["a"], b=sides["b"]))
    p.a.start(0.0)
    p.pump()
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    assert_keys_agree(p)
    # both ask for certificates from the CA in their cacerts file (RFC 7296 §3.7)
    init_resp = [e.payloads for e in p.of("b", E.IkeMessageEvent) if e.direction == "out"][0]
    auth_req = [e.payloads for e in p.of("a", E.IkeMessageEvent) if e.direction == "out"][1]
    assert "CERTREQ" in init_resp and "CERTREQ" in auth_req


def test_two_children_started_over_one_ike_sa():
    a, b = configs(a={"children": {"voice": {"local_ts": ["10.1.9.0/24"],
                                            "remote_ts": ["10.2.9.0/24"],
                                            "start_action": "start"}}},
                   b={"children": {"voice": {"local_ts": ["10.2.9.0/24"],
                                            "remote_ts": ["10.1.9.0/24"]}}})
    p = Pair(a, b)
    p.a.start(0.0)
    # IKE_SA_INIT, IKE_AUTH (child "net"), then CREATE_CHILD_SA { SA, Ni, TSi, TSr } (child "voice")
    p.pump()
    assert len(p.a.ike_sas) == 1
    assert sorted(k.name for k in p.child_keys("a")) == ["net", "voice"]
    assert sorted(k.name for k in p.child_keys("b")) == ["net", "voice"]
    for i in range(2):
        assert_keys_agree(p, index=i)


def test_garbage_certificate_from_the_peer_is_an_auth_failure_not_a_crash():
    from dataclasses import replace

    ca = CertificateAuthority(Rng(11), "CA")
    p = Pair(*pubkey("ecdsa", "ecdsa"), ca=ca)
    real = p.a.local_credential
    p.a.local_credential = lambda sa: replace(real(sa), certs=(b"\x30\x03garbage",))
    p.a.start(0.0)
    p.pump()
    fb, = p.of("b", E.IkeFailure)
    assert fb.notify == "AUTHENTICATION_FAILED" and not p.b.ike_sas
