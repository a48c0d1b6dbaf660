"""Differential: one swanctl folder per gateway, loaded into live charon and into the simulator.

The folders are the testbed's (topologies/strongswan-testbed/net2net-cert with RSA
certificates, net2net-ecdsa with ECDSA ones, a DER certificate and an encrypted DER key),
with a swanctl.conf of two CHILD_SAs written for the namespaces' addresses: ``net-net``,
whose selectors sun narrows (it offers 10.2.0.0/24 of moon's 10.2.0.0/16), and
``host-host``. Two charons (strongSwan 5.9.8, ``SWANCTL_DIR``-style folders loaded with
``swanctl --load-all --file``) and two simulated gateways (``swanctl:`` of a topology) are
driven by the same commands: initiate both children, rekey ``net-net``, terminate the
IKE_SA. At each step ``swanctl --list-sas --raw`` agrees key by key, and value by value
except what must differ (SPIs, times, counters, addresses); the daemon.log lines about
establishment, authentication, CHILD_SAs, rekey and delete are the same on each end.

charon's userland ESP (kernel-libipsec) always encapsulates ESP in UDP; the folders say
``encap = yes`` so that both implementations do the same (tests/console/test_oracles.py).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from ipsecsim.sim import Simulation
from tests.console.test_charonlog_oracle import charon_messages, compared, wait_log
from tests.console.test_oracles import MASKED
from tests.console.vicidump import flat, parse
from tests.helpers.paths import REPO
from tests.interop.charon import Charon, established_child
from tests.interop.fixtures import Interop, interop  # noqa: F401 - the fixture

pytestmark = pytest.mark.oracle

TESTBED = REPO / "topologies" / "strongswan-testbed"
SCENARIOS = {
    "rsa": ("net2net-cert", {"moon": "moonCert.pem", "sun": "sunCert.pem"}, "x25519"),
    "ecdsa": ("net2net-ecdsa", {"moon": "moonCert.pem", "sun": "sunCert.der"}, "ecp256"),
}
SUBNETS = {"moon": ("10.1.0.0/16", "10.2.0.0/16", "10.1.0.10/32", "10.2.0.10/32"),
           "sun": ("10.2.0.0/24", "10.1.0.0/16", "10.2.0.10/32", "10.1.0.10/32")}
"""local_ts, remote_ts of net-net, then of host-host; sun narrows net-net to 10.2.0.0/24."""


def swanctl_conf(gw: str, me: str, peer: str, cert: str, dh: str, secrets: str) -> str:
    other = "sun" if gw == "moon" else "moon"
    lts, rts, lh, rh = SUBNETS[gw]
    return f"""# {gw}: two CHILD_SAs, written by {Path(__file__).name}
connections {{
   gw-gw {{
      local_addrs  = {me}
      remote_addrs = {peer}
      local {{
         auth = pubkey
         certs = {cert}
         id = {gw}.strongswan.org
      }}
      remote {{
         auth = pubkey
         id = {other}.strongswan.org
      }}
      children {{
         net-net {{
            local_ts  = {lts}
            remote_ts = {rts}
            esp_proposals = aes128gcm16
         }}
         host-host {{
            local_ts  = {lh}
            remote_ts = {rh}
            esp_proposals = aes128gcm16
         }}
      }}
      version = 2
      mobike = no
      encap = yes
      proposals = aes128-sha256-{dh}
   }}
}}
{secrets}"""


def folders(env: Interop, kind: str) -> dict[str, Path]:
    """The testbed's credentials and a two-child swanctl.conf per gateway, in the work folder."""
    scenario, certs, dh = SCENARIOS[kind]
    out = {}
    for gw, me, peer in (("moon", env.left.addr, env.right.addr),
                         ("sun", env.right.addr, env.left.addr)):
        src = TESTBED / scenario / gw / "etc" / "swanctl"
        dst = Path(env.dir) / f"{kind}-{gw}" / "swanctl"
        shutil.copytree(src, dst)
        text = (src / "swanctl.conf").read_text()
        secrets = text[text.index("secrets {"):] if "secrets {" in text else ""
        (dst / "swanctl.conf").write_text(swanctl_conf(gw, me, peer, certs[gw], dh, secrets))
        out[gw] = dst
    return out


def dumps(listing: str) -> list[tuple[str, dict[str, Any]]]:
    return [(label, flat(d)) for label, d in parse(listing)]


def agree(ours: str, theirs: str, where: str) -> None:
    got, want = dumps(ours), dumps(theirs)
    assert [label for label, _ in got] == [label for label, _ in want], (where, ours, theirs)
    for (_, g), (_, w) in zip(got, want, strict=True):
        assert sorted(g) == sorted(w), (where, set(g) ^ set(w))
        differ = {k: (g[k], w[k]) for k in g if g[k] != w[k] and not MASKED.search(k)}
        assert not differ, (where, differ)


