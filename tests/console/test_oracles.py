"""The console against the real tools (oracles: charon/swanctl 5.9.8, iputils ping 20221126,
iproute2 6.1), in private network namespaces as the interop tests run them.

* ``swanctl --list-sas --raw`` / ``--list-conns --raw``: two live charons (``tests/interop``
  harness) and two simulated gateways with the same swanctl configuration; the dumps agree key
  by key, and value by value where nothing must differ (SPIs, addresses, times). charon's
  userland ESP (``kernel-libipsec``, this kernel has none) always encapsulates ESP in UDP and
  reports the peer behind a NAT; the simulated gateways get ``encap = yes``, which makes the
  simulator do and report the same, so the two setups are equivalent. The plain listings agree
  line by line once those values are masked.
* ``ping``: a real ping between two namespaces and the console's ping print the same lines
  (numbers and addresses masked): replies, statistics, the 100 % loss ending, ``-I``, ``-s 8``,
  names from /etc/hosts (``ip netns exec`` binds ``/etc/netns/NS/hosts``), unreachable.
* ``ip xfrm policy``: the console's policies are installed with ``ip xfrm policy add`` in a
  namespace and listed back by iproute2: byte for byte the same text. ``ip xfrm state`` cannot
  be compared live -- the kernel here has no ESP, ``ip xfrm state add`` of an ESP SA fails --
  so test_xfrm.py checks it against iproute2's source.

Without root, charon, swanctl or ping these skip with a reason (fail under
IPSECSIM_REQUIRE_ORACLES=1).
"""

from __future__ import annotations

import os
import re
import shutil
from typing import Any

import pytest

from ipsecsim.sim import Simulation
from tests.helpers.oracles import need_root, need_tool
from tests.interop.fixtures import interop  # noqa: F401 - the fixture
from tests.interop.netns import NetnsPair, run
from tests.interop.swanctl import site_config

from .topos import reply, site_to_site
from .vicidump import flat, parse

pytestmark = pytest.mark.oracle

MASKED = re.compile(r"(^|\.)(initiator-spi|responder-spi|spi-in|spi-out|local-host|remote-host|"
                    r"local_addrs|remote_addrs|rekey-time|reauth-time|life-time|established|"
                    r"install-time|use-in|use-out)$")
"""Keys whose values must differ between two runs (random SPIs, addresses, clocks)."""


def _config(local: str, remote: str, lts: str, rts: str, lid: str, rid: str, ike: str,
            esp: str) -> dict[str, Any]:
    c = site_config(local, remote, ["-"], ["-"], lid, rid, [ike], [esp], conn="office-link",
                    child="lan-lan")
    ch = c["connections"]["office-link"]["children"]["lan-lan"]
    ch["local_ts"], ch["remote_ts"] = [lts], [rts]
    return c


def _simulated(ike: str, esp: str) -> Simulation:
    def gw(addrs: list[str], me: str, peer: str, lts: str, rts: str, lid: str, rid: str) -> dict:
        cfg = _config(me, peer, lts, rts, lid, rid, ike, esp)
        cfg["connections"]["office-link"]["encap"] = True  # as kernel-libipsec does
        return {"role": "gateway", "addresses": addrs, "ipsec": cfg}

    topo = {"name": "oracle", "duration": 30, "nodes": {
        "gw-a": gw(["10.99.0.1/24", "10.1.0.1/16"], "10.99.0.1", "10.99.0.2", "10.1.0.0/16",
                   "10.2.0.0/16", "gw-a.example", "gw-b.example"),
        "gw-b": gw(["10.99.0.2/24", "10.2.0.1/16"], "10.99.0.2", "10.99.0.1", "10.2.0.0/16",
                   "10.1.0.0/16", "gw-b.example", "gw-a.example")},
        "links": {"wan": {"a": "gw-a", "b": "gw-b", "delay": "1ms"}}}
    sim = Simulation.from_dict(topo).run(0.5)
    out = sim.node("gw-a").sh("swanctl --initiate --child lan-lan --ike office-link")
    assert reply(out) == "initiate completed successfully\n"
    return sim


def _mask_plain(text: str) -> str:
    text = re.sub(r"\b[0-9a-f]{16}_", "SPI_", text)
    text = re.sub(r"\b[0-9a-f]{8}\b", "spi", text)
    text = re.sub(r"\d+\.\d+\.\d+\.\d+(?=\[)", "HOST", text)
    return re.sub(r"\b\d+s\b", "Ns", text)


