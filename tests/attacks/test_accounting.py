"""topologies/attacks.yaml end to end: ``check`` and ``run`` pass, every attack is counted at
its victim by drop reason, the attacker's own packets are accounted on their own, and the
generators' conservation (sent = delivered + dropped + in flight) holds with attackers.
``check`` refuses a bad ``attackers:`` entry at its own line."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from ipsecsim.cli import run as cli
from ipsecsim.sim.attacker import ACTED, SENT
from ipsecsim.sim.runner import Simulation
from ipsecsim.sim.topology import TopologyError, load
from tests.helpers.oracles import need_tool
from tests.helpers.paths import TOPOLOGIES
from tests.helpers.sim_topos import assert_conserved

ATTACKS = TOPOLOGIES / "attacks.yaml"


@cache
def full() -> Simulation:
    return Simulation.from_file(ATTACKS).run()


def test_every_attack_of_attacks_yaml_is_counted_at_its_victim():
    s = full().summary()
    d = s["drops_all"]
    assert d["bad_icv"] == 5 + 5  # tampered, injected under the live SPI
    assert d["replay"] == 5 + 5  # replayed 0.5 s later, and after the rekey (old SA lingering)
    assert d["unknown_spi"] == 5 + 5  # made-up SPIs, and replays once the old SA was gone
    assert d["attack_drop"] == 4
    assert s["packets"]["dropped"] == {"attack_drop": 4, "bad_icv": 5}  # of the generators'
    notify = {(f["node"], f["notify"]) for f in s["ike"]["failures"]}
    assert notify == {("gw-a", "AUTHENTICATION_FAILED"), ("gw-b", "AUTHENTICATION_FAILED")}
    assert s["ike"]["established"] == 1  # the second initiation, untouched
    m = s["attacks"]["mallory"]
    assert m["attacks"][-1]["half_open_answers"] == 40  # gw-b's init_limit_half_open
    assert d["ike_half_open_limit"] == m["sent_by_kind"]["flood"] + \
        m["sent_by_kind"]["cookie_echo"] - m["attacks"][-1]["cookies"] - 40


def test_conservation_holds_and_the_attackers_packets_are_its_own():
    sim = full()
    s = assert_conserved(sim)
    assert s["in_flight"] == 0
    m = sim.summary()["attacks"]["mallory"]
    made = [r for r in sim.trace.of("attack") if r[5] in SENT]
    assert len(made) == m["sent"] == sum(m["sent_by_kind"].values())
    made_ids = {r[6] for r in made}
    app_ids = {r[5] for r in sim.trace.of("app_send")}
    assert not made_ids & app_ids  # never an application packet's id
    on_wire = {r[5] for r in sim.trace.of("link_tx") if r[4] == "wan-a"}
    assert made_ids <= on_wire  # each one is in wan-a's trace (hence its pcap)
    elsewhere = {r[5] for r in sim.trace.of("link_tx") if r[4] != "wan-a"}
    assert made_ids - elsewhere == set()  # ...and went on through the internet router
    # what it took off the wire is a drop record with its own reason, counted once
    taken = [r for r in sim.trace.of("drop") if r[3] == "mallory"]
    by = {reason: sum(1 for r in taken if r[5] == reason) for reason in ("attack_drop", "attack_absorbed")}
    assert by == {"attack_drop": m["acted_on"]["dropped"], "attack_absorbed": m["acted_on"]["absorbed"]}
    assert set(m["acted_on"]) == set(ACTED) and set(m["sent_by_kind"]) == set(SENT)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """``ipsecsim run attacks.yaml --until 6`` (the downgrade, tampering, replays, injections)."""
    out = tmp_path_factory.mktemp("attacks") / "out"
    args = argparse.Namespace(topology=str(ATTACKS), out=str(out), seed=None, until=6.0, quiet=True)
    assert cli.run(args) == 0
    return out


def test_check_and_run_pass_on_attacks_yaml(run_dir):
    exe = Path(sys.executable).with_name("ipsecsim")
    res = subprocess.run([str(exe), "check", str(ATTACKS)], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["attacks"]["mallory"]["acted_on"]["tampered"] == 5
    recs = [json.loads(line) for line in (run_dir / "trace.jsonl").read_text().splitlines()]
    kinds = {r["action"] for r in recs if r["kind"] == "attack"}
    assert {"downgrade", "tamper", "replay", "inject_random_spi", "inject_live_spi"} <= kinds


def test_tshark_sees_the_forgeries_in_the_pcaps(run_dir):
    """An independent dissector with the run's keys (wireshark/esp_sa): on wan-a, where mallory
    sends, its 5 live-SPI injections fail the ICV and its 5 made-up SPIs match no SA; on
    wan-b, past the tap, the 5 tampered packets fail it too. Everything else is good."""
    exe = need_tool("tshark")
    env = dict(os.environ, WIRESHARK_CONFIG_DIR=str(run_dir / "wireshark"))
    verdicts = {}
    for link in ("wan-a", "wan-b"):
        res = subprocess.run([exe, "-n", "-r", str(run_dir / "pcap" / f"{link}.pcap"), "-Y", "esp",
                              "-T", "fields", "-e", "esp.icv_good", "-e", "esp.icv_bad"],
                             capture_output=True, text=True, env=env, timeout=120, check=True)
        verdicts[link] = Counter(tuple(line.split("\t")) for line in res.stdout.splitlines())
    for link, bad in (("wan-a", 5), ("wan-b", 10)):
        v = verdicts[link]
        assert v[("0", "1")] == bad, (link, v)
        assert v[("", "")] == 5, (link, v)  # the made-up SPIs: no SA to check them with
        assert set(v) == {("1", "0"), ("0", "1"), ("", "")}


def _problems(tmp_path, old: str, new: str) -> list[str]:
    text = ATTACKS.read_text()
    assert old in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(TopologyError) as info:
        load(path)
    return [str(p) for p in info.value.problems]


def _line(needle: str) -> int:
    return next(i for i, line in enumerate(ATTACKS.read_text().splitlines(), 1) if needle in line)


@pytest.mark.parametrize("old, new, needle, message", [
    ("link: wan-a", "link: wan_a", "link: wan-a",
     "attackers.mallory.link: no link named 'wan_a' (did you mean 'wan-a'?)"),
    ("{type: tamper, start: 1.5, count: 5, match: esp, from: gw-a}",
     "{type: tamper, start: 1.5, count: 5, match: esp, from: gw-b}", "type: tamper",
     "attackers.mallory.attacks.2.from: 'gw-b' is not an end of link wan-a (gw-a, internet)"),
    ("{type: tamper, start: 1.5,", "{type: tampr, start: 1.5,", "type: tamper",
     "'tampr' is not one of eavesdrop, tamper"),
    ("spoof: 198.51.100.128/25", "spoof: 198.51.100.128/31", "spoof:", "has too few addresses"),
    ("spi: random, to: 203.0.113.1", "spi: random, to: 203.0.113.9", "spi: random",
     "attackers.mallory.attacks.6.to: no node has address 203.0.113.9"),
    ("{type: drop, start: 6.5,", "{type: drop, start: 16.5,", "type: drop",
     "attackers.mallory.attacks.8.start: 16.5 is not before the run ends (10 s)"),
    ("rate: 300, to:", "rate: 1000000, to:", "rate: 300", "1000000 is greater than the maximum of 10000"),
    ("{type: replay, start: 2, count: 5,", "{type: replay, start: 2,", "start: 2, count: 5",
     "attackers.mallory.attacks.3: a replay needs count:"),
])
def test_check_refuses_a_bad_attacker_at_its_line(tmp_path, old, new, needle, message):
    probs = _problems(tmp_path, old, new)
    assert any(message in p and f"bad.yaml:{_line(needle)}:" in p for p in probs), probs


def test_check_refuses_an_attack_that_would_send_without_end(tmp_path):
    text = ATTACKS.read_text().replace("duration: 10", "duration: 1000").replace(
        "count: 300, rate: 300", "stop: 900, rate: 10000")
    path = tmp_path / "long.yaml"
    path.write_text(text)
    with pytest.raises(TopologyError) as info:
        load(path)
    (msg,) = [str(p) for p in info.value.problems]
    assert f"long.yaml:{_line('count: 300, rate: 300')}:" in msg
    assert "8930000 packets (rate x time) are more than an attack may send (1,000,000)" in msg


def test_same_seed_same_attacks_other_seed_other_sources():
    def attacks(seed):
        sim = Simulation.from_file(ATTACKS, seed=seed).run(7.2)
        return [r[1:] for r in sim.trace.of("attack")], sim.summary()["attacks"]

    a1, s1 = attacks(3)
    a2, s2 = attacks(3)
    assert a1 == a2 and s1 == s2
    a3, _ = attacks(4)
    floods = [r for r in a3 if r[4] == "flood"]
    assert floods and floods != [r for r in a1 if r[4] == "flood"]  # other spoofed sources
