"""Diffie-Hellman for IKEv2 behind one interface (RFC 7296 §3.4).

``new_key_exchange(group, rng)`` returns an object with ``.group``,
``.public_bytes`` (the KE payload's key exchange data) and
``.shared_secret(peer_public)`` (g^ir), raising :class:`DhError` for an invalid
peer value. Every private key comes from the injected :class:`Rng`, so the
same seed gives the same public values.

* MODP groups 2, 5, 14, 15, 16 (RFC 2409 §6.2, RFC 3526 §2-§5): plain
  ``pow()`` -- finite-field DH is deprecated in ``cryptography``, and a
  2048-bit exponentiation with a 256-bit exponent takes well under a
  millisecond. Public values and g^ir are big-endian, left-padded to the prime's
  length (RFC 7296 §2.14 and §3.4).
* ECP groups 19, 20, 21 (RFC 5903 §7): x || y without the 0x04 prefix; g^ir is
  the x coordinate of the shared point.
* Curve25519 / Curve448 (RFC 8031 §3, RFC 7748): the 32/56-byte u-coordinate;
  an all-zero shared secret is refused (RFC 8031 §4, RFC 7748 §6.1).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

from .. import algorithms as A
from ..errors import DecodeError
from ..rng import Rng


class DhError(DecodeError):
    """A peer's KE data that is not a valid public value for the group."""


# Primes: 2^n - 2^(n-64) - 1 + 2^64 * ([2^(n-130) pi] + k), generator 2;
# group 2 from RFC 2409 §6.2 (= RFC 7296 Appendix B.2), the others RFC 3526.
_MODP_HEX: dict[int, str] = {
    1024: (
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22"
        "514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6"
        "F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381"
        "FFFFFFFFFFFFFFFF"
    ),
    1536: (
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22"
        "514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6"
        "F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
        "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
        "9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF"
    ),
    2048: (
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22"
        "514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6"
        "F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
        "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
        "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E8603"
        "9B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
        "15728E5A8AACAA68FFFFFFFFFFFFFFFF"
    ),
    3072: (
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22"
        "514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6"
        "F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
        "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
        "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E8603"
        "9B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
        "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7D"
        "B3970F85A6E1E4C7ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
        "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E208E24FA074E5AB31"
        "43DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
    ),
    4096: (
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22"
        "514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6"
        "F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
        "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB"
        "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E8603"
        "9B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
        "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7D"
        "B3970F85A6E1E4C7ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864"
        "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E208E24FA074E5AB31"
        "43DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D788719A10BDBA5B2699C327186AF4E23C"
        "1A946834B6150BDA2583E9CA2AD44CE8DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D"
        "99B2964FA090C3A2233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9"
        "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF"
    ),
}
MODP_PRIMES: dict[int, int] = {bits: int(h, 16) for bits, h in _MODP_HEX.items()}
"""Prime of each MODP group, keyed by its size in bits."""
MODP_GENERATOR = 2

_MODP_BITS = {A.MODP_1024: 1024, A.MODP_1536: 1536, A.MODP_2048: 2048, A.MODP_3072: 3072,
              A.MODP_4096: 4096}
# Private exponent length: at least twice the group's symmetric strength (RFC 3526 §8).
_MODP_EXP_BITS = {1024: 256, 1536: 256, 2048: 256, 3072: 320, 4096: 384}
_ECP = {A.ECP_256: (ec.SECP256R1, 32), A.ECP_384: (ec.SECP384R1, 48), A.ECP_521: (ec.SECP521R1, 66)}


class KeyExchange:
    """One side's ephemeral Diffie-Hellman key for one exchange."""

    __slots__ = ("group", "public_bytes")

    group: int
    """IANA DH group number."""
    public_bytes: bytes
    """The KE payload's key exchange data."""

    def shared_secret(self, peer_public: bytes) -> bytes:
        """g^ir from the peer's KE data; :class:`DhError` if that data is invalid."""
        raise NotImplementedError

    def _check_len(self, peer_public: bytes) -> None:
        want = len(self.public_bytes)
        if len(peer_public) != want:
            raise DhError(f"{A.DH_GROUPS[self.group].iana_name}: peer's KE data is "
                          f"{len(peer_public)} bytes, expected {want}")