@pytest.mark.parametrize("ike, esp", [("aes256gcm16-prfsha384-ecp384", "aes128gcm16"),
                                      ("aes128-sha256-x25519", "aes128-sha256")],
                         ids=["gcm-ecp384", "cbc-x25519"])
def test_list_sas_and_list_conns_agree_with_live_charon(interop, ike: str, esp: str) -> None:  # noqa: F811
    env = interop
    env.left.run("ip", "addr", "add", "10.1.0.1/32", "dev", "lo")  # libipsec wants a local
    env.right.run("ip", "addr", "add", "10.2.0.1/32", "dev", "lo")  # address inside the TS
    a, b = env.charon(env.left, "a"), env.charon(env.right, "b")
    a.load(_config(env.left.addr, env.right.addr, "10.1.0.0/16", "10.2.0.0/16", "gw-a.example",
                   "gw-b.example", ike, esp))
    b.load(_config(env.right.addr, env.left.addr, "10.2.0.0/16", "10.1.0.0/16", "gw-b.example",
                   "gw-a.example", ike, esp))
    a.initiate("lan-lan", "office-link")
    live = {side: {cmd: c.swanctl(*cmd.split()).stdout for cmd in
                   ("--list-sas --raw", "--list-sas", "--list-conns --raw", "--list-conns")}
            for side, c in (("gw-a", a), ("gw-b", b))}
    sim = _simulated(ike, esp)
    for side in ("gw-a", "gw-b"):
        for cmd in ("--list-sas --raw", "--list-conns --raw"):
            ours = sim.node(side).sh(f"swanctl {cmd}")
            theirs = live[side][cmd]
            got, want = parse(ours), parse(theirs)
            assert [label for label, _ in got] == [label for label, _ in want], (ours, theirs)
            for (_, g), (_, w) in zip(got, want, strict=True):
                g, w = flat(g), flat(w)
                assert sorted(g) == sorted(w), (side, cmd, set(g) ^ set(w))
                differ = {k: (g[k], w[k]) for k in g if g[k] != w[k] and not MASKED.search(k)}
                assert not differ, (side, cmd, differ)
        plain = sim.node(side).sh("swanctl --list-sas")
        assert _mask_plain(plain) == _mask_plain(live[side]["--list-sas"])
        conns = sim.node(side).sh("swanctl --list-conns")
        mask = re.compile(r"10\.99\.\d+\.")
        assert mask.sub("X.", conns) == mask.sub("X.", live[side]["--list-conns"])


# --- ping -----------------------------------------------------------------------------------
def _mask_ping(text: str) -> list[str]:
    """Each line with addresses, times and counts of milliseconds masked."""
    text = re.sub(r"\d+\.\d+\.\d+\.\d+", "ADDR", text)
    text = re.sub(r"time=[\d.]+ ms", "time=T ms", text)
    text = re.sub(r"time \d+ms", "time Nms", text)
    text = re.sub(r"= [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms", "= a/b/c/d ms", text)
    text = re.sub(r"ttl=\d+", "ttl=N", text)
    return text.split("\n")


@pytest.fixture
def pair():
    need_root()
    need_tool("ping")
    p = NetnsPair.create()
    made = f"/etc/netns/{p.left.ns}"
    try:
        os.makedirs(made)
        with open(f"{made}/hosts", "w") as f:
            f.write(f"127.0.0.1 localhost\n{p.right.addr} peer.example\n")
        yield p
    finally:
        shutil.rmtree(made, ignore_errors=True)
        p.close()


def _real(p: NetnsPair, *args: str) -> str:
    proc = p.left.run("ping", *args, check=False, timeout=30)
    return proc.stdout + proc.stderr


