"""Topology files: every error kind is reported as FILE:LINE: message, with did-you-mean, exit 2.

Each bad file is the shipped site-to-site.yaml with one line changed; the test
finds the line it changed and asserts the error names that line.
"""

from __future__ import annotations

import argparse
import glob
from pathlib import Path

import pytest

from ipsecsim.cli import run as cli
from ipsecsim.sim.topology import TopologyError, load, parse_rate, parse_time
from tests.helpers.paths import REPO as ROOT

GOOD = ROOT / "topologies" / "site-to-site.yaml"


def mutate(tmp_path: Path, old: str, new: str, nth: int = 0) -> tuple[Path, int]:
    """A copy of site-to-site.yaml with the ``nth`` line containing ``old`` changed; (path, line)."""
    lines = GOOD.read_text().splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if old in line]
    i = hits[nth]
    lines[i] = lines[i].replace(old, new)
    path = tmp_path / "bad.yaml"
    path.write_text("".join(lines))
    return path, i + 1


def problems(path: Path) -> list[str]:
    with pytest.raises(TopologyError) as info:
        load(path)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("path", sorted(glob.glob(str(ROOT / "topologies" / "*.yaml"))))
def test_shipped_topologies_are_valid(path):
    topo = load(path)
    assert topo["nodes"] and topo["links"]


def test_unknown_key_with_did_you_mean(tmp_path):
    path, line = mutate(tmp_path, "bandwidth: 100Mbps", "bandwith: 100Mbps")
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:{line}: links.wan-a.bandwith: unknown key 'bandwith'")
    assert "did you mean 'bandwidth'?" in msg


def test_unknown_top_level_key(tmp_path):
    path, line = mutate(tmp_path, "duration: 10", "durration: 10")
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:{line}:") and "did you mean 'duration'?" in msg


def test_wrong_type(tmp_path):
    path, line = mutate(tmp_path, "mtu: 1500", "mtu: big", nth=0)
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:{line}: links.wan-a.mtu:") and "'big' is not of type 'integer'" in msg


def test_misspelled_role(tmp_path):
    path, line = mutate(tmp_path, "role: router", "role: ruoter")
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:{line}: nodes.internet.role:") and "did you mean 'router'?" in msg


def test_impossible_values(tmp_path):
    path, line = mutate(tmp_path, "mtu: 1500", "mtu: 40")
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:{line}:") and "40 is less than the minimum of 68" in msg
    path, line = mutate(tmp_path, "delay: 10ms", "delay: -10ms")
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:{line}: links.wan-a.delay:") and "is not a time" in msg


def test_bad_address(tmp_path):
    path, line = mutate(tmp_path, "addresses: [10.1.0.10/24]", "addresses: [10.1.0.10]")
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:{line}: nodes.host-a.addresses.0:") and "IPv4 address/prefix" in msg


def test_dangling_node_name_in_link(tmp_path):
    path, line = mutate(tmp_path, "{a: internet, b: gw-b,", "{a: internet, b: gw-c,")
    msgs = problems(path)
    assert f"{path}:{line}: links.wan-b.b: no node named 'gw-c' (did you mean 'gw-b'?)" in msgs
    # and what follows from it: gw-b's next hop is now on no linked subnet
    assert any("next hop 203.0.113.254 is not on a subnet linked to gw-b" in m for m in msgs)


def test_dangling_node_name_in_traffic(tmp_path):
    path, line = mutate(tmp_path, "{type: ping, from: host-a,", "{type: ping, from: hosta,")
    (msg,) = problems(path)
    assert msg == f"{path}:{line}: traffic.ping.from: no node named 'hosta' (did you mean 'host-a'?)"


def test_duplicate_address(tmp_path):
    path, line = mutate(tmp_path, "addresses: [10.2.0.10/24]", "addresses: [10.2.0.1/24]")
    msgs = problems(path)
    assert msgs[0] == f"{path}:{line}: nodes.host-b: address 10.2.0.1 is already used by node 'gw-b'"


def test_duplicate_key(tmp_path):
    path = tmp_path / "dup.yaml"
    text = GOOD.read_text().replace("  lan-b: {a: gw-b", "  lan-a: {a: gw-b")
    path.write_text(text)
    line = text.splitlines().index(next(x for x in text.splitlines() if x.startswith("  lan-a: {a: gw-b"))) + 1
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:{line}:") and "duplicate key 'lan-a'" in msg


