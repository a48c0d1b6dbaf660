"""The IKE endpoint's timers: the earliest deadline of every IKE_SA in a heap.

Each IKE_SA has a handful of deadlines (its outstanding request's retransmission, rekey,
reauthentication, expiry, NAT keepalive, DPD) and each CHILD_SA two (rekey, expiry) or,
once replaced, the time its removal is due. :meth:`IkeEndpoint.get_timer` used to take the
minimum over all of them on every call -- on a hub with 10,000 peers, 70,000 values after
every datagram. Here each IKE_SA has one entry, (its earliest deadline, its number), in a
heap; an IKE_SA whose fields change is marked (by :mod:`.saindex`) and its entry recomputed
before the next question, the old one left behind in the heap and dropped when it reaches
the top (lazy invalidation). strongSwan's scheduler (``processing/scheduler.c``) keeps its
jobs in a heap by time in the same way.

:meth:`TimerHeap.due` hands out the IKE_SAs whose timers are due in the order of
``ike_sas`` (the order the endpoint used to walk them all in), including one that another's
timer made due during the same pass, and not one created meanwhile -- so the same
messages come out in the same order as before.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from heapq import heappop, heappush
from typing import TYPE_CHECKING

from . import states as S

if TYPE_CHECKING:
    from .ikesa import IkeSa


def deadline(sa: IkeSa) -> float | None:
    """The earliest time anything of ``sa`` (or of its CHILD_SAs) is due, or None."""
    best = None
    p = sa.pending
    if p is not None:
        best = p.deadline
    for t in (sa.rekey_at, sa.reauth_at, sa.expire_at, sa.keepalive_at, sa.dpd_at):
        if t is not None and (best is None or t < best):
            best = t
    for c in sa.children:
        if c.state != S.C_DELETED:
            for t in (c.rekey_at, c.expire_at):
                if t is not None and (best is None or t < best):
                    best = t
        else:
            t = c.down_at
            if t is not None and (best is None or t < best):
                best = t
    return best


class TimerHeap:
    """(deadline, number, IKE_SA) entries; an entry counts while ``at[number]`` is its deadline."""

    __slots__ = ("heap", "at", "dirty", "prune", "live")

    def __init__(self, live: Callable[[IkeSa], bool]) -> None:
        self.heap: list[tuple[float, int, IkeSa]] = []
        self.at: dict[int, float] = {}
        """IKE_SA number -> the deadline of its valid entry."""
        self.dirty: dict[int, IkeSa] = {}
        """IKE_SAs whose fields changed since their entry was computed."""
        self.prune: dict[int, IkeSa] = {}
        """IKE_SAs holding a CHILD_SA gone from the data plane: any timer pass forgets it
        (``child_rekey.timers``), whether or not anything of theirs is due."""
        self.live = live

    def touch(self, sa: IkeSa, n: int) -> None:
        self.dirty[n] = sa

    def forget(self, n: int) -> None:
        self.at.pop(n, None)
        self.dirty.pop(n, None)
        self.prune.pop(n, None)

    def _flush(self) -> None:
        dirty = self.dirty
        if not dirty:
            return
        at, heap = self.at, self.heap
        for n, sa in dirty.items():
            t = deadline(sa)
            if t != at.get(n):
                if t is None:
                    del at[n]
                else:
                    at[n] = t
                    heappush(heap, (t, n, sa))
        dirty.clear()

    def earliest(self) -> float | None:
        """The earliest deadline of any IKE_SA, or None."""
        self._flush()
        heap, at = self.heap, self.at
        while heap:
            t, n, _sa = heap[0]
            if at.get(n) == t:
                return t
            heappop(heap)
        return None

    def due(self, now: float, limit: int) -> Generator[IkeSa, None, None]:
        """The IKE_SAs numbered below ``limit`` with something due by ``now`` (or a CHILD_SA to
        forget), by number; after each is yielded it is recomputed, and one numbered later
        that became due meanwhile is still handed out in this pass."""
        queue: list[tuple[int, IkeSa]] = []
        queued: set[int] = set()
        held: list[tuple[float, int, IkeSa]] = []
        try:
            after = -1
            while True:
                self._collect(now, after, limit, queue, queued, held)
                if not queue:
                    return
                after, sa = heappop(queue)
                queued.discard(after)
                yield sa
                self.dirty[after] = sa  # its deadlines moved (a retransmission's in place)
        finally:
            for e in held:
                heappush(self.heap, e)

    def _collect(self, now: float, after: int, limit: int, queue: list[tuple[int, IkeSa]],
                 queued: set[int], held: list[tuple[float, int, IkeSa]]) -> None:
        self._flush()
        heap, at = self.heap, self.at
        while heap and heap[0][0] <= now:
            e = heappop(heap)
            t, n, sa = e
            if at.get(n) != t:
                continue  # stale
            if after < n < limit:
                del at[n]  # recomputed after its turn
                if n not in queued:
                    queued.add(n)
                    heappush(queue, (n, sa))
            else:
                held.append(e)  # done in this pass already, or newer than it: next pass
        if self.prune:
            for n in [n for n in self.prune if after < n < limit]:
                sa = self.prune.pop(n)
                if n not in queued and self.live(sa):
                    queued.add(n)
                    heappush(queue, (n, sa))
