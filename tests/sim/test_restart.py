"""A spoke gateway reboots mid-run: its new IKE_AUTH carries N(INITIAL_CONTACT) and the hub
destroys the stale IKE_SA/CHILD_SA at once (no DELETE to the lost incarnation), so the hub
holds exactly the new SAs and its traffic reaches the spoke right after the new IKE_SA.
Without it (``unique = never``) the stale SAs stay until DPD or their lifetime ends them;
the traffic recovers the same here, as the hub's stack sends on the newest CHILD_SA of
those selectors.

Oracle: RFC 7296 §2.4 (the receiver of INITIAL_CONTACT may delete the other IKE SAs it
has with the same authenticated identity without waiting for a timeout); strongSwan 5.9 ``ike_auth.c``
``build_i()`` (sent with no IKE_SA to that peer) and ``ike_sa_manager.c``
``check_uniqueness(force_replace)`` (duplicates destroyed, no DELETE); ``unique = never``
(swanctl.conf(5)) keeps the stale SA.
"""

from __future__ import annotations

import pytest

from ipsecsim.sim import Simulation
from ipsecsim.sim.generate import hub_and_spoke
from ipsecsim.sim.topology import validate

REBOOT, RATE, RTT = 3.0, 50, 0.040  # spoke WAN 15 ms + hub WAN 5 ms, each way


def reboot(sim: Simulation, name: str) -> None:
    """The gateway loses its kernel SAs and its charon: a fresh IKE endpoint (same config,
    new random draws) starts over, as after a power cycle."""
    gw = sim.node(name)
    now = sim.now
    sim.trace.emit(now, "note", name, "reboot")
    gw.restart(gw.rng.child("ike-after-reboot"))


def run(hub_unique: str = "no") -> Simulation:
    topo = hub_and_spoke(2, pings=0, duration=8.0)
    topo["nodes"]["hub"]["ipsec"]["connections"]["spoke1"]["unique"] = hub_unique
    topo["traffic"] = {"down": {"type": "cbr", "from": "server", "to": "10.0.1.10",
                                "start": 1.0, "stop": 7.0, "rate": RATE, "size": 200},
                       "other": {"type": "cbr", "from": "server", "to": "10.0.2.10",
                                 "start": 1.0, "stop": 7.0, "rate": RATE, "size": 200}}
    sim = Simulation.from_dict(topo)
    sim.run(until=REBOOT)
    reboot(sim, "spoke1-gw")
    return sim.run()


def test_hub_traffic_reaches_the_rebooted_spoke_within_one_rtt():
    sim = run()
    s = sim.summary()
    p = s["packets"]
    assert p["sent"] == p["delivered"] + sum(p["dropped"].values()) + p["in_flight"]
    assert p["in_flight"] == 0
    # the hub's view: the stale IKE_SA and CHILD_SA go with INITIAL_CONTACT, no DELETE is sent
    hub_sa = [r for r in sim.trace.dicts("sa") if r["node"] == "hub"]
    gone = [r for r in hub_sa if r["event"] == "deleted" and r["t"] >= REBOOT]
    assert gone and all("INITIAL_CONTACT" in r["detail"] for r in gone)
    assert {r["proto"] for r in gone} == {"ike", "esp"}
    hub_msgs = [r for r in sim.trace.dicts("ike_msg") if r["node"] == "hub" and r["t"] >= REBOOT]
    assert not [r for r in hub_msgs if r["exchange"] == "INFORMATIONAL"]
    spoke_auth = [r for r in sim.trace.dicts("ike_msg") if r["node"] == "spoke1-gw"
                  and r["t"] >= REBOOT and r["exchange"] == "IKE_AUTH" and r["direction"] == "out"]
    assert "N(INITIAL_CONTACT)" in spoke_auth[0]["payloads"]
    new_up = min(r["t"] for r in hub_sa if r["event"] == "installed" and r["proto"] == "ike"
                 and r["t"] >= REBOOT)
    hub = sim.node("hub").ike
    assert len([sa for sa in hub.established() if sa.conn.name == "spoke1"]) == 1
    assert len([c for c in hub.children() if c.name == "spoke1"]) == 1
    # every packet the server sends once the hub has the new IKE_SA reaches the spoke's host
    # on it, the first within one RTT (one-way here) of being sent; the ones before went out
    # on the stale SA and were lost at the spoke, which no longer had it
    sent_after = {r["pkt_id"]: r["t"] for r in sim.trace.dicts("app_send")
                  if r["flow"] == "down" and r["t"] > new_up}
    got = {r["pkt_id"]: r["t"] for r in sim.trace.dicts("app_deliver") if r["flow"] == "down"}
    assert sent_after and set(sent_after) <= set(got)
    first = min(sent_after, key=sent_after.get)
    assert sent_after[first] <= new_up + 1 / RATE
    assert got[first] - sent_after[first] <= RTT
    drops = [r for r in sim.trace.dicts("drop") if r["t"] > REBOOT - 1]
    assert {(r["node"], r["reason"]) for r in drops} == {("spoke1-gw", "unknown_spi")}
    assert all(r["t"] <= new_up + RTT for r in drops)
    assert set(p["dropped"]) == {"unknown_spi"}
    assert 1 <= p["dropped"]["unknown_spi"] <= (new_up - REBOOT) * RATE + 2
    # the other spoke never noticed
    other = s["flows"]["other"]
    assert other["delivered"] == other["sent"] >= 6 * RATE


def test_without_initial_contact_handling_the_hub_keeps_the_stale_sa():
    # unique = never on the hub: it ignores INITIAL_CONTACT and keeps both CHILD_SAs for the
    # spoke's selectors (what a responder without §2.4 support does); the stale one stays
    sim = run("never")
    hub = sim.node("hub").ike
    assert len([sa for sa in hub.established() if sa.conn.name == "spoke1"]) == 2
    assert len([c for c in hub.children() if c.name == "spoke1"]) == 2
    gone = [r for r in sim.trace.dicts("sa") if r["node"] == "hub" and r["event"] == "deleted"]
    assert not gone


def test_topology_check_names_a_bad_unique_value():
    # the topology check runs the IKE config reader (ipsecsim/sim/topology.py), which knows
    # swanctl.conf(5)'s four values of connections.<conn>.unique
    topo = hub_and_spoke(1, pings=0)
    topo["nodes"]["hub"]["ipsec"]["connections"]["spoke1"]["unique"] = "sometimes"
    with pytest.raises(Exception, match=r"spoke1\.unique: 'sometimes' is not one of no, never"):
        validate(topo)
