"""IPsec SAs with IPv6 on either side: tunnel 6in6, 4in6 and 6in4, transport over IPv6.

:class:`DualStackSA` is a :class:`~ipsecsim.core.sa.SecurityAssociation` (same keys,
transforms, sequence numbers, replay window, limits and drop counters) whose packet
handling knows both families; :func:`make_sa` picks it only when a family is 6, so an
IPv4-only SA stays the IPv4 class with its fast path untouched.

* Tunnel mode (RFC 4303 §3.1.2, RFC 4302 §3.1.2): the outer header is IPv6 (next
  header 50/51, hop limit 64, traffic class and flow label 0) or IPv4 (as
  :mod:`~ipsecsim.core.sa` builds it); the ESP/AH next header names the inner family --
  41 for IPv6, 4 for IPv4 (IANA protocol numbers).
* Transport mode over IPv6 (RFC 4303 §3.1.1, RFC 4302 §3.1.1): ESP or AH goes after the
  Hop-by-Hop, Routing and Destination Options headers before a Routing header; a
  Destination Options header after a Routing header is protected. That is where Linux
  (``xfrm6_find_1stfragopt``) and Scapy (``split_for_transport``) put it. A fragment is
  refused (transport mode protects whole datagrams).
* AH over an IPv6 outer header: :mod:`~ipsecsim.core.ah6` (8-byte alignment, mutable
  fields zeroed per RFC 4302 §3.3.3.1.2).
* NAT traversal (RFC 3948) is IPv4-only here: an SA with an IPv6 family and ``encap`` is
  a :class:`~ipsecsim.core.errors.ConfigError`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from . import algorithms as A
from .ah6 import AhTransform6
from .errors import (
    MALFORMED,
    SA_EXPIRED,
    SEQ_OVERFLOW,
    UNKNOWN_SPI,
    ConfigError,
    DecodeError,
    PacketDrop,
)
from .ip.inet import IPPROTO_AH, IPPROTO_ESP, IPPROTO_IPIP
from .ip.ipv4 import addr, parse_ipv4
from .ip.ipv6 import (
    IPPROTO_DSTOPTS,
    IPPROTO_HOPOPTS,
    IPPROTO_IPV6,
    IPPROTO_ROUTING,
    IPV6_HEADER_LEN,
    Chain,
    aton6,
    bounds6,
    build_ipv6_header,
    walk,
)
from .rng import Rng
from .sa import OUTER_TTL, SaLimits, SecurityAssociation

__all__ = ["DualStackSA", "family_of", "make_sa", "transport_split"]

_SPI_SEQ = struct.Struct("!II")
_H2 = struct.Struct("!H")
_INNER_NH = {4: IPPROTO_IPIP, 6: IPPROTO_IPV6}
_FAMILY_NAME = {4: "IPv4", 6: "IPv6"}


def family_of(address: str) -> int:
    """4 or 6 for an address in text form; ConfigError for neither."""
    if ":" in address:
        try:
            aton6(address)
        except DecodeError as exc:
            raise ConfigError(str(exc)) from None
        return 6
    try:
        addr(address)
    except DecodeError as exc:
        raise ConfigError(str(exc)) from None
    return 4


def transport_split(pkt: bytes, ch: Chain) -> tuple[int, int]:
    """(where ESP/AH goes, where the Next Header field before it is) in IPv6 packet ``pkt``
    with chain ``ch``: after Hop-by-Hop, Routing, and Destination Options not after a
    Routing header (Linux and Scapy's choice, RFC 4303 §3.1.1)."""
    hl, nh_at = IPV6_HEADER_LEN, 6
    seen_rt = False
    for h in ch.headers:
        if h.kind == IPPROTO_HOPOPTS or h.kind == IPPROTO_ROUTING:
            seen_rt = seen_rt or h.kind == IPPROTO_ROUTING
        elif not (h.kind == IPPROTO_DSTOPTS and not seen_rt):
            break
        hl, nh_at = h.offset + h.length, h.offset
    return hl, nh_at


class DualStackSA(SecurityAssociation):
    """One direction of an ESP or AH SA whose outer or inner family (or both) is IPv6.

    ``families=(outer, inner)``: (6, 6) for 6in6 or IPv6 transport, (6, 4) for 4in6,
    (4, 6) for 6in4. Transport mode needs outer == inner. Everything else is as in
    :class:`~ipsecsim.core.sa.SecurityAssociation`.
    """

    def __init__(
        self,
        proto: str,
        spi: int,
        mode: str,
        encr: A.EncrAlg | None,
        encr_key: bytes,
        integ: A.IntegAlg | None,
        integ_key: bytes,
        tunnel_src: str | None = None,
        tunnel_dst: str | None = None,
        esn: bool = False,
        replay_window: int = 32,
        encap: tuple[int, int] | None = None,
        rng: Rng | None = None,
        limits: SaLimits | dict[str, int] | None = None,
        tfc_pad: int = 0,
        name: str = "",
        *,
        families: Sequence[int] = (6, 6),
    ) -> None:
        fam = tuple(families)
        if len(fam) != 2 or any(f not in (4, 6) for f in fam):
            raise ConfigError(f"families {families!r} must be (outer, inner), each 4 or 6")
        if fam == (4, 4):
            raise ConfigError("an IPv4-only SA is a SecurityAssociation (make_sa picks it)")
        if encap:
            raise ConfigError("NAT traversal (RFC 3948 UDP encapsulation) is modelled over IPv4 only, "
                              f"not for an {_FAMILY_NAME[fam[0]]}/{_FAMILY_NAME[fam[1]]} SA")
        if mode == "transport" and fam[0] != fam[1]:
            raise ConfigError(f"transport mode keeps the packet's own header: outer and inner "
                              f"families must match, got {fam}")
        # the base class in transport mode sets up keys, transforms and counters and takes
        # no fast path; the tunnel, if any, is this class's
        super().__init__(proto, spi, "transport", encr, encr_key, integ, integ_key, None, None,
                         esn, replay_window, None, rng, limits, tfc_pad, name)
        if mode not in ("tunnel", "transport"):
            raise ConfigError(f"SA mode {mode!r} must be 'tunnel' or 'transport'")
        self.mode = mode
        self.outer_family, self.inner_family = fam
        self.tunnel_src, self.tunnel_dst = tunnel_src, tunnel_dst
        self._inner_nh = _INNER_NH[self.inner_family]
        if proto == "ah" and self.outer_family == 6:
            assert integ is not None
            self.ah = AhTransform6(integ, integ_key, esn)
        self._src6 = self._dst6 = b""
        if mode == "tunnel":
            if not (tunnel_src and tunnel_dst):
                raise ConfigError("a tunnel-mode SA needs tunnel_src and tunnel_dst")
            for a in (tunnel_src, tunnel_dst):
                if family_of(a) != self.outer_family:
                    raise ConfigError(f"tunnel address {a} is not {_FAMILY_NAME[self.outer_family]}, "
                                      "the SA's outer family")
            if self.outer_family == 6:
                self._src6, self._dst6 = aton6(tunnel_src), aton6(tunnel_dst)
            else:  # what SecurityAssociation prepares for its IPv4 outer header (_outer)
                self._src, self._dst = addr(tunnel_src), addr(tunnel_dst)
                self._hsum = 0x4500 + ((OUTER_TTL << 8) | self._next) + sum(
                    struct.unpack("!4H", self._src + self._dst))
        self._max_len = 65535 + (IPV6_HEADER_LEN if self.outer_family == 6 else 0)
        """Largest outer packet: IPv6's payload length, IPv4's total length is 16 bits."""

    # ------------------------------------------------------------ outbound

    def encapsulate(self, ip_packet: bytes) -> bytes:
        """Protect one packet of the SA's inner family; returns the whole outer packet."""
        return self._encapsulate(ip_packet)

    def _check_inner(self, pkt: bytes) -> None:
        n = len(pkt)
        want = self.inner_family
        if n < 20 or pkt[0] >> 4 != want:
            raise PacketDrop(MALFORMED, f"SA 0x{self.spi:08x} protects {_FAMILY_NAME[want]}; "
                                        f"got IP version {pkt[0] >> 4 if pkt else '(empty)'}")
        try:
            end = bounds6(pkt) if want == 6 else (pkt[2] << 8) | pkt[3]
        except DecodeError as exc:
            raise PacketDrop(MALFORMED, str(exc)) from None
        if end != n:
            raise PacketDrop(MALFORMED, f"{_FAMILY_NAME[want]} header says {end} bytes, packet has {n}")

    def _encapsulate(self, ip_packet: bytes) -> bytes:
        n = len(ip_packet)
        try:
            if self._expired:
                raise PacketDrop(SA_EXPIRED, f"SPI 0x{self.spi:08x} reached its hard limit")
            self._check_inner(ip_packet)
            if n + self.overhead(n) > self._max_len:
                raise PacketDrop(MALFORMED, f"a {n}-byte packet protected would exceed the "
                                            f"{_FAMILY_NAME[self.outer_family]} maximum")
            if self.mode == "transport":
                ch = walk(ip_packet)
                if ch.fragment is not None:
                    raise PacketDrop(MALFORMED, "transport mode cannot protect a fragment (RFC 4303 §3.1.1)")
                seq = self.next_seq()
                out = self._transport_out(ip_packet, ch, seq)
            else:
                seq = self.next_seq()
                out = self._tunnel_out(ip_packet, seq)
        except PacketDrop as exc:
            if exc.reason != SEQ_OVERFLOW:  # next_seq counted it already
                self._drop(exc)
            raise exc from None
        except (DecodeError, IndexError, struct.error) as exc:
            raise self._drop(PacketDrop(MALFORMED, f"cannot protect: {exc}")) from None
        self._count(n)
        return out

    def _outer_header(self, payload_len: int) -> bytes:
        if self.outer_family == 6:
            return build_ipv6_header(self._src6, self._dst6, self._next, payload_len, hop_limit=OUTER_TTL)
        return self._outer(payload_len)

    def _tunnel_out(self, pkt: bytes, seq: int) -> bytes:
        if self.esp is not None:
            if len(pkt) < self.tfc_pad:
                pkt = pkt + bytes(self.tfc_pad - len(pkt))
            esp = self.esp.seal(self.spi, seq, pkt, self._inner_nh)
            return self._outer_header(len(esp)) + esp
        ah = self.ah
        assert ah is not None
        return ah.seal(self._outer_header(ah.ah_len + len(pkt)), self.spi, seq, self._inner_nh, pkt)

    def _transport_out(self, pkt: bytes, ch: Chain, seq: int) -> bytes:
        hl, nh_at = transport_split(pkt, ch)
        nh = pkt[nh_at]
        rest = pkt[hl:ch.end]
        hdr = bytearray(pkt[:hl])
        hdr[nh_at] = self._next
        if self.esp is not None:
            esp = self.esp.seal(self.spi, seq, rest, nh)
            _H2.pack_into(hdr, 4, hl - IPV6_HEADER_LEN + len(esp))
            return bytes(hdr) + esp
        ah = self.ah
        assert ah is not None
        _H2.pack_into(hdr, 4, hl - IPV6_HEADER_LEN + ah.ah_len + len(rest))
        return ah.seal(bytes(hdr), self.spi, seq, nh, rest)

    # ------------------------------------------------------------ inbound

    def decapsulate(self, ip_packet: bytes) -> bytes:
        """Verify and remove the protection of one received outer packet."""
        return self._decapsulate(ip_packet)

    def _locate(self, pkt: bytes) -> tuple[bytes, int, int]:
        """(the packet trimmed to its length, where ESP/AH starts, where the Next Header
        field naming it is)."""
        want = IPPROTO_ESP if self.esp is not None else IPPROTO_AH
        if self.outer_family == 4:
            h = parse_ipv4(pkt)
            if h.proto != want:
                raise PacketDrop(MALFORMED, f"IP protocol {h.proto} is not {self.proto.upper()}")
            if h.flags_frag & 0x3FFF:
                raise PacketDrop(MALFORMED, "an IPv4 fragment: reassemble before IPsec processing")
            return pkt[:h.total_length], h.header_length, 9
        end = bounds6(pkt)
        pkt = pkt[:end]
        ch = walk(pkt)
        if ch.fragment is not None:
            raise PacketDrop(MALFORMED, "an IPv6 fragment: reassemble before IPsec processing")
        if want == IPPROTO_ESP:
            if ch.upper != IPPROTO_ESP:
                raise PacketDrop(MALFORMED, f"IPv6 next header {ch.upper} is not ESP")
            return pkt, ch.upper_offset, ch.nh_at
        h6 = ch.find(IPPROTO_AH)
        if h6 is None:
            raise PacketDrop(MALFORMED, "no AH header in the IPv6 header chain")
        return pkt, h6.offset, h6.nh_at

    def _decapsulate(self, ip_packet: bytes) -> bytes:
        try:
            if self._expired:
                raise PacketDrop(SA_EXPIRED, f"SPI 0x{self.spi:08x} reached its hard limit")
            pkt, off, nh_at = self._locate(ip_packet)
            if self.esp is not None:
                spi, seq_lo = _SPI_SEQ.unpack_from(pkt, off)
                self._spi_check(spi)
                seq = self.replay.check(seq_lo)
                payload, nh = self.esp.open(pkt[off:], seq)
            else:
                ah = self.ah
                assert ah is not None
                nh, spi, seq_lo = ah.parse(pkt, off)
                self._spi_check(spi)
                seq = self.replay.check(seq_lo)
                nh, payload = ah.verify(pkt, off, seq)
            self.replay.accept(seq)
            if self.mode == "tunnel":
                out = self._inner(nh, payload)
            else:
                hdr = bytearray(pkt[:off])
                hdr[nh_at] = nh
                _H2.pack_into(hdr, 4, off - IPV6_HEADER_LEN + len(payload))
                out = bytes(hdr) + payload
        except PacketDrop as exc:
            raise self._drop(exc) from None
        except (DecodeError, IndexError, struct.error) as exc:
            raise self._drop(PacketDrop(MALFORMED, str(exc))) from None
        self._count(len(out))
        return out

    def _spi_check(self, spi: int) -> None:
        if spi != self.spi:
            raise PacketDrop(UNKNOWN_SPI, f"SPI 0x{spi:08x} is not this SA's 0x{self.spi:08x}")

    def _inner(self, nh: int, payload: bytes) -> bytes:
        """The inner packet of a tunnel-mode payload, TFC padding cut off; MALFORMED when it
        is not a packet of the SA's inner family."""
        fam = self.inner_family
        if nh != self._inner_nh:
            raise PacketDrop(MALFORMED, f"tunnel-mode next header {nh}, expected {self._inner_nh} "
                                        f"({_FAMILY_NAME[fam]})")
        n = len(payload)
        if n < 20 or payload[0] >> 4 != fam:
            raise PacketDrop(MALFORMED, f"tunnel payload is not an {_FAMILY_NAME[fam]} packet")
        if fam == 6:
            end = bounds6(payload)
        else:
            end = (payload[2] << 8) | payload[3]
            if end < 20:
                raise PacketDrop(MALFORMED, f"inner IPv4 length {end} is shorter than a header")
        if end > n:
            raise PacketDrop(MALFORMED, f"inner {_FAMILY_NAME[fam]} length {end} exceeds the {n}-byte payload")
        return payload[:end] if end < n else payload

    # ------------------------------------------------------------ introspection

    def overhead(self, ip_len: int) -> int:
        """Bytes added to a packet of ``ip_len`` bytes of the inner family (transport mode:
        an IPv6 packet whose only header is the fixed 40-byte one)."""
        outer_hl = IPV6_HEADER_LEN if self.outer_family == 6 else 20
        if self.esp is not None:
            if self.mode == "tunnel":
                return self.esp.wire_size(max(ip_len, self.tfc_pad)) + outer_hl - ip_len
            return self.esp.wire_size(ip_len - IPV6_HEADER_LEN) + IPV6_HEADER_LEN - ip_len
        assert self.ah is not None
        return self.ah.ah_len + (outer_hl if self.mode == "tunnel" else 0)

    def __repr__(self) -> str:
        return (super().__repr__()[:-1]
                + f" {_FAMILY_NAME[self.inner_family]}-in-{_FAMILY_NAME[self.outer_family]}>")


def make_sa(proto: str, spi: int, mode: str, encr: A.EncrAlg | None, encr_key: bytes,
            integ: A.IntegAlg | None, integ_key: bytes, tunnel_src: str | None = None,
            tunnel_dst: str | None = None, *, families: Sequence[int] = (4, 4),
            **kw: object) -> SecurityAssociation:
    """An SA for ``families=(outer, inner)``: the IPv4 :class:`SecurityAssociation` (with its
    fast path) for (4, 4), a :class:`DualStackSA` otherwise. Keyword arguments are the
    SA's (``esn``, ``replay_window``, ``encap``, ``rng``, ``limits``, ``tfc_pad``, ``name``)."""
    if tuple(families) == (4, 4):
        return SecurityAssociation(proto, spi, mode, encr, encr_key, integ, integ_key,
                                   tunnel_src, tunnel_dst, **kw)  # type: ignore[arg-type]
    return DualStackSA(proto, spi, mode, encr, encr_key, integ, integ_key, tunnel_src, tunnel_dst,
                       families=families, **kw)  # type: ignore[arg-type]

