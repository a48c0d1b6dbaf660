"""Attacks on the data plane: what ESP/AH must refuse (RFC 4303 §3.4, RFC 4302 §3.4).

* ``tamper`` flips one bit of a packet's protected part (ciphertext or ICV): the receiver's
  integrity check fails (``bad_icv``) and the packet is never delivered (§3.4.4: the ICV is
  checked before decryption);
* ``replay`` keeps copies of packets and sends them again ``delay`` seconds later (or all at
  ``at:``): the anti-replay window refuses them (``replay``, §3.4.3); after a rekey, once the
  old SA is gone, its SPI is unknown (``unknown_spi``);
* ``inject`` sends ESP of its own: ``spi: random`` under an SPI the receiver never made
  (``unknown_spi``, §3.4.2), ``spi: live`` under an SPI seen on the link with a sequence
  number ahead of the window and random bytes (``bad_icv``);
* ``drop`` takes the matching packets off the wire (``attack_drop``): IPsec cannot stop an
  attacker on the path from discarding packets, only notice what is missing (DPD, rekey
  retransmissions).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from ...core.ip import ipv4 as P
from .base import Attack

if TYPE_CHECKING:
    from ..link import _Direction

_SPI_SEQ = struct.Struct("!II")


def ipsec_offset(data: bytes) -> int:
    """Where the ESP or AH header starts (after IP, and UDP for ESP in UDP)."""
    h = (data[0] & 0x0F) * 4
    return h + 8 if data[9] == P.IPPROTO_UDP else h


class Tamper(Attack):
    """Flip one random bit of the protected part of each matching ESP/AH packet."""

    kind = "tamper"

    def on_packet(self, d: _Direction, data: bytes, pkt_id: int, now: float) -> bytes | None:
        off = ipsec_offset(data)
        if data[9] == P.IPPROTO_AH:
            first = off + (data[off + 1] + 2) * 4  # the payload after the AH header
        else:
            first = off + 8  # after SPI and sequence number: IV, ciphertext, ICV
        if first >= len(data):
            first = off + 8
        if first >= len(data):
            return data
        rng = self.atk.rng
        pos = rng.randint(first, len(data) - 1)
        b = bytearray(data)
        b[pos] ^= 1 << rng.randint(0, 7)
        if data[9] == P.IPPROTO_UDP and (b[off - 2] or b[off - 1]):
            b = bytearray(P.fix_l4_checksum(bytes(b)))  # an honest UDP checksum over the change
        self.done += 1
        self.atk.acted["tampered"] += 1
        spi, seq = _SPI_SEQ.unpack_from(data, off)
        self.atk.record("tamper", pkt_id, len(data), f"SPI 0x{spi:08x} seq {seq}: bit flipped "
                        f"at byte {pos}")
        return bytes(b)


class Replay(Attack):
    """Capture matching packets; send each again ``delay`` s later, or all at ``at``."""

    kind = "replay"

    def __init__(self, atk: Any, cfg: dict[str, Any], index: int) -> None:
        super().__init__(atk, cfg, index)
        from ...core.units import parse_time

        self.delay = parse_time(cfg.get("delay", 1.0))
        self.at = parse_time(cfg["at"]) if "at" in cfg else None
        self.resent = 0

    def on_packet(self, d: _Direction, data: bytes, pkt_id: int, now: float) -> bytes | None:
        self.done += 1
        self.atk.acted["captured"] += 1
        copy = bytes(data)
        when = self.at if self.at is not None else now + self.delay
        from simpy.events import Timeout

        env = self.atk.net.env
        ev = Timeout(env, max(0.0, when - now))
        ev.callbacks.append(lambda _ev: self._resend(d, copy, now))
        return data

    def _resend(self, d: _Direction, data: bytes, captured: float) -> None:
        off = ipsec_offset(data)
        spi, seq = _SPI_SEQ.unpack_from(data, off)
        self.resent += 1
        self.atk.send(d, data, "replay", f"SPI 0x{spi:08x} seq {seq} captured at {captured:.6f}")

    def extra(self) -> dict[str, Any]:
        return {"captured": self.done, "resent": self.resent}


class Inject(Attack):
    """ESP packets of the attacker's own, ``rate`` per second from ``start``."""

    kind = "inject"

    def __init__(self, atk: Any, cfg: dict[str, Any], index: int) -> None:
        super().__init__(atk, cfg, index)
        self.spi_mode = cfg.get("spi", "random")
        self.size = int(cfg.get("size", 64))
        self.to = P.aton(cfg["to"]) if cfg.get("to") else None
        self.skipped = 0
        """Ticks with nothing to forge (``spi: live`` before any ESP was seen)."""

    def begin(self) -> None:
        self._at(self.start)

    def _template(self) -> tuple[_Direction, bytes] | None:
        """The last ESP packet seen toward ``to`` (or any), to copy addresses and ports from."""
        for d, pkt in reversed(list(self.atk.esp_seen.values())):
            if self.to is None or pkt[16:20] == self.to:
                return d, pkt
        return None

    def fire(self, now: float) -> None:
        atk = self.atk
        rng = atk.rng
        tpl = self._template()
        if self.spi_mode == "live":
            if tpl is None:
                self.skipped += 1
                return
            off = ipsec_offset(tpl[1])
            spi, seq = _SPI_SEQ.unpack_from(tpl[1], off)
            seq = (seq + 1000 + rng.randint(0, 1000)) & 0xFFFFFFFF
        else:
            while True:
                spi = rng.randint(256, 0xFFFFFFFF)
                if spi not in atk.esp_seen:
                    break
            seq = rng.randint(1, 1 << 20)
        if tpl is not None:
            d, pkt = tpl
            src, dst, encap = pkt[12:16], pkt[16:20], pkt[9] == P.IPPROTO_UDP
        else:
            assert self.to is not None  # check: an inject without a template needs to:
            found = atk.direction_toward(self.to)
            if found is None:
                self.skipped += 1
                return
            d, src, dst, encap = found, found.src.ip, self.to, False
        esp = _SPI_SEQ.pack(spi, seq) + rng.bytes(self.size)
        if encap:
            pkt = P.udp(src, dst, 4500, 4500, esp)
        else:
            pkt = P.build_ipv4(src, dst, P.IPPROTO_ESP, esp)
        self.done += 1
        atk.send(d, pkt, f"inject_{self.spi_mode}_spi", f"SPI 0x{spi:08x} seq {seq}")

    def extra(self) -> dict[str, Any]:
        return {"spi": self.spi_mode, "skipped": self.skipped}


class Drop(Attack):
    """Take the matching packets off the wire (reason ``attack_drop``)."""

    kind = "drop"

    def on_packet(self, d: _Direction, data: bytes, pkt_id: int, now: float) -> bytes | None:
        from ..attacker import ATTACK_DROP, kind_of

        self.done += 1
        self.atk.take(pkt_id, ATTACK_DROP, "dropped", len(data),
                      f"{kind_of(data)} {d.sname} -> {d.dname}")
        return None
