"""``ip xfrm state`` / ``ip xfrm policy`` from the gateways' SAD and SPD, in iproute2 6.1's
layout (``ip/ipxfrm.c``: ``xfrm_state_info_print()``, ``xfrm_policy_info_print()``) for what
strongSwan 5.9's ``kernel_netlink_ipsec.c`` would have installed.

The policy layout is also compared with a live ``ip xfrm policy`` in ``test_oracles.py``. The
states cannot be: this machine's kernel has no ESP (``ip xfrm state add`` of an ESP SA fails
with "Requested type not found"), so the state layout is checked here against iproute2's
source alone.
"""

from __future__ import annotations

from typing import Any

import yaml

from ipsecsim.sim import Simulation
from tests.helpers.paths import TOPOLOGIES

from .topos import site_to_site, up


def _keys(sim: Simulation, node: str) -> Any:
    return next(iter(sim.node(node).children.values()))


def test_states_of_a_tunnel() -> None:
    sim = up(1.0)
    sim.node("host-a").sh("ping -c 2 10.2.0.10")
    k = _keys(sim, "gw-a")
    assert sim.node("gw-a").sh("ip xfrm state") == f"""\
src 198.51.100.1 dst 203.0.113.1
\tproto esp spi 0x{k.spi_out:08x} reqid 1 mode tunnel
\treplay-window 0 flag af-unspec
\taead rfc4106(gcm(aes)) 0x{k.key_out_encr.hex()} 128
\tanti-replay context: seq 0x0, oseq 0x2, bitmap 0x00000000
src 203.0.113.1 dst 198.51.100.1
\tproto esp spi 0x{k.spi_in:08x} reqid 1 mode tunnel
\treplay-window 32 flag af-unspec
\taead rfc4106(gcm(aes)) 0x{k.key_in_encr.hex()} 128
\tanti-replay context: seq 0x2, oseq 0x0, bitmap 0x00000003
"""
    assert len(k.key_in_encr) == 20  # AES-128 key + 4-byte salt: alg_key_len 160
    assert sim.node("host-a").sh("ip xfrm state") == ""  # a host has an empty SAD


def test_policies_of_a_tunnel_in_fwd_out() -> None:
    sim = up(1.0)
    k = _keys(sim, "gw-b")
    assert sim.node("gw-b").sh("ip xfrm policy") == f"""\
src 10.2.0.0/16 dst 10.1.0.0/16 \n\
\tdir out priority 383615 ptype main \n\
\ttmpl src 203.0.113.1 dst 198.51.100.1
\t\tproto esp spi 0x{k.spi_out:08x} reqid 1 mode tunnel
src 10.1.0.0/16 dst 10.2.0.0/16 \n\
\tdir fwd priority 383615 ptype main \n\
\ttmpl src 198.51.100.1 dst 203.0.113.1
\t\tproto esp reqid 1 mode tunnel
src 10.1.0.0/16 dst 10.2.0.0/16 \n\
\tdir in priority 383615 ptype main \n\
\ttmpl src 198.51.100.1 dst 203.0.113.1
\t\tproto esp reqid 1 mode tunnel
"""


def test_cbc_hmac_and_esn() -> None:
    d = site_to_site()
    for gw in ("gw-a", "gw-b"):
        d["nodes"][gw]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"][
            "esp_proposals"] = ["aes256-sha384-esn"]
    sim = Simulation.from_dict(d).run(1.0)
    sim.node("host-a").sh("ping -c 3 10.2.0.10")
    k = _keys(sim, "gw-a")
    lines = sim.node("gw-a").sh("ip xfrm state").splitlines()
    assert lines[:8] == [
        "src 198.51.100.1 dst 203.0.113.1",
        f"\tproto esp spi 0x{k.spi_out:08x} reqid 1 mode tunnel",
        "\treplay-window 0 flag af-unspec esn",
        f"\tauth-trunc hmac(sha384) 0x{k.key_out_integ.hex()} 192",
        f"\tenc cbc(aes) 0x{k.key_out_encr.hex()}",
        "\tanti-replay esn context:",
        "\t seq-hi 0x0, seq 0x0, oseq-hi 0x0, oseq 0x3",
        "\t replay_window 1, bitmap-length 1"]
    assert lines[8:10] == ["\t 00000000 ", "src 203.0.113.1 dst 198.51.100.1"]
    assert lines[12:] == [
        f"\tauth-trunc hmac(sha384) 0x{k.key_in_integ.hex()} 192",
        f"\tenc cbc(aes) 0x{k.key_in_encr.hex()}",
        "\tanti-replay esn context:",
        "\t seq-hi 0x0, seq 0x3, oseq-hi 0x0, oseq 0x0",
        "\t replay_window 32, bitmap-length 1",
        "\t 00000007 "]  # seqs 1-3 at bits (seq - 1) mod 32
    assert "ESP:AES_CBC-256/HMAC_SHA2_384_192/ESN" in sim.node("gw-a").sh("swanctl --list-sas")


