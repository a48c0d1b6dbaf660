"""A topology's ``script:`` and ``hosts:`` (INTERFACES.md): each entry typed at its simulated
time, the transcript in ``DIR/console/NODE.txt`` under ``[12.000] moon# CMD`` headers, and
located errors for entries that cannot run."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ipsecsim.cli import run as cli
from ipsecsim.sim import Simulation
from ipsecsim.sim.topology import TopologyError, load

from .topos import site_to_site

SCRIPT = [
    {"at": 0.5, "node": "gw-a", "run": "swanctl --initiate --child lan-lan"},
    {"at": 1, "node": "host-a", "run": "ping -c 2 host-b.example"},
    {"at": 1, "node": "gw-a", "run": "swanctl --list-sas --raw"},
    {"at": "1500ms", "node": "gw-b", "run": "ip xfrm policy 2> /dev/null | grep dir"},
    {"at": 2, "node": "host-a", "run": "traceroute 10.2.0.10"},
    {"at": 4, "node": "gw-a", "run": "swanctl --terminate --ike office-link"},
    {"at": 5, "node": "host-a", "run": "ping -i 2 10.2.0.10"},  # still running when the run ends
]


def _topology(tmp_path: Path, script: list[dict[str, Any]], **top: Any) -> Path:
    top.setdefault("hosts", {"host-b.example": "10.2.0.10"})
    d = site_to_site(duration=8, script=script, **top)
    d["traffic"] = {"bg": {"type": "ping", "from": "host-b", "to": "10.1.0.10", "start": 6,
                           "count": 1}}  # a flow for the run's figures to draw
    del d["nodes"]["gw-a"]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"]["start_action"]
    path = tmp_path / "scripted.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return path


def test_a_script_writes_one_console_file_per_node(tmp_path: Path) -> None:
    path = _topology(tmp_path, SCRIPT)
    out = tmp_path / "out"
    args = argparse.Namespace(topology=str(path), out=str(out), seed=None, until=None, quiet=True)
    assert cli.run(args) == 0
    files = sorted(p.name for p in (out / "console").iterdir())
    assert files == ["gw-a.txt", "gw-b.txt", "host-a.txt"]

    gw_a = (out / "console" / "gw-a.txt").read_text()
    headers = re.findall(r"^\[[0-9.]+\] \S+# .*$", gw_a, re.M)
    assert headers == ["[0.500] gw-a# swanctl --initiate --child lan-lan",
                       "[1.000] gw-a# swanctl --list-sas --raw",
                       "[4.000] gw-a# swanctl --terminate --ike office-link"]
    assert re.search(r"^\[0\.500\] gw-a# swanctl --initiate --child lan-lan\n(\[[A-Z]{3}\] .*\n)*"
                     r"initiate completed successfully\n\[1\.000\] ", gw_a, re.M)
    assert re.search(r"^list-sa event \{office-link \{uniqueid=1 version=2 state=ESTABLISHED ", gw_a,
                     re.M)
    assert re.search(r"\[4\.000\] gw-a# swanctl --terminate --ike office-link\n"
                     r"(\[[A-Z]{3}\] .*\n)*terminate completed successfully\n\Z", gw_a)

    assert (out / "console" / "gw-b.txt").read_text() == (
        "[1.500] gw-b# ip xfrm policy 2> /dev/null | grep dir\n"
        "\tdir out priority 383615 ptype main \n"
        "\tdir fwd priority 383615 ptype main \n"
        "\tdir in priority 383615 ptype main \n")

    host = (out / "console" / "host-a.txt").read_text()
    assert host.startswith("[1.000] host-a# ping -c 2 host-b.example\n"
                           "PING host-b.example (10.2.0.10) 56(84) bytes of data.\n"
                           "64 bytes from host-b.example (10.2.0.10): icmp_seq=1 ttl=62 time=40.4 ms\n")
    assert "[2.000] host-a# traceroute 10.2.0.10\ntraceroute: command not found\n" in host
    # interrupted by the end of the run: the replies so far and the statistics, as after ^C
    last = host.split("[5.000] host-a# ping -i 2 10.2.0.10\n")[1]
    assert last.count(" bytes from ") == 2 and \
        "2 packets transmitted, 2 received, 0% packet loss, time 2000ms" in last


def test_same_time_entries_keep_their_order_and_shipped_runs_write_no_console(tmp_path: Path) -> None:
    script = [{"at": 1, "node": "gw-a", "run": f"echo {i}"} for i in range(5)]
    sim = Simulation.from_file(_topology(tmp_path, script)).run()
    assert sim.console.transcript("gw-a") == "".join(f"[1.000] gw-a# echo {i}\n{i}\n" for i in range(5))
    assert sim.console.write(tmp_path / "c") != [] and not (tmp_path / "none").exists()
    plain = Simulation.from_dict(site_to_site()).run(1)
    assert plain.console.write(tmp_path / "none") == [] and not (tmp_path / "none").exists()


def _problems(tmp_path: Path, script: list[dict[str, Any]], **top: Any) -> list[str]:
    path = _topology(tmp_path, script, **top)
    with pytest.raises(TopologyError) as exc:
        load(path)
    return [str(p).split(":", 1)[1] for p in exc.value.problems]


def _line(path: Path, text: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


def test_located_errors_for_bad_entries(tmp_path: Path) -> None:
    script = [{"at": 1, "node": "gw-c", "run": "swanctl --list-sas"},
              {"at": "soon", "node": "gw-a", "run": "swanctl --list-sas"},
              {"at": 9, "node": "gw-a", "run": "ip xfrm state"},
              {"at": 1, "node": "gw-a"},
              {"at": 1, "node": "gw-a", "run": "x", "when": 2}]
    path = _topology(tmp_path, script)
    with pytest.raises(TopologyError) as exc:
        load(path)
    got = [(p.line, p.message) for p in exc.value.problems]
    assert (_line(path, "soon"), "script.1.at: 'soon' is not a time: seconds >= 0, or a string with "
            "a unit such as 500us, 20ms, 3s, 2m, 1h") in got
    assert any(m == "script.3: 'run' is a required property" for _, m in got)
    assert any(m.startswith("script.4.when: unknown key 'when'") and ln == _line(path, "when: 2")
               for ln, m in got)
    # the semantic checks run once the schema is satisfied
    sem = [{"at": 1, "node": "gw-c", "run": "swanctl --list-sas"},
           {"at": 8, "node": "gw-a", "run": "ip xfrm state"}]
    path = _topology(tmp_path, sem)
    with pytest.raises(TopologyError) as exc:
        load(path)
    got = [(p.line, p.message) for p in exc.value.problems]
    assert got == [(_line(path, "node: gw-c"), "script.0.node: no node named 'gw-c' (did you mean "
                    "'gw-b'?)"),
                   (_line(path, "at: 8"), "script.1.at: 8 is not before the run ends (8 s)")]


def test_located_error_for_a_bad_hosts_address(tmp_path: Path) -> None:
    path = _topology(tmp_path, [], hosts={"host-b.example": "10.2.0.300"})
    with pytest.raises(TopologyError) as exc:
        load(path)
    (p,) = exc.value.problems
    assert p.line == _line(path, "host-b.example: 10.2.0.300")
    assert p.message == "hosts.host-b.example: '10.2.0.300' is not an IPv4 or IPv6 address"
