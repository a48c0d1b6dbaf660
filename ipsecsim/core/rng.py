"""The one seeded random source.

Every SPI, nonce, IV seed, DH private key and jitter draw comes from a
:class:`Rng` handed in from outside, so the same seed gives the same bytes.
The cipher stays real: the seed only picks key material.

Sub-streams (:meth:`Rng.child`) give each node its own deterministic stream,
so adding a node or a packet in one place does not shift every draw elsewhere.

A real endpoint (``ipsecsim peer``) takes :class:`SystemRng` instead: the same
interface over the operating system's source (``os.urandom``), so that the nonces
and SPIs it sends in clear tell an observer nothing about its DH private keys or
cookie secret (a Mersenne Twister's state is rebuilt from 624 outputs).
"""

from __future__ import annotations

import hashlib
import random


class Rng:
    """A deterministic random source with byte, integer and float draws."""

    __slots__ = ("_r", "seed", "label")

    def __init__(self, seed: int | str = 0, label: str = "") -> None:
        self.seed = seed
        self.label = label
        material = hashlib.sha256(f"{seed}/{label}".encode()).digest()
        self._r = random.Random(int.from_bytes(material, "big"))

    def child(self, label: str) -> Rng:
        """An independent stream derived from this one's seed and ``label``."""
        return Rng(self.seed, f"{self.label}/{label}")

    def bytes(self, n: int) -> bytes:
        """``n`` random bytes."""
        return self._r.randbytes(n)

    def int_bits(self, bits: int) -> int:
        """A random non-negative integer below ``2**bits``."""
        return self._r.getrandbits(bits)

    def randint(self, a: int, b: int) -> int:
        """A random integer in ``[a, b]``."""
        return self._r.randint(a, b)

    def random(self) -> float:
        """A float in ``[0, 1)``."""
        return self._r.random()

    def uniform(self, a: float, b: float) -> float:
        return self._r.uniform(a, b)

    def expovariate(self, rate: float) -> float:
        return self._r.expovariate(rate)

    def spi(self) -> int:
        """A non-zero 32-bit SPI outside the reserved range 1..255 (RFC 4303 §2.1)."""
        while True:
            v = self._r.getrandbits(32)
            if v > 255:
                return v


class SystemRng(Rng):
    """:class:`Rng`'s interface over the operating system's random source
    (:class:`random.SystemRandom`, which reads ``os.urandom``): nothing seeded, nothing to
    replay. For real endpoints only -- a simulation must stay reproducible."""

    __slots__ = ()

    def __init__(self, label: str = "system") -> None:
        self.seed = "os.urandom"
        self.label = label
        self._r = random.SystemRandom()

    def child(self, label: str) -> SystemRng:
        return SystemRng(f"{self.label}/{label}")
