"""The SPD's index (core/spd_index.py) answers exactly what the ordered list does.

Oracle: the first-match walk over the policies sorted by (priority, insertion) that RFC
4301 §4.4.1 describes, written out here on its own; random SPDs of prefixes, ranges,
ports and protocols, with additions and removals between lookups.
"""

from __future__ import annotations

import random

from ipsecsim.core.selectors import TrafficSelector
from ipsecsim.core.spd import IN, INDEX_FROM, OUT, Policy, Spd
from ipsecsim.core.spd_index import SpdIndex, block_bits


def _walk(policies: list[Policy], src: int, dst: int, proto: int, sp: int, dp: int) -> Policy | None:
    for p in sorted(policies, key=lambda p: (p.priority, p.order)):
        if p.matches(src, dst, proto, sp, dp):
            return p
    return None


def _ts(rng: random.Random) -> TrafficSelector:
    base = 0x0A000000 | rng.randrange(0, 1 << 12) << 8  # 10.x.y.0 with few x.y
    kind = rng.random()
    if kind < 0.5:
        bits = rng.choice((0, 8, 8, 8, 16))
        start = base >> bits << bits
        ts = TrafficSelector(start, start + (1 << bits) - 1)
    elif kind < 0.6:
        ts = TrafficSelector(0, 0xFFFFFFFF)
    elif kind < 0.8:
        a = base + rng.randrange(256)
        ts = TrafficSelector(a, a + rng.randrange(1, 600))  # a range, rarely a block
    else:
        bits = 8
        ts = TrafficSelector(base, base + 255, rng.choice((0, 6, 17)),
                             *sorted((rng.randrange(65536), rng.randrange(65536))))
    return ts


def _packet(rng: random.Random, policies: list[Policy]) -> tuple[int, int, int, int, int]:
    if policies and rng.random() < 0.7:  # near a policy's selectors
        p = rng.choice(policies)
        s, d = rng.choice(p.src), rng.choice(p.dst)
        src = rng.randint(s.start, s.end)
        dst = rng.randint(d.start, d.end)
    else:
        src, dst = rng.randrange(1 << 32), rng.randrange(1 << 32)
    return src, dst, rng.choice((1, 6, 17)), rng.randrange(65536), rng.randrange(65536)


def test_block_bits() -> None:
    assert block_bits(TrafficSelector.parse("10.1.2.0/24")) == 8
    assert block_bits(TrafficSelector.parse("10.1.2.3")) == 0
    assert block_bits(TrafficSelector.parse("0.0.0.0/0")) == 32
    assert block_bits(TrafficSelector.parse("10.1.2.1-10.1.2.2")) is None  # 2 wide, unaligned
    assert block_bits(TrafficSelector.parse("10.1.2.2-10.1.2.3")) == 1


def test_random_spds_agree_with_the_walk() -> None:
    rng = random.Random(7)
    for _round in range(40):
        spd = Spd()
        live: list[Policy] = []
        for _step in range(rng.randrange(5, 120)):
            if live and rng.random() < 0.2:
                p = live.pop(rng.randrange(len(live)))
                spd.remove(p)
            else:
                src = tuple(_ts(rng) for _ in range(rng.choice((1, 1, 1, 2, 3))))
                dst = tuple(_ts(rng) for _ in range(rng.choice((1, 1, 2))))
                p = Policy(f"p{_step}", OUT, rng.choice(("protect", "bypass", "discard")),
                           src, dst, rng.choice((0, 1000, 1016, 1016, 1040)))
                live.append(spd.add(p))
            for _ in range(5):
                pkt = _packet(rng, live)
                want = _walk(live, *pkt)
                assert spd.lookup(OUT, *pkt) is want
                index = SpdIndex()
                for q in live:
                    index.add(q)
                assert index.lookup(*pkt) is want
        assert spd.policies(OUT) == sorted(live, key=lambda p: (p.priority, p.order))
        assert spd.lookup(IN, 1, 2, 6, 3, 4) is None


def test_a_hub_of_prefix_pairs_uses_the_index() -> None:
    """10,000 /24 <-> /24 pairs and a catch-all DISCARD after them: the answer of each
    flow is its own pair's policy, found without walking the list."""
    spd = Spd()
    hub = TrafficSelector.parse("10.255.0.0/24")
    pols = [spd.add(Policy(f"spoke{i}", OUT, "protect", (hub,),
                           (TrafficSelector.parse(f"10.{i // 250}.{i % 250}.0/24"),), 1016))
            for i in range(1, 10001)]
    catch = spd.add_rule(OUT, "discard", "0.0.0.0/0", "0.0.0.0/0", priority=5000)
    assert len(spd.policies(OUT)) > INDEX_FROM
    for i in (1, 250, 9999, 10000):
        assert spd.lookup_addrs(OUT, "10.255.0.10", f"10.{i // 250}.{i % 250}.10") is pols[i - 1]
    assert spd.lookup_addrs(OUT, "10.255.0.10", "10.200.0.1") is catch
    # ordered semantics: a higher-priority (lower) broad rule wins over the pairs
    first = spd.add_rule(OUT, "bypass", "10.255.0.0/16", "10.0.0.0/8", priority=0)
    assert spd.lookup_addrs(OUT, "10.255.0.10", "10.0.5.10") is first
    spd.remove(first)
    assert spd.lookup_addrs(OUT, "10.255.0.10", "10.0.5.10") is pols[4]
    assert spd.addr_only[OUT]
    spd.add_rule(OUT, "bypass", "10.255.0.0/24[udp/53]", "0.0.0.0/0", priority=0)
    assert not spd.addr_only[OUT]
