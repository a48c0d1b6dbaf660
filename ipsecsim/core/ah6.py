"""AH over IPv6 (RFC 4302): the mutable fields of the IPv6 headers and 8-byte alignment.

The ICV covers the IPv6 header and every extension header before AH with the mutable
fields zeroed (RFC 4302 §3.3.3.1.2):

* the fixed header's traffic class, flow label and hop limit (§3.3.3.1.2.1: DSCP/ECN
  may be rewritten, the flow label was mutable in AHv1, the hop limit drops per hop);
* the data of every Hop-by-Hop or Destination option whose type has the change-en-route
  bit (0x20) set (RFC 8200 §4.2; RFC 4302 §3.3.3.1.2.2): type and length stay covered;
* a Routing header is covered as the receiver will see it. ipsecsim sends none with
  Segments Left > 0, and refuses to seal over one (its reordering per §3.3.3.1.2.2 is not
  modelled); one that arrives is covered as received.

IPv6 needs the AH header to be a multiple of 8 bytes (RFC 4302 §2.2, §3.3.3.2.1): the
ICV field is padded with zeros, which the ICV covers -- 28-byte HMAC-SHA2-256-128 AH
becomes 32 bytes, as Linux and Scapy send it.
"""

from __future__ import annotations

import hmac

from . import algorithms as A
from .ah import AH_FIXED_LEN, AhTransform
from .errors import BAD_ICV, MALFORMED, PacketDrop
from .ip.inet import IPPROTO_AH
from .ip.ipv6 import (
    IPPROTO_DSTOPTS,
    IPPROTO_HOPOPTS,
    IPPROTO_ROUTING,
    IPV6_HEADER_LEN,
    options,
    walk,
)

OPT_CHANGES_EN_ROUTE = 0x20
"""The third-highest bit of an option type (RFC 8200 §4.2)."""


def zero_mutable6(hdr: bytes, sending: bool = False) -> bytearray:
    """A copy of ``hdr`` -- the IPv6 header and the extension headers up to AH, Next Header
    fields final -- with what may change en route zeroed (RFC 4302 §3.3.3.1.2).
    :class:`PacketDrop` ``malformed`` for a chain that does not end where ``hdr`` does,
    or (``sending``) a Routing header with segments left."""
    if len(hdr) < IPV6_HEADER_LEN or hdr[0] >> 4 != 6:
        raise PacketDrop(MALFORMED, f"the headers before AH are no IPv6 header ({len(hdr)} bytes)")
    try:
        ch = walk(hdr, end=len(hdr), nh=hdr[6], prefix=True)
    except ValueError as exc:
        raise PacketDrop(MALFORMED, f"headers before AH: {exc}") from None
    if ch.upper_offset != len(hdr) or ch.upper != IPPROTO_AH:
        raise PacketDrop(MALFORMED, "the IPv6 header chain does not lead to AH")
    z = bytearray(hdr)
    z[1] = 0          # traffic class (low nibble) and flow label
    z[2] = z[3] = 0
    z[0] &= 0xF0      # traffic class (high nibble)
    z[7] = 0          # hop limit
    for h in ch.headers:
        if h.kind in (IPPROTO_HOPOPTS, IPPROTO_DSTOPTS):
            try:
                opts = options(hdr, h)
            except ValueError as exc:
                raise PacketDrop(MALFORMED, str(exc)) from None
            for t, at, n in opts:
                if t & OPT_CHANGES_EN_ROUTE:
                    z[at:at + n] = bytes(n)
        elif h.kind == IPPROTO_ROUTING and sending and hdr[h.offset + 3]:
            raise PacketDrop(MALFORMED, "AH over a Routing header with segments left is not modelled")
    return z


class AhTransform6(AhTransform):
    """:class:`~ipsecsim.core.ah.AhTransform` for an IPv6 outer header: ICV field padded so
    the AH header is a multiple of 8 bytes, mutable fields zeroed per :func:`zero_mutable6`."""

    __slots__ = ()

    def __init__(self, integ: A.IntegAlg, key: bytes, esn: bool = False) -> None:
        super().__init__(integ, key, esn)
        self.ah_len = (AH_FIXED_LEN + integ.icv_size + 7) & ~7
        self.icv_field = self.ah_len - AH_FIXED_LEN
        self._zero_icv = bytes(self.icv_field)

    def seal(self, ip_hdr: bytes, spi: int, seq: int, next_header: int, rest: bytes) -> bytes:
        """``ip_hdr | AH | rest``; ``ip_hdr`` (IPv6 header and extension headers) must
        already name AH as the next header and carry the final payload length."""
        fixed = self.header(spi, seq, next_header)
        return ip_hdr + fixed + self._mac(zero_mutable6(ip_hdr, sending=True), fixed, rest, seq) + rest

    def verify(self, pkt: bytes, hl: int, seq: int) -> tuple[int, bytes]:
        """Check the ICV of ``pkt`` whose AH header starts at ``hl`` (payload length trimmed)."""
        nh, _spi, _seq = self.parse(pkt, hl)
        end = hl + self.ah_len
        fixed = pkt[hl:hl + AH_FIXED_LEN]
        rest = pkt[end:]
        want = self._mac(zero_mutable6(pkt[:hl]), fixed, rest, seq)
        if not hmac.compare_digest(want, pkt[hl + AH_FIXED_LEN:end]):
            raise PacketDrop(BAD_ICV, f"AH {self.integ.name} ICV mismatch")
        return nh, rest
