"""A key swanctl.conf's reader warns about warns alike -- and is no error -- in the YAML
spelling of a topology (check and run) and in ``ipsecsim peer``'s file, naming its path.

Every key of the tables in ipsecsim/swanctl/keys.py that the simulator does not model is
tried in each spelling: strongSwan's ``updown``, ``hostaccess``, ``mark_in``, ``eap_id``,
``ocsp`` ... (swanctl.conf(5)). Before, the YAML spelling refused most of them as unknown
keys while swanctl.conf's reader warned.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ipsecsim.cli import main
from ipsecsim.sim import topology as T
from ipsecsim.sim.runner import Simulation
from ipsecsim.swanctl import keys as K
from tests.helpers.paths import REPO

UNMODELLED = [(where, key, e) for table, where in ((K.CONNECTION, ()), (K.CHILD, ("children", "net")),
                                                     (K.AUTH, ("local",)))
              for key, e in table.items() if isinstance(e, K.Unmodelled) and not e.keep]
VALUE = "x-test"


def block(where: tuple[str, ...], key: str) -> dict:
    conn = {"local_addrs": ["192.168.0.1"], "remote_addrs": ["192.168.0.2"],
            "local": {"auth": "psk", "id": "moon"}, "remote": {"auth": "psk", "id": "sun"},
            "children": {"net": {"local_ts": ["10.1.0.0/16"], "remote_ts": ["10.2.0.0/16"]}}}
    t = conn
    for w in where:
        t = t[w]
    t[key] = VALUE
    return {"connections": {"gw": conn}, "secrets": {"ike-1": {"secret": "s3cret psk"}}}


def test_every_unmodelled_key_warns_in_the_yaml_spelling_and_runs(tmp_path: Path):
    assert len(UNMODELLED) > 40
    nodes = {f"gw{i}": {"role": "gateway", "addresses": [f"192.168.{i}.1/24"],
                        "ipsec": block(where, key)} for i, (where, key, _) in enumerate(UNMODELLED)}
    topo = {"name": "t", "duration": 1, "nodes": nodes, "links": {}}
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(topo, sort_keys=False))
    data = T.load(path)  # no error
    warnings = T.warnings(data, str(path))
    lines = path.read_text().splitlines()
    for i, (where, key, e) in enumerate(UNMODELLED):
        dotted = ".".join(("connections", "gw", *where, key))
        want = f"nodes.gw{i}.ipsec.{dotted}: not modelled by the simulator (ignored): {e.why}"
        hit = [w for w in warnings if w.endswith(want)]
        assert len(hit) == 1, (key, want)
        line = int(hit[0].split(":")[1])
        assert lines[line - 1].strip().startswith(f"{key}:"), (key, lines[line - 1])
    Simulation.from_file(path).run(0.1)  # builds every gateway: no error either


def test_the_same_keys_warn_in_swanctl_conf(tmp_path: Path):
    from ipsecsim.swanctl import load_swanctl
    from ipsecsim.swanctl.export import swanctl_text

    for i, (where, key, e) in enumerate(UNMODELLED):
        d = tmp_path / f"{i}-{key}"
        d.mkdir()
        (d / "swanctl.conf").write_text(swanctl_text(block(where, key)))
        got = load_swanctl(str(d))
        dotted = ".".join(("connections", "gw", *where, key))
        assert any(f"{dotted}: not modelled by the simulator (ignored): {e.why}" in w
                   for w in got.warnings), (key, got.warnings)


@pytest.mark.parametrize("where, key", [((("children", "net")), "updown"), ((), "keyingtries"),
                                        (("local",), "aaa_id")])
def test_and_in_ipsecsim_peers_file(tmp_path: Path, capsys, where, key):
    d = block(where, key)
    d["listen"] = "203.0.113.77"  # not ours: the peer stops at the bind, after reading
    path = tmp_path / "peer.yaml"
    path.write_text(yaml.safe_dump(d))
    rc = main(["peer", str(path)])
    err = capsys.readouterr().err
    dotted = ".".join(("connections", "gw", *where, key))
    assert f"ipsecsim peer: warning: {path}: {dotted}: not modelled (ignored)" in err
    assert rc != 0 and "cannot bind" in err  # and not a config error


def test_the_testbed_updown_warns_in_both_spellings(tmp_path: Path):
    """net2net-cert's swanctl.conf has updown; its YAML spelling says the same."""
    from ipsecsim.swanctl import load_swanctl

    folder = REPO / "topologies" / "strongswan-testbed" / "net2net-cert" / "moon" / "etc" / "swanctl"
    got = load_swanctl(str(folder))
    why = "not modelled by the simulator (ignored): updown scripts are not run"
    assert any(w.endswith(f"connections.gw-gw.children.net-net.updown: {why}") for w in got.warnings)
    topo = {"name": "t", "nodes": {"moon": {"role": "gateway", "addresses": ["192.168.0.1/24"],
                                            "ipsec": copy.deepcopy(got.data)}}, "links": {}}
    topo["nodes"]["moon"]["ipsec"]["connections"]["gw-gw"]["children"]["net-net"]["updown"] = \
        "/usr/local/libexec/ipsec/_updown iptables"
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(topo))
    warnings = T.warnings(T.load(path), str(path))
    assert any(w.endswith(f"nodes.moon.ipsec.connections.gw-gw.children.net-net.updown: {why}")
               for w in warnings)
