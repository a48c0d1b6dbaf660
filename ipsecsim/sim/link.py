"""Point-to-point links: serialisation, propagation, jitter, loss, MTU, a finite queue, up/down.

A hop is one scheduled event with a callback (no process, no Store): when a node
hands a packet to a link direction, the link works out when the packet's last bit
leaves (``busy_until`` + size / bandwidth), when it arrives (+ propagation delay +
jitter), and the receiving node's ``receive`` runs at that instant (a direction's
packets on the wire are one :class:`~.scheduler.Train`, see :class:`_Direction`).
A direction whose queue (packets waiting or in service) is full drops the packet
at the tail and counts it.

A hop is one ``link_tx`` record: the time the packet's first bit goes on the
wire (the pcap timestamp, later than the records around it when the direction
is busy; its sequence number is that of the moment it was queued) and
``arrive``, when its last bit reaches the far end (None: lost on the link, and
a ``link_loss`` drop follows). Both are known when the packet is queued, so no
second record is written when it arrives.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from ..core.rng import Rng
from ..trace import HeaderPatch
from .scheduler import Train

_new = object.__new__

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
    """One direction of a link: its queue state, loss state and the packets on the wire.

    ``wire`` holds ``(arrival, data, pkt_id, base)`` of the packets travelling on it, in FIFO
    order (arrivals never overtake: serialisation is FIFO and jitter is clamped), and only the
    first of them is in the environment's queue (``wire`` is the items of a
    :class:`~.scheduler.Train`). When it arrives, it is handed to the receiving node and the
    next one takes its place in the queue. A hop thus costs one heap operation on a small heap,
    with no event object, no process and no Store.
    """

    __slots__ = ("link", "src", "dst", "up", "tx_packets", "tx_bytes", "busy_until", "finish", "last_arrival", "bad", "rng", "sname",
                 "dname", "lname", "wire", "train", "_start", "_env", "_receive",
                 "_net", "_keep", "_trace", "_rec", "_seq", "_quiet", "_bits", "_delay", "_jitter", "_limit",
                 "_lossy")

    def __init__(self, link: Link, src: Interface, dst: Interface, rng: Rng) -> None:
        self.link = link
        self.src = src
        self.dst = dst
        self.up = True
        """The link's state, copied here by :meth:`Link._set_state` (read per packet)."""
        self.tx_packets = 0
        self.tx_bytes = 0
        self.sname = src.node.name
        self.dname = dst.node.name
        self.lname = link.name
        self.busy_until = 0.0
        self.finish: deque[float] = deque()
        self.last_arrival = 0.0
        self.bad = False
        self.rng = rng
        net = link.net
        env = net.env
        self._env = env
        self.train = Train(env, self._arrive)
        """Hands each packet on the wire to :meth:`_arrive` when it arrives."""
        self.wire: deque[tuple[float, bytes, int, bytes | None]] = self.train.items
        """(arrival, packet, pkt_id, base): ``base`` is what the trace keeps whole of the
        packet (itself, or the base of its header patch), None if the hop was not kept."""
        self._start = self.train.start
        self._receive = dst.node.receive
        # what the packet path reads, one attribute away
        self._net = net
        self._keep = net.keep
        self._trace = net.trace
        self._rec = net.trace.records.append
        self._seq = net.trace.counter
        self._quiet = net.quiet
        self._bits = link._bits
        self._delay = link._delay
        self._jitter = link._jitter
        self._limit = link._limit
        self._lossy = link._lossy

    def send(self, data: bytes, pkt_id: int) -> bool:
        """Queue ``data`` onto this direction; False (and a counted drop) when it cannot go."""
        now = self._env.now
        if not self.up:
            self._net.drop(now, self.sname, pkt_id, LINK_DOWN, self.lname)
            return False
        fin = self.finish
        busy = self.busy_until
        if busy <= now:
            if fin:
                fin.clear()  # the direction is idle: nothing waits
            start = now
        else:
            while fin[0] <= now:
                fin.popleft()
            if len(fin) >= self._limit:
                self._net.drop(now, self.sname, pkt_id, QUEUE_FULL, f"{self.lname}: {len(fin)} packets queued")
                return False
            start = busy
        size = len(data)
        done = start + size * self._bits
        self.busy_until = done
        fin.append(done)
        self.tx_packets += 1
        self.tx_bytes += size
        arrive: float | None = None  # None: lost on the link
        if not (self._lossy and self.link._lost(self)):
            arrive = done + self._delay
            if self._jitter:
                arrive += self.rng.uniform(0.0, self._jitter)
            if arrive < self.last_arrival:
                arrive = self.last_arrival  # FIFO: never overtake the packet ahead
            self.last_arrival = arrive
        trace = self._trace
        base = None
        if trace.enabled and pkt_id not in self._quiet:
            kept: Any = None
            if trace.keep_bytes:
                keep = self._keep
                # a copy of a packet the trace holds (see .keep): keep its new header only
                if data is keep.data:
                    base = keep.base
                    kept = _new(HeaderPatch)  # HeaderPatch(base, head) without its __init__ call
                    kept.base = base
                    kept.head = data[:(data[0] & 0x0F) * 4]
                else:
                    kept = base = data
            # a raw record (trace.RAW): the layout of trace.SCHEMA/TYPES["link_tx"]
            self._rec((next(self._seq), start, "link_tx", self.sname, self.lname, pkt_id, self.sname,
                       self.dname, size, kept, arrive))
        if arrive is None:
            self._net.drop(now, self.sname, pkt_id, LINK_LOSS, self.lname)
            return False
        wire = self.wire
        wire.append((arrive, data, pkt_id, base))
        if len(wire) == 1:
            self._start()
        return True

    def _arrive(self, item: tuple[float, bytes, int, bytes | None]) -> None:
        _, data, pkt_id, base = item
        keep = self._keep
        if base is not None:  # the packet in hand, for a router that forwards it (see .keep)
            keep.data = data
            keep.base = base
        else:
            keep.data = None
        self._receive(data, pkt_id, self.dst)


