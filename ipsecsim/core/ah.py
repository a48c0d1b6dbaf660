"""AH (RFC 4302) over IPv4 with HMAC-SHA2 ICVs (RFC 4868).

The ICV covers the IP header with its mutable fields zeroed -- TOS, flags and
fragment offset, TTL, header checksum (RFC 4302 §3.3.3.1.1) -- the AH header
with the ICV field zeroed, and everything after it; with ESN the high 32 bits
of the sequence number are appended (never sent, RFC 4302 §3.3.3.2). So the
source and destination addresses are protected: a NAT rewriting either makes
the ICV fail, which is why AH and NAT do not mix.

IPv4 options are treated as immutable (included as they are); ipsecsim
never sends options.

Wire layout (RFC 4302 §2)::

    Next Header(1) | Payload Len(1) = AH length in 32-bit words - 2 | Reserved(2) |
    SPI(4) | Sequence(4) | ICV, padded to a multiple of 4 bytes for IPv4
"""

from __future__ import annotations

import hmac
import struct

from . import algorithms as A
from .errors import BAD_ICV, MALFORMED, ConfigError, PacketDrop

AH_FIXED_LEN = 12
_AH = struct.Struct("!BBHII")
_U32 = struct.Struct("!I")
_M32 = 0xFFFFFFFF


def zero_mutable(hdr: bytes) -> bytearray:
    """A copy of IPv4 header ``hdr`` with TOS, flags/fragment offset, TTL and checksum zeroed."""
    z = bytearray(hdr)
    z[1] = 0
    z[6] = z[7] = 0
    z[8] = 0
    z[10] = z[11] = 0
    return z


class AhTransform:
    """The MAC of one AH SA direction (key object built once)."""

    __slots__ = ("integ", "esn", "icv_size", "icv_field", "ah_len", "_hmac", "_zero_icv")

    def __init__(self, integ: A.IntegAlg, key: bytes, esn: bool = False) -> None:
        if len(key) != integ.key_size:
            raise ConfigError(f"{integ.name} needs a {integ.key_size}-byte key, got {len(key)}")
        self.integ = integ
        self.esn = esn
        self.icv_size = integ.icv_size
        self.icv_field = (integ.icv_size + 3) & ~3
        """ICV bytes on the wire, padded to a multiple of 4 (IPv4, RFC 4302 §3.3.3.2.1)."""
        self.ah_len = AH_FIXED_LEN + self.icv_field
        """The whole AH header in bytes."""
        self._hmac = hmac.new(key, digestmod=integ.hash_name)
        """Keyed once; each packet works on a copy."""
        self._zero_icv = bytes(self.icv_field)

    def _mac(self, zhdr: bytes | bytearray, ah_fixed: bytes, rest: bytes, seq: int) -> bytes:
        h = self._hmac.copy()
        h.update(zhdr)
        h.update(ah_fixed)
        h.update(self._zero_icv)
        h.update(rest)
        if self.esn:
            h.update(_U32.pack(seq >> 32))
        icv = h.digest()[:self.icv_size]
        return icv + bytes(self.icv_field - self.icv_size)

    def header(self, spi: int, seq: int, next_header: int) -> bytes:
        """The 12 fixed bytes of the AH header."""
        return _AH.pack(next_header, self.ah_len // 4 - 2, 0, spi, seq & _M32)

    def seal(self, ip_hdr: bytes, spi: int, seq: int, next_header: int, rest: bytes) -> bytes:
        """The whole packet ``ip_hdr | AH | rest``.

        ``ip_hdr`` must already carry protocol 51, the final total length and a
        valid checksum; it is sent as given and authenticated with its mutable
        fields zeroed.
        """
        fixed = self.header(spi, seq, next_header)
        return ip_hdr + fixed + self._mac(zero_mutable(ip_hdr), fixed, rest, seq) + rest

    def parse(self, pkt: bytes, hl: int) -> tuple[int, int, int]:
        """(next header, SPI, sequence low 32 bits) of the AH header at offset ``hl``."""
        if len(pkt) < hl + self.ah_len:
            raise PacketDrop(MALFORMED, f"AH header truncated ({len(pkt) - hl} bytes)")
        nh, plen, _res, spi, seq = _AH.unpack_from(pkt, hl)
        if (plen + 2) * 4 != self.ah_len:
            raise PacketDrop(MALFORMED, f"AH payload length {plen} does not match {self.integ.name} "
                                        f"(expected {self.ah_len // 4 - 2})")
        return nh, spi, seq

    def verify(self, pkt: bytes, hl: int, seq: int) -> tuple[int, bytes]:
        """Check the ICV of AH packet ``pkt`` (IP header of ``hl`` bytes, total length already
        trimmed); returns (next header, bytes after AH). :class:`PacketDrop` ``bad_icv``."""
        nh, _spi, _seq = self.parse(pkt, hl)
        end = hl + self.ah_len
        fixed = pkt[hl:hl + AH_FIXED_LEN]
        rest = pkt[end:]
        want = self._mac(zero_mutable(pkt[:hl]), fixed, rest, seq)
        if not hmac.compare_digest(want, pkt[hl + AH_FIXED_LEN:end]):
            raise PacketDrop(BAD_ICV, f"AH {self.integ.name} ICV mismatch")
        return nh, rest
