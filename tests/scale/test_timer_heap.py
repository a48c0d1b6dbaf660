"""The endpoint's timer heap (core/ike/timers.py, kept by core/ike/saindex.py) answers what
walking every IKE_SA and CHILD_SA answered, at every call, through whole runs.

Oracle: the walk over ``ike_sas`` that ``IkeEndpoint.get_timer`` did before the heap
(written out here), checked after every datagram and timer of the shipped topologies that
rekey, reauthenticate, run DPD and NAT keepalives and collide; and the SPI and identity
tables against scans of ``ike_sas``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ipsecsim.core.ike import states as S
from ipsecsim.core.ike.endpoint import IkeEndpoint
from ipsecsim.sim.runner import Simulation

ROOT = Path(__file__).resolve().parents[2]


def _walk(ep: IkeEndpoint) -> float | None:
    times = []
    for sa in ep.ike_sas.values():
        if sa.pending is not None:
            times.append(sa.pending.deadline)
        times += [t for t in (sa.rekey_at, sa.reauth_at, sa.expire_at, sa.keepalive_at,
                              sa.dpd_at) if t is not None]
        for c in sa.children:
            if c.state != S.C_DELETED:
                times += [t for t in (c.rekey_at, c.expire_at) if t is not None]
            elif c.down_at is not None:
                times.append(c.down_at)
    return min(times) if times else None


def _check_tables(ep: IkeEndpoint) -> None:
    for sa in ep.ike_sas.values():
        for c in sa.children:
            found = ep._sas.child(c.spi_in)
            assert found is not None and found[1] is c and found[0] is sa
        want = [o for o in ep.ike_sas.values() if o.local_id == sa.local_id and o.peer_id == sa.peer_id]
        assert ep.sas_with_ids(sa.local_id, sa.peer_id) == want


@pytest.mark.parametrize("name", ["rekey-under-load", "nat-traversal", "road-warriors",
                                  "hub-and-spoke", "site-to-site"])
def test_heap_agrees_with_the_walk(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = [0]
    real = IkeEndpoint.get_timer

    def checked(self: IkeEndpoint) -> float | None:
        got = real(self)
        assert got == _walk(self)
        calls[0] += 1
        if calls[0] % 7 == 0:
            _check_tables(self)
        return got

    monkeypatch.setattr(IkeEndpoint, "get_timer", checked)
    sim = Simulation.from_file(ROOT / "topologies" / f"{name}.yaml")
    sim.run()
    assert calls[0] > 5


def test_timers_of_a_destroyed_sa_are_gone() -> None:
    """Reauthentication (break-before-make) destroys IKE_SAs: their deadlines leave the heap."""
    sim = Simulation.from_file(ROOT / "topologies" / "rekey-under-load.yaml")
    sim.run()
    for node in sim.net.nodes.values():
        ep = getattr(node, "ike", None)
        if ep is not None:
            assert ep.get_timer() == _walk(ep)
            live = {sa._n for sa in ep.ike_sas.values()}
            assert set(ep._sas.timers.at) <= live
