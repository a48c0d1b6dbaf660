"""The one module that knows SimPy's internals: the clock, the event queue and reusable events.

The simulation runs on SimPy (IKE timers, link schedules and flow starts are SimPy's own
``Timeout`` events), but its packet path does four things SimPy's public API makes slow, and
does them here only:

* **reading the clock**: :attr:`simpy.Environment.now` is a property (a Python call per
  read); :class:`Scheduler` keeps the time in a slot and exposes that slot as ``now``, so
  ``env.now`` is one attribute read everywhere, under SimPy's own name;
* **re-arming an event**: a flow fires once per packet; a new ``Timeout`` per firing
  allocates an event and a callback list, and is scheduled by delay (``now + (t - now)``,
  which is not always ``t`` in floating point). An :class:`Alarm` is one object queued again
  and again at an absolute time, exactly where ``Timeout(env, t - now)`` would be queued
  (NORMAL priority, the next event id), allocating nothing;
* **a FIFO of arrivals as one event**: a link direction has up to thousands of packets on
  the wire, which arrive in order; a :class:`Train` keeps only the first of them in the
  queue, so the heap stays as small as the number of busy directions;
* **stepping**: :meth:`Scheduler.run_until` is :meth:`simpy.Environment.run` with
  :meth:`~simpy.Environment.step` inlined (one method call less per event), and a train's
  next arrival replaces its queue entry in place (one heap operation instead of two).

What this relies on, all of it checked by ``tests/test_scheduler.py`` (which fails when a
SimPy release changes it) and pinned in ``pyproject.toml`` (``simpy>=4.1,<4.2``, also
:data:`SIMPY_VERSIONS`):

* ``Environment.__init__`` stores the time in ``self._now``, the queue in ``self._queue``
  (a :mod:`heapq` list of ``(time, priority, event id, event)`` tuples) and the event ids in
  ``self._eid`` (an :func:`itertools.count`);
* ``Environment.schedule`` pushes ``(now + delay, priority, next(eid), event)``, and
  ``Environment.step`` pops the smallest entry, sets ``_now`` from it, swaps
  ``event.callbacks`` for None, calls each callback with the event, then reads
  ``event._ok`` (and, when it is false, ``_defused`` and ``_value``) -- nothing else of the
  event, so any object with those attributes can be queued;
* the priorities ``URGENT == 0`` < ``NORMAL == 1`` (``simpy.events``).

Nothing else in :mod:`ipsecsim.sim` reads an underscore attribute of SimPy or builds a queue
entry: it uses ``env.now``, :class:`Alarm`, :class:`Train` and :meth:`Scheduler.run_until`
(and SimPy's public ``Timeout``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from heapq import heappop, heappush, heapreplace
from typing import TYPE_CHECKING, Any

import simpy
from simpy.events import NORMAL, URGENT, Event

SIMPY_VERSIONS = (">=4.1", "<4.2")
"""The SimPy releases this module was checked against (``pyproject.toml`` pins the same)."""


class Scheduler(simpy.Environment):
    """A :class:`simpy.Environment` whose ``now`` is a plain attribute read, with a faster run.

    Everything SimPy offers works unchanged (``Timeout``, processes, ``run``, ``step``).
    ``now`` must not be assigned: only stepping moves time.
    """

    __slots__ = ("_now",)  # SimPy's own clock attribute, in a slot that ``now`` reads too

    if TYPE_CHECKING:
        now: float  # type: ignore[assignment]  # the slot below, not SimPy's property

    def run_until(self, end: float) -> None:
        """``run(until=end)`` with SimPy's own event order, minus a method call per event.

        Like :meth:`simpy.Environment.run`, an URGENT event is scheduled at ``end``: it comes
        before every NORMAL event due at ``end`` (those run in the next call); the loop is
        :meth:`simpy.Environment.step` inlined. Nothing in the
        simulation raises ``StopSimulation`` from a callback, so its re-scheduling branch is
        not needed here. Returns at once when ``end`` is not later than now.
        """
        if end <= self._now:
            return
        stop = Event(self)
        stop._ok = True
        stop._value = None
        queue = self._queue
        eid = self._eid
        heappush(queue, (end, URGENT, next(eid), stop))
        pop = heappop
        replace = heapreplace
        while True:
            entry = queue[0]
            event = entry[3]
            if type(event) is Train:  # Train._fire inlined: the next item replaces the entry
                self._now = entry[0]
                items = event.items
                item = items.popleft()
                if items:
                    replace(queue, (items[0][0], NORMAL, next(eid), event))
                else:
                    pop(queue)
                    event.callbacks = None
                event.fn(item)
                continue
            pop(queue)
            self._now = entry[0]
            if event is stop:
                return
            callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc


# ``env.now`` reads the slot SimPy writes (a member descriptor, as fast as any attribute),
# in place of SimPy's ``now`` property
setattr(Scheduler, "now", Scheduler.__dict__["_now"])  # noqa: B010 - not a plain attribute


class Alarm:
    """A reusable event that calls ``fn(alarm)`` each time it fires.

    ``at(t)`` queues it exactly as ``Timeout(env, t - now)`` would be queued (NORMAL
    priority, the next event id; ``t`` itself, with no rounding through a delay) but
    allocates nothing. It must not be queued twice at once (``queued`` says whether it is).
    A flow's ticks are one alarm (a link direction's arrivals are a :class:`Train`).
    """

    __slots__ = ("callbacks", "_cbs", "_queue", "_eid")
    _ok = True  # read by the step loop: this event never fails
    _value = None

    def __init__(self, env: Scheduler, fn: Callable[[Alarm], Any]) -> None:
        self._cbs = [fn]
        self.callbacks: list[Callable[[Alarm], Any]] | None = None
        """SimPy's event protocol: the callbacks while queued, None once fired."""
        self._queue: list[Any] = env._queue
        self._eid = env._eid

    def at(self, t: float) -> None:
        """Fire at simulated time ``t`` (not earlier than now)."""
        self.callbacks = self._cbs
        heappush(self._queue, (t, NORMAL, next(self._eid), self))

    @property
    def queued(self) -> bool:
        """Whether the alarm is waiting to fire."""
        return self.callbacks is not None


