"""IKEv2 wire format and key material: the per-handshake costs of ipsecsim.core.ike.

A full handshake (IKE_SA_INIT + IKE_AUTH) encodes and decodes two plain and two
SK-protected messages, derives the IKE keys and the first CHILD_SA's KEYMAT and
does one X25519 exchange per side; these figures show where its time goes.
"""

from __future__ import annotations

from registry import benchmark, best_time_per_call

from ipsecsim.core import algorithms as A
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike.dh import new_key_exchange
from ipsecsim.core.ike.kdf import child_keymat, derive_ike_keys
from ipsecsim.core.proposals import parse_proposals
from ipsecsim.core.rng import Rng
from ipsecsim.core.selectors import TrafficSelector

SPI_I, SPI_R = b"\x01" * 8, b"\x02" * 8


def _sa_init() -> M.IkeMessage:
    props = parse_proposals(["default"])
    return M.IkeMessage(SPI_I, bytes(8), M.IKE_SA_INIT, 0, True, False, [
        M.SA(M.sa_proposals_from(props, b"")), M.KE(A.CURVE25519, b"k" * 32), M.Nonce(b"n" * 32),
        M.Notify(M.NAT_DETECTION_SOURCE_IP, data=b"s" * 20),
        M.Notify(M.NAT_DETECTION_DESTINATION_IP, data=b"d" * 20),
        M.Notify(M.SIGNATURE_HASH_ALGORITHMS, data=b"\x00\x02\x00\x03\x00\x04"),
    ])


def _ike_auth() -> M.IkeMessage:
    child = M.sa_proposals_from(parse_proposals("aes128gcm16", "esp"), b"\xc0\x00\x00\x01")
    return M.IkeMessage(SPI_I, SPI_R, M.IKE_AUTH, 1, True, False, [
        M.ID(True, M.ID_FQDN, b"gw-a.example"), M.Notify(M.INITIAL_CONTACT),
        M.ID(False, M.ID_FQDN, b"gw-b.example"), M.Auth(M.AUTH_SHARED_KEY_MIC, b"a" * 32),
        M.SA(child), M.TS(True, [TrafficSelector.parse("10.1.0.0/16")]),
        M.TS(False, [TrafficSelector.parse("10.2.0.0/16")]),
    ])


@benchmark("ike_codec_sa_init_us", "us")
def sa_init_roundtrip() -> float:
    """encode + decode of an IKE_SA_INIT request offering strongSwan's default proposals."""
    msg, enc, dec = _sa_init(), M.encode, M.decode
    return best_time_per_call(lambda: dec(enc(msg))) * 1e6


@benchmark("ike_codec_auth_gcm_us", "us")
def auth_gcm_roundtrip() -> float:
    """encode + decode of an IKE_AUTH request inside an AES-GCM-128 SK payload."""
    encr = A.encr(A.ENCR_AES_GCM_16, 128)
    sk = M.SkCipher(encr, None, bytes(range(20)), b"", Rng(1))
    msg, enc, dec = _ike_auth(), M.encode, M.decode
    return best_time_per_call(lambda: dec(enc(msg, sk), sk)) * 1e6


@benchmark("ike_codec_auth_cbc_sha256_us", "us")
def auth_cbc_roundtrip() -> float:
    """encode + decode of an IKE_AUTH request inside an AES-CBC-128 + HMAC-SHA2-256 SK payload."""
    encr, integ = A.encr(A.ENCR_AES_CBC, 128), A.INTEG_ALGS[A.AUTH_HMAC_SHA2_256_128]
    sk = M.SkCipher(encr, integ, bytes(16), bytes(32), Rng(1))
    msg, enc, dec = _ike_auth(), M.encode, M.decode
    return best_time_per_call(lambda: dec(enc(msg, sk), sk)) * 1e6


@benchmark("ike_kdf_us", "us")
def kdf() -> float:
    """SKEYSEED + SK_* (PRF_HMAC_SHA2_256, AES-GCM-128) and the first CHILD_SA's KEYMAT."""
    prf, encr = A.PRF_ALGS[A.PRF_HMAC_SHA2_256], A.encr(A.ENCR_AES_GCM_16, 128)
    ni, nr, g = b"i" * 32, b"r" * 32, b"g" * 32

    def once() -> None:
        keys = derive_ike_keys(prf, encr, None, ni, nr, g, SPI_I, SPI_R)
        child_keymat(prf, keys.sk_d, ni, nr, encr, None)
    return best_time_per_call(once) * 1e6


@benchmark("ike_dh_x25519_us", "us")
def dh_x25519() -> float:
    """One side of an X25519 exchange: key pair from the Rng, then the shared secret."""
    rng, peer = Rng(1), new_key_exchange(A.CURVE25519, Rng(2)).public_bytes

    def once() -> None:
        new_key_exchange(A.CURVE25519, rng).shared_secret(peer)
    return best_time_per_call(once, number=500) * 1e6
