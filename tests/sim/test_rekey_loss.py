"""A CHILD_SA rekey whose CREATE_CHILD_SA *response* is lost, with traffic flowing both ways.

The responder of a rekey answers, installs the new SA, but must keep sending on the old
SA until the initiator's INFORMATIONAL { D(old) } shows the initiator has the new one.
Oracle: strongSwan 5.x ``child_create.c`` ``select_and_install()`` ("as responder during a
rekeying we only install the inbound SA now, the outbound SA and policies are installed
when we receive the delete for the old SA") and ``child_delete.c`` ``install_outbound()``;
strongSwan 6.0 ``child_rekey.c`` ``child_rekey_conclude_rekeying()``. RFC 7296 §2.8 only
says the old SA may be deleted once the new one is up; losing the response must not cost
traffic. Before this rule the responder (gw-b) switched at once and gw-a dropped its
packets as ``unknown_spi`` until the retransmitted request was answered (about 4 s).
"""

from __future__ import annotations

import yaml

from ipsecsim.core.ike import message as M
from ipsecsim.core.ike import states as S
from ipsecsim.sim import Simulation
from tests.helpers.paths import TOPOLOGIES

TOPO = TOPOLOGIES / "site-to-site.yaml"
RATE = 200
"""Packets per second in each direction."""


def _installed(gw) -> list:
    return [c for sa in gw.ike.ike_sas.values() for c in sa.children if c.state == S.C_INSTALLED]


def _is_rekey_response(payload: bytes) -> bool:
    """An IKEv2 CREATE_CHILD_SA response (RFC 7296 §3.1 header; non-ESP marker on 4500)."""
    hdr = payload[4:] if payload[:4] == b"\0\0\0\0" else payload
    return len(hdr) >= 28 and hdr[18] == M.CREATE_CHILD_SA and bool(hdr[19] & 0x20)


def _drop_first_rekey_response(gw) -> list[float]:
    """Lose the first CREATE_CHILD_SA response ``gw`` sends (a targeted drop on its way
    out); returns the list the drop time is appended to."""
    ike = gw.ike
    send = ike.datagrams_to_send
    dropped: list[float] = []

    def datagrams_to_send(now: float) -> list:
        out = send(now)
        for d in out:
            if not dropped and _is_rekey_response(d[0]):
                dropped.append(now)
                out = [x for x in out if x is not d]
                break
        return out

    ike.datagrams_to_send = datagrams_to_send
    return dropped


def _run() -> tuple[Simulation, list[float], tuple]:
    topo = yaml.safe_load(TOPO.read_text())
    topo["duration"] = 14
    topo["traffic"] = {
        "ab": {"type": "cbr", "from": "host-a", "to": "10.2.0.10", "start": 1, "stop": 12,
               "rate": RATE, "size": 400},
        "ba": {"type": "cbr", "from": "host-b", "to": "10.1.0.10", "start": 1, "stop": 12,
               "rate": RATE, "size": 400},
    }
    sim = Simulation.from_dict(topo)
    sim.run(until=3.0)
    gw_a, gw_b = sim.node("gw-a"), sim.node("gw-b")
    (old_a,), (old_b,) = _installed(gw_a), _installed(gw_b)
    dropped = _drop_first_rekey_response(gw_b)
    # CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, TSi, TSr } -->       (gw-a, t = 3.0)
    #                 X-- { SA, Nr, TSi, TSr }                      (gw-b's answer, lost)
    gw_a.ike.rekey_child(old_a.spi_in, sim.now)
    gw_a.drain()
    sim.run(until=3.5)
    assert dropped and 3.0 < dropped[0] < 3.1
    # gw-b answered and installed the new pair, but still sends on the old SA
    assert old_b.state == S.C_REKEYED
    (new_b,) = _installed(gw_b)
    assert gw_b.stack.current_outbound("lan-lan").spi_out == old_b.spi_out
    assert gw_b.stack.sad.outbound.get(new_b.spi_out) is not None  # installed, not used
    # CREATE_CHILD_SA (retransmitted) -->   <-- { SA, Nr, ... }  (the cached answer)
    # INFORMATIONAL { D(old) } -->           gw-b moves its traffic to the new SA here
    sim.run()
    return sim, dropped, (old_a, old_b, new_b)


def test_lost_rekey_response_loses_no_traffic_from_the_responder():
    sim, dropped, (old_a, old_b, new_b) = _run()
    gw_a, gw_b = sim.node("gw-a"), sim.node("gw-b")
    # the request was retransmitted (RFC 7296 §2.1) and the rekey completed
    retx = [r for r in sim.trace.dicts("ike_msg") if r["node"] == "gw-a" and r["retransmit"]
            and r["exchange"] == "CREATE_CHILD_SA"]
    assert retx and retx[0]["t"] > dropped[0] + 1.0
    assert old_a.state == old_b.state == S.C_DELETED
    (a,), (b,) = _installed(gw_a), _installed(gw_b)
    assert b is new_b and (a.spi_in, a.spi_out) == (b.spi_out, b.spi_in)
    assert gw_b.stack.current_outbound("lan-lan").spi_out == new_b.spi_out
    # gw-b switched when gw-a's DELETE of the old SA arrived, i.e. after the retransmission
    switch = [r for r in sim.trace.dicts("sa") if r["node"] == "gw-b" and r["event"] == "rekeyed"]
    assert len(switch) == 1 and switch[0]["t"] > retx[0]["t"]
    # conservation per direction: every packet sent was delivered, none dropped
    s = sim.summary()
    for name in ("ab", "ba"):
        f = s["flows"][name]
        assert f["sent"] == 11 * RATE and f["delivered"] == f["sent"], (name, f)
    assert s["packets"]["dropped"] == {} and s["packets"]["in_flight"] == 0
    assert "unknown_spi" not in s["drops_all"]
