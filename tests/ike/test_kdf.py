"""IKEv2 key derivation (ipsecsim.core.ike.kdf): PRF vectors, prf+ structure, and strongSwan's keys.

The strongSwan vectors (tests/vectors/charon_ike_*.json) come from two charon
5.9.8 instances negotiating with each other; charon logged its DH secret,
SKEYSEED, SK_* and the CHILD_SA keys (``ike = 4``, ``chd = 4``), and the nonces
and SPIs are read from the captured IKE_SA_INIT messages. See
tests/vectors/capture_charon_ike.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from ipsecsim.core import algorithms as A
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike.kdf import IkeKeys, child_keymat, derive_ike_keys, prf, prf_plus
from ipsecsim.core.ike.message import SA, Nonce, decode, decode_header
from ipsecsim.core.ike.sk import SkCipher
from ipsecsim.core.rng import Rng
from tests.helpers.paths import VECTORS

H = bytes.fromhex
CHARON = sorted(VECTORS.glob("charon_ike_*.json"))
SHA256, SHA384, SHA512 = (A.PRF_ALGS[i] for i in (A.PRF_HMAC_SHA2_256, A.PRF_HMAC_SHA2_384,
                                                   A.PRF_HMAC_SHA2_512))

# RFC 4868 §2.7.1 PRF test vectors (the same as RFC 4231 §4.2 and §4.3, test cases 1 and 2)
PRF_VECTORS = [
    (SHA256, b"\x0b" * 20, b"Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (SHA384, b"\x0b" * 20, b"Hi There",
     "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
     "faea9ea9076ede7f4af152e8b2fa9cb6"),
    (SHA512, b"\x0b" * 20, b"Hi There",
     "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
     "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"),
    (SHA256, b"Jefe", b"what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (SHA384, b"Jefe", b"what do ya want for nothing?",
     "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
     "8e2240ca5e69e2c78b3239ecfab21649"),
    (SHA512, b"Jefe", b"what do ya want for nothing?",
     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
     "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"),
]


@pytest.mark.parametrize("alg, key, data, want", PRF_VECTORS,
                         ids=[f"{v[0].name}-{i}" for i, v in enumerate(PRF_VECTORS)])
def test_prf_rfc4868_vectors(alg, key, data, want) -> None:
    assert prf(alg, key, data) == H(want)


def _prf_plus_by_definition(hash_name: str, key: bytes, seed: bytes, n: int) -> bytes:
    """RFC 7296 §2.13, written out: T1 = prf(K, S | 0x01), Ti = prf(K, Ti-1 | S | i)."""
    out, t = b"", b""
    for i in range(1, 256):
        t = hmac.new(key, t + seed + bytes([i]), hashlib.new(hash_name).name).digest()
        out += t
        if len(out) >= n:
            break
    return out[:n]


@pytest.mark.parametrize("alg", [SHA256, SHA384, SHA512, A.PRF_ALGS[A.PRF_HMAC_SHA1]],
                         ids=lambda a: a.name)
def test_prf_plus_matches_its_definition(alg) -> None:
    key, seed = b"K" * 32, b"S" * 80
    hs = hashlib.new(alg.hash_name).digest_size
    t1 = hmac.new(key, seed + b"\x01", alg.hash_name).digest()
    t2 = hmac.new(key, t1 + seed + b"\x02", alg.hash_name).digest()
    assert prf_plus(alg, key, seed, 2 * hs) == t1 + t2
    for n in (1, hs - 1, hs, hs + 1, 7 * hs + 3, 255 * hs):
        got = prf_plus(alg, key, seed, n)
        assert len(got) == n
        assert got == _prf_plus_by_definition(alg.hash_name, key, seed, n)
    # a longer output extends a shorter one: the same stream, cut later
    assert prf_plus(alg, key, seed, 100).startswith(prf_plus(alg, key, seed, 33))


def test_prf_plus_stops_at_255_blocks() -> None:
    with pytest.raises(ValueError, match="255 blocks"):
        prf_plus(SHA256, b"k", b"s", 255 * 32 + 1)


def _charon_case(path: Path):
    v = json.loads(path.read_text())
    msgs = [bytes.fromhex(m["hex"]) for m in v["messages"]]
    req, resp = decode(msgs[0]), decode(msgs[1])
    chosen = resp.find(SA).proposals[0].to_proposal()
    encr = A.encr(*chosen.encr[0])
    integ = A.INTEG_ALGS[chosen.integ[0]] if chosen.integ else None
    prf_alg = A.PRF_ALGS[chosen.prf[0]]
    return v, msgs, req, resp, encr, integ, prf_alg


@pytest.mark.parametrize("path", CHARON, ids=lambda p: p.stem.removeprefix("charon_ike_"))
def test_ike_keys_match_strongswan(path: Path) -> None:
    v, msgs, req, resp, encr, integ, prf_alg = _charon_case(path)
    keys = derive_ike_keys(prf_alg, encr, integ, req.find(Nonce).data, resp.find(Nonce).data,
                           H(v["shared_dh_secret"]), resp.spi_i, resp.spi_r)
    logged = {k.lower(): H(x) for k, x in v["ike_keys"].items()}
    assert logged["skeyseed"] == keys.skeyseed
    for name in ("sk_d", "sk_ei", "sk_er", "sk_pi", "sk_pr"):
        assert getattr(keys, name) == logged[name], name
    if encr.aead:
        # RFC 5282 §7.1: no SK_a for AEAD, SK_e carries the salt
        assert keys.sk_ai == keys.sk_ar == b"" and "sk_ai" not in logged
        assert len(keys.sk_ei) == encr.key_size + 4
    else:
        assert (keys.sk_ai, keys.sk_ar) == (logged["sk_ai"], logged["sk_ar"])


@pytest.mark.parametrize("path", CHARON, ids=lambda p: p.stem.removeprefix("charon_ike_"))
def test_child_keymat_matches_strongswan(path: Path) -> None:
    v, msgs, req, resp, encr, integ, prf_alg = _charon_case(path)
    ni, nr = req.find(Nonce).data, resp.find(Nonce).data
    keys = derive_ike_keys(prf_alg, encr, integ, ni, nr, H(v["shared_dh_secret"]),
                           resp.spi_i, resp.spi_r)
    # the child proposal the responder chose, from its (decrypted) IKE_AUTH response
    auth_resp = msgs[3]
    assert decode_header(auth_resp).response
    sk_r = SkCipher(encr, integ, keys.sk_er, keys.sk_ar, Rng(0))
    child = decode(auth_resp, sk_r).find(SA).proposals[0].to_proposal()
    c_encr = A.encr(*child.encr[0])
    c_integ = A.INTEG_ALGS[child.integ[0]] if child.integ else None
    i_e, i_a, r_e, r_a = child_keymat(prf_alg, keys.sk_d, ni, nr, c_encr, c_integ)
    logged = {k: H(x) for k, x in v["child_keys"].items()}
    assert (i_e, r_e) == (logged["encr_i"], logged["encr_r"])
    if c_integ is None:
        assert i_a == r_a == b""
    else:
        assert (i_a, r_a) == (logged["integ_i"], logged["integ_r"])


def test_ike_key_layout_cbc_sha256() -> None:
    """§2.14: {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni|Nr|SPIi|SPIr)."""
    encr, integ = A.encr(A.ENCR_AES_CBC, 256), A.INTEG_ALGS[A.AUTH_HMAC_SHA2_256_128]
    ni, nr, g, si, sr = b"i" * 32, b"r" * 32, b"g" * 32, b"I" * 8, b"R" * 8
    keys = derive_ike_keys(SHA256, encr, integ, ni, nr, g, si, sr)
    skeyseed = hmac.new(ni + nr, g, "sha256").digest()
    stream = _prf_plus_by_definition("sha256", skeyseed, ni + nr + si + sr, 32 * 3 + 32 * 2 + 32 * 2)
    assert keys.skeyseed == skeyseed
    assert keys == IkeKeys(skeyseed, stream[0:32], stream[32:64], stream[64:96], stream[96:128],
                           stream[128:160], stream[160:192], stream[192:224])


def test_ike_rekey_skeyseed_uses_old_sk_d_and_old_prf() -> None:
    """§2.18: SKEYSEED = prf(SK_d(old), g^ir(new) | Ni | Nr), with the old IKE SA's PRF."""
    encr = A.encr(A.ENCR_AES_GCM_16, 128)
    ni, nr, g, old = b"n" * 32, b"m" * 32, b"g" * 48, b"d" * 48
    keys = derive_ike_keys(SHA256, encr, None, ni, nr, g, b"A" * 8, b"B" * 8,
                           old_sk_d=old, old_prf=SHA384)
    assert keys.skeyseed == hmac.new(old, g + ni + nr, "sha384").digest()
    same_prf = derive_ike_keys(SHA256, encr, None, ni, nr, g, b"A" * 8, b"B" * 8, old_sk_d=old)
    assert same_prf.skeyseed == hmac.new(old, g + ni + nr, "sha256").digest()
    fresh = derive_ike_keys(SHA256, encr, None, ni, nr, g, b"A" * 8, b"B" * 8)
    assert fresh.skeyseed != same_prf.skeyseed
    # the new SA's keys come from prf+ with the *new* SA's PRF
    stream = _prf_plus_by_definition("sha256", keys.skeyseed, ni + nr + b"A" * 8 + b"B" * 8, 32)
    assert keys.sk_d == stream


