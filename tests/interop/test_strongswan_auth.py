"""IKEv2 AUTH against strongSwan 5.9.8: captured exchanges (tests/vectors) and live charons.

* PSK: charon's AUTH payloads from tests/vectors/charon_ike_*.json verify with our §2.15 code.
* Signatures: charon_pubkey_*.json are two charons using certificates from our seeded CA;
  we re-create the certificates from the seed, verify charon's AUTH, and for RSA and Ed25519
  (deterministic schemes) produce the very same bytes.
* Live (root + charon): charon and ``ipsecsim peer`` authenticate each other with our
  certificates, with RFC 7427 and with the classic methods 1/9/10/11.
"""

from __future__ import annotations

import json
import os

import pytest

from ipsecsim.core import algorithms as A
from ipsecsim.core.ike import auth as AU
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike.auth import (
    ECDSA_256,
    ECDSA_384,
    ECDSA_521,
    RSA_SIG,
    SHARED_KEY_MIC,
    AuthError,
    LocalCredential,
    PeerCredential,
    build_auth,
    psk_auth,
    signed_octets,
    verify_auth,
)
from ipsecsim.core.ike.ca import CertificateAuthority
from ipsecsim.core.ike.ids import Identity
from ipsecsim.core.ike.sk import SkCipher
from ipsecsim.core.rng import Rng
from tests.helpers.paths import VECTORS
from tests.interop.fixtures import interop  # noqa: F401 - the fixture

PRF256 = A.PRF_ALGS[A.PRF_HMAC_SHA2_256]

# ---------------------------------------------------------------- PSK against strongSwan

# The secret tests/vectors/capture_charon_ike.py configured on both charons
# (tests/interop/swanctl.py, site_config's psk default), ids a.example / b.example.
CHARON_PSK = b"a long pre-shared key for interop"
CHARON_SETS = {
    "aes256-sha256-modp2048": ((A.ENCR_AES_CBC, 256), A.AUTH_HMAC_SHA2_256_128, A.PRF_HMAC_SHA2_256),
    "aes256gcm16-prfsha384-ecp384": ((A.ENCR_AES_GCM_16, 256), None, A.PRF_HMAC_SHA2_384),
    "chacha20poly1305-prfsha256-x25519": ((A.ENCR_CHACHA20_POLY1305, 0), None, A.PRF_HMAC_SHA2_256),
}


def _charon_exchange(name: str):
    with open(os.path.join(VECTORS, f"charon_ike_{name}.json")) as f:
        vec = json.load(f)
    encr, integ, prf = CHARON_SETS[name]
    keys = {k: bytes.fromhex(v) for k, v in vec["ike_keys"].items()}
    raw = [bytes.fromhex(m["hex"]) for m in vec["messages"]]

    def sk(side: str) -> SkCipher:
        return SkCipher(A.ENCR_ALGS[encr], A.INTEG_ALGS[integ] if integ else None,
                        keys[f"SK_e{side}"], keys.get(f"SK_a{side}", b""), Rng(0))

    init_req, init_resp = M.decode(raw[0]), M.decode(raw[1])
    auth_req, auth_resp = M.decode(raw[2], sk("i")), M.decode(raw[3], sk("r"))
    return raw, keys, A.PRF_ALGS[prf], init_req, init_resp, auth_req, auth_resp


@pytest.mark.parametrize("name", sorted(CHARON_SETS))
def test_psk_auth_matches_strongswan(name: str) -> None:
    """Both AUTH payloads charon computed verify with our §2.15 code (tests/vectors, charon 5.9.8)."""
    raw, keys, prf, init_req, init_resp, auth_req, auth_resp = _charon_exchange(name)
    ni, nr = init_req.find(M.Nonce).data, init_resp.find(M.Nonce).data
    idi, idr = auth_req.find_id(True), auth_resp.find_id(False)
    a_i, a_r = auth_req.find(M.Auth), auth_resp.find(M.Auth)
    assert a_i.method == a_r.method == SHARED_KEY_MIC

    octets_i = signed_octets(raw[0], nr, prf, keys["SK_pi"], idi.body)
    octets_r = signed_octets(raw[1], ni, prf, keys["SK_pr"], idr.body)
    assert psk_auth(prf, CHARON_PSK, octets_i) == a_i.data
    assert psk_auth(prf, CHARON_PSK, octets_r) == a_r.data
    # the same through the credential API, as the engine calls it
    a_id, b_id = Identity.parse("a.example"), Identity.parse("b.example")
    verify_auth(a_i, octets_i, prf, PeerCredential(a_id, psk=CHARON_PSK), peer_id=a_id)
    ours = build_auth(LocalCredential(b_id, psk=CHARON_PSK), octets_r, prf, set())
    assert (ours.method, ours.data) == (a_r.method, a_r.data)


