"""SPD ordering and matching, SAD lookup (RFC 4301 §4.4)."""

from __future__ import annotations

import pytest
from dataplane_helpers import GCM128, sa_pair

from ipsecsim.core.sad import Sad, SadEntry
from ipsecsim.core.selectors import TrafficSelector as TS
from ipsecsim.core.spd import BYPASS, DISCARD, PROTECT, Policy, Spd, specificity


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
