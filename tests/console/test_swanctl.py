"""``swanctl`` on the site-to-site gateways: listings in swanctl 5.9's plain and raw forms,
and --initiate / --terminate / --rekey driving the IKE engine in simulated time.

The layouts are those of strongSwan 5.9.8's ``src/swanctl/commands/list_sas.c`` and
``list_conns.c``; the raw keys those of ``vici_query.c``. ``test_oracles.py`` compares them
with a live charon's for the same configuration.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from ipsecsim.sim import Simulation

from .topos import reply, site_to_site, up
from .vicidump import flat, parse


def _manual_start() -> dict[str, Any]:
    """site-to-site where nothing starts by itself: the console brings the tunnel up."""
    d = site_to_site()
    del d["nodes"]["gw-a"]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"]["start_action"]
    return d


def test_list_sas_plain_as_list_sas_c_prints_it() -> None:
    sim = up(1.0)
    gw = sim.node("gw-a")
    out = gw.sh("swanctl --list-sas")
    keys = next(iter(gw.children.values()))
    pattern = (
        r"office-link: #1, ESTABLISHED, IKEv2, [0-9a-f]{16}_i\* [0-9a-f]{16}_r\n"
        r"  local  'gw-a\.example' @ 198\.51\.100\.1\[500\]\n"
        r"  remote 'gw-b\.example' @ 203\.0\.113\.1\[500\]\n"
        r"  AES_GCM_16-256/PRF_HMAC_SHA2_384/ECP_384\n"
        r"  established 1s ago, rekeying in \d+s\n"
        r"  lan-lan: #1, reqid 1, INSTALLED, TUNNEL, ESP:AES_GCM_16-128\n"
        r"    installed 1s ago, rekeying in \d+s, expires in 3959s\n"
        rf"    in  {keys.spi_in:08x},      0 bytes,     0 packets\n"
        rf"    out {keys.spi_out:08x},      0 bytes,     0 packets\n"
        r"    local  10\.1\.0\.0/16\n"
        r"    remote 10\.2\.0\.0/16\n")
    assert re.fullmatch(pattern, out), out
    # the responder: its SPI is starred, and the counters move with traffic
    sim.node("host-a").sh("ping -c 2 10.2.0.10")
    out_b = sim.node("gw-b").sh("swanctl --list-sas")
    assert re.search(r"^office-link: #1, ESTABLISHED, IKEv2, [0-9a-f]{16}_i [0-9a-f]{16}_r\*$",
                     out_b, re.M)
    assert re.search(r"^    in  [0-9a-f]{8},    168 bytes,     2 packets,     \ds ago$", out_b, re.M)
    assert re.search(r"^    out [0-9a-f]{8},    168 bytes,     2 packets$", out_b, re.M)


def test_list_sas_raw_is_one_vici_dump_line_per_ike_sa() -> None:
    sim = up(1.0)
    gw = sim.node("gw-a")
    raw = gw.sh("swanctl --list-sas --raw")
    lines = raw.splitlines()
    assert len(lines) == 2 and lines[1] == "list-sas reply {}"
    label, body = parse(raw)[0]
    assert label == "list-sa event" and list(body) == ["office-link"]
    sa = flat(body["office-link"])
    keys = next(iter(gw.children.values()))
    want = {"uniqueid": "1", "version": "2", "state": "ESTABLISHED", "local-host": "198.51.100.1",
            "local-port": "500", "local-id": "gw-a.example", "remote-host": "203.0.113.1",
            "remote-port": "500", "remote-id": "gw-b.example", "initiator": "yes",
            "encr-alg": "AES_GCM_16", "encr-keysize": "256", "prf-alg": "PRF_HMAC_SHA2_384",
            "dh-group": "ECP_384", "established": "1",
            "child-sas.lan-lan-1.name": "lan-lan", "child-sas.lan-lan-1.uniqueid": "1",
            "child-sas.lan-lan-1.reqid": "1", "child-sas.lan-lan-1.state": "INSTALLED",
            "child-sas.lan-lan-1.mode": "TUNNEL", "child-sas.lan-lan-1.protocol": "ESP",
            "child-sas.lan-lan-1.spi-in": f"{keys.spi_in:08x}",
            "child-sas.lan-lan-1.spi-out": f"{keys.spi_out:08x}",
            "child-sas.lan-lan-1.encr-alg": "AES_GCM_16", "child-sas.lan-lan-1.encr-keysize": "128",
            "child-sas.lan-lan-1.bytes-in": "0", "child-sas.lan-lan-1.packets-in": "0",
            "child-sas.lan-lan-1.bytes-out": "0", "child-sas.lan-lan-1.packets-out": "0",
            "child-sas.lan-lan-1.life-time": "3959", "child-sas.lan-lan-1.install-time": "1",
            "child-sas.lan-lan-1.local-ts": ["10.1.0.0/16"],
            "child-sas.lan-lan-1.remote-ts": ["10.2.0.0/16"]}
    assert {k: sa.get(k) for k in want} == want
    assert set(sa) - set(want) == {"initiator-spi", "responder-spi", "rekey-time",
                                   "child-sas.lan-lan-1.rekey-time"}
    assert re.fullmatch(r"[0-9a-f]{16}", sa["initiator-spi"])
    # the responder has no initiator=yes, the same SPIs swapped
    sb = flat(parse(sim.node("gw-b").sh("swanctl --list-sas --raw"))[0][1]["office-link"])
    assert "initiator" not in sb and sb["initiator-spi"] == sa["initiator-spi"]
    assert sb["child-sas.lan-lan-1.spi-in"] == sa["child-sas.lan-lan-1.spi-out"]
    # --pretty: the same message, indented
    pretty = gw.sh("swanctl --list-sas --pretty")
    assert pretty.startswith("list-sa event {\n  office-link {\n    uniqueid = 1\n")
    assert "        local-ts = [\n          10.1.0.0/16\n        ]\n" in pretty
    assert pretty.endswith("}\nlist-sas reply {\n}\n")


def test_list_sas_filters() -> None:
    sim = up(1.0)
    gw = sim.node("gw-a")
    assert gw.sh("swanctl --list-sas --ike nope") == ""
    assert gw.sh("swanctl --list-sas --ike nope --raw") == "list-sas reply {}\n"
    assert gw.sh("swanctl --list-sas --ike-id 1") == gw.sh("swanctl --list-sas --ike office-link")
    assert gw.sh("swanctl -l -I 2") == ""
    no_child = gw.sh("swanctl --list-sas --child other")
    assert no_child.startswith("office-link: #1") and "lan-lan" not in no_child
    assert "child-sas {}" in gw.sh("swanctl --list-sas --raw --child-id 7")


def test_list_conns() -> None:
    sim = up(0.0)
    assert sim.node("gw-a").sh("swanctl --list-conns") == """\
