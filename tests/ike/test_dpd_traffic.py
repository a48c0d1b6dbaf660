"""DPD (RFC 7296 §2.4) counts inbound ESP as a sign of life, not only IKE messages.

Oracle: strongSwan ``src/libcharon/sa/ike_sa.c`` ``send_dpd()`` (5.2 through 6.0) queues a
DPD exchange only when ``now - get_use_time(inbound)`` reaches ``dpd_delay``, and otherwise
re-checks ``dpd_delay - diff`` seconds later; ``get_use_time()`` is the latest of the IKE_SA's
last inbound IKE message and every CHILD_SA's inbound use time (``child_sa.c``
``get_usestats()``, from the kernel's in/fwd policy use time). So a peer that keeps sending
ESP is never probed, and the probe comes ``dpd_delay`` after the last sign of life.
"""

from __future__ import annotations

import pytest

from ipsecsim.core.ike import events as E
from ipsecsim.core.ike import states as S
from ipsecsim.sim.runner import Simulation
from ipsecsim.sim.topology import load
from tests.helpers.ike_pair import Pair, configs
from tests.helpers.paths import TOPOLOGIES
from tests.ike.test_lifecycle import installed, only_sa

S2S = TOPOLOGIES / "site-to-site.yaml"

DELAY = 30.0


def probes(p: Pair, side: str) -> list[E.IkeMessageEvent]:
    """DPD requests ``side`` sent (empty INFORMATIONAL requests)."""
    return [e for e in p.of(side, E.IkeMessageEvent) if e.direction == "out" and not e.response
            and e.payloads == "INFORMATIONAL request { }"]


def up() -> Pair:
    p = Pair(*configs(a={"dpd_delay": DELAY}))
    p.a.start(0.0)
    p.pump()  # IKE_SA_INIT and IKE_AUTH at t=0: A last heard from B at 0
    assert len(p.a.established()) == 1
    return p


def test_inbound_esp_postpones_the_probe_until_silence():
    p = up()
    child, = installed(p.a)
    # B's ESP arrives every 10 s until t=100: never dpd_delay (30 s) without a sign of life
    for t in range(10, 101, 10):
        p.advance(float(t))
        p.a.note_inbound(child.spi_in, float(t))
    assert not probes(p, "a")
    # then silence: the probe comes dpd_delay after the last packet, not earlier
    p.advance(100.0 + DELAY - 0.01)
    assert not probes(p, "a")
    p.advance(100.0 + DELAY)
    # INFORMATIONAL { } -->     <-- { }
    probe, = probes(p, "a")
    assert probe.exchange == "INFORMATIONAL"
    assert only_sa(p.a).state == S.ESTABLISHED and only_sa(p.a).last_heard == 100.0 + DELAY


def test_silence_probes_dpd_delay_after_the_last_packet():
    p = up()
    child, = installed(p.a)
    p.advance(5.0)
    p.a.note_inbound(child.spi_in, 5.0)
    p.advance(DELAY)  # strongSwan: diff = 25 < 30, re-check 5 s later
    assert not probes(p, "a") and p.a.get_timer() == 5.0 + DELAY
    p.advance(5.0 + DELAY)
    assert len(probes(p, "a")) == 1
    p.advance(5.0 + 2 * DELAY - 0.01)  # the answer at 35 is the new sign of life
    assert len(probes(p, "a")) == 1
    p.advance(5.0 + 2 * DELAY)
    assert len(probes(p, "a")) == 2


def test_unknown_spi_and_older_times_change_nothing():
    p = up()
    child, = installed(p.a)
    p.a.note_inbound(0xDEADBEEF, 20.0)  # not one of our CHILD_SAs (e.g. manual keys)
    p.a.note_inbound(child.spi_in, 2.0)
    p.a.note_inbound(child.spi_in, 1.0)  # an older report does not move the time back
    assert only_sa(p.a).last_esp_in == 2.0
    p.advance(2.0 + DELAY - 0.01)
    assert not probes(p, "a")
    p.advance(2.0 + DELAY)
    assert len(probes(p, "a")) == 1


def _dpd_topology(delay: float) -> dict:
    topo = load(S2S)
    for gw in ("gw-a", "gw-b"):
        topo["nodes"][gw]["ipsec"]["connections"]["office-link"]["dpd_delay"] = delay
    # traffic both ways until t=9 (voice a->b at 50/s, web b->a at 20/s, pings until 8)
    topo["duration"] = 20
    return topo


def test_sim_no_dpd_while_traffic_flows_both_ways_then_probes():
    delay = 2.0
    sim = Simulation.from_dict(_dpd_topology(delay)).run()
    info = [r for r in sim.trace.of("ike_msg") if r[6] == "INFORMATIONAL" and r[4] == "out"
            and not r[8]]
    # the last ESP packet each gateway decrypted
    last_in = {gw: max(r[1] for r in sim.trace.of("decrypt") if r[3] == gw)
               for gw in ("gw-a", "gw-b")}
    stop = min(last_in.values())
    assert 8.5 < stop <= 9.1, last_in
    # without ESP counting, DPD would probe from ~2.1 s on (IKE quiet since 0.1 s)
    assert not [r for r in info if r[1] < stop + delay], info
    # the shell reports the SAs' use times at IKE timers: the probe comes dpd_delay after the
    # last packet that gateway decrypted, as strongSwan's does with the kernel's use time
    first = min(info, key=lambda r: r[1])
    gw = first[3]
    assert first[1] == pytest.approx(last_in[gw] + delay, abs=1e-9), (first, last_in)
    # the peer's probe is a sign of life for the other gateway, which probes later in turn
    assert {r[3] for r in info} == {"gw-a", "gw-b"}
    assert sim.summary()["ike"]["established"] == 1