def test_link_between_nodes_without_common_subnet(tmp_path):
    path, line = mutate(tmp_path, "lan-b: {a: gw-b, b: host-b", "lan-b: {a: gw-a, b: host-b")
    msgs = problems(path)
    assert any(m.startswith(f"{path}:{line}: links.lan-b: gw-a and host-b share no subnet") for m in msgs)


def test_next_hop_off_link(tmp_path):
    path, line = mutate(tmp_path, "via: 10.1.0.1", "via: 10.9.0.1")
    (msg,) = problems(path)
    assert msg == f"{path}:{line}: nodes.host-a.routes: next hop 10.9.0.1 is not on a subnet linked to host-a"


def test_traffic_to_unknown_address_and_bad_times(tmp_path):
    path, line = mutate(tmp_path, "to: 10.2.0.10, start: 1, rate: 1", "to: 10.2.0.99, start: 1, rate: 1")
    (msg,) = problems(path)
    assert msg == f"{path}:{line}: traffic.ping.to: no node has address 10.2.0.99"
    path, line = mutate(tmp_path, "start: 1, stop: 9, rate: 50", "start: 1, stop: 0.5, rate: 50")
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:{line}: traffic.voice: stop (0.5) is not after start")


def test_ipsec_block_errors_point_at_their_line(tmp_path):
    path, line = mutate(tmp_path, "esp_proposals: [aes128gcm16]", "esp_proposals: [aes128gcmm16]")
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:{line}: nodes.gw-a.ipsec:") and "aes128gcm16" in msg
    path, line = mutate(tmp_path, "mode: tunnel", "mode: tunel")
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:{line}: nodes.gw-a.ipsec:") and "'tunel'" in msg


def test_gateway_without_ipsec_and_ipsec_on_a_host(tmp_path):
    text = GOOD.read_text().replace("  host-b:\n    role: host\n", "  host-b:\n    role: gateway\n")
    path = tmp_path / "gw.yaml"
    path.write_text(text)
    line = text.splitlines().index("    role: gateway", text.splitlines().index("  host-b:")) + 1
    (msg,) = problems(path)
    assert msg == f"{path}:{line}: nodes.host-b: a gateway needs an ipsec: block or a swanctl: folder"


def test_yaml_syntax_error_has_a_line(tmp_path):
    path, line = mutate(tmp_path, "duration: 10", "duration: [10")
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:") and "YAML" in msg
    assert int(msg.split(":")[1]) >= line


def test_check_and_run_exit_2_without_traceback(tmp_path, capsys):
    path, line = mutate(tmp_path, "bandwidth: 100Mbps", "bandwith: 100Mbps")
    assert cli.check(argparse.Namespace(topology=str(path))) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:{line}:") and "Traceback" not in err
    args = argparse.Namespace(topology=str(path), out=str(tmp_path / "o"), seed=None, until=None, quiet=True)
    assert cli.run(args) == 2
    assert capsys.readouterr().err.startswith(f"{path}:{line}:")
    assert not (tmp_path / "o").exists()
    assert cli.check(argparse.Namespace(topology=str(GOOD))) == 0


def test_units():
    assert parse_time("20ms") == pytest.approx(0.02) and parse_time("2m") == 120 and parse_time(3) == 3
    assert parse_rate("100Mbps") == 1e8 and parse_rate("64kbit/s") == 64e3
    with pytest.raises(ValueError):
        parse_rate("fast")


def test_manual_keys_block_is_checked(tmp_path):
    text = """\
name: m
nodes:
  a:
    role: gateway
    addresses: [10.0.0.1/24]
    ipsec:
      manual:
        - spi_in: 4096
          spi_out: 8192
          local_addr: 10.0.0.1
          remote_addr: 10.0.0.2
          esp_proposal: aes128gcm16
          local_ts: [10.1.0.0/16, 10.300.0.0/16]
  b: {role: host, addresses: [10.0.0.2/24]}
links:
  l: {a: a, b: b}
"""
    path = tmp_path / "m.yaml"
    path.write_text(text)
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:13: nodes.a.ipsec.manual.local_ts:") and "10.300.0.0/16" in msg