def test_transport_mode_and_nat_encapsulation() -> None:
    sim = Simulation.from_file(TOPOLOGIES / "host-to-host-transport.yaml").run(2.0)
    state = sim.node("alice").sh("ip xfrm state")
    assert "\tproto esp spi 0x" in state and " mode transport\n" in state
    assert "\treplay-window 32 \n" in state  # no flags: iproute2 leaves the space
    assert "\tsel src 198.51.100.20/32 dst 192.0.2.10/32 \n" in state
    pol = sim.node("alice").sh("ip xfrm policy")
    assert "dir fwd" not in pol  # charon installs no fwd policy for transport mode
    assert "\ttmpl src 0.0.0.0 dst 0.0.0.0\n\t\tproto esp spi 0x" in pol

    sim = Simulation.from_file(TOPOLOGIES / "nat-traversal.yaml").run(2.0)
    assert "\tencap type espinudp sport 4500 dport 4500 addr 0.0.0.0\n" in \
        sim.node("gw-a").sh("ip xfrm state")
    behind = sim.node("gw-b").sh("ip xfrm state")  # the NAT mapped the branch's port 4500
    assert "\tencap type espinudp sport 4500 dport 20001 addr 0.0.0.0\n" in behind
    assert "\tencap type espinudp sport 20001 dport 4500 addr 0.0.0.0\n" in behind


def test_a_trap_policy_is_routed_and_without_spi() -> None:
    d = site_to_site()
    ch = d["nodes"]["gw-b"]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"]
    ch["start_action"] = "trap"
    d["nodes"]["gw-a"]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"].pop(
        "start_action")
    sim = Simulation.from_dict(d).run(0.5)
    assert sim.node("gw-b").sh("ip xfrm policy") == """\
src 10.2.0.0/16 dst 10.1.0.0/16 \n\
\tdir out priority 383616 ptype main \n\
\ttmpl src 203.0.113.1 dst 198.51.100.1
\t\tproto esp reqid 1 mode tunnel
"""


def test_ip_errors() -> None:
    sim = up(0.0)
    gw = sim.node("gw-a")
    assert gw.sh("ip xfrm") == ("Usage: ip xfrm XFRM-OBJECT { COMMAND | help }\n"
                                "where  XFRM-OBJECT := state | policy | monitor\n")
    assert gw.sh("ip foo") == 'Object "foo" is unknown, try "ip help".\n'
    assert gw.sh("ip route") == "ipsecsim console: ip route is not modelled (only ip xfrm)\n"
    assert gw.sh("ip x s") == gw.sh("ip xfrm state list")  # iproute2 takes abbreviations
    assert gw.sh("ip -s xfrm policy") == gw.sh("ip xfrm policy")


def test_shipped_topologies_answer_every_command() -> None:
    """Every command on every node of every shipped topology prints without a console bug."""
    cmds = ["swanctl --list-sas", "swanctl --list-sas --raw", "swanctl --list-conns",
            "ip xfrm state", "ip xfrm policy"]
    for path in sorted(TOPOLOGIES.glob("*.yaml")):
        topo = yaml.safe_load(path.read_text())
        sim = Simulation.from_dict(topo).run(2.0)
        for name in sim.net.nodes:
            for c in cmds:
                out = sim.node(name).sh(c)
                assert "ipsecsim console:" not in out, (path.name, name, c, out)
