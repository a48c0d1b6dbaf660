"""The Security Association Database (RFC 4301 §4.4.2).

Inbound SAs are found by SPI (and IPsec protocol) -- the SPI was chosen by us,
so it is unique among our inbound SAs. Outbound SAs are reached from their
policy, and also kept here by SPI so they can be listed and removed. The two
SPI spaces are separate: the peer chose our outbound SPIs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .ip import ipv4_ports
from .sa import SecurityAssociation
from .selectors import TrafficSelector

_from_bytes = int.from_bytes


@dataclass(eq=False, slots=True)
class SadEntry:
    """One SA with what the stack needs to know around it."""

    sa: SecurityAssociation
    direction: str
    """``in`` or ``out``."""
    child: str
    """Child config name."""
    src_ts: tuple[TrafficSelector, ...]
    """Inner sources the SA may carry (inbound: the peer's side)."""
    dst_ts: tuple[TrafficSelector, ...]
    """Inner destinations the SA may carry."""
    installed_at: float = 0.0
    """Simulated time of installation."""
    unique_id: int = 0
    """Generation of the child (rekeys make new ones)."""
    ike_sa: str = ""
    """The owning IKE_SA (for traces)."""
    addr_only: bool = field(init=False, default=False, repr=False)
    """No selector names a protocol or ports: whether an inner packet fits depends on its
    addresses alone (``pkt[12:20]``), so :attr:`allowed` can remember the answer."""
    allowed: set[bytes] = field(init=False, default_factory=set, repr=False)
    """Inner source+destination address pairs already found to fit (when :attr:`addr_only`).
    The selectors must not change after the entry is made."""

    def __post_init__(self) -> None:
        self.addr_only = all(t.proto == 0 and t.port_start == 0 and t.port_end == 65535
                             for t in (*self.src_ts, *self.dst_ts))

    def allows(self, src: int, dst: int, proto: int, sport: int, dport: int) -> bool:
        """Whether an inner packet with this 5-tuple fits the SA's selectors (RFC 4301 §5.2 step 4)."""
        for t in self.src_ts:
            if t.matches(src, proto, sport):
                break
        else:
            return False
        for t in self.dst_ts:
            if t.matches(dst, proto, dport):
                return True
        return False

    def allows_ipv4(self, pkt: bytes) -> bool:
        """:meth:`allows` for an inner IPv4 packet, remembering address pairs that fit."""
        key = pkt[12:20]
        if key in self.allowed:
            return True
        sport, dport = ipv4_ports(pkt)
        ok = self.allows(_from_bytes(pkt[12:16], "big"), _from_bytes(pkt[16:20], "big"), pkt[9], sport, dport)
        if ok and self.addr_only:
            if len(self.allowed) >= 1024:
                self.allowed.clear()
            self.allowed.add(key)
        return ok


class Sad:
    """Inbound and outbound SAs by SPI."""

    def __init__(self) -> None:
        self.inbound: dict[int, SadEntry] = {}
        self.outbound: dict[int, SadEntry] = {}

    def add(self, entry: SadEntry) -> None:
        table = self.inbound if entry.direction == "in" else self.outbound
        if entry.sa.spi in table:
            raise ValueError(f"{entry.direction}bound SPI 0x{entry.sa.spi:08x} is already installed")
        table[entry.sa.spi] = entry

    def get_inbound(self, spi: int) -> SadEntry | None:
        return self.inbound.get(spi)

    def remove(self, spi: int, direction: str | None = None) -> list[SadEntry]:
        """Remove the SA(s) with this SPI (both directions unless ``direction`` says which)."""
        out = []
        for d, table in (("in", self.inbound), ("out", self.outbound)):
            if direction in (None, d) and spi in table:
                out.append(table.pop(spi))
        return out

    def entries(self) -> list[SadEntry]:
        return [*self.inbound.values(), *self.outbound.values()]

    def __len__(self) -> int:
        return len(self.inbound) + len(self.outbound)
