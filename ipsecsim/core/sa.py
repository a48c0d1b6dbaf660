"""One IPsec Security Association: ESP or AH, tunnel or transport, over IPv4.

:meth:`SecurityAssociation.encapsulate` takes a whole IPv4 packet and returns
the whole outer packet to send; :meth:`SecurityAssociation.decapsulate` takes
a received outer packet and returns the inner packet (tunnel) or the
reconstructed original (transport), or raises
:class:`~ipsecsim.core.errors.PacketDrop` with a reason -- after counting it.

* Tunnel mode (RFC 4303 §3.1.2, RFC 4302 §3.1.2): a new outer IPv4 header
  ``tunnel_src -> tunnel_dst``, next header 4 (IP-in-IP). Outer TTL 64, TOS 0,
  DF clear, identification = low 16 bits of the sequence number.
* Transport mode (§3.1.1): the original header is kept, its protocol becomes
  50/51 and the original protocol moves into the next-header field.
* ``encap=(sport, dport)``: ESP inside UDP (RFC 3948). In transport mode the
  receiver recomputes TCP/UDP checksums (§3.1.2), since a NAT changed the
  addresses they were computed over.

The per-packet path builds no objects beyond the byte strings it returns:
header templates, AEAD and MAC keys are prepared once in the constructor.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag

from . import algorithms as A
from .ah import AhTransform
from .errors import (
    BAD_ICV,
    BAD_PADDING,
    MALFORMED,
    SA_EXPIRED,
    SEQ_OVERFLOW,
    UNKNOWN_SPI,
    ConfigError,
    DecodeError,
    PacketDrop,
)
from .esp import PAD, AeadTransform, EspTransform, make_transform, trailer
from .ip import (
    IPPROTO_AH,
    IPPROTO_ESP,
    IPPROTO_IPIP,
    IPPROTO_UDP,
    addr,
    fix_l4_checksum,
    header_checksum,
    parse_ipv4,
    set_ipv4_checksum,
)
from .natt import udp_header
from .replay import ReplayWindow
from .rng import Rng

_M32 = 0xFFFFFFFF
_HDR = struct.Struct("!BBHHHBBH4s4s")
# outer IPv4 + ESP header + 8-byte IV, with the constant words as integers: version/IHL/TOS,
# length, identification, flags/offset, TTL/protocol, checksum, source+destination+SPI, Seq, IV
_HDR_ESP_IV = struct.Struct("!HHHHHH12sIQ").pack
# received outer header fields the fast path uses: version/IHL, length, protocol, SPI, Seq, IV
_IN_HDR = struct.Struct("!BxH5xB10xIIQ").unpack_from
_NONCE = struct.Struct("!IQ").pack  # salt || 64-bit IV (RFC 4106 §4)
_TTL_ESP = (64 << 8) | 50
_HDR_SPI_SEQ = struct.Struct("!II")
_from_bytes = int.from_bytes
_ESN_AAD = struct.Struct("!III")
_TRAILER_IPIP = tuple(trailer(IPPROTO_IPIP, n) for n in range(4))
# the RFC-minimal trailer after an n-byte packet, by n % 4 (pad to a multiple of 4 with the 2 trailer bytes)
_TRAILER_BY_LEN = tuple(_TRAILER_IPIP[-(n + 2) & 3] for n in range(4))
_U32 = struct.Struct("!I")
_H2 = struct.Struct("!H")
_UDP = struct.Struct("!HHHH")
OUTER_TTL = 64


@dataclass(frozen=True, slots=True)
class SaLimits:
    """Byte and packet lifetimes of an SA (RFC 4301 §4.4.2.1); 0 means no limit."""

    soft_bytes: int = 0
    """Bytes after which a soft event asks IKE to rekey."""
    hard_bytes: int = 0
    """Bytes after which the SA refuses traffic (``sa_expired``)."""
    soft_packets: int = 0
    """Packets after which a soft event asks IKE to rekey."""
    hard_packets: int = 0
    """Packets after which the SA refuses traffic."""

    @classmethod
    def from_dict(cls, d: dict[str, int] | None) -> SaLimits:
        d = d or {}
        return cls(d.get("soft_bytes", 0), d.get("hard_bytes", 0),
                   d.get("soft_packets", 0), d.get("hard_packets", 0))

    @property
    def any(self) -> bool:
        return bool(self.soft_bytes or self.hard_bytes or self.soft_packets or self.hard_packets)


@dataclass(frozen=True, slots=True)
class SaLimitReached:
    """An SA crossed a byte or packet limit (pulled with ``IPsecStack.next_event()``)."""

    spi: int
    which: str
    """``soft`` (rekey now) or ``hard`` (the SA no longer passes traffic)."""
    kind: str
    """``bytes`` or ``packets``."""
    proto: str = "esp"
    """``esp`` or ``ah``."""
    value: int = 0
    """The counter value when the limit was crossed."""


def _tunnel_payload_length(pt: bytes, replay: ReplayWindow, seq: int) -> int:
    """Length of the IPv4 packet in authenticated tunnel-mode ESP plaintext ``pt`` (payload,
    padding, pad length, next header), or :class:`PacketDrop` saying what is wrong. As on
    the general path, a refusal after the padding checked out still slides the window;
    on success the caller slides it."""
    padlen = pt[-2]
    end = len(pt) - 2 - padlen
    if end < 0 or (padlen and pt[end:-2] != PAD[padlen]):
        raise PacketDrop(BAD_PADDING, f"pad length {padlen} / padding bytes are wrong")
    itl = (pt[2] << 8) | pt[3]
    if pt[-1] != IPPROTO_IPIP or end < 20 or pt[0] >> 4 != 4:
        replay.accept(seq)
        raise PacketDrop(MALFORMED, f"tunnel payload (next header {pt[-1]}) is not IPv4")
    if itl > end or itl < 20:
        replay.accept(seq)
        raise PacketDrop(MALFORMED, f"inner IPv4 length {itl} exceeds the {end}-byte payload")
    return itl


class SecurityAssociation:
    """One direction of an IPsec SA. The same object can encapsulate and decapsulate
    (tests use one SA for both ends); normally the stack uses it for one direction."""

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
    ) -> None:
        if proto not in ("esp", "ah"):
            raise ConfigError(f"SA protocol {proto!r} must be 'esp' or 'ah'")
        if mode not in ("tunnel", "transport"):
            raise ConfigError(f"SA mode {mode!r} must be 'tunnel' or 'transport'")
        if not 0 < spi <= _M32:
            raise ConfigError(f"SPI {spi} is not a non-zero 32-bit value")
        self.proto = proto
        self.spi = spi
        self.mode = mode
        self.encr = encr
        self.integ = integ
        self.esn = esn
        self.encap = encap
        self.tfc_pad = tfc_pad
        """Tunnel mode: pad the inner packet with zeros to at least this many bytes (RFC 4303 §2.4)."""
        self.name = name
        """Child SA name, for traces and explanations."""
        self.limits = limits if isinstance(limits, SaLimits) else SaLimits.from_dict(limits)
        self.tunnel_src = tunnel_src
        self.tunnel_dst = tunnel_dst
        self.seq = 0
        """Last sequence number sent (64-bit counter; the wire carries the low 32 bits)."""
        self.replay = ReplayWindow(replay_window, esn)
        self.packets = 0
        self.bytes = 0
        """Bytes of plaintext IP packets processed (as strongSwan counts them)."""
        self.used_at = -1.0
        """When an inbound SA last took a packet (``now`` of :meth:`IPsecStack.inbound`; -1:
        never) -- the kernel's use time that strongSwan's DPD reads (``child_sa.c``
        ``get_usestats()``)."""
        self.drops: Counter[str] = Counter()
        self.events: list[SaLimitReached] = []
        """Limit events not yet pulled by the stack."""
        self._expired = False
        self._soft_sent = False
        self._limited = self.limits.any
        self._max_seq = (1 << 64) - 1 if esn else _M32
        self.esp: EspTransform | None = None
        self.ah: AhTransform | None = None
        if proto == "esp":
            if encr is None:
                raise ConfigError("an ESP SA needs an encryption algorithm (ENCR_NULL for none)")
            self.esp = make_transform(encr, encr_key, integ, integ_key, esn, rng)
            self._next = IPPROTO_UDP if encap else IPPROTO_ESP
        else:
            if integ is None:
                raise ConfigError("an AH SA needs an integrity algorithm")
            if encap:
                raise ConfigError("AH cannot be UDP-encapsulated (RFC 3948 covers ESP only)")
            self.ah = AhTransform(integ, integ_key, esn)
            self._next = IPPROTO_AH
        if mode == "tunnel":
            if not (tunnel_src and tunnel_dst):
                raise ConfigError("a tunnel-mode SA needs tunnel_src and tunnel_dst")
            self._src, self._dst = addr(tunnel_src), addr(tunnel_dst)
            # sum of the outer header's fixed 16-bit words; length and id are added per packet
            self._hsum = (0x4500 + ((OUTER_TTL << 8) | self._next) + sum(struct.unpack("!4H", self._src + self._dst)))
        # fast path: AEAD ESP in tunnel mode without UDP encapsulation (the common case).
        # Everything it needs that does not change per packet is prepared here.
        self._fast = isinstance(self.esp, AeadTransform) and mode == "tunnel" and not encap
        self._fast_out = self._fast and not tfc_pad
        self._fast_max = 0
        """Highest sequence number the outbound fast path may send (0: never take it)."""
        self._fast_in = False
        """Whether the inbound fast path may be tried (AEAD tunnel SA, not expired)."""
        if self._fast:
            aead = self.esp._aead  # type: ignore[union-attr]
            self._salt = self.esp._salt  # type: ignore[union-attr]
            self._salt_i = _from_bytes(self._salt, "big")
            self._encrypt = aead.encrypt
            self._decrypt = aead.decrypt
            self._addrs_spi = self._src + self._dst + _U32.pack(spi)
        # an SA that can never take a fast path goes straight to the general code
        if not self._fast_out:
            self.encapsulate = self._encapsulate  # type: ignore[method-assign]
        if not self._fast:
            self.decapsulate = self._decapsulate  # type: ignore[method-assign]
        self._set_fast()

    # ------------------------------------------------------------ bookkeeping

    @property
    def expired(self) -> bool:
        """The SA reached a hard limit and passes no more traffic."""
        return self._expired

    @expired.setter
    def expired(self, value: bool) -> None:
        self._expired = value
        self._set_fast()

    def _set_fast(self) -> None:
        self._fast_max = self._max_seq if self._fast_out and not self._expired else 0
        self._fast_in = self._fast and not self._expired

    def _count(self, n: int) -> None:
        self.packets += 1
        self.bytes += n
        if self._limited:
            self._check_limits()

    def _check_limits(self) -> None:
        lim = self.limits
        if not self._soft_sent:
            for kind, val, soft in (("bytes", self.bytes, lim.soft_bytes),
                                    ("packets", self.packets, lim.soft_packets)):
                if soft and val >= soft:
                    self._soft_sent = True
                    self.events.append(SaLimitReached(self.spi, "soft", kind, self.proto, val))
                    break
        if not self.expired:
            for kind, val, hard in (("bytes", self.bytes, lim.hard_bytes),
                                    ("packets", self.packets, lim.hard_packets)):
                if hard and val >= hard:
                    self.expired = True
                    self.events.append(SaLimitReached(self.spi, "hard", kind, self.proto, val))
                    break

    def _drop(self, exc: PacketDrop) -> PacketDrop:
        self.drops[exc.reason] += 1
        return exc

    def _outer(self, payload_len: int) -> bytes:
        """The tunnel's outer IPv4 header; identification = low 16 bits of the sequence number."""
        ident = self.seq & 0xFFFF
        tlen = 20 + payload_len
        return _HDR.pack(0x45, 0, tlen, ident, 0, OUTER_TTL, self._next,
                         -(self._hsum + tlen + ident) % 0xFFFF, self._src, self._dst)

    # ------------------------------------------------------------ outbound

    def next_seq(self) -> int:
        """Take the next sequence number; ``seq_overflow`` when the space is used up
        (RFC 4303 §3.3.3: without ESN the last one sent is 2**32 - 1)."""
        if self.seq >= self._max_seq:
            raise self._drop(PacketDrop(SEQ_OVERFLOW, f"SPI 0x{self.spi:08x} sent sequence {self.seq}; "
                                                      "rekey needed"))
        self.seq += 1
        return self.seq

    def encapsulate(self, ip_packet: bytes) -> bytes:
        """Protect one IPv4 packet; returns the whole outer IPv4 packet."""
        n = len(ip_packet)
        seq = self.seq + 1
        if seq <= self._fast_max and n <= 65478:
            # the general path (_encapsulate), inlined for AEAD tunnel mode: one struct.pack
            # for outer IPv4 + ESP header + IV, one AEAD call, one concatenation
            self.seq = seq
            tlen = (n + 57) & -4  # 20 IP + 8 ESP + 8 IV + payload + pad to 4 + 2 + 16 ICV
            ident = seq & 0xFFFF
            # header checksum: the fixed words' sum is precomputed; -x mod 0xFFFF is the
            # one's complement of the folded sum (RFC 1071)
            csum = -(self._hsum + tlen + ident) % 0xFFFF
            if self.esn:
                hdr = _HDR_ESP_IV(0x4500, tlen, ident, 0, _TTL_ESP, csum, self._addrs_spi, seq & _M32, seq)
                aad = _ESN_AAD.pack(self.spi, seq >> 32, seq & _M32)
            else:  # seq < 2**32 here: Seq and IV carry the same value
                hdr = _HDR_ESP_IV(0x4500, tlen, ident, 0, _TTL_ESP, csum, self._addrs_spi, seq, seq)
                aad = hdr[20:28]
            ct = self._encrypt(_NONCE(self._salt_i, seq), ip_packet + _TRAILER_BY_LEN[n & 3], aad)
            self.packets += 1
            self.bytes += n
            if self._limited:
                self._check_limits()
            return hdr + ct
        return self._encapsulate(ip_packet)

    def _encapsulate(self, ip_packet: bytes) -> bytes:
        n = len(ip_packet)
        if self._expired:
            raise self._drop(PacketDrop(SA_EXPIRED, f"SPI 0x{self.spi:08x} reached its hard limit"))
        if n + self.overhead(n) > 65535:
            raise self._drop(PacketDrop(MALFORMED, f"a {n}-byte packet protected would exceed "
                                                   "the 65535-byte IPv4 maximum"))
        seq = self.next_seq()
        try:
            if self.esp is not None:
                if self.mode == "tunnel":
                    if n < self.tfc_pad:
                        ip_packet = ip_packet + bytes(self.tfc_pad - n)
                    esp = self.esp.seal(self.spi, seq, ip_packet, IPPROTO_IPIP)
                    if self.encap:
                        esp = udp_header(self.encap[0], self.encap[1], len(esp)) + esp
                    out = self._outer(len(esp)) + esp
                else:
                    out = self._transport_esp(ip_packet, seq)
            else:
                out = self._ah_out(ip_packet, seq)
        except (IndexError, struct.error) as exc:
            raise self._drop(PacketDrop(MALFORMED, f"cannot protect: {exc}")) from None
        self._count(n)
        return out

    def _transport_esp(self, pkt: bytes, seq: int) -> bytes:
        hl = (pkt[0] & 15) * 4
        tlen = (pkt[2] << 8) | pkt[3]
        if (pkt[6] & 0x3F) or pkt[7]:
            raise PacketDrop(MALFORMED, "transport mode cannot protect a fragment (RFC 4303 §3.1.1)")
        esp = self.esp.seal(self.spi, seq, pkt[hl:tlen], pkt[9])  # type: ignore[union-attr]
        if self.encap:
            esp = udp_header(self.encap[0], self.encap[1], len(esp)) + esp
        hdr = bytearray(pkt[:hl])
        hdr[9] = self._next
        _H2.pack_into(hdr, 2, hl + len(esp))
        set_ipv4_checksum(hdr)
        return bytes(hdr) + esp

    def _ah_out(self, pkt: bytes, seq: int) -> bytes:
        ah = self.ah
        assert ah is not None
        if self.mode == "tunnel":
            inner = pkt
            out_hdr = self._outer(ah.ah_len + len(inner))
            return ah.seal(out_hdr, self.spi, seq, IPPROTO_IPIP, inner)
        hl = (pkt[0] & 15) * 4
        tlen = (pkt[2] << 8) | pkt[3]
        if (pkt[6] & 0x3F) or pkt[7]:
            raise PacketDrop(MALFORMED, "transport mode cannot protect a fragment")
        hdr = bytearray(pkt[:hl])
        nh = hdr[9]
        hdr[9] = IPPROTO_AH
        _H2.pack_into(hdr, 2, tlen + ah.ah_len)
        set_ipv4_checksum(hdr)
        return ah.seal(bytes(hdr), self.spi, seq, nh, pkt[hl:tlen])

    # ------------------------------------------------------------ inbound

    def decapsulate(self, ip_packet: bytes) -> bytes:
        """Verify and remove the protection of one received IPv4 packet."""
        pkt = ip_packet
        n = len(pkt)
        if self._fast_in and n >= 80:
            # the general path (_decapsulate), inlined for AEAD tunnel mode when the outer
            # header is a plain 20-byte ESP one for this SA; anything else (and every
            # refusal but replay and ICV) is left to the general path, which says why
            vihl, tlen, proto, spi, seq, iv = _IN_HDR(pkt)
            if (vihl == 0x45 and proto == IPPROTO_ESP and tlen == n and spi == self.spi
                    and not (n - 52) & 3 and not _from_bytes(pkt[:20], "big") % 0xFFFF):
                rp = self.replay
                top = rp.top
                try:
                    if self.esn:
                        seq = rp.check(seq)
                        aad = _ESN_AAD.pack(spi, seq >> 32, seq & _M32)
                    else:
                        if seq <= top:  # possibly a replay: the window decides
                            rp.check(seq)
                        aad = pkt[20:28]
                    try:
                        pt = self._decrypt(_NONCE(self._salt_i, iv), pkt[36:], aad)
                    except InvalidTag:
                        raise PacketDrop(BAD_ICV, f"{self.encr.name} tag check failed") from None  # type: ignore[union-attr]
                    itl = (pt[2] << 8) | pt[3]
                    # RFC-minimal padding right after the inner packet (what every sender
                    # here and Linux use): one comparison; anything else is checked in full.
                    # n >= 80 leaves >= 28 bytes of plaintext, so a match means itl >= 23.
                    if pt[itl:] != _TRAILER_BY_LEN[itl & 3] or pt[0] >> 4 != 4:
                        itl = _tunnel_payload_length(pt, rp, seq)
                except PacketDrop as exc:
                    raise self._drop(exc) from None
                # authenticated: slide the window (ReplayWindow.accept, inlined for the in-order case)
                if seq > top:
                    shift = seq - top
                    rp.bitmap = ((rp.bitmap << shift) | 1) & rp._mask if shift < rp.size else 1
                    rp.top = seq
                else:
                    rp.accept(seq)
                self.packets += 1
                self.bytes += itl
                if self._limited:
                    self._check_limits()
                return pt[:itl]
        return self._decapsulate(pkt)

    def _decapsulate(self, ip_packet: bytes) -> bytes:
        pkt = ip_packet
        try:
            if self._expired:
                raise PacketDrop(SA_EXPIRED, f"SPI 0x{self.spi:08x} reached its hard limit")
            if len(pkt) < 20 or pkt[0] != 0x45:
                h = parse_ipv4(pkt)  # options or garbage: the slow path says what is wrong
                hl = h.header_length
            else:
                hl = 20
                if header_checksum(pkt) != 0:
                    raise PacketDrop(MALFORMED, "outer IPv4 header checksum is wrong")
            tlen = (pkt[2] << 8) | pkt[3]
            if tlen > len(pkt) or tlen < hl:
                raise PacketDrop(MALFORMED, f"IPv4 total length {tlen} does not fit {len(pkt)} bytes")
            if len(pkt) != tlen:
                pkt = pkt[:tlen]
            if self.esp is not None:
                out = self._esp_in(pkt, hl)
            else:
                out = self._ah_in(pkt, hl)
        except PacketDrop as exc:
            raise self._drop(exc) from None
        except (DecodeError, IndexError, struct.error) as exc:
            raise self._drop(PacketDrop(MALFORMED, str(exc))) from None
        self._count(len(out))
        return out

    def _esp_in(self, pkt: bytes, hl: int) -> bytes:
        proto = pkt[9]
        off = hl
        if proto == IPPROTO_UDP:
            if pkt[hl + 8:hl + 12] == b"\0\0\0\0" or len(pkt) < hl + 16:
                raise PacketDrop(MALFORMED, "UDP payload is not ESP (non-ESP marker or too short)")
            off = hl + 8
        elif proto != IPPROTO_ESP:
            raise PacketDrop(MALFORMED, f"IP protocol {proto} is not ESP")
        spi, seq_lo = _HDR_SPI_SEQ.unpack_from(pkt, off)
        if spi != self.spi:
            raise PacketDrop(UNKNOWN_SPI, f"SPI 0x{spi:08x} is not this SA's 0x{self.spi:08x}")
        seq = self.replay.check(seq_lo)
        payload, nh = self.esp.open(pkt[off:], seq)  # type: ignore[union-attr]
        self.replay.accept(seq)
        if self.mode == "tunnel":
            if nh != IPPROTO_IPIP:
                raise PacketDrop(MALFORMED, f"tunnel-mode next header {nh}, expected 4 (IPv4)")
            if len(payload) < 20 or payload[0] >> 4 != 4:
                raise PacketDrop(MALFORMED, "tunnel payload is not an IPv4 packet")
            itl = (payload[2] << 8) | payload[3]
            if itl > len(payload) or itl < 20:
                raise PacketDrop(MALFORMED, f"inner IPv4 length {itl} exceeds the {len(payload)}-byte payload")
            return payload[:itl] if itl < len(payload) else payload
        hdr = bytearray(pkt[:hl])
        hdr[9] = nh
        _H2.pack_into(hdr, 2, hl + len(payload))
        set_ipv4_checksum(hdr)
        out = bytes(hdr) + payload
        return fix_l4_checksum(out) if self.encap else out

    def _ah_in(self, pkt: bytes, hl: int) -> bytes:
        ah = self.ah
        assert ah is not None
        if pkt[9] != IPPROTO_AH:
            raise PacketDrop(MALFORMED, f"IP protocol {pkt[9]} is not AH")
        nh, spi, seq_lo = ah.parse(pkt, hl)
        if spi != self.spi:
            raise PacketDrop(UNKNOWN_SPI, f"SPI 0x{spi:08x} is not this SA's 0x{self.spi:08x}")
        seq = self.replay.check(seq_lo)
        nh, rest = ah.verify(pkt, hl, seq)
        self.replay.accept(seq)
        if self.mode == "tunnel":
            if nh != IPPROTO_IPIP:
                raise PacketDrop(MALFORMED, f"tunnel-mode next header {nh}, expected 4 (IPv4)")
            parse_ipv4(rest)
            return rest
        hdr = bytearray(pkt[:hl])
        hdr[9] = nh
        _H2.pack_into(hdr, 2, hl + len(rest))
        set_ipv4_checksum(hdr)
        return bytes(hdr) + rest

    # ------------------------------------------------------------ introspection

    def overhead(self, ip_len: int) -> int:
        """Bytes added to an IPv4 packet of ``ip_len`` bytes (with a 20-byte header)."""
        if self.esp is not None:
            payload = max(ip_len, self.tfc_pad) if self.mode == "tunnel" else ip_len - 20
            size = self.esp.wire_size(payload) + (8 if self.encap else 0)
            return size + 20 - ip_len
        assert self.ah is not None
        return self.ah.ah_len + (20 if self.mode == "tunnel" else 0)

    def __repr__(self) -> str:
        alg = self.encr.name if self.encr else ""
        if self.integ:
            alg = f"{alg}-{self.integ.name}" if alg else self.integ.name
        return (f"<SA {self.proto} {self.mode} spi=0x{self.spi:08x} {alg} seq={self.seq} "
                f"packets={self.packets}>")

