"""Virtual IPs between ``ipsecsim peer`` and charon 5.9, both ways (RFC 7296 §2.19, §3.15).

1. ipsecsim is the gateway with a pool, charon the road warrior (``vips = 0.0.0.0``,
   ``install_virtual_ip = yes``): charon sends CPRQ(ADDR DNS), gets 10.3.0.1 and the DNS
   server of the pool, installs the address in its namespace and pings ipsecsim's inner
   address from it through the tunnel.
2. charon is the gateway with its pool, ipsecsim the road warrior: ipsecsim asks, gets
   charon's first lease, narrows its TSi to it; charon pings that virtual IP and ipsecsim
   answers from it, through the CHILD_SA.
3. charon's pool and an ipsecsim client without ``vips``: charon answers
   FAILED_CP_REQUIRED, no CHILD_SA, and ipsecsim says why.

charon is the oracle for the wire format (its parser rejects a malformed CP), for what it
logs ("installing new virtual IP 10.3.0.1") and for ``list-sas`` (``local-vips``).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ipsecsim.console.swanctl import list_pools
from ipsecsim.core.pools import Pools, pools_from_dict
from tests.interop.charon import established_child
from tests.interop.fixtures import interop  # noqa: F401 - the fixture
from tests.interop.peerlog import events
from tests.interop.swanctl import site_config
from tests.interop.tunnel import CHARON_ID, PEER_ID

pytestmark = pytest.mark.oracle

POOL = {"rw_pool": {"addrs": "10.3.0.0/28", "dns": "10.1.0.53"}}
IKE, ESP = ["aes128gcm16-prfsha256-x25519"], ["aes128gcm16"]


def _console(gw, line: str) -> str:
    """What the ipsecsim console's ``swanctl --list-pools ...`` prints for ``gw``."""
    from ipsecsim.console import swanctl_usage as U
    from ipsecsim.console.swanctl import _Opts

    out: list[str] = []
    ctx = SimpleNamespace(node=gw, out=SimpleNamespace(out=out.append, err=out.append))
    cmd = next(c for c in U.COMMANDS if c.cmd == "list-pools")
    list_pools(ctx, _Opts(U.getopt(line.split()[2:], cmd.options)))  # type: ignore[arg-type]
    return "".join(out)


def _gateway(env, side, other, inner: list[str], local_id: str, remote_id: str) -> dict:
    conf = site_config(side.addr, other.addr, inner, [], local_id, remote_id, IKE, ESP)
    child = conf["connections"]["interop"]["children"]["net"]
    child["remote_ts"] = ["dynamic"]
    conf["connections"]["interop"]["pools"] = ["rw_pool"]
    conf["pools"] = POOL
    return conf


def _client(side, other, remote_inner: list[str], local_id: str, remote_id: str,
            vips: bool = True, start: bool = False) -> dict:
    conf = site_config(side.addr, other.addr, [], remote_inner, local_id, remote_id, IKE, ESP,
                       start_action="start" if start else None)
    conn = conf["connections"]["interop"]
    conn["children"]["net"]["local_ts"] = ["dynamic"]
    if vips:
        conn["vips"] = ["0.0.0.0"]
    return conf


