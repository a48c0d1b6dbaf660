"""ESP payload protection (RFC 4303) with real ciphers from ``cryptography``.

An :class:`EspTransform` is built once per SA (the AEAD / key objects live in
it) and turns (SPI, sequence number, payload, next header) into the bytes from
the ESP header to the ICV, and back. It knows nothing of IP headers; the SA
(:mod:`ipsecsim.core.sa`) adds those.

Wire layout (RFC 4303 §2)::

    SPI(4) | Sequence(4) | IV | ciphertext of [payload | TFC pad | padding |
    pad length(1) | next header(1)] | ICV

* AES-GCM (RFC 4106) and ChaCha20-Poly1305 (RFC 7634): nonce = salt(4) || IV(8);
  the IV is the 64-bit sequence number, so it never repeats under one key
  (RFC 4106 §3.1, RFC 7634 §2); AAD = SPI || Seq, or SPI || Seq-hi || Seq-lo
  with ESN (RFC 4106 §5, RFC 7634 §2.1).
* AES-CBC (RFC 3602) + HMAC-SHA2 (RFC 4868): a fresh random IV per packet from
  the SA's seeded :class:`~ipsecsim.core.rng.Rng`; ICV over header..trailer,
  with Seq-hi appended (not sent) under ESN (RFC 4303 §2.2.1).
* NULL encryption (RFC 2410) + HMAC: integrity only.

Padding is RFC-minimal: the monotonic bytes 1, 2, 3, ... (RFC 4303 §2.4),
checked on receipt (``bad_padding``). The ICV is verified before anything in
the plaintext is looked at.
"""

from __future__ import annotations

import hmac
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.ciphers import algorithms as calg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from . import algorithms as A
from .errors import BAD_ICV, BAD_PADDING, MALFORMED, ConfigError, PacketDrop
from .rng import Rng

ESP_HEADER_LEN = 8
NEXT_HEADER_NONE = 59  # "no next header": a dummy packet (RFC 4303 §2.6)

_M32 = 0xFFFFFFFF
_SPI_SEQ = struct.Struct("!II")
_SPI_SEQ_IV = struct.Struct("!IIQ")
_ESN_AAD = struct.Struct("!III")
_U32 = struct.Struct("!I")
_from_bytes = int.from_bytes

#: PAD[n]: the n monotonic padding bytes 1..n (RFC 4303 §2.4)
PAD: tuple[bytes, ...] = tuple(bytes(range(1, n + 1)) for n in range(256))
# TRAILER[nh][n]: padding + pad length + next header, precomputed for the common next headers
_TRAILERS: dict[int, tuple[bytes, ...]] = {}


def trailer(next_header: int, pad_len: int) -> bytes:
    """Padding, Pad Length and Next Header for ``pad_len`` bytes of padding."""
    t = _TRAILERS.get(next_header)
    if t is None:
        t = tuple(PAD[n] + bytes((n, next_header)) for n in range(256))
        _TRAILERS[next_header] = t
    return t[pad_len]


def pad_length(payload_len: int, block: int) -> int:
    """RFC-minimal padding so that payload + padding + 2 is a multiple of ``block``."""
    return -(payload_len + 2) % block


class EspTransform:
    """The cipher (and MAC) of one ESP SA direction. Subclasses per algorithm family."""

    __slots__ = ("encr", "integ", "esn", "block", "iv_size", "icv_size", "min_len")

    def __init__(self, encr: A.EncrAlg, integ: A.IntegAlg | None, esn: bool) -> None:
        self.encr = encr
        self.integ = integ
        self.esn = esn
        self.block = encr.block_size
        self.iv_size = encr.iv_size
        self.icv_size = encr.icv_size if encr.aead else (integ.icv_size if integ else 0)
        self.min_len = ESP_HEADER_LEN + self.iv_size + 2 + self.icv_size
        """Shortest valid ESP packet (empty payload, no padding)."""

    def seal(self, spi: int, seq: int, payload: bytes, next_header: int) -> bytes:
        """ESP header .. ICV for ``payload`` at 64-bit sequence number ``seq``."""
        raise NotImplementedError

    def open(self, esp: bytes, seq: int) -> tuple[bytes, int]:
        """(payload, next header) of ESP bytes ``esp`` (header .. ICV) whose full sequence
        number is ``seq``; :class:`PacketDrop` ``bad_icv`` / ``bad_padding`` / ``malformed``."""
        raise NotImplementedError

    def wire_size(self, payload_len: int) -> int:
        """Bytes from ESP header to ICV for a payload of ``payload_len`` bytes."""
        return (ESP_HEADER_LEN + self.iv_size + payload_len + pad_length(payload_len, self.block)
                + 2 + self.icv_size)