class ModpKeyExchange(KeyExchange):
    __slots__ = ("_p", "_x", "_size")

    def __init__(self, group: int, x: int) -> None:
        bits = _MODP_BITS[group]
        self.group = group
        self._p = MODP_PRIMES[bits]
        self._size = bits // 8
        if not 1 < x < self._p - 1:
            raise ValueError("MODP private exponent out of range")
        self._x = x
        self.public_bytes = pow(MODP_GENERATOR, x, self._p).to_bytes(self._size, "big")

    def shared_secret(self, peer_public: bytes) -> bytes:
        self._check_len(peer_public)
        y = int.from_bytes(peer_public, "big")
        if not 1 < y < self._p - 1:
            raise DhError(f"{A.DH_GROUPS[self.group].iana_name}: peer's public value must lie "
                          "strictly between 1 and p-1")
        return pow(y, self._x, self._p).to_bytes(self._size, "big")


class EcpKeyExchange(KeyExchange):
    __slots__ = ("_key", "_curve", "_coord")

    def __init__(self, group: int, value: int) -> None:
        curve_cls, coord = _ECP[group]
        self.group = group
        self._curve = curve_cls()
        self._coord = coord
        self._key = ec.derive_private_key(value, self._curve)  # ValueError unless 1 <= value < n
        nums = self._key.public_key().public_numbers()
        self.public_bytes = nums.x.to_bytes(coord, "big") + nums.y.to_bytes(coord, "big")

    def shared_secret(self, peer_public: bytes) -> bytes:
        self._check_len(peer_public)
        try:
            peer = ec.EllipticCurvePublicKey.from_encoded_point(self._curve, b"\x04" + peer_public)
            return self._key.exchange(ec.ECDH(), peer)
        except ValueError:
            raise DhError(f"{A.DH_GROUPS[self.group].iana_name}: peer's public value is not a "
                          "point on the curve") from None


class CurveKeyExchange(KeyExchange):
    __slots__ = ("_key", "_pub_cls")

    def __init__(self, group: int, private: bytes) -> None:
        self.group = group
        self._key: x25519.X25519PrivateKey | x448.X448PrivateKey
        self._pub_cls: type[x25519.X25519PublicKey] | type[x448.X448PublicKey]
        if group == A.CURVE25519:
            self._key = x25519.X25519PrivateKey.from_private_bytes(private)
            self._pub_cls = x25519.X25519PublicKey
        else:
            self._key = x448.X448PrivateKey.from_private_bytes(private)
            self._pub_cls = x448.X448PublicKey
        self.public_bytes = self._key.public_key().public_bytes_raw()

    def shared_secret(self, peer_public: bytes) -> bytes:
        self._check_len(peer_public)
        try:
            return self._key.exchange(self._pub_cls.from_public_bytes(peer_public))  # type: ignore[arg-type]
        except ValueError:
            raise DhError(f"{A.DH_GROUPS[self.group].iana_name}: shared secret is all zero "
                          "(peer sent a low-order point)") from None


SUPPORTED_GROUPS: tuple[int, ...] = (*_MODP_BITS, *_ECP, A.CURVE25519, A.CURVE448)


def new_key_exchange(group: int, rng: Rng) -> KeyExchange:
    """A fresh key pair for DH ``group`` drawn from ``rng``; ValueError for a group not implemented."""
    if group in _ECP:
        bits = _ECP[group][0]().key_size
        while True:  # rejection sampling: uniform in [1, n-1]
            value = rng.int_bits(bits)
            if value:
                try:
                    return EcpKeyExchange(group, value)
                except ValueError:
                    continue
    if group in (A.CURVE25519, A.CURVE448):
        return CurveKeyExchange(group, rng.bytes(32 if group == A.CURVE25519 else 56))
    if group in _MODP_BITS:
        while True:
            x = rng.int_bits(_MODP_EXP_BITS[_MODP_BITS[group]])
            if x > 1:
                return ModpKeyExchange(group, x)
    raise ValueError(f"DH group {A.transform_name(A.TRANSFORM_DH, group)} is not implemented")


def key_exchange_from_private(group: int, private: bytes) -> KeyExchange:
    """A key pair from a known private value (test vectors): the big-endian scalar or exponent
    for ECP/MODP, the raw 32/56-byte scalar for Curve25519/448."""
    if group in _ECP:
        return EcpKeyExchange(group, int.from_bytes(private, "big"))
    if group in (A.CURVE25519, A.CURVE448):
        return CurveKeyExchange(group, private)
    if group in _MODP_BITS:
        return ModpKeyExchange(group, int.from_bytes(private, "big"))
    raise ValueError(f"DH group {A.transform_name(A.TRANSFORM_DH, group)} is not implemented")