office-link: IKEv2, no reauthentication, rekeying every 14400s
  local:  198.51.100.1
  remote: 203.0.113.1
  local pre-shared key authentication:
    id: gw-a.example
  remote pre-shared key authentication:
    id: gw-b.example
  lan-lan: TUNNEL, rekeying every 3600s
    local:  10.1.0.0/16
    remote: 10.2.0.0/16
"""
    assert sim.node("gw-b").sh("swanctl --list-conns --raw") == (
        "list-conn event {office-link {local_addrs=[203.0.113.1] remote_addrs=[198.51.100.1] "
        "version=IKEv2 reauth_time=0 rekey_time=14400 unique=UNIQUE_NO local-1 {id=gw-b.example "
        "class=pre-shared key groups=[] cert_policy=[] certs=[] cacerts=[]} remote-1 "
        "{id=gw-a.example class=pre-shared key groups=[] cert_policy=[] certs=[] cacerts=[]} "
        "children {lan-lan {mode=TUNNEL rekey_time=3600 rekey_bytes=0 rekey_packets=0 "
        "dpd_action=none close_action=none local-ts=[10.2.0.0/16] remote-ts=[10.1.0.0/16]}}}}\n"
        "list-conns reply {}\n")


def test_pools_certs_version_load_all() -> None:
    sim = up(0.0)
    gw = sim.node("gw-a")
    assert gw.sh("swanctl --list-pools") == ""
    assert gw.sh("swanctl --list-pools --leases") == ""
    assert gw.sh("swanctl --list-pools --raw") == "get-pools reply {}\n"
    assert gw.sh("swanctl --list-certs") == ""
    assert gw.sh("swanctl --version") == "strongSwan swanctl 5.9.8\n"
    assert gw.sh("swanctl --load-all") == (
        "loaded ike secret 'ike-1'\nno authorities found, 0 unloaded\nno pools found, 0 unloaded\n"
        "loaded connection 'office-link'\nsuccessfully loaded 1 connections, 0 unloaded\n")


def test_initiate_runs_the_handshake_in_simulated_time() -> None:
    sim = Simulation.from_dict(_manual_start()).run(1.0)
    gw = sim.node("gw-a")
    assert gw.sh("swanctl --list-sas") == ""
    assert reply(gw.sh("swanctl --initiate --child lan-lan")) == "initiate completed successfully\n"
    assert 1.04 < sim.now < 1.1  # IKE_SA_INIT + IKE_AUTH over 2 x 20 ms round trips
    assert "lan-lan: #1, reqid 1, INSTALLED" in gw.sh("swanctl --list-sas")
    # already up: the simulator makes no duplicate, the command returns at once
    t = sim.now
    assert reply(gw.sh("swanctl --initiate --child lan-lan --ike office-link")) == \
        "initiate completed successfully\n"
    assert sim.now == t
    assert gw.sh("swanctl --initiate --child lan-lan --raw") == "initiate reply {success=yes}\n"


@pytest.mark.parametrize("args, err", [
    ("--child nope", "initiate failed: CHILD_SA config 'nope' not found"),
    ("--child lan-lan --ike nope", "initiate failed: CHILD_SA config 'lan-lan' not found"),
    ("--ike nope", "initiate failed: IKE_SA config 'nope' not found"),
    ("", "initiate failed: missing configuration name"),
])
def test_initiate_errors_as_vici_words_them(args: str, err: str) -> None:
    sim = Simulation.from_dict(_manual_start()).run(0.5)
    assert reply(sim.node("gw-a").sh(f"swanctl --initiate {args}")) == err + "\n"


def test_initiate_fails_when_authentication_fails() -> None:
    d = _manual_start()
    d["nodes"]["gw-b"]["ipsec"]["secrets"]["ike-1"]["secret"] = "another key"
    sim = Simulation.from_dict(d).run(0.5)
    out = reply(sim.node("gw-a").sh("swanctl --initiate --child lan-lan"))
    assert out == "initiate failed: establishing CHILD_SA 'lan-lan' failed\n"
    assert sim.node("gw-a").sh("swanctl --list-sas") == ""


def test_initiate_fails_when_the_child_is_refused_but_the_ike_sa_stays() -> None:
    d = _manual_start()
    d["nodes"]["gw-b"]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"]["remote_ts"] = \
        ["10.9.0.0/16"]
    sim = Simulation.from_dict(d).run(0.5)
    out = reply(sim.node("gw-a").sh("swanctl --initiate --child lan-lan"))
    assert out == "initiate failed: establishing CHILD_SA 'lan-lan' failed\n"
    listing = sim.node("gw-a").sh("swanctl --list-sas")
    assert listing.startswith("office-link: #1, ESTABLISHED") and "lan-lan" not in listing


def test_initiate_timeout() -> None:
    d = _manual_start()
    d["links"]["wan-b"]["down"] = [[0, 100]]
    sim = Simulation.from_dict(d).run(0.5)
    out = reply(sim.node("gw-a").sh("swanctl --initiate --child lan-lan --timeout 2"))
    assert out == "initiate failed: CHILD_SA 'lan-lan' not established after 2000ms\n"
    assert 2.5 <= sim.now < 2.6


def test_rekey_and_terminate() -> None:
    sim = up(1.0)
    gw = sim.node("gw-a")
    assert gw.sh("swanctl --rekey --child lan-lan") == "rekey completed successfully\n"
    sim.run(1.5)
    listing = gw.sh("swanctl --list-sas")
    assert re.search(r"^  lan-lan: #2, reqid 1, INSTALLED, TUNNEL, ESP:AES_GCM_16-128$", listing, re.M)
    assert gw.sh("swanctl --rekey --ike office-link --raw") == "rekey reply {success=yes matches=1}\n"
    sim.run(2.0)
    assert gw.sh("swanctl --list-sas").startswith("office-link: #2, ESTABLISHED")
    assert gw.sh("swanctl --rekey --ike nope") == "rekey failed: no matching SAs to rekey found\n"
    assert gw.sh("swanctl --rekey") == "rekey failed: missing rekey selector\n"

    assert reply(gw.sh("swanctl --terminate --child lan-lan")) == "terminate completed successfully\n"
    listing = gw.sh("swanctl --list-sas")
    assert listing.startswith("office-link: #2, ESTABLISHED") and "lan-lan:" not in listing
    assert reply(gw.sh("swanctl --terminate --child lan-lan")) == \
        "terminate failed: no matching SAs to terminate found\n"
    assert gw.sh("swanctl --terminate --ike office-link --raw") == \
        "terminate reply {success=yes matches=1 terminated=1}\n"
    assert gw.sh("swanctl --list-sas") == "" and sim.node("gw-b").sh("swanctl --list-sas") == ""
    assert gw.sh("swanctl --terminate") == "terminate failed: missing terminate selector\n"


def test_swanctl_where_no_charon_runs() -> None:
    sim = up(0.0)
    out = sim.node("host-a").sh("swanctl --list-sas")
    assert out.startswith(
        "connecting to 'unix:///var/run/charon.vici' failed: No such file or directory\n"
        "Error: connecting to 'default' URI failed: No such file or directory\n"
        "strongSwan 5.9.8 swanctl\nusage:\n  swanctl --list-sas [--ike <name>|--ike-id <id>]")


def test_swanctl_usage_errors() -> None:
    sim = up(0.0)
    gw = sim.node("gw-a")
    out = gw.sh("swanctl --list-sas --bogus")
    assert out.startswith("swanctl: unrecognized option '--bogus'\nError: invalid --list-sas option\n"
                          "strongSwan 5.9.8 swanctl\nusage:\n")
    assert out.endswith("           --uri             (-u)  service URI to connect to\n")
    out = gw.sh("swanctl --frobnicate")
    assert out.startswith("swanctl: unrecognized option '--frobnicate'\nError: invalid operation\n")
    assert "  swanctl --list-sas         (-l)  list currently active IKE_SAs\n" in out
    assert gw.sh("swanctl --initiate --child").startswith(
        "swanctl: option '--child' requires an argument\nError: invalid --initiate option\n")
    assert gw.sh("swanctl --list-sas --help").startswith("strongSwan 5.9.8 swanctl\nusage:\n")
    # abbreviations and short options, as getopt_long takes them
    assert gw.sh("swanctl --list-s --ra") == gw.sh("swanctl -l -r")
