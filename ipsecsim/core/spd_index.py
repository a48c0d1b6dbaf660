"""An index over one direction of the SPD, so that a lookup does not scan every policy.

The SPD is an ordered list, first match wins (RFC 4301 §4.4.1): the answer for a packet is
the matching policy with the least ``(priority, order)``. A hub with 10,000 spokes has
20,000 policies, each of them one prefix pair (``10.255.0.0/24 <-> 10.3.7.0/24``), and a
linear walk costs 10,000 selector checks per flow.

So each policy whose selectors are all aligned prefixes (a CIDR block: ``/24``, ``/32``,
``0.0.0.0/0``; of any address width) is filed under every (source block, destination block)
pair of its selectors, in a table per pair of block sizes; a lookup shifts the packet's
addresses by each size pair in use (a handful: ``/24``-``/24``, ``/32``-``/32``, ...) and
checks only the policies filed there. The rest (address ranges that are not blocks, or a
policy with many selectors) stay in a short ordered list that is walked as before. The
least ``(priority, order)`` over both is exactly the first match of the full list: every
candidate is still checked with :meth:`Policy.matches`, and a block holds an address only
if the selector's range does.

Linux indexes its xfrm policies the same way (``net/xfrm/xfrm_policy.c``: policies with
prefixes longer than a threshold go into hash tables by address, the rest into a list
searched in order, and the lower priority of the two answers wins).
"""

from __future__ import annotations

from bisect import insort
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .selectors import TrafficSelector
    from .spd import Policy

MAX_PAIRS = 16
"""A policy with more (source x destination) selector pairs than this stays in the list."""


def sort_key(p: Policy) -> tuple[float, int]:
    """The SPD's order: priority, then insertion."""
    return (p.priority, p.order)


def block_bits(ts: TrafficSelector) -> int | None:
    """log2 of the selector's range when it is an aligned block (a prefix), else None."""
    size = ts.end - ts.start + 1
    if size <= 0 or size & (size - 1) or ts.start & (size - 1):
        return None
    return size.bit_length() - 1


class SpdIndex:
    """The policies of one SPD direction, by (source block, destination block)."""

    __slots__ = ("tables", "rest", "size")

    def __init__(self) -> None:
        self.tables: dict[tuple[int, int], dict[tuple[int, int], list[Policy]]] = {}
        """(source bits, destination bits) -> (source >> bits, destination >> bits) -> policies
        in SPD order."""
        self.rest: list[Policy] = []
        """Policies not filed in a table, in SPD order."""
        self.size = 0

    @staticmethod
    def _keys(p: Policy) -> list[tuple[tuple[int, int], tuple[int, int]]] | None:
        if not p.src or not p.dst or len(p.src) * len(p.dst) > MAX_PAIRS:
            return None
        keys = []
        for s in p.src:
            bs = block_bits(s)
            if bs is None:
                return None
            for d in p.dst:
                bd = block_bits(d)
                if bd is None:
                    return None
                key = ((bs, bd), (s.start >> bs, d.start >> bd))
                if key not in keys:
                    keys.append(key)
        return keys

    def add(self, p: Policy) -> None:
        self.size += 1
        keys = self._keys(p)
        if keys is None:
            insort(self.rest, p, key=sort_key)
            return
        for bits, cell in keys:
            insort(self.tables.setdefault(bits, {}).setdefault(cell, []), p, key=sort_key)

    def remove(self, p: Policy) -> None:
        self.size -= 1
        keys = self._keys(p)
        if keys is None:
            _remove(self.rest, p)
            return
        for bits, cell in keys:
            table = self.tables[bits]
            lst = table[cell]
            _remove(lst, p)
            if not lst:
                del table[cell]
                if not table:
                    del self.tables[bits]

    def lookup(self, src: int, dst: int, proto: int, sport: int, dport: int) -> Policy | None:
        """The first policy (least priority, order) that matches the 5-tuple, or None."""
        best = None
        for p in self.rest:
            if p.matches(src, dst, proto, sport, dport):
                best = p
                break
        for (bs, bd), table in self.tables.items():
            cands = table.get((src >> bs, dst >> bd))
            if cands is None:
                continue
            for p in cands:
                if best is not None and (p.priority, p.order) >= (best.priority, best.order):
                    break
                if p.matches(src, dst, proto, sport, dport):
                    best = p
                    break
        return best


def _remove(lst: list[Policy], p: Policy) -> None:
    for i, q in enumerate(lst):
        if q is p:
            del lst[i]
            return