def test_wrong_psk_is_refused_with_a_sentence() -> None:
    raw, keys, prf, init_req, init_resp, auth_req, _ = _charon_exchange("aes256-sha256-modp2048")
    idi = auth_req.find_id(True)
    octets = signed_octets(raw[0], init_resp.find(M.Nonce).data, prf, keys["SK_pi"], idi.body)
    peer = PeerCredential(Identity.parse("a.example"), psk=b"not the secret",
                          psk_ids=("b.example", "a.example"))
    with pytest.raises(AuthError) as err:
        verify_auth(auth_req.find(M.Auth), octets, prf, peer, peer_id=Identity.from_body(idi.body))
    assert str(err.value) == ("AUTH payload from a.example did not verify with the "
                              "pre-shared key configured for b.example/a.example")
    assert err.value.notify == M.AUTHENTICATION_FAILED


def test_strongswan_offers_the_hashes_we_decode() -> None:
    """charon's SIGNATURE_HASH_ALGORITHMS notify (RFC 7427 §4) decodes to SHA2-256/384/512 + Identity."""
    _, _, _, init_req, init_resp, _, _ = _charon_exchange("aes256-sha256-modp2048")
    for m in (init_req, init_resp):
        n = m.notify(AU.SIGNATURE_HASH_ALGORITHMS)
        assert AU.decode_hash_algorithms(n.data) == {2, 3, 4, 5}
        assert AU.encode_hash_algorithms(AU.SUPPORTED_HASHES) == n.data


# ---------------------------------------------------------------- signatures against strongSwan

# tests/vectors/charon_pubkey_*.json: two charons authenticated with certificates
# from CertificateAuthority(Rng(seed)) (capture_charon_pubkey.py). Re-created here from the seed.


PUBKEY_VECTORS = ["ecdsa", "rsa", "ed25519", "ecdsa384_dn", "ecdsa521_email"]


def _charon_pubkey(name: str):
    with open(os.path.join(VECTORS, f"charon_pubkey_{name}.json")) as f:
        vec = json.load(f)
    keys = {k: bytes.fromhex(v) for k, v in vec["ike_keys"].items()}
    raw = [bytes.fromhex(m["hex"]) for m in vec["messages"]]

    def sk(side: str) -> SkCipher:  # aes256-sha256-x25519
        return SkCipher(A.ENCR_ALGS[(A.ENCR_AES_CBC, 256)], A.INTEG_ALGS[A.AUTH_HMAC_SHA2_256_128],
                        keys[f"SK_e{side}"], keys[f"SK_a{side}"], Rng(0))

    init_req, init_resp = M.decode(raw[0]), M.decode(raw[1])
    auth_req, auth_resp = M.decode(raw[2], sk("i")), M.decode(raw[3], sk("r"))
    ca = CertificateAuthority(Rng(vec["seed"]), key_type=vec["ca_key_type"])
    prf = A.PRF_ALGS[A.PRF_HMAC_SHA2_256]
    id_a, id_b = vec["ids"]
    sides = [  # (their IKE_AUTH, its ID payload, configured id, octets signed, hashes the other offered)
        (auth_req, auth_req.find_id(True), id_a,
         signed_octets(raw[0], init_resp.find(M.Nonce).data, prf, keys["SK_pi"],
                       auth_req.find_id(True).body),
         AU.decode_hash_algorithms(init_resp.notify(AU.SIGNATURE_HASH_ALGORITHMS).data)),
        (auth_resp, auth_resp.find_id(False), id_b,
         signed_octets(raw[1], init_req.find(M.Nonce).data, prf, keys["SK_pr"],
                       auth_resp.find_id(False).body),
         AU.decode_hash_algorithms(init_req.notify(AU.SIGNATURE_HASH_ALGORITHMS).data)),
    ]
    return vec["key_type"], ca, prf, init_req, init_resp, sides


