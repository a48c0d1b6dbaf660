"""A hub whose spokes all start at once: the requests a full queue drops are retried
together, and collide again, unless retransmissions are jittered (``charon.retransmit_jitter``).

strongSwan (``task_manager.c`` ``retransmission_timeout()``): the timeout of try *n* is
``min(retransmit_timeout × retransmit_base^n, retransmit_limit)``, less a random part of at
most ``retransmit_jitter`` percent (capped at 20, ``RETRANSMIT_JITTER_MAX``), the first wait
included. The storm is the issue-16 finding at 3,000 spokes, in small: 40 spokes behind a
core router whose queue toward the hub holds 10 packets.
"""

from __future__ import annotations

from typing import Any

from ipsecsim.core.ike import taskmanager as tm
from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.core.ike.endpoint import IkeEndpoint
from ipsecsim.core.rng import Rng
from ipsecsim.sim.generate import hub_and_spoke
from ipsecsim.sim.runner import Simulation


def _storm(jitter: int, until: float) -> tuple[int, list[float]]:
    topo: dict[str, Any] = hub_and_spoke(40, auth="psk", pings=1, duration=until, ping_start=until - 1,
                                         retransmit_jitter=jitter)
    topo["links"]["hub-wan"]["queue"] = 10
    sim = Simulation.from_dict(topo)
    sim.run()
    up = sim.summary()["ike"]["established"]
    ike = sim.dataframes()["ike"]
    retx = ike[(ike.kind == "ike_msg") & (ike.retransmit > 0)].t.tolist()
    return up, retx


def test_without_jitter_the_dropped_retry_together() -> None:
    up, retx = _storm(0, 6.0)
    assert up < 40  # ten per round: the rest wait for the next one, at 11.2 s
    assert len(set(retx)) == 1 and retx[0] == 4.0  # every retry at exactly 4 s


def test_with_jitter_the_retries_spread_and_all_come_up() -> None:
    up, retx = _storm(20, 6.0)
    assert up == 40
    assert len(set(retx)) == len(retx)  # no two at the same time
    assert all(3.2 <= t <= 4.0 for t in retx)  # 4 s less up to 20 %


def test_timeout_jitter_limit_and_cap() -> None:
    cfg = IkeConfig.from_dict({"connections": {"c": {
        "remote_addrs": ["192.0.2.2"], "retransmit_jitter": 50, "retransmit_limit": 10}}})
    conn = cfg.connections[0]
    assert conn.retransmit_jitter == 20  # strongSwan caps it at RETRANSMIT_JITTER_MAX
    ep = IkeEndpoint(cfg, Rng(1))
    sa = ep.new_sa(conn, True, bytes(8), bytes(8), ("192.0.2.1", 500), ("192.0.2.2", 500))
    waits = [tm._timeout(ep, sa, n) for n in range(6)]
    for n, w in enumerate(waits):
        full = min(4.0 * 1.8 ** n, 10.0)
        assert full * 0.8 <= w <= full
    assert max(waits) <= 10.0
    plain = IkeConfig.from_dict({"connections": {"c": {"remote_addrs": ["192.0.2.2"]}}})
    sa2 = ep.new_sa(plain.connections[0], True, bytes(8), b"\1" * 8, ("192.0.2.1", 500),
                    ("192.0.2.2", 500))
    assert [tm._timeout(ep, sa2, n) for n in range(3)] == [4.0, 4.0 * 1.8, 4.0 * 1.8 ** 2]


def test_strongswan_conf_sets_them(tmp_path: Any) -> None:
    """``charon.retransmit_jitter`` / ``retransmit_limit`` in strongswan.conf reach every
    connection (they were warned about as not modelled)."""
    from ipsecsim.swanctl import load_strongswan_conf

    conf = tmp_path / "strongswan.conf"
    conf.write_text("charon {\n  retransmit_jitter = 10\n  retransmit_limit = 30\n}\n")
    opts, warnings = load_strongswan_conf(str(conf))
    assert opts == {"retransmit_jitter": 10, "retransmit_limit": 30.0} and not warnings
