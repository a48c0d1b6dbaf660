"""``ping`` on the site-to-site hosts: real echo requests in simulated time, printed as iputils
20221126 prints them (``ping/ping_common.c`` ``gather_statistics()``, ``finish()``).
``test_oracles.py`` checks the line formats against a real ping in a network namespace."""

from __future__ import annotations

import re

import pytest

from ipsecsim.console.ping import _loss, _ms

from .topos import up

HOSTS = {"host-b.example": "10.2.0.10", "gw-a.example": "10.1.0.1", "v6.example": "fec2::10"}


def test_ping_through_the_tunnel() -> None:
    sim = up(1.0)
    out = sim.node("host-a").sh("ping -c 3 10.2.0.10")
    assert out == """\
PING 10.2.0.10 (10.2.0.10) 56(84) bytes of data.
64 bytes from 10.2.0.10: icmp_seq=1 ttl=62 time=40.4 ms
64 bytes from 10.2.0.10: icmp_seq=2 ttl=62 time=40.4 ms
64 bytes from 10.2.0.10: icmp_seq=3 ttl=62 time=40.4 ms

--- 10.2.0.10 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 2000ms
rtt min/avg/max/mdev = 40.447/40.447/40.447/0.000 ms
"""
    # the run went on to the last reply; the packets were ESP between the gateways
    assert 3.04 < sim.now < 3.05
    gw_a = sim.node("gw-a")
    assert "    out" in gw_a.sh("swanctl --list-sas") and \
        re.search(r"out [0-9a-f]{8},    252 bytes,     3 packets", gw_a.sh("swanctl --list-sas"))


def test_ping_from_the_gateway_needs_its_inside_address() -> None:
    sim = up(1.0)
    out = sim.node("gw-a").sh("ping -c 1 -I 10.1.0.1 10.2.0.10")
    assert out.splitlines()[:2] == ["PING 10.2.0.10 (10.2.0.10) from 10.1.0.1 : 56(84) bytes of data.",
                                    "64 bytes from 10.2.0.10: icmp_seq=1 ttl=63 time=40.2 ms"]
    assert sim.node("gw-a").sh("ping -c 1 -I 10.9.9.9 10.2.0.10") == \
        "ping: bind: Cannot assign requested address\n"


def test_names_from_hosts_and_reverse_lookups() -> None:
    sim = up(1.0, hosts=HOSTS)
    out = sim.node("host-a").sh("ping -c 1 host-b.example")
    assert out.startswith("PING host-b.example (10.2.0.10) 56(84) bytes of data.\n"
                          "64 bytes from host-b.example (10.2.0.10): icmp_seq=1 ttl=62 time=40.4 ms\n"
                          "\n--- host-b.example ping statistics ---\n")
    assert "64 bytes from 10.2.0.10: " in sim.node("host-a").sh("ping -n -c 1 host-b.example")
    assert sim.node("host-a").sh("ping -c 1 nosuch.example") == \
        "ping: nosuch.example: Name or service not known\n"


def test_lost_probes_and_the_wait_after_the_last() -> None:
    sim = up(1.0)
    out = sim.node("host-a").sh("ping -c 3 -i 0.5 -W 2 10.2.0.99")  # routed, nobody answers
    assert out == """\
PING 10.2.0.99 (10.2.0.99) 56(84) bytes of data.

--- 10.2.0.99 ping statistics ---
3 packets transmitted, 0 received, 100% packet loss, time 1000ms

"""
    assert sim.now == pytest.approx(1.0 + 1.0 + 2.0)  # last probe + -W without replies


def test_fragmentation_needed_is_an_error_line() -> None:
    sim = up(1.0)
    out = sim.node("host-a").sh("ping -c 3 -s 1472 10.2.0.10")
    lines = out.splitlines()
    assert lines[0] == "PING 10.2.0.10 (10.2.0.10) 1472(1500) bytes of data."
    assert lines[1] == "From 10.1.0.1 icmp_seq=1 Frag needed and DF set (mtu = 1444)"
    assert lines[2].startswith("1480 bytes from 10.2.0.10: icmp_seq=2 ttl=62 time=")
    assert lines[6] == "3 packets transmitted, 2 received, +1 errors, 33.3333% packet loss, time 2000ms"


def test_unreachable_families_and_usage_errors() -> None:
    sim = up(0.5, hosts=HOSTS)
    h = sim.node("host-a")
    assert h.sh("ping6 -c 1 fec2::10") == "ping6: connect: Network is unreachable\n"
    assert h.sh("ping6 -c 1 v6.example") == "ping6: connect: Network is unreachable\n"
    assert h.sh("ping6 -c 1 host-b.example") == \
        "ping6: host-b.example: Address family for hostname not supported\n"
    assert h.sh("ping -c 1 fec2::10") == "ping: connect: Network is unreachable\n"
    assert h.sh("ping") == "ping: usage error: Destination address required\n"
    assert h.sh("ping -c x 10.2.0.10") == "ping: invalid argument: 'x'\n"
    assert h.sh("ping -c").startswith("ping: option requires an argument -- 'c'\n\nUsage\n")
    assert h.sh("ping -Z 10.2.0.10").startswith("ping: invalid option -- 'Z'\n\nUsage\n")
    assert h.sh("ping -V") == "ping from iputils 20221126\n"
    assert sim.node("internet").sh("ping -c 1 192.0.2.77") == "ping: connect: Network is unreachable\n"


def test_quiet_small_and_loopback() -> None:
    sim = up(1.0)
    h = sim.node("host-a")
    quiet = h.sh("ping -q -c 2 10.2.0.10")
    assert quiet.splitlines()[:3] == ["PING 10.2.0.10 (10.2.0.10) 56(84) bytes of data.", "",
                                      "--- 10.2.0.10 ping statistics ---"]
    small = h.sh("ping -c 1 -s 8 10.2.0.10")
    assert "16 bytes from 10.2.0.10: icmp_seq=1 ttl=62\n" in small  # too small to carry a time
    assert small.endswith("1 packets transmitted, 1 received, 0% packet loss, time 0ms\n\n")
    assert "64 bytes from 10.1.0.10: icmp_seq=1 ttl=64 time=0.020 ms" in h.sh("ping -c 1 10.1.0.10")


def test_without_count_a_ping_runs_to_the_end_of_the_run() -> None:
    sim = up(7.0)
    out = sim.node("host-a").sh("ping 10.2.0.10")
    assert out.count(" bytes from ") == 3  # t = 7, 8, 9; the run ends at 10
    assert "3 packets transmitted, 3 received, 0% packet loss, time 2000ms" in out
    assert sim.now == pytest.approx(10.0)


@pytest.mark.parametrize("us, text", [(40447, "40.4"), (999, "0.999"), (1234, "1.23"),
                                       (9994, "9.99"), (9995, "10.0"), (99949, "99.9"),
                                       (99950, "100"), (123456, "123")])
def test_time_rounding_as_gather_statistics(us: int, text: str) -> None:
    assert _ms(us) == text


@pytest.mark.parametrize("sent, received, text", [(3, 3, "0"), (3, 2, "33.3333"), (3, 1, "66.6667"),
                                                   (5, 4, "20"), (3, 0, "100")])
def test_loss_as_percent_g_of_a_float(sent: int, received: int, text: str) -> None:
    assert _loss(sent, received) == text