def test_child_keymat_with_pfs_and_ah() -> None:
    """§2.17: KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr); i->r keys first, encryption first."""
    sk_d, ni, nr, g = b"D" * 32, b"i" * 32, b"r" * 32, b"g" * 32
    encr, integ = A.encr(A.ENCR_AES_CBC, 128), A.INTEG_ALGS[A.AUTH_HMAC_SHA2_512_256]
    km = child_keymat(SHA256, sk_d, ni, nr, encr, integ, shared=g)
    stream = _prf_plus_by_definition("sha256", sk_d, g + ni + nr, 2 * (16 + 64))
    assert km == (stream[:16], stream[16:80], stream[80:96], stream[96:160])
    assert child_keymat(SHA256, sk_d, ni, nr, encr, integ) != km
    # AH: no encryption key; GCM: key || 4-byte salt and no integrity key
    ah = child_keymat(SHA256, sk_d, ni, nr, None, integ)
    assert ah[0] == ah[2] == b"" and len(ah[1]) == len(ah[3]) == 64
    gcm = child_keymat(SHA256, sk_d, ni, nr, A.encr(A.ENCR_AES_GCM_16, 256), None)
    assert len(gcm[0]) == len(gcm[2]) == 36 and gcm[1] == gcm[3] == b""


REKEY = VECTORS / "charon_ike_rekey-aes128-sha256-x25519.json"


