"""What every attack shares: its window (start/stop), how many packets (count, every), which
packets (match, from), and its line in ``summary.json``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from ...core.units import parse_time

if TYPE_CHECKING:
    from ..attacker import Attacker
    from ..link import _Direction

_INF = float("inf")


class Attack:
    """One entry of an attacker's ``attacks:`` list.

    A passive-path attack (tamper, drop, downgrade, replay's capture) overrides
    :meth:`on_packet`, called for every packet on the link that :meth:`takes` says is
    its own; an attack that sends on its own clock (inject, flood) overrides
    :meth:`begin` and :meth:`fire`.
    """

    kind = ""
    default_match = "ipsec"

    def __init__(self, atk: Attacker, cfg: dict[str, Any], index: int) -> None:
        from ..attacker import MATCH

        self.atk = atk
        self.cfg = cfg
        self.index = index
        self.start = parse_time(cfg.get("start", 0))
        """First simulated second it acts in."""
        self.stop = parse_time(cfg["stop"]) if "stop" in cfg else _INF
        """It acts before this time only."""
        self.count = int(cfg.get("count", 0))
        """How many packets it acts on (or sends); 0: no limit."""
        self.every = int(cfg.get("every", 1))
        """Act on every N-th matching packet (1: each)."""
        self.match = MATCH[cfg.get("match", self.default_match)]
        self.src = cfg.get("from")
        """Only packets the link carries away from this node (None: both directions)."""
        self.rate = float(cfg.get("rate", 10.0))
        """Packets per second, for the attacks that send on their own."""
        self.seen = 0
        self.done = 0
        """Packets acted on (or sent)."""

    def active(self, now: float) -> bool:
        return self.start <= now < self.stop and not (self.count and self.done >= self.count)

    def takes(self, d: _Direction, data: bytes, kind: str, now: float) -> bool:
        """Whether this packet (``kind`` from :func:`~..attacker.kind_of`) is one to act on."""
        if kind not in self.match or not self.active(now):
            return False
        if self.src is not None and d.sname != self.src:
            return False
        self.seen += 1
        return (self.seen - 1) % self.every == 0

    def on_packet(self, d: _Direction, data: bytes, pkt_id: int, now: float) -> bytes | None:
        """The packet to hand on (``data`` itself, changed bytes) or None (taken off)."""
        return data

    # --- attacks with a clock of their own -------------------------------------------
    def begin(self) -> None:
        """Arm the first timer (attacks that send on their own)."""

    def _at(self, t: float) -> None:
        env = self.atk.net.env
        ev = Timeout(env, max(0.0, t - env.now))
        ev.callbacks.append(self._tick)

    def _tick(self, _ev: Any) -> None:
        now = self.atk.net.env.now
        if not self.active(now):
            return
        self.fire(now)
        if self.active(now + 1.0 / self.rate):
            self._at(now + 1.0 / self.rate)

    def fire(self, now: float) -> None:
        """Send one packet (counted in ``done`` by the attack)."""

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "acted": self.done}
        out.update(self.extra())
        return out

    def extra(self) -> dict[str, Any]:
        """Attack-specific figures for its summary line."""
        return {}
