"""Point-to-point links: serialisation, propagation, jitter, loss, MTU, a finite queue, up/down.

A hop is one scheduled SimPy event with a callback (no process, no Store): when a
node hands a packet to a link direction, the link works out when the packet's
last bit leaves (``busy_until`` + size / bandwidth), when it arrives
(+ propagation delay + jitter), and schedules the receiving node's
``receive`` at that instant. A direction whose queue (packets waiting or in
service) is full drops the packet at the tail and counts it.

A ``link_tx`` record carries the time the packet's first bit goes on the wire
(the pcap timestamp), which is later than the records around it when the
direction is busy; its sequence number is that of the moment it was queued.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from simpy.events import Timeout

from ..core.rng import Rng

if TYPE_CHECKING:
    from .network import Network
    from .nodes import Interface

LINK_DOWN = "link_down"
QUEUE_FULL = "queue_full"
LINK_LOSS = "link_loss"


@dataclass
class LinkConfig:
    """Physical properties of one link (both directions alike)."""

    name: str
    """Link name; the pcap file is ``pcap/<name>.pcap``."""
    bandwidth: float = 1e9
    """Bits per second; serialisation delay is size * 8 / bandwidth."""
    delay: float = 0.001
    """One-way propagation delay in seconds."""
    jitter: float = 0.0
    """Extra delay drawn uniformly from [0, jitter] seconds per packet (FIFO order kept)."""
    loss: float = 0.0
    """Independent loss probability per packet (used when ``gilbert`` is None)."""
    gilbert: dict | None = None
    """Gilbert-Elliott burst loss: p (good->bad), r (bad->good), loss_good, loss_bad."""
    mtu: int = 1500
    """Largest IP packet the link carries."""
    queue: int = 1000
    """Packets a direction holds (waiting + in service) before tail drops."""
    schedule: list[tuple[float, bool]] = field(default_factory=list)
    """(time, up) pairs: the link goes down/up at these simulated times."""


class _Direction:
    """One direction of a link: its queue state and loss state."""

    __slots__ = ("src", "dst", "busy_until", "finish", "last_arrival", "bad", "rng", "sname", "dname")

    def __init__(self, src: Interface, dst: Interface, rng: Rng) -> None:
        self.src = src
        self.dst = dst
        self.sname = src.node.name
        self.dname = dst.node.name
        self.busy_until = 0.0
        self.finish: deque[float] = deque()
        self.last_arrival = 0.0
        self.bad = False
        self.rng = rng


class Link:
    """A full-duplex point-to-point link between two node interfaces."""

    __slots__ = ("net", "cfg", "up", "dirs", "name", "_bits", "tx_packets", "tx_bytes",
                 "drops", "_lossy", "_delay", "_jitter", "_queue")

    def __init__(self, net: Network, cfg: LinkConfig, a: Interface, b: Interface, rng: Rng) -> None:
        self.net = net
        self.cfg = cfg
        self.name = cfg.name
        self.up = True
        a.link, b.link = self, self
        self.dirs = {id(a): _Direction(a, b, rng.child("a")), id(b): _Direction(b, a, rng.child("b"))}
        a.out, b.out = self.dirs[id(a)], self.dirs[id(b)]
        self._bits = 8.0 / cfg.bandwidth
        self._lossy = cfg.loss > 0 or cfg.gilbert is not None
        self._delay = cfg.delay
        self._jitter = cfg.jitter
        self._queue = cfg.queue
        self.tx_packets = 0
        self.tx_bytes = 0
        self.drops: dict[str, int] = {}
        for t, up in cfg.schedule:
            ev = Timeout(net.env, t, up)
            ev.callbacks.append(self._set_state)

    def _set_state(self, ev: Timeout) -> None:
        self.up = bool(ev.value)
        self.net.trace.emit(self.net.env.now, "note", self.name, f"link {self.name} {'up' if self.up else 'down'}")

    def _lost(self, d: _Direction) -> bool:
        ge = self.cfg.gilbert
        if ge is None:
            return self.cfg.loss > 0 and d.rng.random() < self.cfg.loss
        r = d.rng.random()
        if d.bad:
            if r < ge.get("r", 0.5):
                d.bad = False
        elif r < ge.get("p", 0.01):
            d.bad = True
        p = ge.get("loss_bad", 1.0) if d.bad else ge.get("loss_good", 0.0)
        return p > 0 and d.rng.random() < p

    def send(self, src: Interface, data: bytes, pkt_id: int) -> bool:
        """Queue ``data`` out of ``src``; False (and a counted drop) when it cannot go."""
        net = self.net
        env = net.env
        now = env._now
        d = src.out
        if not self.up:
            net.drop(now, d.sname, pkt_id, LINK_DOWN, self.name)
            return False
        fin = d.finish
        busy = d.busy_until
        if busy <= now:
            if fin:
                fin.clear()  # the direction is idle: nothing waits
            start = now
        else:
            while fin[0] <= now:
                fin.popleft()
            if len(fin) >= self._queue:
                net.drop(now, d.sname, pkt_id, QUEUE_FULL, f"{self.name}: {len(fin)} packets queued")
                return False
            start = busy
        size = len(data)
        done = start + size * self._bits
        d.busy_until = done
        fin.append(done)
        self.tx_packets += 1
        self.tx_bytes += size
        trace = net.trace
        if trace.enabled and pkt_id not in net.quiet:
            trace.emit(start, "link_tx", d.sname, self.name, pkt_id, d.sname, d.dname, size,
                       data if trace.keep_bytes else None)
        if self._lossy and self._lost(d):
            net.drop(now, d.sname, pkt_id, LINK_LOSS, self.name)
            return False
        arrive = done + self._delay
        if self._jitter:
            arrive += d.rng.uniform(0.0, self._jitter)
            if arrive < d.last_arrival:
                arrive = d.last_arrival
            d.last_arrival = arrive
        Timeout(env, arrive - now, (data, pkt_id, d.dst)).callbacks.append(self._arrive)  # type: ignore[union-attr]
        return True

    def _arrive(self, ev: Timeout) -> None:
        data, pkt_id, dst = ev._value
        net = self.net
        trace = net.trace
        if trace.enabled and pkt_id not in net.quiet:
            trace.emit(net.env._now, "link_rx", dst.node.name, self.name, pkt_id, len(data))
        dst.node.receive(data, pkt_id, dst)