def test_rekeys_match_strongswan() -> None:
    """charon rekeyed the CHILD_SA with PFS (ECP_256), then the IKE_SA (CREATE_CHILD_SA);
    ipsecsim decrypts those exchanges and derives the keys charon logged."""
    v, msgs, req, resp, encr, integ, prf_alg = _charon_case(REKEY)
    keys = derive_ike_keys(prf_alg, encr, integ, req.find(Nonce).data, resp.find(Nonce).data,
                           H(v["shared_dh_secrets"][0]), resp.spi_i, resp.spi_r)
    sk_i = SkCipher(encr, integ, keys.sk_ei, keys.sk_ai, Rng(0))
    sk_r = SkCipher(encr, integ, keys.sk_er, keys.sk_ar, Rng(0))
    create = [decode(m, sk_i if decode_header(m).initiator else sk_r) for m in msgs
              if decode_header(m).exchange == M.CREATE_CHILD_SA]
    assert [m.summary() for m in create] == [
        "CREATE_CHILD_SA request { N(REKEY_SA), SA, Ni, KE, TSi, TSr }",
        "CREATE_CHILD_SA response { SA, Nr, KE, TSi, TSr }",
        "CREATE_CHILD_SA request { SA, Ni, KE }",
        "CREATE_CHILD_SA response { SA, Nr, KE }",
    ]
    # CHILD_SA rekey with PFS, §2.17: KEYMAT = prf+(SK_d, g^ir (new) | Ni | Nr)
    c_req, c_resp = create[0], create[1]
    chosen = c_resp.find(SA).proposals[0].to_proposal()
    assert chosen.dh == (A.ECP_256,) and c_req.find(M.KE).group == A.ECP_256
    c_encr = A.encr(*chosen.encr[0])
    i_e, _, r_e, _ = child_keymat(prf_alg, keys.sk_d, c_req.find(Nonce).data,
                                  c_resp.find(Nonce).data, c_encr, None,
                                  shared=H(v["child_dh_secrets"][0]))
    rekeyed = v["child_key_sets"][1]
    assert (i_e.hex(), r_e.hex()) == (rekeyed["encr_i"], rekeyed["encr_r"])
    # IKE_SA rekey, §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), SPIs from the SAs
    k_req, k_resp = create[2], create[3]
    new = derive_ike_keys(prf_alg, encr, integ, k_req.find(Nonce).data, k_resp.find(Nonce).data,
                          H(v["shared_dh_secrets"][1]), k_req.find(SA).proposals[0].spi,
                          k_resp.find(SA).proposals[0].spi, old_sk_d=keys.sk_d)
    logged = {k.lower(): x for k, x in v["ike_key_sets"][1].items()}
    assert {k: getattr(new, k).hex() for k in logged} == logged
