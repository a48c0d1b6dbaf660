"""sim/scheduler.py: the SimPy internals it relies on, and that nothing else in sim/ uses them.

:mod:`ipsecsim.sim.scheduler` reads ``Environment._now/_queue/_eid``, builds queue entries and
queues objects that are not :class:`simpy.Event` instances. These tests pin each of those
internals down with SimPy alone (so a SimPy release that changes one fails here, naming it),
then check that the scheduler's shortcuts fire events exactly where SimPy's own API would, and
that a whole simulation stepped by SimPy's ``run`` writes the same trace as ``run_until``.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from heapq import heappush
from importlib.metadata import version
from pathlib import Path

import pytest
import simpy
from packaging.specifiers import SpecifierSet
from simpy.events import NORMAL, URGENT, Timeout

from ipsecsim.sim import scheduler as S
from ipsecsim.sim.runner import Simulation
from ipsecsim.sim.scheduler import Alarm, Scheduler, Train

ROOT = Path(__file__).resolve().parents[2]


# --- the pin ------------------------------------------------------------------------------
def test_the_installed_simpy_is_in_the_pinned_range():
    pins = [d for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
            if d.startswith("simpy")]
    assert pins == ["simpy" + ",".join(S.SIMPY_VERSIONS)]
    assert version("simpy") in SpecifierSet(",".join(S.SIMPY_VERSIONS))
    assert simpy.__version__ == version("simpy")


# --- the internals, with SimPy alone -------------------------------------------------------
def test_environment_keeps_time_queue_and_ids_in_underscore_attributes():
    env = simpy.Environment(2.5)
    assert env._now == 2.5 and env.now == 2.5
    assert env._queue == [] and type(env._queue) is list
    assert type(env._eid) is itertools.count and next(env._eid) == 0


def test_priorities():
    assert (URGENT, NORMAL) == (0, 1)


def test_schedule_pushes_time_priority_id_event_tuples():
    env = simpy.Environment(1.0)
    ev = env.event()
    env.schedule(ev, NORMAL, 2.0)
    t = Timeout(env, 0.5)  # a Timeout is scheduled the same way, with the next id
    assert env._queue[0] == (1.5, NORMAL, 1, t)
    assert sorted(env._queue) == [(1.5, NORMAL, 1, t), (3.0, NORMAL, 0, ev)]


class _Probe:
    """A queue entry that is no simpy.Event: records what ``step`` reads and writes of it."""

    def __init__(self, ok: bool = True, value: object = None) -> None:
        d = object.__getattribute__(self, "__dict__")
        d.update(callbacks=[self._called], _ok=ok, _value=value, seen=[], log=[])

    def _called(self, ev: object) -> None:
        object.__getattribute__(self, "log").append(ev)

    def __getattribute__(self, name: str) -> object:
        if not name.startswith("__") and name not in ("seen", "log", "_called"):
            object.__getattribute__(self, "seen").append(("get", name))
        return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: object) -> None:
        object.__getattribute__(self, "seen").append(("set", name, value))
        object.__setattr__(self, name, value)


def test_step_pops_the_smallest_entry_and_reads_only_callbacks_and_ok():
    env = simpy.Environment()
    p = _Probe()
    heappush(env._queue, (4.0, NORMAL, next(env._eid), p))
    env.step()
    assert env.now == 4.0 and env._queue == []
    assert p.log == [p]  # each callback is called with the event
    assert p.seen == [("get", "callbacks"), ("set", "callbacks", None), ("get", "_ok")]


def test_step_reads_defused_and_value_of_a_failed_event():
    env = simpy.Environment()
    p = _Probe(ok=False, value=ValueError("boom"))
    heappush(env._queue, (1.0, NORMAL, next(env._eid), p))
    with pytest.raises(ValueError, match="boom"):
        env.step()
    names = [s[1] for s in p.seen if s[0] == "get"]
    assert names[:2] == ["callbacks", "_ok"] and "_defused" in names and "_value" in names
    q = _Probe(ok=False, value=ValueError("defused"))
    object.__setattr__(q, "_defused", True)
    heappush(env._queue, (2.0, NORMAL, next(env._eid), q))
    env.step()  # a defused failure does not crash the environment


@pytest.mark.parametrize("stepper", ["simpy-run", "run_until"])
def test_running_until_a_time_stops_at_an_urgent_event_there(stepper):
    """What run_until copies: the stop is URGENT, so a Timeout due at the end waits for the next run."""
    env = Scheduler()
    run = env.run if stepper == "simpy-run" else env.run_until
    fired = []
    Timeout(env, 0.5).callbacks.append(lambda e: fired.append(0.5))
    last = Timeout(env, 1.0)
    last.callbacks.append(lambda e: fired.append(1.0))
    run(1.0)
    assert fired == [0.5] and env.now == 1.0 and (1.0, NORMAL, 1, last) in env._queue
    run(2.0)
    assert fired == [0.5, 1.0] and env.now == 2.0


# --- the scheduler's shortcuts agree with SimPy -------------------------------------------
def test_scheduler_now_is_the_slot_simpy_writes():
    env = Scheduler()
    assert "_now" not in vars(env)  # the slot, not the instance dict
    Timeout(env, 0.25)
    env.step()
    assert env.now == 0.25 == simpy.Environment.now.fget(env)  # type: ignore[attr-defined]
    env.run_until(1.0)
    assert env.now == 1.0 == simpy.Environment.now.fget(env)  # type: ignore[attr-defined]


def _timeline(env: Scheduler, use_alarm: bool) -> list[tuple[float, str]]:
    """Timeouts, an alarm (or the Timeouts it stands for) and a train at colliding times."""
    log: list[tuple[float, str]] = []
    env.run_until(0.1)

    def note(what: str):
        return lambda _ev: log.append((env.now, what))

    Timeout(env, 0.2).callbacks.append(note("t1"))
    if use_alarm:
        alarm = Alarm(env, note("alarm"))
        assert not alarm.queued
        alarm.at(0.1 + 0.2)
        assert alarm.queued
    else:
        Timeout(env, 0.2).callbacks.append(note("alarm"))
    Timeout(env, 0.2).callbacks.append(note("t2"))
    train = Train(env, lambda item: log.append((env.now, item[1])))
    for k, dt in enumerate((0.2, 0.2, 0.4)):  # at the times the Timeouts get (0.1 + 0.2 != 0.3)
        train.items.append((env.now + dt, f"item{k}"))
        if len(train.items) == 1:
            train.start()
    Timeout(env, 0.4).callbacks.append(note("t3"))
    return log


@pytest.mark.parametrize("stepper", ["simpy-run", "run_until"])
def test_alarm_and_train_fire_where_timeouts_would(stepper):
    env = Scheduler()
    log = _timeline(env, use_alarm=True)
    if stepper == "simpy-run":
        env.run(until=1.0)
    else:
        env.run_until(1.0)
    ref_env = Scheduler()
    ref = _timeline(ref_env, use_alarm=False)
    ref_env.run(until=1.0)
    assert [w for _, w in log] == [w for _, w in ref] == ["t1", "alarm", "t2", "item0", "item1", "t3", "item2"]
    # the alarm fires at exactly the time it was given; a Timeout at now + (t - now)
    assert dict((w, t) for t, w in log)["alarm"] == 0.1 + 0.2
    assert all(type(e[3]) is not Train for e in env._queue)  # the train ran dry and left the queue


def test_run_until_returns_at_once_for_a_past_end():
    env = Scheduler()
    env.run_until(1.0)
    env.run_until(0.5)
    assert env.now == 1.0 and len(env._queue) == 0


@pytest.mark.parametrize("topology", ["site-to-site", "nat-traversal"])
def test_a_simulation_stepped_by_simpy_writes_the_same_trace(topology):
    """run_until (inlined step, trains replaced in place) against SimPy's own Environment.run."""
    path = ROOT / "topologies" / f"{topology}.yaml"
    fast = Simulation.from_file(path).run(4)
    slow = Simulation.from_file(path)
    slow.net.env.run(until=4)
    assert len(fast.trace) > 500
    assert list(fast.trace.dicts()) == list(slow.trace.dicts())
    assert fast.summary() == slow.summary()


# --- nothing else in sim/ uses them --------------------------------------------------------
SIMPY_INTERNALS = re.compile(
    r"\benv\._|\._(now|queue|eid|ok|value|defused)\b|\b(NORMAL|URGENT|heappush|heapreplace)\b"
    r"|^\s*_(ok|value)\s*=")


def test_only_the_scheduler_uses_simpy_internals():
    found = []
    for path in sorted((ROOT / "ipsecsim" / "sim").glob("*.py")):
        if path.name == "scheduler.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if SIMPY_INTERNALS.search(line.split("#")[0]):
                found.append(f"{path.name}:{n}: {line.strip()}")
    assert found == []
