"""Diffie-Hellman groups of ipsecsim.core.ike.dh against published vectors and OpenSSL."""

from __future__ import annotations

import warnings

import pytest

from ipsecsim.core import algorithms as A
from ipsecsim.core.errors import DecodeError
from ipsecsim.core.ike.dh import (
    MODP_PRIMES,
    SUPPORTED_GROUPS,
    DhError,
    key_exchange_from_private,
    new_key_exchange,
)
from ipsecsim.core.rng import Rng

H = bytes.fromhex

# RFC 5903 §8.1 (256-bit random ECP group), §8.2 (384-bit), §8.3 (521-bit):
# i, g^i = (gix, giy), r, g^r = (grx, gry), g^ir x coordinate (girx), typed in from the RFC.
RFC5903 = {
    A.ECP_256: dict(
        i="C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
        gix="DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180",
        giy="5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
        r="C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
        grx="D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63",
        gry="56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
        girx="D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE",
    ),
    A.ECP_384: dict(
        i="099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655"
          "E35B538041E649EE3FAEF896783AB194",
        gix="667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6"
            "DE3AC808ACB4BDB4C88732AEE95F41AA",
        giy="9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38E"
            "EB9FCFF3C2C947DAE69B4C634573A81C",
        r="41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942"
          "E0308312916B8ED2960E4BD55A7448FC",
        grx="E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D"
            "0D1AC43A0336DEF96FDA41D0774A3571",
        gry="DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FF"
            "F83FA40142209DFF5EAAD96DB9E6386C",
        girx="11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4"
             "D603135569B9E9D09CF5D4A270F59746",
    ),
    A.ECP_521: dict(
        i="0037ADE9319A89F4DABDB3EF411AACCCA5123C61ACAB57B5393DCE47608172A0"
          "95AA85A30FE1C2952C6771D937BA9777F5957B2639BAB072462F68C27A57382D4A52",
        gix="0015417E84DBF28C0AD3C278713349DC7DF153C897A1891BD98BAB4357C9ECBE"
            "E1E3BF42E00B8E380AEAE57C2D107564941885942AF5A7F4601723C4195D176CED3E",
        giy="017CAE20B6641D2EEB695786D8C946146239D099E18E1D5A514C739D7CB4A10A"
            "D8A788015AC405D7799DC75E7B7D5B6CF2261A6A7F1507438BF01BEB6CA3926F9582",
        r="0145BA99A847AF43793FDD0E872E7CDFA16BE30FDC780F97BCCC3F078380201E"
          "9C677D600B343757A3BDBF2A3163E4C2F869CCA7458AA4A4EFFC311F5CB151685EB9",
        grx="00D0B3975AC4B799F5BEA16D5E13E9AF971D5E9B984C9F39728B5E5739735A21"
            "9B97C356436ADC6E95BB0352F6BE64A6C2912D4EF2D0433CED2B6171640012D9460F",
        gry="015C68226383956E3BD066E797B623C27CE0EAC2F551A10C2C724D9852077B87"
            "220B6536C5C408A1D2AEBB8E86D678AE49CB57091F4732296579AB44FCD17F0FC56A",
        girx="01144C7D79AE6956BC8EDB8E7C787C4521CB086FA64407F97894E5E6B2D79B04"
             "D1427E73CA4BAA240A34786859810C06B3C715A3A8CC3151F2BEE417996D19F3DDEA",
    ),
}


@pytest.mark.parametrize("group", sorted(RFC5903), ids=lambda g: A.DH_GROUPS[g].name)
def test_ecp_rfc5903_section8_vectors(group: int) -> None:
    v = {k: H(x) for k, x in RFC5903[group].items()}
    ini = key_exchange_from_private(group, v["i"])
    res = key_exchange_from_private(group, v["r"])
    # RFC 5903 §7: the KE payload carries x || y, no 0x04 point-format octet
    assert ini.public_bytes == v["gix"] + v["giy"]
    assert res.public_bytes == v["grx"] + v["gry"]
    assert len(ini.public_bytes) == A.DH_GROUPS[group].public_size
    # RFC 5903 §7 / §9: the shared secret g^ir is the x coordinate only
    assert ini.shared_secret(res.public_bytes) == v["girx"]
    assert res.shared_secret(ini.public_bytes) == v["girx"]