@pytest.mark.parametrize("name", PUBKEY_VECTORS)
def test_charon_signatures_verify_and_carry_our_seeded_certificates(name: str) -> None:
    key_type, ca, prf, _, _, sides = _charon_pubkey(name)
    for msg, idp, ident, octets, _ in sides:
        issued = ca.issue(ident, key_type)
        certs = [c.data for c in msg.find_all(M.Cert)]
        assert certs == [issued.cert_der]  # charon sent exactly the DER the seed gives today
        # charon encoded the configured id as we do (DN: same DER, PrintableString)
        assert (idp.id_type, idp.data) == (issued.identity.id_type, issued.identity.data)
        got = verify_auth(msg.find(M.Auth), octets, prf, ca.peer_credential(ident), certs,
                          peer_id=Identity.from_body(idp.body))
        assert got == issued.cert
        with pytest.raises(AuthError, match="did not verify"):
            verify_auth(msg.find(M.Auth), octets + b"!", prf, ca.peer_credential(ident), certs)


@pytest.mark.parametrize("name, alg_id", [("rsa", AU.ALGID_SHA256_RSA), ("ed25519", AU.ALGID_ED25519)])
def test_deterministic_signatures_equal_charons_bytes(name: str, alg_id: bytes) -> None:
    """Same key, same octets, same RFC 7427 scheme: our AUTH payload is charon's, byte for byte."""
    key_type, ca, prf, _, _, sides = _charon_pubkey(name)
    for msg, _, ident, octets, offered in sides:
        theirs = msg.find(M.Auth)
        ours = build_auth(ca.issue(ident, key_type).credential(), octets, prf, offered)
        assert theirs.data[1:1 + theirs.data[0]] == alg_id
        assert (ours.method, ours.data) == (theirs.method, theirs.data)


@pytest.mark.parametrize("name, alg_id", [("ecdsa384_dn", AU.ALGID_ECDSA_SHA384),
                                          ("ecdsa521_email", AU.ALGID_ECDSA_SHA512)])
def test_we_pick_the_scheme_charon_picks(name: str, alg_id: bytes) -> None:
    """ECDSA signatures differ (charon draws k at random) but the chosen scheme must agree."""
    key_type, ca, prf, _, _, sides = _charon_pubkey(name)
    for msg, _, ident, octets, offered in sides:
        theirs = msg.find(M.Auth)
        ours = build_auth(ca.issue(ident, key_type).credential(), octets, prf, offered)
        assert theirs.data[1:1 + theirs.data[0]] == ours.data[1:1 + ours.data[0]] == alg_id
        verify_auth(ours, octets, prf, ca.peer_credential(ident), [ca.issue(ident, key_type).cert_der])


def test_certreq_names_the_ca_as_charon_does() -> None:
    """RFC 7296 §3.7: CERTREQ carries SHA-1 of the CA's SubjectPublicKeyInfo; charon asked for ours."""
    _, ca, _, _, init_resp, sides = _charon_pubkey("ecdsa")
    for req in (init_resp.find(M.CertReq), sides[0][0].find(M.CertReq)):
        assert req.encoding == 4  # X.509 Certificate - Signature
        assert req.data == AU.certreq_data([ca.cert_der])
        other = CertificateAuthority(Rng("someone else"))
        assert AU.requested_cas(req.data, [other.cert, ca.cert]) == [ca.cert]


# ---------------------------------------------------------------- live: charon <-> ipsecsim peer