def test_charon_road_warrior_gets_a_virtual_ip_from_ipsecsim(interop) -> None:  # noqa: F811
    env = interop
    gw = _gateway(env, env.right, env.left, env.right.inner, PEER_ID, CHARON_ID)
    gw.update(listen=env.right.addr, inner_addrs=env.right.inner)
    peer = env.peer(env.right, gw)
    assert peer.wait_log("listening on", timeout=15)
    # charon's resolve plugin writes the DNS server of the reply into a resolv.conf: its own
    # file here, never the host's /etc/resolv.conf
    resolv = f"{env.dir}/charon-resolv.conf"
    charon = env.charon(env.left, "charon", {"install_virtual_ip": "yes",
                                             "plugins": {"resolve": {"file": resolv}}})
    charon.load(_client(env.left, env.right, env.right.inner, CHARON_ID, PEER_ID))
    charon.initiate("net", "interop", timeout=10)
    child = charon.wait_for(lambda sas: established_child(sas, "net"), timeout=10)
    assert child is not None, "charon has no CHILD_SA"
    (sa,) = charon.list_sas()
    assert sa.get("local-vips") == ["10.3.0.1"], sa
    assert child["local-ts"] == ["10.3.0.1/32"]
    log = charon.log()
    assert "CPRQ(ADDR DNS)" in log and "CPRP(ADDR DNS)" in log
    assert "installing new virtual IP 10.3.0.1" in log
    assert f"installing DNS server 10.1.0.53 to {resolv}" in log
    with open(resolv) as f:
        assert "nameserver 10.1.0.53" in f.read()
    # charon's pings leave from its virtual IP and come back through the tunnel
    sent, received, out = env.left.ping(env.right.inner[0], count=3, src="10.3.0.1")
    assert (sent, received) == (3, 3), out
    assigned = events(peer.log(), "VirtualIpAssigned")
    assert assigned and assigned[0]["address"] == "10.3.0.1" and assigned[0]["how"] == "new"
    assert assigned[0]["peer_id"] == CHARON_ID
    assert int(established_child(charon.list_sas(), "net")["packets-in"]) >= 3


def test_ipsecsim_road_warrior_gets_charons_lease(interop) -> None:  # noqa: F811
    env = interop
    charon = env.charon(env.left, "charon")
    charon.load(_gateway(env, env.left, env.right, env.left.inner, CHARON_ID, PEER_ID))
    conf = _client(env.right, env.left, env.left.inner, PEER_ID, CHARON_ID, start=True)
    conf.update(listen=env.right.addr, inner_addrs=[])
    peer = env.peer(env.right, conf)
    child = charon.wait_for(lambda sas: established_child(sas, "net"), timeout=15)
    assert child is not None, "no CHILD_SA at charon"
    (sa,) = charon.list_sas()
    assert sa.get("remote-vips") == ["10.3.0.1"], sa
    assert child["remote-ts"] == ["10.3.0.1/32"]
    log = charon.log()
    assert "peer requested virtual IP %any" in log
    assert f"assigning virtual IP 10.3.0.1 to peer '{PEER_ID}'" in log
    inst = events(peer.log(), "VirtualIpInstalled")
    assert inst and inst[0]["address"] == "10.3.0.1" and inst[0]["dns"] == "10.1.0.53"
    up = events(peer.log(), "ChildSaUp")[-1]
    assert up["keys.local_ts"] == "10.3.0.1/32"
    # charon pings the virtual IP; ipsecsim answers from it, through the CHILD_SA
    sent, received, out = env.left.ping("10.3.0.1", count=3, src=env.left.inner[0])
    assert (sent, received) == (3, 3), out
    # swanctl --list-pools, plain and raw, as the ipsecsim console prints it for a pool in
    # the same state (one online lease of this identity)
    pools = Pools(pools_from_dict(POOL))
    pools.acquire(("rw_pool",), PEER_ID, "0.0.0.0", "x")
    gw = SimpleNamespace(ike=SimpleNamespace(pools=pools))
    for args in (["--leases"], ["--leases", "--raw"], []):
        theirs = charon.swanctl("--list-pools", *args).stdout
        ours = _console(gw, "swanctl --list-pools " + " ".join(args))
        assert ours == theirs, (args, ours, theirs)


def test_ipsecsim_without_vips_gets_failed_cp_required(interop) -> None:  # noqa: F811
    env = interop
    charon = env.charon(env.left, "charon")
    charon.load(_gateway(env, env.left, env.right, env.left.inner, CHARON_ID, PEER_ID))
    conf = _client(env.right, env.left, env.left.inner, PEER_ID, CHARON_ID, vips=False,
                   start=True)
    conf.update(listen=env.right.addr, inner_addrs=[])
    peer = env.peer(env.right, conf)
    assert peer.wait_log("FAILED_CP_REQUIRED", timeout=15), "ipsecsim logged no FAILED_CP_REQUIRED"
    fail = [e for e in events(peer.log(), "IkeFailure") if e["notify"] == "FAILED_CP_REQUIRED"]
    assert fail and "vips = 0.0.0.0" in fail[0]["reason"]
    assert "expected a virtual IP request, sending FAILED_CP_REQUIRED" in charon.log()
    assert established_child(charon.list_sas(), "net") is None
