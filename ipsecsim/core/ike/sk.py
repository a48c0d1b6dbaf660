"""The Encrypted and Authenticated payload SK (RFC 7296 §3.14), one direction of an IKE SA.

Layout of the SK payload body (after its 4-byte generic header)::

    IV | E(inner payloads | padding | pad length) | ICV

* AES-CBC + HMAC-SHA2 (RFC 7296 §3.14): random 16-byte IV, plaintext padded to
  the block size; the ICV is the truncated HMAC over the whole message from the
  first byte of the IKE header to the end of the ciphertext (SK_a key).
* AES-GCM-16 (RFC 5282 §5) and ChaCha20-Poly1305 (RFC 7634 §2-§3): the key is
  ``key || 4-byte salt``; nonce = salt || 8-byte explicit IV; the associated data
  is the message from the IKE header through the SK generic header; no
  alignment padding (only the pad-length byte); the 16-byte tag is the ICV.

The IV comes from the injected :class:`~ipsecsim.core.rng.Rng`; padding bytes
are zero (§3.14 lets the sender choose any value).
"""

from __future__ import annotations

import hmac

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from .. import algorithms as A
from ..errors import DecodeError, IpsecSimError
from ..rng import Rng


class IntegrityError(IpsecSimError):
    """The SK payload's ICV (HMAC or AEAD tag) did not verify: wrong key or altered bytes."""


class SkCipher:
    """Seals and opens SK payloads for one direction (SK_ei/SK_ai or SK_er/SK_ar)."""

    __slots__ = ("encr", "integ", "key_e", "key_a", "rng", "iv_size", "icv_size", "_block",
                 "_aead", "_salt", "_hash", "_cbc_key")

    def __init__(self, encr: A.EncrAlg, integ: A.IntegAlg | None, key_e: bytes, key_a: bytes,
                 rng: Rng) -> None:
        if len(key_e) != encr.keymat_size:
            raise ValueError(f"{encr.name} needs a {encr.keymat_size}-byte SK_e, got {len(key_e)}")
        self.encr, self.integ, self.key_e, self.key_a, self.rng = encr, integ, key_e, key_a, rng
        self._aead: AESGCM | ChaCha20Poly1305 | None = None
        self._hash: str | None = None
        self._salt = b""
        self._cbc_key: algorithms.AES | None = None
        if encr.aead:
            if integ is not None:
                raise ValueError(f"{encr.name} is an AEAD cipher and takes no integrity algorithm")
            key, self._salt = key_e[:encr.key_size], key_e[encr.key_size:]
            if encr.iana == A.ENCR_AES_GCM_16:
                self._aead = AESGCM(key)
            elif encr.iana == A.ENCR_CHACHA20_POLY1305:
                self._aead = ChaCha20Poly1305(key)
            else:
                raise ValueError(f"SK payload: AEAD cipher {encr.iana_name} is not implemented")
            self.iv_size, self.icv_size, self._block = 8, encr.icv_size, 1
        elif encr.iana == A.ENCR_AES_CBC:
            if integ is None:
                raise ValueError(f"{encr.name} needs an integrity algorithm for the SK payload")
            if len(key_a) != integ.key_size:
                raise ValueError(f"{integ.name} needs a {integ.key_size}-byte SK_a, got {len(key_a)}")
            self._cbc_key = algorithms.AES(key_e)
            self._hash = integ.hash_name
            self.iv_size, self.icv_size, self._block = 16, integ.icv_size, 16
        else:
            raise ValueError(f"SK payload: cipher {encr.iana_name} is not implemented")

    def sealed_size(self, plain_len: int) -> int:
        """Bytes of the SK payload body for ``plain_len`` bytes of inner payloads."""
        b = self._block
        padded = (plain_len + 1 + b - 1) // b * b
        return self.iv_size + padded + self.icv_size

    def seal(self, aad: bytes, plaintext: bytes) -> bytes:
        """IV || ciphertext || ICV for ``plaintext``.

        ``aad`` is the message from its first byte through the SK generic header,
        with the final length already in the IKE header.
        """
        b = self._block
        pad = (b - (len(plaintext) + 1) % b) % b
        data = plaintext + bytes(pad) + bytes((pad,))
        iv = self.rng.bytes(self.iv_size)
        if self._aead is not None:
            return iv + self._aead.encrypt(self._salt + iv, data, aad)
        enc = Cipher(self._cbc_key, modes.CBC(iv)).encryptor()  # type: ignore[arg-type]
        ct = iv + enc.update(data) + enc.finalize()
        icv = hmac.digest(self.key_a, aad + ct, self._hash)[:self.icv_size]  # type: ignore[arg-type]
        return ct + icv

    def open(self, aad: bytes, body: bytes) -> bytes:
        """The inner payload chain of an SK body; :class:`IntegrityError` if the ICV fails."""
        ivs, icvs = self.iv_size, self.icv_size
        if len(body) < ivs + icvs + 1:
            raise DecodeError(f"SK payload of {len(body)} bytes is too short for {self.encr.name}")
        iv = body[:ivs]
        if self._aead is not None:
            try:
                data = self._aead.decrypt(self._salt + iv, body[ivs:], aad)
            except InvalidTag:
                raise IntegrityError(
                    f"SK payload: {self.encr.iana_name} tag does not verify "
                    "(wrong key or altered message)") from None
        else:
            ct = body[:-icvs]
            want = hmac.digest(self.key_a, aad + ct, self._hash)[:icvs]  # type: ignore[arg-type]
            if not hmac.compare_digest(want, body[-icvs:]):
                raise IntegrityError(
                    f"SK payload: {self.integ.iana_name} ICV does not verify "  # type: ignore[union-attr]
                    "(wrong key or altered message)")
            ct = ct[ivs:]
            if len(ct) % 16:
                raise DecodeError(f"SK payload: {len(ct)} bytes of AES-CBC ciphertext is not "
                                  "a multiple of 16")
            dec = Cipher(self._cbc_key, modes.CBC(iv)).decryptor()  # type: ignore[arg-type]
            data = dec.update(ct) + dec.finalize()
        pad = data[-1]
        if pad + 1 > len(data):
            raise DecodeError(f"SK payload: pad length {pad} exceeds the {len(data)}-byte plaintext")
        return data[:len(data) - pad - 1]