def test_ping_prints_what_iputils_prints(pair) -> None:  # noqa: F811
    p = pair
    sim = Simulation.from_dict(site_to_site(hosts={"peer.example": "10.2.0.10"})).run(1.0)
    h = sim.node("host-a")
    cases = [
        (["-c", "3", "-i", "0.2", p.right.addr], "ping -c 3 -i 0.2 10.2.0.10"),
        (["-c", "2", "-i", "0.2", "-I", p.left.addr, p.right.addr],
         "ping -c 2 -i 0.2 -I 10.1.0.10 10.2.0.10"),
        (["-c", "2", "-i", "0.2", "-s", "8", p.right.addr], "ping -c 2 -i 0.2 -s 8 10.2.0.10"),
        (["-c", "2", "-i", "0.2", "-s", "1000", "peer.example"],
         "ping -c 2 -i 0.2 -s 1000 peer.example"),
        (["-c", "1", "-q", p.right.addr], "ping -c 1 -q 10.2.0.10"),
    ]
    for real_args, ours in cases:
        assert _mask_ping(h.sh(ours)) == _mask_ping(_real(p, *real_args)), ours
    # no route: the same words, nothing masked
    assert sim.node("internet").sh("ping -c 1 10.77.0.1") == _real(p, "-c", "1", "10.77.0.1")
    assert h.sh("ping -c 1 -I 10.1.0.99 10.2.0.10") == \
        _real(p, "-c", "1", "-I", "10.98.7.6", p.right.addr)
    # every probe lost: the statistics end with an empty line, after -W without replies
    p.right.run("sysctl", "-q", "-w", "net.ipv4.icmp_echo_ignore_all=1")
    real = _real(p, "-c", "2", "-i", "0.2", "-W", "1", p.right.addr)
    assert _mask_ping(h.sh("ping -c 2 -i 0.2 -W 1 10.2.0.99")) == _mask_ping(real)
    assert real.endswith("100% packet loss, time " + real.rsplit("time ", 1)[1])


# --- ip xfrm policy -------------------------------------------------------------------------
_BLOCK = re.compile(r"src (\S+) dst (\S+) (?:proto (\S+) )?(?:(sport|dport|type|code) (\d+) )*\n"
                    r"\tdir (\w+) (action block )?priority (\d+) ptype main \n"
                    r"(?:\ttmpl src (\S+) dst (\S+)\n\t\tproto (\w+) (?:spi (0x[0-9a-f]+) )?"
                    r"reqid (\d+) mode (\w+)\n)?")


def _add_commands(text: str) -> list[list[str]]:
    """``ip xfrm policy add`` for each policy the text lists (oldest first)."""
    cmds = []
    pos = 0
    while pos < len(text):
        m = _BLOCK.match(text, pos)
        assert m is not None, text[pos:]
        pos = m.end()
        cmd = ["ip", "xfrm", "policy", "add", "src", m.group(1), "dst", m.group(2)]
        if m.group(3):
            cmd += ["proto", m.group(3)]
        cmd += ["dir", m.group(6), "priority", m.group(8)]
        if m.group(7):
            cmd += ["action", "block"]
        if m.group(9):
            cmd += ["tmpl", "src", m.group(9), "dst", m.group(10), "proto", m.group(11)]
            if m.group(12):
                cmd += ["spi", m.group(12)]
            cmd += ["reqid", m.group(13), "mode", m.group(14)]
        cmds.append(cmd)
    return list(reversed(cmds))  # the kernel lists the newest first


def _policy_texts() -> list[str]:
    from tests.helpers.paths import TOPOLOGIES

    sim = Simulation.from_dict(site_to_site()).run(1.0)
    out = [sim.node("gw-a").sh("ip xfrm policy"), sim.node("gw-b").sh("ip xfrm policy")]
    sim = Simulation.from_file(TOPOLOGIES / "host-to-host-transport.yaml").run(1.0)
    out.append(sim.node("alice").sh("ip xfrm policy"))
    d = site_to_site()
    d["nodes"]["gw-b"]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"][
        "start_action"] = "trap"
    d["nodes"]["gw-a"]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"].pop(
        "start_action")
    out.append(Simulation.from_dict(d).run(0.5).node("gw-b").sh("ip xfrm policy"))
    return out


def test_ip_xfrm_policy_is_what_iproute2_lists() -> None:
    need_root()
    need_tool("ip")
    for text in _policy_texts():
        assert text
        ns = f"ipssx{os.getpid()}"
        run(["ip", "netns", "add", ns])
        try:
            for cmd in _add_commands(text):
                run(["ip", "netns", "exec", ns, *cmd])
            listed = run(["ip", "netns", "exec", ns, "ip", "xfrm", "policy"]).stdout
        finally:
            run(["ip", "netns", "del", ns], check=False)
        assert listed == text
