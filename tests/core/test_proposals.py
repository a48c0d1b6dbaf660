"""strongSwan proposal strings -> typed proposals.

Source of the keyword semantics: strongSwan's proposal keyword documentation
(docs.strongswan.org, "IKEv2 Cipher Suites") -- e.g. for IKE an integrity
keyword implies the PRF of the same hash, and with AEAD ciphers sha* names PRFs.
"""

import pytest

from ipsecsim.core import algorithms as A
from ipsecsim.core.errors import ConfigError
from ipsecsim.core.proposals import ALL_KEYWORDS, parse_proposal, parse_proposals


def test_esp_gcm_has_no_integrity():
    (p,) = parse_proposal("aes128gcm16", "esp")
    assert p.encr == ((A.ENCR_AES_GCM_16, 128),)
    assert p.integ == () and p.esn == (A.ESN_NO,) and p.aead


def test_esp_cbc_sha512():
    (p,) = parse_proposal("aes256-sha512", "esp")
    assert p.encr == ((A.ENCR_AES_CBC, 256),)
    assert p.integ == (A.AUTH_HMAC_SHA2_512_256,)


def test_chacha20():
    (p,) = parse_proposal("chacha20poly1305", "esp")
    assert p.encr == ((A.ENCR_CHACHA20_POLY1305, 0),)


def test_ike_integrity_implies_prf():
    (p,) = parse_proposal("aes128-sha256-x25519", "ike")
    assert p.integ == (A.AUTH_HMAC_SHA2_256_128,)
    assert p.prf == (A.PRF_HMAC_SHA2_256,)
    assert p.dh == (A.CURVE25519,)


def test_ike_aead_with_prf():
    (p,) = parse_proposal("aes256gcm16-prfsha384-ecp384", "ike")
    assert p.encr == ((A.ENCR_AES_GCM_16, 256),) and p.integ == ()
    assert p.prf == (A.PRF_HMAC_SHA2_384,) and p.dh == (A.ECP_384,)


def test_ike_aead_sha_keyword_reads_as_prf():
    (p,) = parse_proposal("aes128gcm16-sha256-ecp256", "ike")
    assert p.integ == () and p.prf == (A.PRF_HMAC_SHA2_256,)


def test_modp_and_ecp_groups():
    (p,) = parse_proposal("aes128-sha256-modp2048-ecp256", "ike")
    assert p.dh == (A.MODP_2048, A.ECP_256)


def test_esp_dh_means_pfs_and_esn():
    (p,) = parse_proposal("aes128gcm16-x25519-esn", "esp")
    assert p.dh == (A.CURVE25519,) and p.esn == (A.ESN_YES,)


def test_ah():
    (p,) = parse_proposal("sha256-sha384", "ah")
    assert p.encr == () and p.integ == (A.AUTH_HMAC_SHA2_256_128, A.AUTH_HMAC_SHA2_384_192)


@pytest.mark.parametrize("proto", ["ike", "esp", "ah"])
def test_default_expands_to_usable_proposals(proto):
    props = parse_proposal("default", proto)
    assert props, "default must give at least one proposal"
    for p in props:
        assert p.protocol == proto
        if proto == "ike":
            assert p.dh and p.prf


def test_unknown_token_lists_valid_and_suggests():
    with pytest.raises(ConfigError) as e:
        parse_proposal("aes128gmc16", "esp")
    msg = str(e.value)
    assert "'aes128gmc16'" in msg and "did you mean 'aes128gcm16'" in msg
    for kw in ("aes256", "sha384", "x25519", "modp2048", "chacha20poly1305"):
        assert kw in msg


@pytest.mark.parametrize(
    "text,proto,fragment",
    [
        ("aes128", "esp", "without integrity"),
        ("aes128-sha256", "ike", "DH group"),
        ("aes128gcm16-x25519", "ike", "PRF"),
        ("aes128-aes128gcm16-sha256", "esp", "mixes AEAD"),
        ("aes128-sha256", "ah", "cannot have an encryption"),
    ],
)
def test_incomplete_proposals_say_what_is_missing(text, proto, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_proposal(text, proto)


def test_list_of_proposals():
    ps = parse_proposals(["aes128gcm16", "aes256-sha256"], "esp")
    assert [p.text for p in ps] == ["aes128gcm16", "aes256-sha256"]


def test_every_keyword_parses_in_some_context():
    for kw in ALL_KEYWORDS:
        ok = False
        for text, proto in ((f"aes128-sha256-{kw}", "ike"), (f"aes128-sha256-{kw}-x25519", "ike"), (f"{kw}", "esp"), (f"{kw}-sha256", "esp"),
                            (f"{kw}-prfsha256-x25519", "ike"), (f"{kw}", "ah"), (f"aes128gcm16-{kw}", "esp")):
            try:
                parse_proposal(text, proto)
                ok = True
                break
            except ConfigError:
                continue
        assert ok, kw


def test_describe_uses_iana_names():
    (p,) = parse_proposal("aes256-sha512-modp2048", "ike")
    assert p.describe() == "ENCR_AES_CBC_256/AUTH_HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/MODP_2048"