def _capture_module():
    import importlib.util

    path = os.path.join(VECTORS, "capture_charon_pubkey.py")
    spec = importlib.util.spec_from_file_location("capture_charon_pubkey", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.oracle
@pytest.mark.parametrize("key_type, initiator, send_cert", [
    ("ecdsa", "charon", "always"), ("rsa", "ipsecsim", "always"),
    ("ed25519", "charon", "always"), ("ecdsa384", "ipsecsim", "always"),
    ("ecdsa", "charon", "ifasked"),
])
def test_charon_and_ipsecsim_authenticate_each_other_with_certificates(
        interop, key_type: str, initiator: str, send_cert: str) -> None:  # noqa: F811
    """charon 5.9.8 verifies the AUTH our build_auth signed, and our verify_auth accepts charon's."""
    from ipsecsim.core.ike.ca import write_swanctl
    from tests.interop.charon import established_child
    from tests.interop.swanctl import site_config

    cap = _capture_module()
    env = interop
    charon_id, peer_id = "charon.example", "ipsecsim.example"
    ca = CertificateAuthority(Rng("live-pubkey"))
    charon = env.charon(env.left, "charon")
    charon_conf = cap.pubkey_config(env.left, env.right, charon_id, peer_id)
    # charon's default (ifasked) sends its CERT only when our CERTREQ asked for it
    charon_conf["connections"]["interop"]["send_cert"] = send_cert
    cap.load_with_creds(charon, ca, ca.issue(charon_id, key_type), charon_conf)
    files = write_swanctl(os.path.join(env.dir, "peer-creds"), ca, ca.issue(peer_id, key_type), "own")
    conf = site_config(env.right.addr, env.left.addr, env.right.inner, env.left.inner, peer_id,
                       charon_id, [cap.PROPOSAL], ["aes128gcm16"],
                       start_action="start" if initiator == "ipsecsim" else None)
    conn = conf["connections"]["interop"]
    conn["local"] = {"auth": "pubkey", "id": peer_id, "certs": [str(files["x509"])],
                     "key": str(files["private"])}
    conn["remote"] = {"auth": "pubkey", "id": charon_id, "cacerts": [str(files["x509ca"])]}
    del conf["secrets"]
    conf.update(listen=env.right.addr, inner_addrs=env.right.inner)
    peer = env.peer(env.right, conf)
    assert peer.wait_log("listening on", timeout=30), peer.log()[-2000:]
    if initiator == "charon":
        charon.initiate("net", "interop", timeout=20)
    child = charon.wait_for(lambda sas: established_child(sas, "net"), timeout=20)
    assert child is not None, charon.log()[-3000:] + peer.log()[-3000:]
    log = charon.log()
    assert f"authentication of '{peer_id}' with " in log and "successful" in log
    assert "received end entity cert \"CN=ipsecsim.example\"" in log
    assert peer.wait_log("ChildSaUp", timeout=10)


@pytest.mark.oracle
@pytest.mark.parametrize("key_type, method, charon_name", [
    ("ecdsa", ECDSA_256, "ECDSA-256 signature"), ("ecdsa384", ECDSA_384, "ECDSA-384 signature"),
    ("ecdsa521", ECDSA_521, "ECDSA-521 signature"), ("rsa", RSA_SIG, "RSA signature"),
])
def test_classic_methods_with_charon(interop, monkeypatch, key_type, method, charon_name) -> None:  # noqa: F811
    """charon with RFC 7427 off (``charon.signature_authentication = no``) uses methods 1/9/10/11:
    it verifies ours (RFC 4754 r||s, PKCS#1 v1.5) and we verify its."""
    import tests.interop.charon as IC
    from ipsecsim.core.ike.ca import write_swanctl
    from tests.interop.charon import established_child
    from tests.interop.swanctl import site_config

    plain = IC.strongswan_conf
    monkeypatch.setattr(IC, "strongswan_conf", lambda *a, **k: plain(*a, **k).replace(
        "charon {", "charon {\n    signature_authentication = no", 1))
    cap = _capture_module()
    env = interop
    charon_id, peer_id = "charon.example", "ipsecsim.example"
    ca = CertificateAuthority(Rng("live-pubkey"))
    charon = env.charon(env.left, "charon")
    charon_conf = cap.pubkey_config(env.left, env.right, charon_id, peer_id)
    charon_conf["connections"]["interop"]["send_cert"] = "always"
    cap.load_with_creds(charon, ca, ca.issue(charon_id, key_type), charon_conf)
    files = write_swanctl(os.path.join(env.dir, "peer-creds"), ca, ca.issue(peer_id, key_type), "own")
    conf = site_config(env.right.addr, env.left.addr, env.right.inner, env.left.inner, peer_id,
                       charon_id, [cap.PROPOSAL], ["aes128gcm16"], start_action="start")
    conn = conf["connections"]["interop"]
    conn["local"] = {"auth": "pubkey", "id": peer_id, "certs": [str(files["x509"])],
                     "key": str(files["private"])}
    conn["remote"] = {"auth": "pubkey", "id": charon_id, "cacerts": [str(files["x509ca"])]}
    del conf["secrets"]
    conf.update(listen=env.right.addr, inner_addrs=env.right.inner)
    peer = env.peer(env.right, conf)
    child = charon.wait_for(lambda sas: established_child(sas, "net"), timeout=30)
    assert child is not None, charon.log()[-3000:] + peer.log()[-3000:]
    log = charon.log()
    assert "HASH_ALG" not in log.split("IKE_SA_INIT response")[-1].split("\n")[0]
    assert f"authentication of '{peer_id}' with {charon_name} successful" in log, log[-3000:]
    assert f"authentication of '{charon_id}' (myself) with {charon_name} successful" in log