class Link:
    """A full-duplex point-to-point link between two node interfaces."""

    __slots__ = ("net", "cfg", "_up", "dirs", "name", "_bits",
                 "drops", "_lossy", "_delay", "_jitter", "_limit")

    def __init__(self, net: Network, cfg: LinkConfig, a: Interface, b: Interface, rng: Rng) -> None:
        self.net = net
        self.cfg = cfg
        self.name = cfg.name
        self._up = True
        self._bits = 8.0 / cfg.bandwidth
        self._lossy = cfg.loss > 0 or cfg.gilbert is not None
        self._delay = cfg.delay
        self._jitter = cfg.jitter
        self._limit = cfg.queue
        self.drops: dict[str, int] = {}
        a.link, b.link = self, self
        self.dirs = {id(a): _Direction(self, a, b, rng.child("a")), id(b): _Direction(self, b, a, rng.child("b"))}
        a.out, b.out = self.dirs[id(a)], self.dirs[id(b)]
        for t, up in cfg.schedule:
            ev = Timeout(net.env, t, up)
            ev.callbacks.append(self._set_state)

    @property
    def tx_packets(self) -> int:
        """Packets put on the link (both directions)."""
        return sum(d.tx_packets for d in self.dirs.values())

    @property
    def tx_bytes(self) -> int:
        """Bytes put on the link (both directions)."""
        return sum(d.tx_bytes for d in self.dirs.values())

    @property
    def up(self) -> bool:
        """Whether the link carries packets (a direction reads its own copy per packet)."""
        return self._up

    @up.setter
    def up(self, value: bool) -> None:
        self._up = bool(value)
        for d in self.dirs.values():
            d.up = self._up

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

    def tap(self, wrap: Callable[[_Direction, Callable[..., None]], Callable[..., None]]) -> None:
        """Put a tap on both directions (an attacker on the link, :mod:`.attacker`):
        ``wrap(direction, receive)`` returns what each arriving packet is handed to,
        ``(data, pkt_id, interface)``, instead of the receiving node's ``receive``."""
        for d in self.dirs.values():
            d._receive = wrap(d, d._receive)

    def send(self, src: Interface, data: bytes, pkt_id: int) -> bool:
        """Queue ``data`` out of ``src``; False (and a counted drop) when it cannot go."""
        return src.out.send(data, pkt_id)  # type: ignore[no-any-return]