def children(listing: str) -> list[tuple[str, str, str]]:
    """(child name, local-ts, remote-ts) of each installed CHILD_SA of a --raw listing."""
    out = []
    for _, d in parse(listing):
        for sa in d.values():
            for ch in (sa.get("child-sas") or {}).values():
                out.append((ch["name"], " ".join(ch["local-ts"]), " ".join(ch["remote-ts"])))
    return sorted(out)


def live(env: Interop, dirs: dict[str, Path]) -> tuple[dict[str, dict[str, str]], list[str], list[str]]:
    for side, addrs in ((env.left, ("10.1.0.1", "10.1.0.10")), (env.right, ("10.2.0.1", "10.2.0.10"))):
        for addr in addrs:  # libipsec wants a local address inside each local TS
            side.run("ip", "addr", "add", f"{addr}/32", "dev", "lo")
    a: Charon = env.charon(env.left, "moon")
    b: Charon = env.charon(env.right, "sun")
    for c, gw in ((a, "moon"), (b, "sun")):
        c.swanctl("--load-all", "--noprompt", "--file", str(dirs[gw] / "swanctl.conf"))
    listings: dict[str, dict[str, str]] = {}
    a.initiate("net-net", "gw-gw")
    a.initiate("host-host", "gw-gw")
    assert b.wait_for(lambda sas: established_child(sas, "host-host")) is not None
    listings["up"] = {gw: c.swanctl("--list-sas", "--raw").stdout for gw, c in (("moon", a), ("sun", b))}
    a.swanctl("--rekey", "--child", "net-net")
    wait_log(a, "CHILD_SA closed")
    wait_log(b, "CHILD_SA closed")
    time.sleep(0.2)
    listings["rekeyed"] = {gw: c.swanctl("--list-sas", "--raw").stdout for gw, c in (("moon", a), ("sun", b))}
    a.swanctl("--terminate", "--ike", "gw-gw", "--timeout", "5")
    wait_log(a, "IKE_SA deleted")
    wait_log(b, "IKE_SA deleted")
    return listings, charon_messages(a.log()), charon_messages(b.log())


def simulated(env: Interop, dirs: dict[str, Path]) -> tuple[dict[str, dict[str, str]], list[str], list[str]]:
    topo = {
        "name": "swanctl-differential", "duration": 30,
        "nodes": {
            "moon": {"role": "gateway", "addresses": [f"{env.left.addr}/24"], "swanctl": str(dirs["moon"])},
            "sun": {"role": "gateway", "addresses": [f"{env.right.addr}/24"], "swanctl": str(dirs["sun"])},
        },
        "links": {"veth": {"a": "moon", "b": "sun", "delay": "1ms"}},
    }
    sim = Simulation.from_dict(topo).run(0.5)
    moon, sun = sim.node("moon"), sim.node("sun")
    listings: dict[str, dict[str, str]] = {}
    assert "initiate completed successfully" in moon.sh("swanctl --initiate --child net-net --ike gw-gw")
    assert "initiate completed successfully" in moon.sh("swanctl --initiate --child host-host --ike gw-gw")
    sim.run(sim.now + 1)
    listings["up"] = {gw: n.sh("swanctl --list-sas --raw") for gw, n in (("moon", moon), ("sun", sun))}
    moon.sh("swanctl --rekey --child net-net")
    sim.run(sim.now + 2)
    listings["rekeyed"] = {gw: n.sh("swanctl --list-sas --raw") for gw, n in (("moon", moon), ("sun", sun))}
    moon.sh("swanctl --terminate --ike gw-gw --timeout 5")
    sim.run(sim.now + 2)
    return (listings, moon.charon_log.messages(),  # type: ignore[attr-defined]
            sun.charon_log.messages())  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["rsa", "ecdsa"])
def test_one_folder_two_implementations(interop: Interop, kind: str) -> None:  # noqa: F811
    dirs = folders(interop, kind)
    real_lists, real_moon, real_sun = live(interop, dirs)
    sim_lists, sim_moon, sim_sun = simulated(interop, dirs)
    for step in ("up", "rekeyed"):
        for gw in ("moon", "sun"):
            agree(sim_lists[step][gw], real_lists[step][gw], f"{kind} {step} {gw}")
    # narrowing: sun offered 10.2.0.0/24 of moon's 10.2.0.0/16, and both installed that
    assert children(sim_lists["up"]["moon"]) == children(real_lists["up"]["moon"]) == [
        ("host-host", "10.1.0.10/32", "10.2.0.10/32"), ("net-net", "10.1.0.0/16", "10.2.0.0/24")]
    for side, got, want in (("moon", sim_moon, real_moon), ("sun", sim_sun, real_sun)):
        g, w = compared(got), compared(want)
        assert g == w, (f"{kind} {side}: charon logs but the simulator does not: "
                        f"{sorted((w - g).elements())}\nthe simulator logs but charon does not: "
                        f"{sorted((g - w).elements())}")
