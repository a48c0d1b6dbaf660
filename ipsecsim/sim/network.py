"""The simulated network: SimPy environment, nodes, links, the trace and packet accounting.

:class:`Network` is what nodes, links and traffic generators share. It owns the
one :class:`~ipsecsim.trace.Trace` and the end-to-end accounting of the traffic
generators' packets: every application packet is *sent* once and then either
*delivered* once or *dropped* once (its first drop, with that drop's reason),
or it is still *in flight* -- so ``sent = delivered + dropped + in_flight``
holds by construction and the tests check it against the trace.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from ..core.ip import ntoa
from ..core.rng import Rng
from ..trace import Trace
from .keep import Keep
from .scheduler import Scheduler

__all__ = ["Network"]

if TYPE_CHECKING:
    from .link import Link
    from .nodes import Node


class Network:
    """Nodes + links + trace + counters, on one SimPy environment (a :class:`~.scheduler.Scheduler`)."""

    def __init__(self, seed: int | str = 1, trace: Trace | None = None) -> None:
        self.env = Scheduler()
        self.trace = trace if trace is not None else Trace()
        self.rng = Rng(seed, "sim")
        self.seed = seed
        self.nodes: dict[str, Node] = {}
        self.links: dict[str, Link] = {}
        self.flows: dict[str, Any] = {}
        self._next_id = 0
        self.app: dict[int, tuple[Any, float, int]] = {}
        """Application packets in flight: pkt_id -> (flow, time sent, size)."""
        self.sent = 0
        self.delivered = 0
        self.dropped: Counter[str] = Counter()
        """Application packets dropped, by the reason of their first drop."""
        self.all_drops: Counter[str] = Counter()
        """Every drop record by reason (fragments, IKE and ICMP packets included)."""
        self.addr_owner: dict[bytes, Node] = {}
        self.hops_until = float("inf")
        """Application packets sent before this time keep every per-hop record (``trace: hops_until``)."""
        self.sample_every = 0
        """Also keep every per-hop record of each flow's 1st, (N+1)th, ... packet (``trace: sample_every``)."""
        self.quiet: set[int] = set()
        """Application packets in flight whose per-hop records are *not* kept (decided when sent,
        so a packet's path is in the trace whole or not at all)."""
        self.child_keys: list[Any] = []
        """Every ChildSaKeys installed anywhere (Wireshark ``esp_sa``)."""
        self.ike_keys: list[Any] = []
        """Every IkeSaUp seen (Wireshark ``ikev2_decryption_table``)."""
        self.keep = Keep()
        """Which bytes the trace already holds of the packet in hand (:mod:`.keep`)."""
        self.router: Any = None
        """Shortest-path fallback routes (:class:`.routing.AutoRouter`), set by install_routes."""
        self.counters: Counter[str] = Counter()
        """IKE / child SA lifecycle events, as each node reports them."""
        self.unique: dict[str, set] = {}
        """The same, as sets of SA identities (both ends report each SA once)."""

    def add_node(self, node: Node) -> Node:
        self.nodes[node.name] = node
        for i in node.ifaces:
            self.addr_owner[i.ip] = node
        return node

    def hop(self, pkt_id: int) -> bool:
        """Whether to record a per-hop event of this packet (see ``trace: hops_until, sample_every``)."""
        return self.trace.enabled and pkt_id not in self.quiet

    def control_id(self) -> int:
        """A packet id for a packet that is not an application packet (IKE, ICMP errors)."""
        self._next_id += 1
        return self._next_id

    def app_send(self, flow: Any, src: str, dst: str, size: int) -> int:
        """Register one application packet; returns its packet id."""
        self._next_id += 1
        pid = self._next_id
        now = self.env.now
        self.app[pid] = (flow, now, size)
        self.sent += 1
        flow.sent += 1
        if now >= self.hops_until and not (self.sample_every and (flow.sent - 1) % self.sample_every == 0):
            self.quiet.add(pid)
        tr = self.trace
        if tr.enabled:  # a raw record (trace.RAW): the layout of trace.SCHEMA/TYPES["app_send"]
            tr.records.append((next(tr.counter), now, "app_send", src, flow.name, pid, src, dst, size))
        return pid

    def app_deliver(self, node: Node, data: bytes, pkt_id: int) -> Any:
        """An application packet reached its end; returns its flow (None if not one)."""
        entry = self.app.pop(pkt_id, None)
        if entry is None:
            return None
        self.quiet.discard(pkt_id)
        flow, t0, size = entry
        now = self.env.now
        self.delivered += 1
        flow.on_delivered(size, now - t0, now)
        tr = self.trace
        if tr.enabled:
            pair = data[12:20]
            ends = _ENDS.get(pair)
            if ends is None:
                ends = _ENDS[pair] = (ntoa(pair[:4]), ntoa(pair[4:]))
            # a raw record (trace.RAW): the layout of trace.SCHEMA/TYPES["app_deliver"]
            tr.records.append((next(tr.counter), now, "app_deliver", node.name, flow.name, pkt_id,
                               ends[0], ends[1], size, now - t0))
        return flow

    def drop(self, now: float, node: str, pkt_id: int, reason: str, detail: str = "") -> None:
        """Record a drop; the first drop of an application packet decides its fate."""
        self.all_drops[reason] += 1
        if self.trace.enabled:
            self.trace.emit(now, "drop", node, pkt_id, reason, detail)
        entry = self.app.pop(pkt_id, None)
        if entry is not None:
            self.quiet.discard(pkt_id)
            self.dropped[reason] += 1
            entry[0].dropped += 1

    @property
    def in_flight(self) -> int:
        return len(self.app)


_ENDS: dict[bytes, tuple[str, str]] = {}
"""Source + destination address bytes -> their dotted quads (app_deliver's records)."""
