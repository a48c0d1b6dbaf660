"""The Security Policy Database (RFC 4301 §4.4.1): ordered policies, first match wins.

A policy matches a packet when the packet's source matches one of its source
selectors and its destination one of its destination selectors (address
range, protocol, port range; :class:`~ipsecsim.core.selectors.TrafficSelector`).
Policies are kept sorted by ``priority`` (lower first), then by insertion
order. Child SA policies get a priority from how narrow their selectors are,
so a /32 policy is found before a /16 one, as strongSwan orders them.

:meth:`Spd.lookup_ipv4` remembers its answers per flow (the kernel's flow
cache, in effect): keyed by source and destination address alone while no
policy of that direction names a protocol or ports, else by the 5-tuple.
Adding or removing a policy, or :meth:`Spd.changed` after editing one's
selectors in place, forgets them.
"""

from __future__ import annotations

import itertools
from bisect import insort
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .ip import ipv4_ports
from .selectors import TrafficSelector, ip_to_int
from .spd_index import SpdIndex, sort_key

if TYPE_CHECKING:
    from .sa import SecurityAssociation

PROTECT = "protect"
BYPASS = "bypass"
DISCARD = "discard"
ACTIONS = (PROTECT, BYPASS, DISCARD)

OUT = "out"
IN = "in"

_order = itertools.count()
_from_bytes = int.from_bytes
FLOW_CACHE_MAX = 4096
"""Remembered flows per direction; the cache starts over when it is full."""
INDEX_FROM = 8
"""Policies in a direction from which :meth:`Spd.lookup` asks the index
(:mod:`.spd_index`) instead of walking the list; both give the same answer."""


def _selectors(value: TrafficSelector | str | tuple | list) -> tuple[TrafficSelector, ...]:
    if isinstance(value, TrafficSelector):
        return (value,)
    if isinstance(value, str):
        return (TrafficSelector.parse(value),)
    return tuple(v if isinstance(v, TrafficSelector) else TrafficSelector.parse(v) for v in value)


@dataclass(eq=False, slots=True)
class Policy:
    """One SPD entry."""

    name: str
    """Child config name for PROTECT policies; free text otherwise."""
    direction: str
    """``out`` (packets we send or forward) or ``in`` (packets we receive)."""
    action: str
    """``protect``, ``bypass`` or ``discard``."""
    src: tuple[TrafficSelector, ...]
    """Selectors the packet's source must match (one of them)."""
    dst: tuple[TrafficSelector, ...]
    """Selectors the packet's destination must match (one of them)."""
    priority: float = 0
    """Lower is consulted first."""
    sa: SecurityAssociation | None = None
    """The outbound SA a PROTECT/out policy uses now (None: no SA yet, ``no_sa``)."""
    proto: str = "esp"
    """IPsec protocol a PROTECT policy requires (``esp`` or ``ah``)."""
    mode: str = "tunnel"
    """``tunnel`` or ``transport`` (for explanations; the SA carries the real mode)."""
    hits: int = 0
    """Packets that matched this policy."""
    order: int = field(default_factory=lambda: next(_order))
    """Insertion order, the tie-breaker between equal priorities."""

    def matches(self, src: int, dst: int, proto: int, sport: int, dport: int) -> bool:
        """Whether a packet with this 5-tuple falls under the policy."""
        for s in self.src:
            if s.matches(src, proto, sport):
                break
        else:
            return False
        for d in self.dst:
            if d.matches(dst, proto, dport):
                return True
        return False

    def describe(self) -> str:
        src = ",".join(str(s) for s in self.src)
        dst = ",".join(str(d) for d in self.dst)
        return f"{self.name} {self.direction} {src} -> {dst} {self.action.upper()}"


def specificity(src: tuple[TrafficSelector, ...], dst: tuple[TrafficSelector, ...]) -> int:
    """A priority for child policies: fewer covered addresses/ports means consulted earlier."""
    def bits(ts: tuple[TrafficSelector, ...]) -> int:
        return max(((t.end - t.start + 1).bit_length() + (0 if t.proto else 8)
                    + (t.port_end - t.port_start + 1).bit_length() for t in ts), default=64)
    return 1000 + bits(src) + bits(dst)


def _addr_only(ts: TrafficSelector) -> bool:
    return ts.proto == 0 and ts.port_start == 0 and ts.port_end == 65535


def _special(p: Policy) -> int:
    """1 if the policy names a protocol or ports, else 0."""
    return 0 if all(_addr_only(t) for t in (*p.src, *p.dst)) else 1


