"""Proposal selection (RFC 7296 §2.7, §3.3.6) and selector narrowing (§2.9), with the sentences."""

from __future__ import annotations

import pytest

from ipsecsim.core import algorithms as A
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike.negotiate import (
    NegotiationError,
    check_narrowed,
    narrow,
    narrow_pair,
    select_proposal,
)
from ipsecsim.core.proposals import parse_proposals
from ipsecsim.core.selectors import TrafficSelector as TS


def offer(*texts: str, protocol: str = "ike", spi: bytes = b"") -> list:
    return M.sa_proposals_from(parse_proposals(list(texts), protocol), spi)


def test_first_initiator_proposal_ours_allow_wins_transform_by_transform():
    peer = offer("aes256-sha512-modp2048", "aes128-aes256-sha384-sha256-ecp256-x25519")
    ours = parse_proposals(["aes256-sha256-x25519-ecp256"], "ike")
    s = select_proposal(peer, ours, "ike")
    # proposal 1 has no common DH; proposal 2 is taken with the peer's first acceptable
    # transform of each type (the peer's order, not ours)
    assert s.num == 2
    assert s.encr.name == "aes256" and s.integ.iana == A.AUTH_HMAC_SHA2_256_128
    assert s.prf.iana == A.PRF_HMAC_SHA2_256 and s.dh == A.ECP_256
    assert s.describe() == "ENCR_AES_CBC_256/AUTH_HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256"


def test_aead_with_integ_none_matches_aead_without_integ():
    # RFC 5282 §8: an AEAD proposal may carry INTEG NONE; same as no INTEG transform
    peer = offer("aes128gcm16", protocol="esp", spi=b"\x00\x00\x10\x00")
    peer[0].transforms.append(M.Transform(A.TRANSFORM_INTEG, A.AUTH_NONE))
    s = select_proposal(peer, parse_proposals(["aes128gcm16"], "esp"), "esp")
    assert s.integ is None and s.encr.aead and s.spi == b"\x00\x00\x10\x00"


def test_ike_auth_child_strips_dh_but_rekey_requires_it():
    peer = offer("aes128gcm16", protocol="esp")
    ours = parse_proposals(["aes128gcm16-ecp256"], "esp")
    assert select_proposal(peer, ours, "esp", strip_dh=True).dh == 0
    with pytest.raises(NegotiationError) as exc:
        select_proposal(peer, ours, "esp")
    assert exc.value.notify == "NO_PROPOSAL_CHOSEN" and "no common DH" in exc.value.sentence


def test_unknown_transforms_are_skipped_not_fatal():
    peer = offer("aes128-sha256-modp2048")
    peer[0].transforms.insert(0, M.Transform(A.TRANSFORM_ENCR, A.ENCR_3DES))
    s = select_proposal(peer, parse_proposals(["aes128-sha256-modp2048"]), "ike")
    assert s.encr.name == "aes128"


def test_sentence_when_every_type_matches_somewhere_but_no_proposal_whole():
    peer = offer("aes128gcm16-prfsha256-ecp256", "aes256-sha512-x25519")
    ours = parse_proposals(["aes128gcm16-prfsha256-x25519"])
    with pytest.raises(NegotiationError) as exc:
        select_proposal(peer, ours, "ike")
    assert exc.value.sentence.endswith(
        "each transform type has something in common, but no single proposal has all of them "
        "together")
    assert ("peer offered ENCR_AES_GCM_16_128/PRF_HMAC_SHA2_256/ECP_256, "
            "ENCR_AES_CBC_256/AUTH_HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/CURVE25519") in \
        exc.value.sentence


def test_brief_example_sentence():
    peer = offer("aes128-sha1-modp1024")
    ours = parse_proposals(["aes256gcm16-prfsha384-ecp384"])
    with pytest.raises(NegotiationError) as exc:
        select_proposal(peer, ours, "ike")
    assert exc.value.sentence == (
        "peer offered ENCR_AES_CBC_128/AUTH_HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024; we accept only "
        "ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384; no common ENCR, PRF, DH")


def test_wrong_protocol():
    with pytest.raises(NegotiationError, match="peer offered AH proposals; we accept only ESP"):
        select_proposal(offer("sha256", protocol="ah"), parse_proposals(["aes128gcm16"], "esp"),
                        "esp")


def test_narrowing_rfc7296_2_9():
    offered = [TS.parse("10.0.0.0/8")]
    allowed = [TS.parse("10.2.0.0/16"), TS.parse("10.3.5.0/24[udp/53]")]
    assert [str(t) for t in narrow(offered, allowed)] == ["10.2.0.0/16", "10.3.5.0/24[udp/53]"]
    tsi, tsr = narrow_pair([TS.parse("10.1.2.3")], [TS.parse("0.0.0.0/0")],
                           [TS.parse("10.1.0.0/16")], [TS.parse("10.2.0.0/16")])
    assert [str(t) for t in tsi] == ["10.1.2.3/32"] and [str(t) for t in tsr] == ["10.2.0.0/16"]


def test_ts_unacceptable_sentence_names_both_sides():
    with pytest.raises(NegotiationError) as exc:
        narrow_pair([TS.parse("10.9.0.0/16")], [TS.parse("10.8.0.0/16")],
                    [TS.parse("10.1.0.0/16")], [TS.parse("10.2.0.0/16")])
    assert exc.value.notify == "TS_UNACCEPTABLE"
    assert exc.value.sentence == (
        "refused selectors: TSi 10.9.0.0/16 is outside our remote_ts 10.1.0.0/16; "
        "TSr 10.8.0.0/16 is outside our local_ts 10.2.0.0/16")


def test_initiator_refuses_widened_selectors():
    check_narrowed([TS.parse("10.1.0.0/16")], [TS.parse("10.1.2.0/24")], "TSi")
    with pytest.raises(NegotiationError, match="not inside what we proposed"):
        check_narrowed([TS.parse("10.1.0.0/16")], [TS.parse("10.0.0.0/8")], "TSi")
