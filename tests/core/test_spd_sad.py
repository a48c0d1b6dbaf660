"""SPD ordering and matching, SAD lookup (RFC 4301 §4.4)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsecsim.core.ip import build_ipv4, icmp_echo_packet, ipv4_ports
from ipsecsim.core.sad import Sad, SadEntry
from ipsecsim.core.selectors import TrafficSelector as TS
from ipsecsim.core.selectors import ip_to_int
from ipsecsim.core.spd import BYPASS, DISCARD, PROTECT, Policy, Spd, specificity
from tests.helpers.dataplane import GCM128, sa_pair


def test_first_match_wins_by_priority_then_insertion():
    spd = Spd()
    spd.add_rule("out", DISCARD, "0.0.0.0/0", "0.0.0.0/0", name="default-drop", priority=5000)
    wide = spd.add(Policy("wide", "out", PROTECT, (TS.parse("10.1.0.0/16"),), (TS.parse("10.0.0.0/8"),),
                          specificity((TS.parse("10.1.0.0/16"),), (TS.parse("10.0.0.0/8"),))))
    narrow = spd.add(Policy("narrow", "out", PROTECT, (TS.parse("10.1.0.0/16"),), (TS.parse("10.2.3.0/24"),),
                            specificity((TS.parse("10.1.0.0/16"),), (TS.parse("10.2.3.0/24"),))))
    spd.add_rule("out", BYPASS, "10.1.0.0/16", "10.2.3.4[udp/53]", name="dns")
    assert spd.lookup_addrs("out", "10.1.0.1", "10.2.3.4", 17, 999, 53).name == "dns"
    assert spd.lookup_addrs("out", "10.1.0.1", "10.2.3.4", 6, 999, 53) is narrow
    assert spd.lookup_addrs("out", "10.1.0.1", "10.9.0.1", 6, 1, 2) is wide
    assert spd.lookup_addrs("out", "192.0.2.1", "10.9.0.1").name == "default-drop"
    assert spd.lookup_addrs("in", "10.9.0.1", "10.1.0.1") is None
    assert [p.name for p in spd.policies("out")] == ["dns", "narrow", "wide", "default-drop"]


def test_protocol_and_port_selectors():
    p = Policy("web", "out", PROTECT, (TS.parse("10.1.0.0/16"),), (TS.parse("0.0.0.0/0[tcp/443]"),))
    src, dst = TS.parse("10.1.0.9").start, TS.parse("8.8.8.8").start
    assert p.matches(src, dst, 6, 5555, 443)
    assert not p.matches(src, dst, 17, 5555, 443)
    assert not p.matches(src, dst, 6, 5555, 80)


def test_bad_policies_are_refused():
    spd = Spd()
    with pytest.raises(ValueError, match="direction"):
        spd.add(Policy("x", "sideways", PROTECT, (), ()))
    with pytest.raises(ValueError, match="action"):
        spd.add(Policy("x", "out", "encrypt-please", (), ()))


def test_sad_by_spi_per_direction():
    tx, rx = sa_pair("esp", "tunnel", GCM128, None, spi=0x1234)
    sad = Sad()
    ts = (TS.parse("10.0.0.0/8"),)
    sad.add(SadEntry(rx, "in", "c", ts, ts))
    sad.add(SadEntry(tx, "out", "c", ts, ts))  # same SPI, other direction: fine
    assert sad.get_inbound(0x1234).sa is rx and len(sad) == 2
    with pytest.raises(ValueError, match="already installed"):
        sad.add(SadEntry(rx, "in", "c", ts, ts))
    assert [e.sa for e in sad.remove(0x1234, "in")] == [rx]
    assert sad.get_inbound(0x1234) is None and len(sad) == 1


# --- the flow cache of Spd.lookup_ipv4 and the selector memory of SadEntry --------------------

_NETS = ["10.1.0.0/16", "10.2.0.0/16", "10.2.3.0/24", "10.1.0.5", "0.0.0.0/0"]
_SUFFIX = ["", "", "[udp]", "[tcp/80]", "[udp/1000-2000]", "[icmp/8]"]
_policy = st.tuples(st.sampled_from(["out", "in"]), st.sampled_from([PROTECT, BYPASS, DISCARD]),
                    st.sampled_from(_NETS), st.sampled_from(_NETS), st.sampled_from(_SUFFIX),
                    st.integers(0, 3))
_packet = st.tuples(st.sampled_from(["10.1.0.5", "10.1.9.9", "10.2.3.4", "10.2.9.1", "192.0.2.1"]),
                    st.sampled_from(["10.1.0.5", "10.2.3.4", "10.2.9.1", "198.51.100.7"]),
                    st.sampled_from([1, 6, 17, 50]), st.sampled_from([80, 1500, 5000]))


def _pkt(src: str, dst: str, proto: int, port: int) -> bytes:
    if proto == 1:
        return icmp_echo_packet(src, dst)  # type 8: "ports" (8, 0) (RFC 4301 §4.4.1.1)
    if proto in (6, 17):
        return build_ipv4(src, dst, proto, struct.pack("!HH", port, port) + bytes(16))
    return build_ipv4(src, dst, proto, bytes(24))


def _plain_lookup(spd: Spd, direction: str, pkt: bytes):
    sport, dport = ipv4_ports(pkt)
    return spd.lookup(direction, ip_to_int(pkt[12:16]), ip_to_int(pkt[16:20]), pkt[9], sport, dport)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.one_of(st.tuples(st.just("add"), _policy), st.tuples(st.just("remove"), st.integers(0, 9)),
                                st.tuples(st.just("send"), _packet)), max_size=40))
def test_flow_cache_answers_as_the_ordered_lookup_through_adds_and_removes(steps):
    spd = Spd()
    added = []
    for kind, arg in steps:
        if kind == "add":
            direction, action, src, dst, suffix, prio = arg
            added.append(spd.add_rule(direction, action, src + suffix, dst, priority=prio))
        elif kind == "remove" and added:
            spd.remove(added.pop(arg % len(added)))
        elif kind == "send":
            pkt = _pkt(*arg)
            for direction in ("out", "in"):
                for _ in range(2):  # the second answer comes from the cache
                    assert spd.lookup_ipv4(direction, pkt) is _plain_lookup(spd, direction, pkt)


def test_flow_cache_key_widens_to_ports_when_a_policy_names_them():
    spd = Spd()
    spd.add_rule("out", DISCARD, "10.1.0.0/16", "10.2.0.0/16", name="drop", priority=10)
    assert spd.addr_only["out"]
    dns = _pkt("10.1.0.5", "10.2.3.4", 17, 53)
    assert spd.lookup_ipv4("out", dns).name == "drop"
    assert list(spd.flows["out"]) == [dns[12:20]]
    spd.add_rule("out", BYPASS, "10.1.0.0/16", "10.2.3.4[udp/53]", name="dns")
    assert not spd.addr_only["out"] and not spd.flows["out"]  # forgotten on add
    assert spd.lookup_ipv4("out", dns).name == "dns"
    assert spd.lookup_ipv4("out", _pkt("10.1.0.5", "10.2.3.4", 17, 54)).name == "drop"
    assert len(spd.flows["out"]) == 2


def test_sad_entry_remembers_fitting_address_pairs_only():
    tx, _ = sa_pair("esp", "tunnel", GCM128, None)
    e = SadEntry(tx, "in", "c", (TS.parse("10.2.0.0/16"),), (TS.parse("10.1.0.0/16"),))
    ok, bad = _pkt("10.2.0.9", "10.1.0.5", 17, 1), _pkt("10.3.0.9", "10.1.0.5", 17, 1)
    assert e.addr_only
    assert e.allows_ipv4(ok) and e.allowed == {ok[12:20]}
    assert not e.allows_ipv4(bad) and not e.allows_ipv4(bad) and e.allowed == {ok[12:20]}
    ported = SadEntry(tx, "in", "c", (TS.parse("10.2.0.0/16[udp/1]"),), (TS.parse("10.1.0.0/16"),))
    assert not ported.addr_only
    assert ported.allows_ipv4(ok) and not ported.allowed  # ports matter: nothing remembered
    assert not ported.allows_ipv4(_pkt("10.2.0.9", "10.1.0.5", 17, 2))