def _strip_trailer(pt: bytes) -> tuple[bytes, int]:
    n = len(pt)
    if n < 2:
        raise PacketDrop(MALFORMED, "ESP plaintext shorter than its trailer")
    padlen = pt[-2]
    end = n - 2 - padlen
    if end < 0:
        raise PacketDrop(BAD_PADDING, f"pad length {padlen} exceeds the {n}-byte plaintext")
    if padlen and pt[end:n - 2] != PAD[padlen]:
        raise PacketDrop(BAD_PADDING, f"padding of {padlen} bytes is not 1, 2, 3, ...")
    return pt[:end], pt[-1]


class AeadTransform(EspTransform):
    """AES-GCM-16 (RFC 4106) or ChaCha20-Poly1305 (RFC 7634): IV = sequence number."""

    __slots__ = ("_aead", "_salt")

    def __init__(self, encr: A.EncrAlg, key: bytes, esn: bool) -> None:
        super().__init__(encr, None, esn)
        if len(key) != encr.keymat_size:
            raise ConfigError(f"{encr.name} needs {encr.keymat_size} bytes of key||salt, got {len(key)}")
        k, self._salt = key[:encr.key_size], key[encr.key_size:]
        self._aead = ChaCha20Poly1305(k) if encr.iana == A.ENCR_CHACHA20_POLY1305 else AESGCM(k)

    def seal(self, spi: int, seq: int, payload: bytes, next_header: int) -> bytes:
        hdr = _SPI_SEQ_IV.pack(spi, seq & _M32, seq)
        aad = _ESN_AAD.pack(spi, seq >> 32, seq & _M32) if self.esn else hdr[:8]
        pt = payload + trailer(next_header, -(len(payload) + 2) & 3)
        return hdr + self._aead.encrypt(self._salt + hdr[8:], pt, aad)

    def open(self, esp: bytes, seq: int) -> tuple[bytes, int]:
        if len(esp) < 34 or (len(esp) - 32) & 3:
            raise PacketDrop(MALFORMED, f"ESP packet of {len(esp)} bytes cannot hold IV, trailer and ICV")
        aad = _ESN_AAD.pack(_U32.unpack_from(esp)[0], seq >> 32, seq & _M32) if self.esn else esp[:8]
        try:
            pt = self._aead.decrypt(self._salt + esp[8:16], esp[16:], aad)
        except InvalidTag:
            raise PacketDrop(BAD_ICV, f"{self.encr.name} tag check failed") from None
        return _strip_trailer(pt)


