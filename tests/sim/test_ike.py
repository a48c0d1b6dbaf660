"""The IKE endpoint inside the simulation: trap-triggered negotiation, lost IKE packets, the
progress bar, and the trace/summary view of IKE and SA events."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from ipsecsim.cli import run as cli
from ipsecsim.sim.runner import Simulation
from ipsecsim.sim.topology import load
from tests.helpers.paths import REPO as ROOT
from tests.helpers.sim_topos import assert_conserved

S2S = ROOT / "topologies" / "site-to-site.yaml"


def s2s(start_action: str = "start") -> dict:
    topo = load(S2S)
    topo["nodes"]["gw-a"]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"]["start_action"] = start_action
    topo["traffic"] = {"ping": {"type": "ping", "from": "host-a", "to": "10.2.0.10", "start": 1, "rate": 1,
                                "count": 4}}
    topo["duration"] = 6
    return topo


def test_trap_policy_drops_first_packet_as_no_sa_and_starts_ike():
    sim = Simulation.from_dict(s2s("trap")).run()
    s = assert_conserved(sim)
    assert s["dropped"] == {"no_sa": 1} and s["delivered"] == 3
    first_ike = next(r for r in sim.trace.of("ike_msg"))
    first_drop = next(r for r in sim.trace.of("drop"))
    assert first_drop[1] <= first_ike[1] and first_ike[1] >= 1.0  # IKE only once traffic asked for it
    assert sim.summary()["ike"]["established"] == 1


def test_without_start_or_trap_nothing_is_negotiated_and_traffic_is_not_protected():
    sim = Simulation.from_dict(s2s("none")).run()
    s = assert_conserved(sim)
    assert not list(sim.trace.of("ike_msg"))
    # no policy at all: the pings cross the WAN in the clear (as strongSwan would send them)
    assert s["delivered"] == 4
    assert all(r[9][9] == 1 for r in sim.trace.of("link_tx") if r[4] == "wan-a")


def test_lost_ike_packets_are_retransmitted():
    topo = s2s()
    topo["links"]["wan-a"]["down"] = [[0, 0.5]]  # IKE_SA_INIT is lost, retransmitted after 4 s
    sim = Simulation.from_dict(topo).run(8)
    summ = sim.summary()
    assert summ["ike"]["established"] == 1 and summ["ike"]["retransmits"] >= 1
    drops = [r for r in sim.trace.of("drop") if r[5] == "link_down"]
    assert drops and all(r[1] < 0.5 for r in drops)
    assert_conserved(sim)


def test_trace_records_ike_states_and_sa_installs():
    sim = Simulation.from_dict(s2s()).run()
    states = [(r[3], r[6]) for r in sim.trace.of("ike_state")]
    assert ("gw-a", "ESTABLISHED") in states and ("gw-b", "ESTABLISHED") in states
    installs = [r for r in sim.trace.of("sa") if r[4] == "installed" and r[5] == "esp"]
    assert len(installs) == 4  # in and out on both gateways
    spis_a = {(r[7], r[6]) for r in installs if r[3] == "gw-a"}
    spis_b = {(r[7], r[6]) for r in installs if r[3] == "gw-b"}
    assert {s for d, s in spis_a if d == "out"} == {s for d, s in spis_b if d == "in"}


def test_progress_bar_on_stderr_unless_quiet(tmp_path, capsys):
    import yaml

    from tests.helpers.sim_topos import plain_chain

    small = tmp_path / "small.yaml"
    small.write_text(yaml.safe_dump(plain_chain({"p": {"type": "ping", "from": "h1", "to": "10.0.2.10",
                                                       "count": 2}}, duration=3)))
    args = argparse.Namespace(topology=str(small), out=str(tmp_path / "o"), seed=None, until=2.0, quiet=False)
    assert cli.run(args) == 0
    err = capsys.readouterr().err
    assert "sim s" in err and "100%" in err
    args.quiet, args.out = True, str(tmp_path / "q")
    assert cli.run(args) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_lossy_bursty_wan_keeps_conservation_and_ike_recovers():
    # 20 % random loss one way, Gilbert-Elliott bursts, a 5-packet queue and an outage the other
    for seed in (1, 2):
        topo = load(S2S)
        topo["links"]["wan-a"].update(loss=0.2, jitter="5ms")
        topo["links"]["wan-b"].update(gilbert={"p": 0.05, "r": 0.3}, queue=5, down=[[3, 4]])
        topo["duration"] = 30
        sim = Simulation.from_dict(topo, seed=seed).run()
        s = assert_conserved(sim)
        assert sim.summary()["ike"]["established"] == 1
        assert s["in_flight"] == 0 and s["delivered"] > s["sent"] // 3
        assert {"link_loss", "link_down"} <= set(s["dropped"])


def test_refused_child_is_blocked_by_the_failure_events_child_field():
    # gw-b serves another network: TS_UNACCEPTABLE for lan-lan (RFC 7296 §2.9); gw-a must drop
    # the child's traffic with that reason (strongSwan keeps its trap/drop policy: no cleartext)
    topo = s2s()
    topo["nodes"]["gw-b"]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"]["remote_ts"] = \
        ["10.5.0.0/16"]
    sim = Simulation.from_dict(topo).run()
    s = assert_conserved(sim)
    assert s["dropped"] == {"policy_discard": 4} and s["delivered"] == 0
    drop = next(iter(sim.trace.of("drop")))
    assert drop[3] == "gw-a" and drop[6].startswith("lan-lan: TS_UNACCEPTABLE: ")
    # the trace and the summary name the child too, on both gateways
    fails = {(f["node"], f["notify"], f["child"]) for f in sim.summary()["ike"]["failures"]}
    assert fails == {("gw-a", "TS_UNACCEPTABLE", "lan-lan"), ("gw-b", "TS_UNACCEPTABLE", "lan-lan")}


def test_shell_uses_the_child_field_not_the_sentence():
    from ipsecsim.core import node
    from ipsecsim.core.ike.events import IkeFailure

    sim = Simulation.from_dict(s2s("none"))
    gw = sim.net.nodes["gw-a"]
    # a sentence naming a child, but no child concerned: nothing is blocked
    gw.node.handle_ike_event(IkeFailure("office-link[1]", "office-link", "TIMEOUT",
                                        "CHILD_SA 'lan-lan' in a sentence", False), 0.0)
    assert not gw.blocks
    # the child named by the field, whatever the sentence says: its traffic is discarded
    gw.node.handle_ike_event(IkeFailure("office-link[1]", "office-link", "NO_PROPOSAL_CHOSEN",
                                        "no common ENCR", False, child="lan-lan"), 0.0)
    assert list(gw.blocks) == ["lan-lan"]
    assert "re.search" not in Path(node.__file__).read_text()


# --- data-plane limits and refused rekeys ---------------------------------------------------


def _site_to_site_with_packet_limits(soft: int, hard: int) -> Simulation:
    topo = load(S2S)
    for gw in ("gw-a", "gw-b"):
        child = topo["nodes"][gw]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"]
        child["rekey_packets"] = soft
        child["life_packets"] = hard
    topo["duration"] = 10
    return Simulation(topo).run()


def test_a_soft_packet_limit_starts_the_rekey_at_once():
    """A data-plane soft limit (stack event -> IkeEndpoint.sa_limit_reached) must put the
    CREATE_CHILD_SA on the wire when it happens, not at the gateway's next IKE timer.

    Oracle: RFC 4301 §4.4.2.1 (the soft lifetime warns so that a replacement SA is negotiated
    before the hard one ends the SA) and strongSwan 5.9 ``kernel_handler.c`` ``expire()``,
    which queues ``rekey_child_sa_job`` on the kernel's soft-expire message right away.
    Before the fix the request left at t=4.0 (the next IKE timer) after soft expiry at 1.56 s,
    and the old SA's hard limit (60 packets) dropped packets as ``sa_expired`` meanwhile.
    """
    sim = _site_to_site_with_packet_limits(30, 60)
    recs = sim.trace.records
    soft = [r for r in recs if r[2] == "sa" and r[4] == "soft_expired"]
    assert soft, "the scenario must reach a soft limit"
    for s in soft:
        t, node = s[1], s[3]
        requests = [r for r in recs if r[2] == "ike_msg" and r[3] == node and r[4] == "out"
                    and r[6] == "CREATE_CHILD_SA" and not r[8] and t <= r[1]]
        peer_requests = [r for r in recs if r[2] == "ike_msg" and r[3] == node and r[4] == "in"
                         and r[6] == "CREATE_CHILD_SA" and not r[8] and t - 0.1 <= r[1]]
        # our own request at once, or (a collision) the peer's request for the same child
        first = min(r[1] for r in requests + peer_requests)
        assert first - t < 0.1, (node, t, first)
    assert not [r for r in recs if r[2] == "drop" and r[5] == "sa_expired"]
    assert sim.summary()["packets"]["delivered"] == sim.summary()["packets"]["sent"]


def test_a_refused_child_rekey_after_an_ike_rekey_installs_no_discard():
    """eb62f2e: a refused CHILD_SA installs a DISCARD for the config's selectors unless "this
    IKE_SA still has" the child (a refused rekey, RFC 7296 §2.8: the old CHILD_SA stays). The
    check compared the child's ChildSaKeys.ike_sa, which names the IKE_SA that *created* it;
    after an IKE_SA rekey (RFC 7296 §2.18: the CHILD_SAs move to the new IKE_SA, a new name
    here) it never matched, so a refused rekey of a live child got a DISCARD as if the child
    had been refused outright. The event is the one child_rekey.py emits when the peer refuses
    (``_failure(sa, notify, reason, False, child=old.name)``)."""
    from ipsecsim.core.ike.events import IkeFailure

    topo = yaml.safe_load(S2S.read_text())
    topo["nodes"]["gw-a"]["ipsec"]["connections"]["office-link"]["rekey_time"] = "2s"
    sim = Simulation.from_dict(topo)
    sim.run(until=5)
    gw = sim.net.nodes["gw-a"]
    [sa] = [s for s in gw.ike.ike_sas.values() if s.state == "ESTABLISHED"]
    [keys] = [k for k in gw.children.values() if k.name == "lan-lan"]
    assert keys.ike_sa != sa.name  # the premise: the child came from the IKE_SA before the rekey
    gw.node.handle_ike_event(IkeFailure(sa.name, "office-link", "NO_PROPOSAL_CHOSEN", "rekey refused",
                                        False, False, "lan-lan"), 5.0)
    assert "lan-lan" not in gw.blocks
    assert not [p for p in gw.stack.spd.policies("out") if p.action == "discard"]
