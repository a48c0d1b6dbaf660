"""Road-warrior clients with virtual IPs in the simulator (RFC 7296 §2.19; strongSwan's
``ikev2/ip-pool`` scenario): a gateway with a pool, two host clients, one behind a NAT.

    carol 198.51.100.20 ----\\
                             internet --- moon 192.0.2.1 [pool 10.3.0.0/28] --- server 10.1.0.10
    dave 192.168.1.20 - NAT -/

Each client sends from its virtual IP inside the tunnel; the server's replies go back to
that address; every packet is accounted for (conservation) and tshark decrypts every ESP
packet with the keys the run exports.
"""

from __future__ import annotations

import copy
import json
import subprocess
from typing import Any

from ipsecsim.core import ip as P
from ipsecsim.sim.runner import Simulation
from tests.helpers.oracles import need_tool
from tests.helpers.sim_topos import assert_conserved

PSK = "a long pre-shared key for road warriors"


def _client(addr: str, gw: str, ident: str, remote_ts: str = "10.1.0.0/16") -> dict[str, Any]:
    return {"connections": {"home": {
        "local_addrs": [addr], "remote_addrs": [gw], "vips": ["0.0.0.0"],
        "proposals": ["aes128gcm16-prfsha256-x25519"],
        "local": {"auth": "psk", "id": ident}, "remote": {"auth": "psk", "id": "moon.strongswan.org"},
        "children": {"home": {"local_ts": ["dynamic"], "remote_ts": [remote_ts],
                              "esp_proposals": ["aes128gcm16"], "start_action": "start"}}}},
        "secrets": {"ike-1": {"secret": PSK}}}


TOPO: dict[str, Any] = {
    "name": "rw-vips", "seed": 3, "duration": 8,
    "nodes": {
        "server": {"role": "host", "addresses": ["10.1.0.10/24"],
                   "routes": [{"to": "0.0.0.0/0", "via": "10.1.0.1"}]},
        "moon": {"role": "gateway", "addresses": ["10.1.0.1/24", "192.0.2.1/24"],
                 "routes": [{"to": "0.0.0.0/0", "via": "192.0.2.254"}],
                 "ipsec": {
                     "connections": {"rw": {
                         "local_addrs": ["192.0.2.1"], "pools": ["rw_pool"],
                         "proposals": ["aes128gcm16-prfsha256-x25519"],
                         "local": {"auth": "psk", "id": "moon.strongswan.org"},
                         "remote": {"auth": "psk"},
                         "children": {"net": {"local_ts": ["10.1.0.0/16"], "remote_ts": ["dynamic"],
                                              "esp_proposals": ["aes128gcm16"]}}}},
                     "secrets": {"ike-1": {"secret": PSK}},
                     "pools": {"rw_pool": {"addrs": "10.3.0.0/28", "dns": ["10.1.0.53"]}}}},
        "internet": {"role": "router",
                     "addresses": ["192.0.2.254/24", "198.51.100.254/24", "203.0.113.254/24"]},
        "carol": {"role": "host", "addresses": ["198.51.100.20/24"],
                  "routes": [{"to": "0.0.0.0/0", "via": "198.51.100.254"}],
                  "ipsec": _client("198.51.100.20", "192.0.2.1", "carol@strongswan.org")},
        "nat": {"role": "nat", "addresses": ["192.168.1.1/24", "203.0.113.10/24"],
                "routes": [{"to": "0.0.0.0/0", "via": "203.0.113.254"}],
                "nat": {"outside": "203.0.113.10"}},
        "dave": {"role": "host", "addresses": ["192.168.1.20/24"],
                 "routes": [{"to": "0.0.0.0/0", "via": "192.168.1.1"}],
                 "ipsec": _client("192.168.1.20", "192.0.2.1", "dave@strongswan.org")},
    },
    "links": {
        "lan": {"a": "moon", "b": "server"}, "wan": {"a": "moon", "b": "internet"},
        "carol-net": {"a": "carol", "b": "internet"}, "nat-up": {"a": "nat", "b": "internet"},
        "dave-lan": {"a": "dave", "b": "nat"},
    },
    "traffic": {
        "carol-ping": {"type": "ping", "from": "carol", "to": "10.1.0.10", "count": 5, "start": 1},
        "dave-ping": {"type": "ping", "from": "dave", "to": "10.1.0.10", "count": 5, "start": 1},
    },
}


def _run(topo: dict[str, Any] | None = None, out: str | None = None) -> Simulation:
    sim = Simulation.from_dict(copy.deepcopy(topo or TOPO))
    sim.run()
    if out is not None:
        from pathlib import Path

        from ipsecsim.sim.output import write_all
        write_all(sim, Path(out), figures=False)
    return sim


