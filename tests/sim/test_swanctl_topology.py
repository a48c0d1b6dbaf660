"""Gateways configured by real swanctl folders (``swanctl:`` in a topology, issue 12 item 1).

The shipped testbed (topologies/strongswan-testbed/net2net-psk.yaml) loads moon's and sun's
folders unmodified; the same configuration written as a YAML ``ipsec:`` block must run the
same, record for record; what strongSwan knows but the simulator does not model is a
located warning; a broken folder is a located error from ``ipsecsim check``.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from ipsecsim.sim import Simulation
from ipsecsim.sim.swanctl_nodes import ipsec_blocks
from ipsecsim.sim.topology import TopologyError, load
from tests.helpers.paths import TOPOLOGIES

TESTBED = TOPOLOGIES / "strongswan-testbed" / "net2net-psk.yaml"


def test_the_testbed_runs_from_its_swanctl_folders() -> None:
    sim = Simulation.from_file(TESTBED)
    sim.run()
    s = sim.summary()
    # start_action = trap: the first ping is the acquire (no_sa), the others cross in ESP
    assert s["packets"] == {"sent": 5, "delivered": 4, "dropped": {"no_sa": 1}, "in_flight": 0}
    assert s["ike"]["established"] == 1 and s["child_sas"]["installed"] == 1
    [warning] = s["warnings"]
    assert "moon/etc/swanctl/swanctl.conf:21: connections.gw-gw.children.net-net.updown: not modelled" in warning
    assert sim.node("moon").ike.config.connections[0].remote_addrs == ("192.168.0.2",)


def test_the_yaml_spelling_of_the_same_config_runs_the_same() -> None:
    topo = load(TESTBED)
    blocks, _warnings = ipsec_blocks(topo, str(TESTBED))
    yaml_topo = copy.deepcopy(dict(topo))
    for name, block in blocks.items():
        node = dict(yaml_topo["nodes"][name])
        del node["swanctl"]
        node["ipsec"] = block
        yaml_topo["nodes"][name] = node
    a = Simulation.from_file(TESTBED)
    b = Simulation.from_dict(yaml_topo)
    a.run()
    b.run()
    sa, sb = a.summary(), b.summary()
    sa.pop("warnings")
    assert sa == sb
    assert [r[2:] for r in a.trace] == [r[2:] for r in b.trace]


def _check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ipsecsim", "check", str(path)],
                          capture_output=True, text=True, timeout=60)


def test_check_warns_with_the_swanctl_line_and_passes() -> None:
    res = _check(TESTBED)
    assert res.returncode == 0, res.stderr
    assert "swanctl.conf:21: connections.gw-gw.children.net-net.updown: not modelled" in res.stderr


def test_a_broken_swanctl_folder_is_a_located_error(tmp_path: Path) -> None:
    bed = tmp_path / "bed"
    shutil.copytree(TESTBED.parent, bed)
    conf = bed / "net2net-psk" / "sun" / "etc" / "swanctl" / "swanctl.conf"
    lines = conf.read_text().splitlines()
    lines[10] = "         auth = psk {"  # an opening brace where a value belongs
    conf.write_text("\n".join(lines) + "\n")
    res = _check(bed / "net2net-psk.yaml")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert f"{conf}:" in res.stderr or "sun/etc/swanctl/swanctl.conf:" in res.stderr, res.stderr


def test_a_missing_folder_names_the_topology_line(tmp_path: Path) -> None:
    bed = tmp_path / "bed"
    shutil.copytree(TESTBED.parent, bed)
    topo = yaml.safe_load(TESTBED.read_text())
    topo["nodes"]["sun"]["swanctl"] = "nowhere/etc/swanctl"
    path = bed / "t.yaml"
    path.write_text(yaml.safe_dump(topo, sort_keys=False))
    try:
        load(path)
    except TopologyError as exc:
        [p] = exc.problems
        assert p.file == str(path) and p.line > 0
        assert p.message.startswith("nodes.sun.swanctl: no such swanctl folder: ")
        assert p.message.endswith("nowhere/etc/swanctl")
    else:
        raise AssertionError("a missing swanctl folder was accepted")


def test_the_yaml_spelling_warns_for_the_same_keys(tmp_path: Path) -> None:
    """No key accepted and ignored without a word, in the YAML spelling either: an ipsec:
    block that sets mobike: yes and hw_offload: yes gets the same warnings, at its lines."""
    from ipsecsim.sim.topology import warnings

    text = (TOPOLOGIES / "site-to-site.yaml").read_text()
    text = text.replace("          proposals: [aes256gcm16-prfsha384-ecp384]\n          local: {auth: psk, id: gw-a.example}",
                        "          proposals: [aes256gcm16-prfsha384-ecp384]\n          mobike: yes\n          local: {auth: psk, id: gw-a.example}", 1)
    text = text.replace("              start_action: start\n",
                        "              start_action: start\n              hw_offload: yes\n", 1)
    path = tmp_path / "s2s.yaml"
    path.write_text(text)
    topo = load(path)
    got = warnings(topo, str(path))
    lines = text.splitlines()
    mob = next(i for i, line in enumerate(lines, 1) if "mobike: yes" in line)
    upd = next(i for i, line in enumerate(lines, 1) if "hw_offload:" in line)
    assert got == [
        f"{path}:{mob}: nodes.gw-a.ipsec.connections.office-link.mobike: not modelled by the "
        "simulator (ignored): MOBIKE (RFC 4555) is not implemented: the simulator neither "
        "announces nor uses it",
        f"{path}:{upd}: nodes.gw-a.ipsec.connections.office-link.children.lan-lan.hw_offload: "
        "not modelled by the simulator (ignored): hardware offload is not modelled",
    ]
    sim = Simulation.from_file(path)
    assert sim.warnings == got