def test_x25519_rfc7748_section6_1_vector() -> None:
    # RFC 7748 §6.1 (RFC 8031 §3: the KE data is the 32-byte u-coordinate as is)
    alice = key_exchange_from_private(
        A.CURVE25519, H("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
    bob = key_exchange_from_private(
        A.CURVE25519, H("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
    assert alice.public_bytes == H("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    assert bob.public_bytes == H("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    k = H("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
    assert alice.shared_secret(bob.public_bytes) == k
    assert bob.shared_secret(alice.public_bytes) == k


def test_x448_rfc7748_section6_2_vector() -> None:
    # RFC 7748 §6.2 (RFC 8031 §3: the 56-byte u-coordinate)
    alice = key_exchange_from_private(A.CURVE448, H(
        "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28d"
        "d9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b"))
    bob = key_exchange_from_private(A.CURVE448, H(
        "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d"
        "6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d"))
    assert alice.public_bytes == H("9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c"
                                   "22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0")
    assert bob.public_bytes == H("3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b430"
                                 "27d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609")
    k = H("07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282b"
          "b60c0b56fd2464c335543936521c24403085d59a449a5037514a879d")
    assert alice.shared_secret(bob.public_bytes) == k == bob.shared_secret(alice.public_bytes)


def _pi_fixed(bits: int) -> int:
    """floor(pi * 2^bits), by Machin's formula in integers (independent of dh.py)."""
    guard = 64
    one = 1 << (bits + guard)

    def atan_inv(x: int) -> int:
        total = term = one // x
        n, sign, x2 = 1, -1, x * x
        while term:
            term //= x2
            total += sign * (term // (2 * n + 1))
            sign, n = -sign, n + 1
        return total

    return (16 * atan_inv(5) - 4 * atan_inv(239)) >> guard


# RFC 2409 §6.2 and RFC 3526 §2-§5: p = 2^n - 2^(n-64) - 1 + 2^64 * ([2^(n-130) pi] + k)
MODP_K = {1024: 129093, 1536: 741804, 2048: 124476, 3072: 1690314, 4096: 240904}


@pytest.mark.parametrize("bits", sorted(MODP_K))
def test_modp_primes_follow_their_rfc_formula(bits: int) -> None:
    want = 2**bits - 2**(bits - 64) - 1 + 2**64 * (_pi_fixed(bits - 130) + MODP_K[bits])
    assert MODP_PRIMES[bits] == want
    assert MODP_PRIMES[bits].bit_length() == bits


def test_modp1024_prime_as_printed_in_rfc7296_appendix_b2() -> None:
    # RFC 7296 Appendix B.2 (= RFC 2409 §6.2), hexadecimal value typed in
    printed = (
        "FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1"
        "29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD"
        "EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245"
        "E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED"
        "EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE65381"
        "FFFFFFFF FFFFFFFF"
    )
    assert MODP_PRIMES[1024] == int(printed.replace(" ", ""), 16)


def test_modp_primes_pass_a_fermat_test() -> None:
    for bits in (1024, 2048):
        p = MODP_PRIMES[bits]
        assert pow(3, p - 1, p) == 1
        assert pow(3, (p - 1) // 2 - 1, (p - 1) // 2) == 1  # safe prime: (p-1)/2 prime too


@pytest.mark.parametrize("group", [A.MODP_2048, A.MODP_3072])
def test_modp_agrees_with_openssl(group: int) -> None:
    dh = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.dh")
    ours = new_key_exchange(group, Rng(7))
    p = MODP_PRIMES[A.DH_GROUPS[group].public_size * 8]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = dh.DHParameterNumbers(p, 2).parameters()
        theirs = params.generate_private_key()
        y = theirs.public_key().public_numbers().y
        peer_public = dh.DHPublicNumbers(int.from_bytes(ours.public_bytes, "big"),
                                         params.parameter_numbers()).public_key()
        openssl_secret = theirs.exchange(peer_public)
    size = A.DH_GROUPS[group].public_size
    ours_secret = ours.shared_secret(y.to_bytes(size, "big"))
    # g^ir left-padded to the prime's length (RFC 7296 §2.14); OpenSSL pads the same way
    assert len(ours_secret) == size
    assert ours_secret == openssl_secret.rjust(size, b"\0")


@pytest.mark.parametrize("group", SUPPORTED_GROUPS, ids=lambda g: A.DH_GROUPS[g].name)
def test_every_group_agrees_and_is_seeded(group: int) -> None:
    a = new_key_exchange(group, Rng(1, "a"))
    b = new_key_exchange(group, Rng(1, "b"))
    assert a.group == group
    assert len(a.public_bytes) == A.DH_GROUPS[group].public_size
    assert a.public_bytes != b.public_bytes
    assert a.shared_secret(b.public_bytes) == b.shared_secret(a.public_bytes)
    # same seed, same public value; another seed, another one
    assert new_key_exchange(group, Rng(1, "a")).public_bytes == a.public_bytes
    assert new_key_exchange(group, Rng(2, "a")).public_bytes != a.public_bytes


@pytest.mark.parametrize("group", SUPPORTED_GROUPS, ids=lambda g: A.DH_GROUPS[g].name)
def test_wrong_length_is_refused(group: int) -> None:
    a = new_key_exchange(group, Rng(3))
    b = new_key_exchange(group, Rng(4)).public_bytes
    for bad in (b[:-1], b + b"\0", b""):
        with pytest.raises(DhError, match="bytes, expected"):
            a.shared_secret(bad)


@pytest.mark.parametrize("group", [A.ECP_256, A.ECP_384, A.ECP_521])
def test_point_not_on_curve_is_refused(group: int) -> None:
    a = new_key_exchange(group, Rng(5))
    pub = bytearray(new_key_exchange(group, Rng(6)).public_bytes)
    pub[-1] ^= 1  # y changed: (x, y') is not on the curve
    with pytest.raises(DhError, match="not a point on the curve"):
        a.shared_secret(bytes(pub))
    with pytest.raises(DhError):
        a.shared_secret(bytes(len(pub)))  # the point at infinity has no affine encoding


@pytest.mark.parametrize("group", [A.MODP_1024, A.MODP_2048])
def test_modp_degenerate_values_are_refused(group: int) -> None:
    a = new_key_exchange(group, Rng(8))
    size = A.DH_GROUPS[group].public_size
    p = MODP_PRIMES[size * 8]
    for y in (0, 1, p - 1, p, p + 1):
        if y.bit_length() > size * 8:
            continue
        with pytest.raises(DhError, match="between 1 and p-1"):
            a.shared_secret(y.to_bytes(size, "big"))


@pytest.mark.parametrize("group", [A.CURVE25519, A.CURVE448])
def test_low_order_point_gives_all_zero_and_is_refused(group: int) -> None:
    a = new_key_exchange(group, Rng(9))
    size = A.DH_GROUPS[group].public_size
    # u = 0 and u = 1 are of small order: the result is all zero (RFC 7748 §6.1, §6.2)
    for u in (0, 1):
        with pytest.raises(DhError, match="all zero"):
            a.shared_secret(u.to_bytes(size, "little"))


def test_dh_error_is_a_decode_error_and_unknown_group_is_refused() -> None:
    assert issubclass(DhError, DecodeError)
    with pytest.raises(ValueError, match="MODP_768"):
        new_key_exchange(A.MODP_768, Rng(0))
