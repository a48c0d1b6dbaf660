"""IKEv2 AUTH: the §2.15 construction, RFC 7427/8420 AlgorithmIdentifiers, RFC 4754 vector, signatures of every kind.

The checks against strongSwan are in tests/interop/test_strongswan_auth.py.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from ipsecsim.core import algorithms as A
from ipsecsim.core.ike import auth as AU
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike.auth import (
    DIGITAL_SIGNATURE,
    ECDSA_256,
    ECDSA_384,
    ECDSA_521,
    RSA_SIG,
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
from ipsecsim.core.rng import Rng

PRF256 = A.PRF_ALGS[A.PRF_HMAC_SHA2_256]
PRF384 = A.PRF_ALGS[A.PRF_HMAC_SHA2_384]

# ---------------------------------------------------------------- the §2.15 construction


def test_signed_octets_from_the_definition() -> None:
    """RFC 7296 §2.15: RealMessage | NonceData | prf(SK_p, RestOfIDPayload)."""
    msg, nonce, sk_p = bytes(range(60)), b"\x11" * 32, b"\x22" * 32
    id_body = b"\x02\x00\x00\x00gw-a.example"
    mac = hmac.new(sk_p, id_body, hashlib.sha256).digest()
    assert signed_octets(msg, nonce, PRF256, sk_p, id_body) == msg + nonce + mac
    mac384 = hmac.new(sk_p, id_body, hashlib.sha384).digest()
    assert signed_octets(msg, nonce, PRF384, sk_p, id_body) == msg + nonce + mac384


def test_psk_auth_from_the_definition() -> None:
    """RFC 7296 §2.15: AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)."""
    psk, octets = b"a long pre-shared key", b"octets" * 10
    key = hmac.new(psk, b"Key Pad for IKEv2", hashlib.sha256).digest()
    assert psk_auth(PRF256, psk, octets) == hmac.new(key, octets, hashlib.sha256).digest()
    assert len(psk_auth(PRF384, psk, octets)) == 48


def test_any_change_of_input_changes_the_psk_auth() -> None:
    base = dict(message=b"M" * 80, peer_nonce=b"N" * 32, sk_p=b"K" * 32,
                id_body=Identity.parse("gw-a.example").body)
    psk = b"secret"
    ref = psk_auth(PRF256, psk, signed_octets(prf_alg=PRF256, **base))
    variants = [
        {**base, "message": b"M" * 79 + b"m"},
        {**base, "peer_nonce": b"N" * 31 + b"n"},
        {**base, "sk_p": b"K" * 31 + b"k"},
        {**base, "id_body": Identity.parse("gw-b.example").body},
        {**base, "id_body": Identity.parse("gw-a.example@x").body},
    ]
    for v in variants:
        assert psk_auth(PRF256, psk, signed_octets(prf_alg=PRF256, **v)) != ref
    assert psk_auth(PRF256, b"secreT", signed_octets(prf_alg=PRF256, **base)) != ref


# ---------------------------------------------------------------- RFC 7427 Appendix A bytes

# RFC 7427 Appendix A, typed in as the RFC prints them (A.1.x RSA, A.3.x ECDSA, A.4.3 PSS).
RFC7427_A = {
    "A.1.1 sha1WithRSAEncryption": "30 0d 06 09 2a 86 48 86 f7 0d 01 01 05 05 00",
    "A.1.2 sha256WithRSAEncryption": "30 0d 06 09 2a 86 48 86 f7 0d 01 01 0b 05 00",
    "A.1.3 sha384WithRSAEncryption": "30 0d 06 09 2a 86 48 86 f7 0d 01 01 0c 05 00",
    "A.1.4 sha512WithRSAEncryption": "30 0d 06 09 2a 86 48 86 f7 0d 01 01 0d 05 00",
    "A.3.1 ecdsa-with-sha1": "30 09 06 07 2a 86 48 ce 3d 04 01",
    "A.3.2 ecdsa-with-sha256": "30 0a 06 08 2a 86 48 ce 3d 04 03 02",
    "A.3.3 ecdsa-with-sha384": "30 0a 06 08 2a 86 48 ce 3d 04 03 03",
    "A.3.4 ecdsa-with-sha512": "30 0a 06 08 2a 86 48 ce 3d 04 03 04",
    "A.4.3 RSASSA-PSS with SHA-256":
        "30 41 06 09 2a 86 48 86 f7 0d 01 01 0a 30 34 a0 0f 30 0d 06 09 60 86 48 01 65 03 04 02 01"
        " 05 00 a1 1c 30 1a 06 09 2a 86 48 86 f7 0d 01 01 08 30 0d 06 09 60 86 48 01 65 03 04 02 01"
        " 05 00 a2 03 02 01 20",
}
OURS = {
    "A.1.1 sha1WithRSAEncryption": AU.ALGID_SHA1_RSA,
    "A.1.2 sha256WithRSAEncryption": AU.ALGID_SHA256_RSA,
    "A.1.3 sha384WithRSAEncryption": AU.ALGID_SHA384_RSA,
    "A.1.4 sha512WithRSAEncryption": AU.ALGID_SHA512_RSA,
    "A.3.1 ecdsa-with-sha1": AU.ALGID_ECDSA_SHA1,
    "A.3.2 ecdsa-with-sha256": AU.ALGID_ECDSA_SHA256,
    "A.3.3 ecdsa-with-sha384": AU.ALGID_ECDSA_SHA384,
    "A.3.4 ecdsa-with-sha512": AU.ALGID_ECDSA_SHA512,
    "A.4.3 RSASSA-PSS with SHA-256": AU.ALGID_RSA_PSS_SHA256,
}


@pytest.mark.parametrize("name", sorted(RFC7427_A))
def test_algorithm_identifiers_are_rfc7427_appendix_a(name: str) -> None:
    assert OURS[name] == bytes.fromhex(RFC7427_A[name].replace(" ", ""))


def test_ed25519_algorithm_identifier_is_rfc8420() -> None:
    # RFC 8420 §3 / Appendix A: id-Ed25519 = 1.3.101.112, no parameters
    assert AU.ALGID_ED25519 == bytes([0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70])


def _cert_signed_with(key, hash_alg, rsa_padding=None) -> bytes:
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "t")])
    import datetime as dt

    b = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(key.public_key()).serial_number(1)
         .not_valid_before(dt.datetime(2025, 1, 1)).not_valid_after(dt.datetime(2026, 1, 1)))
    return b.sign(key, hash_alg, rsa_padding=rsa_padding).public_bytes(serialization.Encoding.DER)


def test_algorithm_identifiers_are_what_openssl_puts_in_certificates() -> None:
    """An independent encoder: the X.509 signatureAlgorithm field carries the same DER (RFC 5280 §4.1.1.2)."""
    rsa_key = CA.issue("gw-b.example", "rsa").key  # the RSA key the other tests use (cached)
    ec_keys = {h: CertificateAuthority(Rng("algid"), key_type=k).key
               for h, k in ((2, "ecdsa"), (3, "ecdsa384"), (4, "ecdsa521"))}
    ed = CertificateAuthority(Rng("algid"), key_type="ed25519").key
    H = {2: hashes.SHA256(), 3: hashes.SHA384(), 4: hashes.SHA512()}
    for s in AU.SCHEMES:
        if s.hash_id == AU.HASH_SHA1:
            continue  # cryptography refuses SHA-1 certificates; A.1.1/A.3.1 checked above
        if s.key == "Ed25519":
            der = _cert_signed_with(ed, None)
        elif s.key == "ECDSA":
            der = _cert_signed_with(ec_keys[s.hash_id], H[s.hash_id])
        elif s.pss:
            h = H[s.hash_id]
            der = _cert_signed_with(rsa_key, h, padding.PSS(padding.MGF1(h), h.digest_size))
        else:
            der = _cert_signed_with(rsa_key, H[s.hash_id])
        # TBSCertificate.signature and the outer signatureAlgorithm; for Ed25519 also the
        # subjectPublicKeyInfo's algorithm (RFC 8410 §3 uses the same identifier for the key)
        assert der.count(s.alg_id) == (3 if s.key == "Ed25519" else 2), s.name


# ---------------------------------------------------------------- RFC 4754 §8.1 vector


def test_rfc4754_ecdsa256_vector_verifies_as_method_9() -> None:
    """RFC 4754 §8.1 (ECDSA-256): their key, message "abc" and signature r||s, through verify_auth."""
    w = int("DC51D386 6A15BACD E33D96F9 92FCA99D A7E6EF09 34E70975 59C27F16 14C88A7F".replace(" ", ""), 16)
    gwx = int("2442A5CC 0ECD015F A3CA31DC 8E2BBC70 BF42D60C BCA20085 E0822CB0 4235E970".replace(" ", ""), 16)
    gwy = int("6FC98BD7 E50211A4 A27102FA 3549DF79 EBCB4BF2 46B80945 CDDFE7D5 09BBFD7D".replace(" ", ""), 16)
    r = "CB28E099 9B9C7715 FD0A80D8 E47A7707 9716CBBF 917DD72E 97566EA1 C066957C"
    s = "86FA3BB4 E26CAD5B F90B7F81 899256CE 7594BB1E A0C89212 748BFF3B 3D5B0315"
    sig = bytes.fromhex((r + s).replace(" ", ""))
    key = ec.derive_private_key(w, ec.SECP256R1())
    pub = key.public_key().public_numbers()
    assert (pub.x, pub.y) == (gwx, gwy)
    # Put their public key in a certificate from our CA, then verify their AUTH data.
    ca = CertificateAuthority(Rng("rfc4754"))
    ident = Identity.parse("rfc4754.example")
    cert = _issue_for_key(ca, key, "rfc4754.example")
    peer = PeerCredential(ident, anchors=(ca.cert_der,))
    verify_auth(M.Auth(ECDSA_256, sig), b"abc", PRF256, peer, [cert])
    bad = sig[:-1] + bytes([sig[-1] ^ 1])
    with pytest.raises(AuthError, match="did not verify with the public key of certificate CN=rfc4754.example"):
        verify_auth(M.Auth(ECDSA_256, bad), b"abc", PRF256, peer, [cert])


def _issue_for_key(ca: CertificateAuthority, key, dns: str) -> bytes:
    import datetime as dt

    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, dns)]))
         .issuer_name(ca.cert.subject).public_key(key.public_key()).serial_number(7)
         .not_valid_before(dt.datetime(2025, 1, 1)).not_valid_after(dt.datetime(2035, 1, 1))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False))
    return b.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


# ---------------------------------------------------------------- signatures, every key and method

CA = CertificateAuthority(Rng("test-auth"))
OCTETS = b"\x01" * 100 + b"nonce" + b"\x02" * 32
ALL_HASHES = AU.SUPPORTED_HASHES

CASES = [  # key type, hashes the peer offered, expected method, expected scheme name
    ("ecdsa", set(), ECDSA_256, "ECDSA with SHA-256"),
    ("ecdsa384", set(), ECDSA_384, "ECDSA with SHA-384"),
    ("ecdsa521", set(), ECDSA_521, "ECDSA with SHA-512"),
    ("rsa", set(), RSA_SIG, "RSA PKCS#1 v1.5 with SHA-1"),
    ("ecdsa", ALL_HASHES, DIGITAL_SIGNATURE, "ECDSA with SHA-256"),
    ("ecdsa384", ALL_HASHES, DIGITAL_SIGNATURE, "ECDSA with SHA-384"),
    ("ecdsa521", ALL_HASHES, DIGITAL_SIGNATURE, "ECDSA with SHA-512"),
    ("rsa", ALL_HASHES, DIGITAL_SIGNATURE, "RSA PKCS#1 v1.5 with SHA-256"),
    ("rsa", {AU.HASH_SHA2_512}, DIGITAL_SIGNATURE, "RSA PKCS#1 v1.5 with SHA-512"),
    ("ed25519", ALL_HASHES, DIGITAL_SIGNATURE, "Ed25519"),
    ("ed25519", set(), DIGITAL_SIGNATURE, "Ed25519"),
]


@pytest.mark.parametrize("key_type, offered, method, scheme", CASES)
def test_sign_verify_round_trip_and_tamper(key_type, offered, method, scheme) -> None:
    issued = CA.issue("gw-b.example", key_type)
    peer = CA.peer_credential("gw-b.example")
    a = build_auth(issued.credential(), OCTETS, PRF256, offered)
    assert a.method == method
    if method == DIGITAL_SIGNATURE:
        n = a.data[0]
        assert AU._BY_ALGID[a.data[1:1 + n]].name == scheme
    cert = verify_auth(a, OCTETS, PRF256, peer, [issued.cert_der], peer_id=issued.identity)
    assert cert is not None and cert.public_bytes(serialization.Encoding.DER) == issued.cert_der
    # same key, same octets: same bytes (RFC 6979 for ECDSA), so seeded runs repeat
    assert build_auth(issued.credential(), OCTETS, PRF256, offered).data == a.data
    with pytest.raises(AuthError) as err:
        verify_auth(a, OCTETS[:-1] + b"\x03", PRF256, peer, [issued.cert_der])
    assert str(err.value) == ("AUTH payload from gw-b.example did not verify with the public "
                              f"key of certificate CN=gw-b.example ({scheme})")


def test_raw_r_s_sizes_follow_rfc4754() -> None:
    for key_type, size in (("ecdsa", 64), ("ecdsa384", 96), ("ecdsa521", 132)):
        a = build_auth(CA.issue("x.example", key_type).credential(), OCTETS, PRF256, set())
        assert len(a.data) == size
    issued = CA.issue("x.example", "ecdsa")
    a = build_auth(issued.credential(), OCTETS, PRF256, set())
    with pytest.raises(AuthError, match=r"holds 63 bytes; ECDSA-256 signature is r\|\|s of 64 bytes"):
        verify_auth(M.Auth(ECDSA_256, a.data[:-1]), OCTETS, PRF256,
                    CA.peer_credential("x.example"), [issued.cert_der])


def test_rsa_pss_round_trip() -> None:
    issued = CA.issue("gw-b.example", "rsa")
    cred = replace(issued.credential(), rsa_pss=True)
    a = build_auth(cred, OCTETS, PRF256, {AU.HASH_SHA2_384})
    assert a.data[1:1 + a.data[0]] == AU.ALGID_RSA_PSS_SHA384
    verify_auth(a, OCTETS, PRF256, CA.peer_credential("gw-b.example"), [issued.cert_der])


def test_forced_classic_method_even_when_hashes_offered() -> None:
    issued = CA.issue("gw-b.example", "rsa")
    a = build_auth(replace(issued.credential(), method=RSA_SIG), OCTETS, PRF256, ALL_HASHES)
    assert a.method == RSA_SIG
    verify_auth(a, OCTETS, PRF256, CA.peer_credential("gw-b.example"), [issued.cert_der])
    with pytest.raises(AuthError, match="an Ed25519 key can only sign with method 14"):
        build_auth(replace(CA.issue("e.example", "ed25519").credential(), method=RSA_SIG),
                   OCTETS, PRF256, set())


# ---------------------------------------------------------------- refusals, each with its sentence


def test_signature_when_we_require_psk() -> None:
    issued = CA.issue("gw-b.example", "rsa")
    a = build_auth(issued.credential(), OCTETS, PRF256, set())
    with pytest.raises(AuthError, match=r"^peer used RSA signature \(RSA PKCS#1 v1.5 with SHA-1\) "
                                        r"but we require a pre-shared key$"):
        verify_auth(a, OCTETS, PRF256, PeerCredential(issued.identity, psk=b"k"), [issued.cert_der])


def test_psk_when_we_require_a_certificate() -> None:
    a = build_auth(LocalCredential(Identity.parse("gw-b.example"), psk=b"k"), OCTETS, PRF256)
    with pytest.raises(AuthError, match="gw-b.example authenticated with a pre-shared key but we "
                                        "require a certificate signature"):
        verify_auth(a, OCTETS, PRF256, CA.peer_credential("gw-b.example"), [])


def test_required_key_type() -> None:
    issued = CA.issue("gw-b.example", "rsa")
    a = build_auth(issued.credential(), OCTETS, PRF256, ALL_HASHES)
    peer = CA.peer_credential("gw-b.example", key_type="ecdsa")
    with pytest.raises(AuthError, match="^peer used RSA signature but we require ECDSA$"):
        verify_auth(a, OCTETS, PRF256, peer, [issued.cert_der])


def test_untrusted_ca() -> None:
    other = CertificateAuthority(Rng("other"), name="other CA")
    issued = other.issue("gw-b.example")
    a = build_auth(issued.credential(), OCTETS, PRF256, ALL_HASHES)
    with pytest.raises(AuthError, match=r"^certificate for CN=gw-b.example is not signed by any "
                                        r"trusted CA \(trusted: CN=ipsecsim CA\)$"):
        verify_auth(a, OCTETS, PRF256, CA.peer_credential("gw-b.example"), [issued.cert_der])


def test_identity_not_in_certificate() -> None:
    issued = CA.issue("gw-c.example")
    a = build_auth(issued.credential(), OCTETS, PRF256, ALL_HASHES)
    with pytest.raises(AuthError, match="does not vouch for identity gw-b.example"):
        verify_auth(a, OCTETS, PRF256, CA.peer_credential("%any"), [issued.cert_der],
                    peer_id=Identity.parse("gw-b.example"))
    with pytest.raises(AuthError, match="identified itself as gw-c.example but we expect gw-b.example"):
        verify_auth(a, OCTETS, PRF256, CA.peer_credential("gw-b.example"), [issued.cert_der],
                    peer_id=issued.identity)
    # %any accepts what the certificate vouches for
    verify_auth(a, OCTETS, PRF256, CA.peer_credential("%any"), [issued.cert_der],
                peer_id=issued.identity)


def test_certificate_key_must_fit_the_method() -> None:
    ec_cert = CA.issue("gw-b.example", "ecdsa")
    rsa_auth = build_auth(CA.issue("gw-b.example", "rsa").credential(), OCTETS, PRF256, set())
    with pytest.raises(AuthError, match="holds an ECDSA key"):
        verify_auth(rsa_auth, OCTETS, PRF256, CA.peer_credential("gw-b.example"), [ec_cert.cert_der])
    p384 = CA.issue("gw-b.example", "ecdsa384")
    a = build_auth(ec_cert.credential(), OCTETS, PRF256, set())
    with pytest.raises(AuthError, match="needs a secp256r1 key, but its certificate holds a secp384r1 key"):
        verify_auth(a, OCTETS, PRF256, CA.peer_credential("gw-b.example"), [p384.cert_der])


def test_hash_we_did_not_offer_and_unknown_algorithm() -> None:
    issued = CA.issue("gw.example", "ecdsa384")
    a = build_auth(issued.credential(), OCTETS, PRF256, ALL_HASHES)
    with pytest.raises(AuthError, match="did not offer SHA-384 in SIGNATURE_HASH_ALGORITHMS"):
        verify_auth(a, OCTETS, PRF256, CA.peer_credential("gw.example"), [issued.cert_der],
                    our_hashes={AU.HASH_SHA2_256})
    weird = bytes([3]) + b"\x30\x01\x00" + b"sig"
    with pytest.raises(AuthError, match="signature algorithm we do not support"):
        verify_auth(M.Auth(DIGITAL_SIGNATURE, weird), OCTETS, PRF256,
                    CA.peer_credential("gw.example"), [issued.cert_der])


def test_pinned_certificate() -> None:
    issued = CA.issue("pin.example", "ed25519")
    a = build_auth(issued.credential(), OCTETS, PRF256, ALL_HASHES)
    pinned = PeerCredential(issued.identity, pinned=issued.cert_der)
    verify_auth(a, OCTETS, PRF256, pinned, [])  # no CERT payload needed, no CA needed
    other = CA.issue("pin.example", "ecdsa")
    with pytest.raises(AuthError, match="not the pinned certificate CN=pin.example"):
        verify_auth(a, OCTETS, PRF256, pinned, [other.cert_der])


def test_no_certificate_and_no_credential() -> None:
    issued = CA.issue("gw.example")
    a = build_auth(issued.credential(), OCTETS, PRF256, ALL_HASHES)
    with pytest.raises(AuthError, match="gw.example sent no certificate and none is configured"):
        verify_auth(a, OCTETS, PRF256, CA.peer_credential("gw.example"), [])
    with pytest.raises(AuthError, match="no pre-shared key or private key is configured for gw.example"):
        build_auth(LocalCredential(Identity.parse("gw.example")), OCTETS, PRF256)


def test_hash_list_codec() -> None:
    assert AU.encode_hash_algorithms([5, 2, 2]) == b"\x00\x02\x00\x05"
    assert AU.decode_hash_algorithms(b"\x00\x02\x00\x05\x00") == {2, 5}


def test_sha1_digital_signature_refused_unless_we_offered_it() -> None:
    """RFC 7427 §4: the signer must use a hash the verifier announced; we announce no SHA-1."""
    issued = CA.issue("old.example", "ecdsa")
    sig = issued.key.sign(OCTETS, ec.ECDSA(hashes.SHA1()))
    a = M.Auth(DIGITAL_SIGNATURE, bytes([len(AU.ALGID_ECDSA_SHA1)]) + AU.ALGID_ECDSA_SHA1 + sig)
    peer = CA.peer_credential("old.example")
    with pytest.raises(AuthError, match="signed with ECDSA with SHA-1, but we did not offer SHA-1"):
        verify_auth(a, OCTETS, PRF256, peer, [issued.cert_der])
    verify_auth(a, OCTETS, PRF256, peer, [issued.cert_der],
                our_hashes=AU.SUPPORTED_HASHES | {AU.HASH_SHA1})


def test_describe_auth_names_method_and_scheme() -> None:
    ed = build_auth(CA.issue("d.example", "ed25519").credential(), OCTETS, PRF256, ALL_HASHES)
    assert AU.describe_auth(ed) == "Ed25519 (RFC 7427), 72 bytes"  # 1 + 7 AlgId + 64 signature
    psk = build_auth(LocalCredential(Identity.parse("d.example"), psk=b"k"), OCTETS, PRF384)
    assert AU.describe_auth(psk) == "pre-shared key, 48 bytes"
    assert AU.describe_auth(M.Auth(ECDSA_256, bytes(64))) == "ECDSA-256 signature, 64 bytes"