class Train:
    """Items that fall due in FIFO order, as one event: a link direction's packets on the wire.

    ``items`` holds tuples whose first element is the item's due time, in the order they fall
    due (each no earlier than the one before); only the first is in the environment's queue.
    When it is due, ``fn(item)`` is called with the item taken off ``items``, and the next item
    (if any) is queued in its place. The owner appends to ``items`` itself and calls
    :meth:`start` after appending to an empty train. A train is stepped by SimPy's own
    ``step`` too (its callbacks are :meth:`_fire`); :meth:`Scheduler.run_until` inlines
    ``_fire`` and replaces the queue entry in place (one heap operation instead of two).
    """

    __slots__ = ("items", "fn", "callbacks", "_cbs", "_queue", "_eid")
    _ok = True  # read by the step loop: this event never fails
    _value = None

    def __init__(self, env: Scheduler, fn: Callable[[Any], Any]) -> None:
        self.items: deque[Any] = deque()
        self.fn = fn
        """Called with each item when it falls due."""
        self._cbs: list[Callable[[Train], Any]] = [self._fire]
        self.callbacks: list[Callable[[Train], Any]] | None = None
        """SimPy's event protocol: the callbacks while queued, None once fired."""
        self._queue: list[Any] = env._queue
        self._eid = env._eid

    def start(self) -> None:
        """Queue the first item (after it was appended to an empty train)."""
        self.callbacks = self._cbs
        heappush(self._queue, (self.items[0][0], NORMAL, next(self._eid), self))

    def _fire(self, _ev: Train) -> None:
        items = self.items
        item = items.popleft()
        if items:
            self.callbacks = self._cbs
            heappush(self._queue, (items[0][0], NORMAL, next(self._eid), self))
        self.fn(item)
