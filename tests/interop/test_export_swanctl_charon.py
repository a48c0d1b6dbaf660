"""Exported swanctl folders load into two live charons that establish with each other and
pass pings (strongSwan 5.9.8 in network namespaces, kernel-libipsec).

A topology of two gateways at the namespaces' addresses -- pre-shared key, or certificates
the simulation mints (ECDSA, RSA) -- goes through ``ipsecsim export-swanctl``; each charon
loads its gateway's folder unchanged (``swanctl --load-all --file DIR/<node>/swanctl.conf``,
credentials read beside it), moon initiates, and pings between the inner addresses go
through the tunnel. The simulator runs the same topology and establishes the same SAs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ipsecsim.cli import main
from ipsecsim.sim.runner import Simulation
from tests.interop.charon import established_child
from tests.interop.fixtures import Interop, interop  # noqa: F401 - the fixture

pytestmark = pytest.mark.oracle


def topology(env: Interop, auth: str) -> dict:
    def gw(me: str, peer: str, lin: str, rin: str, lid: str, rid: str) -> dict:
        side: dict = {"auth": "psk" if auth == "psk" else "pubkey", "id": lid}
        if auth != "psk":
            side["key"] = auth
        return {"role": "gateway", "addresses": [f"{me}/24", f"{lin}/32"], "ipsec": {
            "connections": {"gw-gw": {
                "local_addrs": [me], "remote_addrs": [peer],
                "proposals": ["aes128-sha256-x25519"],
                "local": side, "remote": {"auth": side["auth"], "id": rid},
                "children": {"net-net": {"local_ts": [f"{lin}/32"], "remote_ts": [f"{rin}/32"],
                                         "esp_proposals": ["aes128gcm16"]}}}},
            "secrets": {"ike-1": {"id-1": "moon.example", "id-2": "sun.example",
                                  "secret": "an exported pre-shared key"}} if auth == "psk" else {}}}

    left, right = env.left, env.right
    return {"name": "export", "duration": 5, "nodes": {
        "moon": gw(left.addr, right.addr, left.inner[0], right.inner[0], "moon.example", "sun.example"),
        "sun": gw(right.addr, left.addr, right.inner[0], left.inner[0], "sun.example", "moon.example")},
        "links": {"veth": {"a": "moon", "b": "sun", "delay": "1ms"}},
        "script": [{"at": 1, "node": "moon", "run": "swanctl --initiate --child net-net"}]}


@pytest.mark.parametrize("auth", ["psk", "ecdsa", "rsa"])
def test_exported_folders_establish_and_pass_pings_in_charon(interop: Interop, auth: str) -> None:  # noqa: F811
    env = interop
    topo = topology(env, auth)
    path = Path(env.dir) / "export.yaml"
    path.write_text(yaml.safe_dump(topo))
    out = Path(env.dir) / "export"
    assert main(["export-swanctl", str(path), "--out", str(out)]) == 0
    a, b = env.charon(env.left, "moon"), env.charon(env.right, "sun")
    for c, gw in ((a, "moon"), (b, "sun")):
        got = c.swanctl("--load-all", "--noprompt", "--file", str(out / gw / "swanctl.conf"))
        assert "loaded connection 'gw-gw'" in got.stdout, got.stdout
        if auth != "psk":
            assert "loaded certificate from" in got.stdout and "loaded " in got.stdout
    a.initiate("net-net", "gw-gw")
    assert b.wait_for(lambda sas: established_child(sas, "net-net")) is not None
    sent, received, text = env.left.ping(env.right.inner[0], count=3, src=env.left.inner[0])
    assert (sent, received) == (3, 3), text
    sim = Simulation.from_dict(topo).run()
    s = sim.summary()
    assert s["ike"]["established"] == 1 and s["child_sas"]["installed"] == 1