class CbcHmacTransform(EspTransform):
    """AES-CBC (RFC 3602) or NULL (RFC 2410) encryption with an HMAC-SHA2 ICV (RFC 4868)."""

    __slots__ = ("_mac", "_hash", "_rng", "_null", "_enc", "_dec", "_chain_e", "_chain_d")

    def __init__(self, encr: A.EncrAlg, key: bytes, integ: A.IntegAlg | None, mac_key: bytes,
                 esn: bool, rng: Rng | None) -> None:
        super().__init__(encr, integ, esn)
        if len(key) != encr.keymat_size:
            raise ConfigError(f"{encr.name} needs a {encr.keymat_size}-byte key, got {len(key)}")
        if integ is not None and len(mac_key) != integ.key_size:
            raise ConfigError(f"{integ.name} needs a {integ.key_size}-byte key, got {len(mac_key)}")
        self._null = encr.iana == A.ENCR_NULL
        if self._null and integ is None:
            raise ConfigError("ESP with NULL encryption needs an integrity algorithm")
        if not self._null and rng is None:
            raise ConfigError("AES-CBC needs an Rng for its IVs")
        # One long-lived CBC context per direction instead of a new one per packet (5 us each):
        # a CBC context chains from the last ciphertext block it produced/consumed, so
        # XOR-ing the first plaintext block with (IV ^ that block) gives exactly
        # CBC-with-this-IV (and the same fix-up on the first block when decrypting).
        if not self._null:
            cipher = Cipher(calg.AES(key), modes.CBC(bytes(16)))
            self._enc = cipher.encryptor()
            self._dec = cipher.decryptor()
        self._chain_e = self._chain_d = 0
        self._hash = integ.hash_name if integ else ""
        # keyed once; each packet copies the keyed state (cheaper than re-keying)
        self._mac = hmac.new(mac_key, digestmod=self._hash) if integ else None
        self._rng = rng

    def icv(self, data: bytes, seq: int) -> bytes:
        """The truncated HMAC over ``data`` (with Seq-hi appended under ESN, RFC 4303 §2.2.1)."""
        h = self._mac.copy()  # type: ignore[union-attr]
        h.update(data)
        if self.esn:
            h.update(_U32.pack(seq >> 32))
        return h.digest()[:self.icv_size]

    def seal(self, spi: int, seq: int, payload: bytes, next_header: int) -> bytes:
        pt = payload + trailer(next_header, pad_length(len(payload), self.block))
        hdr = _SPI_SEQ.pack(spi, seq & _M32)
        if self._null:
            body = hdr + pt
        else:
            iv = self._rng.bytes(16)  # type: ignore[union-attr]
            first = (_from_bytes(pt[:16], "big") ^ _from_bytes(iv, "big") ^ self._chain_e).to_bytes(16, "big")
            ct = self._enc.update(first + pt[16:])
            self._chain_e = _from_bytes(ct[-16:], "big")
            body = hdr + iv + ct
        if self.icv_size:
            return body + self.icv(body, seq)
        return body

    def open(self, esp: bytes, seq: int) -> tuple[bytes, int]:
        n = len(esp)
        icv_at = n - self.icv_size
        ct_len = icv_at - ESP_HEADER_LEN - self.iv_size
        if ct_len < 2 or ct_len % self.block:
            raise PacketDrop(MALFORMED, f"ESP ciphertext of {ct_len} bytes is not a multiple of "
                                        f"the {self.block}-byte block")
        if self.icv_size and not hmac.compare_digest(self.icv(esp[:icv_at], seq), esp[icv_at:]):
            raise PacketDrop(BAD_ICV, f"HMAC-{self._hash.upper()} ICV mismatch")
        if self._null:
            pt = esp[ESP_HEADER_LEN:icv_at]
        else:
            ct = esp[24:icv_at]
            raw = self._dec.update(ct)
            first = _from_bytes(raw[:16], "big") ^ self._chain_d ^ _from_bytes(esp[8:24], "big")
            self._chain_d = _from_bytes(ct[-16:], "big")
            pt = first.to_bytes(16, "big") + raw[16:]
        return _strip_trailer(pt)


def make_transform(encr: A.EncrAlg, encr_key: bytes, integ: A.IntegAlg | None, integ_key: bytes,
                   esn: bool = False, rng: Rng | None = None) -> EspTransform:
    """The ESP transform for an algorithm pair; :class:`ConfigError` for impossible pairs."""
    if encr.aead:
        if integ is not None:
            raise ConfigError(f"{encr.name} is an AEAD cipher; ESP takes no integrity algorithm with it")
        return AeadTransform(encr, encr_key, esn)
    if encr.iana in (A.ENCR_AES_CBC, A.ENCR_NULL):
        if integ is None and encr.iana == A.ENCR_AES_CBC:
            raise ConfigError("AES-CBC without integrity is not allowed (RFC 8221 §5)")
        return CbcHmacTransform(encr, encr_key, integ, integ_key, esn, rng)
    raise ConfigError(f"ESP cipher {encr.iana_name} is not implemented")