class Spd:
    """Ordered policies per direction."""

    def __init__(self) -> None:
        self._policies: dict[str, list[Policy]] = {OUT: [], IN: []}
        self.flows: dict[str, dict[object, Policy | None]] = {OUT: {}, IN: {}}
        """Per direction, flow key -> the policy :meth:`lookup_ipv4` found (None: no policy).
        The dict objects live as long as the Spd, so callers may hold on to them."""
        self.addr_only: dict[str, bool] = {OUT: True, IN: True}
        """Per direction: no policy names a protocol or ports, so the flow key is
        source + destination address (``pkt[12:20]``) alone."""
        self.dependents: list[dict] = []
        """Other caches built from this SPD's answers (the stack's); emptied with :attr:`flows`."""
        self._index: dict[str, SpdIndex] = {OUT: SpdIndex(), IN: SpdIndex()}
        """Each direction's policies by address block (:mod:`.spd_index`)."""
        self._special: dict[str, int] = {OUT: 0, IN: 0}
        """Per direction, policies that name a protocol or ports (:attr:`addr_only` is 0 of them)."""

    def changed(self) -> None:
        """Forget remembered flows; call after changing a policy's selectors in place."""
        for d, lst in self._policies.items():
            lst.sort(key=sort_key)
            self._index[d] = index = SpdIndex()
            self._special[d] = 0
            for p in lst:
                index.add(p)
                self._special[d] += _special(p)
        self._forget()

    def _forget(self) -> None:
        for cache in self.dependents:
            cache.clear()
        for d in self._policies:
            self.flows[d].clear()
            self.addr_only[d] = not self._special[d]

    def add(self, policy: Policy) -> Policy:
        if policy.direction not in self._policies:
            raise ValueError(f"policy direction {policy.direction!r} must be 'in' or 'out'")
        if policy.action not in ACTIONS:
            raise ValueError(f"policy action {policy.action!r} must be one of {ACTIONS}")
        d = policy.direction
        insort(self._policies[d], policy, key=sort_key)
        self._index[d].add(policy)
        self._special[d] += _special(policy)
        self._forget()
        return policy

    def add_rule(self, direction: str, action: str, src: TrafficSelector | str | list,
                 dst: TrafficSelector | str | list, name: str = "", priority: float = 0) -> Policy:
        """Add a BYPASS/DISCARD (or trap PROTECT) rule from swanctl-style selector strings."""
        return self.add(Policy(name or f"{action}-{direction}", direction, action,
                               _selectors(src), _selectors(dst), priority))

    def remove(self, policy: Policy) -> None:
        d = policy.direction
        lst = self._policies[d]
        if policy in lst:
            lst.remove(policy)
            self._index[d].remove(policy)
            self._special[d] -= _special(policy)
            self._forget()

    def policies(self, direction: str) -> list[Policy]:
        """Policies of one direction, in the order they are consulted."""
        return list(self._policies[direction])

    def lookup(self, direction: str, src: int, dst: int, proto: int, sport: int,
               dport: int) -> Policy | None:
        """The first policy matching the 5-tuple, or None."""
        lst = self._policies[direction]
        if len(lst) >= INDEX_FROM:
            return self._index[direction].lookup(src, dst, proto, sport, dport)
        for p in lst:
            if p.matches(src, dst, proto, sport, dport):
                return p
        return None

    def lookup_ipv4(self, direction: str, pkt: bytes) -> Policy | None:
        """:meth:`lookup` for an IPv4 packet, remembered per flow (see the module docstring)."""
        proto = pkt[9]
        sport, dport = ipv4_ports(pkt)
        key: object = pkt[12:20] if self.addr_only[direction] else (pkt[12:20], proto, sport, dport)
        flows = self.flows[direction]
        pol = flows.get(key, flows)  # the dict itself marks "not remembered"
        if pol is flows:
            pol = self.lookup(direction, _from_bytes(pkt[12:16], "big"), _from_bytes(pkt[16:20], "big"),
                              proto, sport, dport)
            if len(flows) >= FLOW_CACHE_MAX:
                flows.clear()
            flows[key] = pol
        return pol  # type: ignore[return-value]

    def lookup_addrs(self, direction: str, src: str, dst: str, proto: int = 0, sport: int = 0,
                     dport: int = 0) -> Policy | None:
        """:meth:`lookup` with dotted-quad addresses (for tests and explanations)."""
        return self.lookup(direction, ip_to_int(src), ip_to_int(dst), proto, sport, dport)

    def __len__(self) -> int:
        return sum(len(v) for v in self._policies.values())