def test_clients_get_leases_and_ping_from_them() -> None:
    sim = _run()
    s = assert_conserved(sim)
    assert s["sent"] == 10 and s["delivered"] == 10, s
    summary = sim.summary()
    pool = summary["pools"]["moon"]["rw_pool"]
    assert (pool["size"], pool["online"], pool["offline"]) == (14, 2, 0)
    leases = {le["identity"]: le["address"] for le in pool["leases"]}
    assert set(leases) == {"carol@strongswan.org", "dave@strongswan.org"}
    assert set(leases.values()) == {"10.3.0.1", "10.3.0.2"}
    # what the server saw: requests from the virtual IPs, never the clients' real addresses
    srcs = {P.ntoa(r[9][12:16]) for r in sim.trace.of("link_tx")
            if r[4] == "lan" and r[9][9] == P.IPPROTO_ICMP and r[6] == "moon"}
    assert srcs == {"10.3.0.1", "10.3.0.2"}
    assert sim.node("carol").node.virtual_ips == [leases["carol@strongswan.org"]]
    assert sim.node("dave").node.virtual_ips == [leases["dave@strongswan.org"]]


def test_console_lists_pools_and_vips() -> None:
    topo = copy.deepcopy(TOPO)
    topo["script"] = [
        {"at": 4, "node": "moon", "run": "swanctl --list-pools --leases"},
        {"at": 4, "node": "moon", "run": "swanctl --list-sas --raw"},
        {"at": 4, "node": "carol", "run": "swanctl --list-sas"},
        {"at": 5, "node": "moon", "run": "cat /var/log/daemon.log"},
        {"at": 5, "node": "carol", "run": "cat /var/log/daemon.log"},
    ]
    sim = _run(topo)
    moon, carol = sim.console.transcript("moon"), sim.console.transcript("carol")
    # list_pools.c: "%-20s %-30s %16s" then "  %-30s %-8s '%s'" per lease
    assert f"{'rw_pool':<20} {'10.3.0.0':<30} {'2 / 0 / 14':>16}\n" in moon
    assert "  10.3.0.1                       online   'carol@strongswan.org'\n" in moon or \
        "  10.3.0.1                       online   'dave@strongswan.org'\n" in moon
    assert "remote-vips=[10.3.0.1]" in moon and "remote-vips=[10.3.0.2]" in moon
    assert "local  'carol@strongswan.org' @ 198.51.100.20[500] [10.3.0." in carol
    assert "peer requested virtual IP %any" in moon
    assert "assigning new lease to 'carol@strongswan.org'" in moon
    assert "assigning virtual IP 10.3.0." in moon
    assert "installing new virtual IP 10.3.0." in carol
    assert "CPRQ(ADDR DNS)" in carol and "CPRP(ADDR DNS)" in carol


def test_tshark_decrypts_every_esp_packet(tmp_path) -> None:
    need_tool("tshark")
    _run(out=str(tmp_path))
    total = 0
    for link in ("wan", "carol-net", "dave-lan"):
        proc = subprocess.run(
            ["tshark", "-r", str(tmp_path / "pcap" / f"{link}.pcap"), "-T", "fields",
             "-e", "frame.protocols", "-e", "esp.icv_good", "-Y", "esp"],
            env={"WIRESHARK_CONFIG_DIR": str(tmp_path / "wireshark"), "PATH": "/usr/bin:/bin",
                 "HOME": str(tmp_path)}, capture_output=True, text=True, check=True)
        rows = [ln.split("\t") for ln in proc.stdout.splitlines() if ln.strip()]
        assert rows, f"no ESP on {link}"
        for protocols, good in rows:
            assert protocols.endswith(":ip:icmp:data"), (link, protocols)
            assert good == "1", (link, protocols)
        total += len(rows)
    assert total >= 20  # 10 requests and 10 replies, each seen on two links at least
    assert json.loads((tmp_path / "summary.json").read_text())["pools"]["moon"]["rw_pool"]["online"] == 2


def test_pool_smaller_than_its_clients_refuses_the_second() -> None:
    topo = copy.deepcopy(TOPO)
    topo["nodes"]["moon"]["ipsec"]["pools"]["rw_pool"]["addrs"] = "10.3.0.7-10.3.0.7"
    sim = _run(topo)
    s = assert_conserved(sim)
    fails = [f for f in sim.summary()["ike"]["failures"] if f["node"] == "moon"]
    assert [f["notify"] for f in fails] == ["INTERNAL_ADDRESS_FAILURE"]
    assert "pool 'rw_pool' is full" in fails[0]["reason"]
    assert s["delivered"] == 5  # the one client with the lease
    assert sum(s["dropped"].values()) == 5
    (warning,) = [w for w in sim.warnings if "virtual IP" in w]
    assert warning == ("<dict>:0: nodes.moon.ipsec.connections.rw.pools: 2 clients (carol, "
                       "dave) ask for a virtual IP but pool rw_pool holds 1: the last to "
                       "connect gets none (INTERNAL_ADDRESS_FAILURE)")
