"""An IPsec implementation for one node (RFC 4301 §5): SPD + SAD + packet processing.

Sans-IO: it takes packets and ``now`` and returns packets; the caller sends
them. Every refused packet raises :class:`~ipsecsim.core.errors.PacketDrop`
after being counted in :attr:`IPsecStack.drops` (and in the SA's own
counter when an SA was involved).

Return values of :meth:`IPsecStack.inbound`:

* ``bytes`` (non-empty): the packet to deliver or forward -- the inner packet
  of an ESP/AH packet addressed to us, checked against the SA's selectors;
* ``b""``: consumed, nothing to deliver (a NAT-keepalive on UDP 4500);
* ``None``: not IPsec for us -- handle ``pkt`` yourself. This covers plain
  packets that policy allows, IKE on UDP 500, and **IKE on UDP 4500**: the
  UDP payload then still starts with the 4-byte non-ESP marker
  (:func:`ipsecsim.core.natt.strip_non_esp_marker` removes it).

IKE (UDP 500/4500 to or from a local address) always bypasses the SPD, as
strongSwan's socket policies make it do. Fragments must be reassembled by the
caller before :meth:`inbound` (:class:`ipsecsim.core.ip.Reassembler`), as
Linux reassembles before IPsec input.
"""

from __future__ import annotations

import struct
from collections import Counter, deque

from .errors import (
    CLEARTEXT_REFUSED,
    MALFORMED,
    NO_SA,
    POLICY_DISCARD,
    POLICY_MISMATCH,
    UNKNOWN_SPI,
    DecodeError,
    PacketDrop,
)
from .ip import IPPROTO_AH, IPPROTO_ESP, IPPROTO_UDP, addr, header_checksum, ipv4_ports, parse_ipv4
from .keys import ChildSaKeys
from .natt import IKE_PORT, KIND_ESP, KIND_IKE, KIND_KEEPALIVE, NATT_PORT, classify
from .rng import Rng
from .sa import SaLimitReached, SaLimits, SecurityAssociation
from .sad import Sad, SadEntry
from .selectors import TrafficSelector
from .spd import BYPASS, DISCARD, FLOW_CACHE_MAX, IN, OUT, PROTECT, Policy, Spd, specificity

_IKE_PORTS = (IKE_PORT, NATT_PORT)
_MISS = object()
# version/IHL, total length, protocol, destination, and the 4 bytes after a 20-byte header (ESP SPI)
_IN_HEAD = struct.Struct("!BxH5xB6x4sI").unpack_from
_U32 = struct.Struct("!I").unpack_from


class NoSa(PacketDrop):
    """``no_sa``: a PROTECT policy matched but has no SA yet. ``policy`` / ``child`` say which,
    so the caller can start IKE for it (strongSwan's trap policies)."""

    def __init__(self, policy: Policy) -> None:
        super().__init__(NO_SA, policy.name)
        self.policy = policy
        self.child = policy.name


ChildKey = tuple[str, frozenset[TrafficSelector], frozenset[TrafficSelector]]


def child_key(keys: ChildSaKeys) -> ChildKey:
    """Which installed child ``keys`` belongs to: its config name and its negotiated selectors.

    One connection serving many peers (a hub with ``remote_addrs: [%any]``) makes one CHILD_SA
    per peer under the same child name, each narrowed to that peer's selectors (RFC 7296
    §2.9); each needs its own policies pointing at its own SA. strongSwan installs policies
    per CHILD_SA for its own ``my_ts`` x ``other_ts`` (``src/libcharon/sa/child_sa.c``
    ``install_policies()``) and shares a reqid only between CHILD_SAs with equal selectors
    (``src/libcharon/kernel/kernel_interface.c`` ``alloc_reqid()``, selectors compared as
    sorted sets) -- the generations of one rekeyed child, which keep their selectors
    (``child_rekey.py`` copies them). The name stays in the key, so two configs that happen
    to negotiate the same selectors keep separate policies, as before.
    """
    return keys.name, frozenset(keys.local_ts), frozenset(keys.remote_ts)


_BYPASSED = Policy("(flow cache: bypass)", OUT, BYPASS, (), ())
"""The outbound flow cache's entry for an address pair no PROTECT policy covers."""


class IPsecStack:
    """SPD, SAD and the per-packet processing of one node."""

    def __init__(self, rng: Rng, name: str = "", local_addrs: tuple[str, ...] | list[str] = ()) -> None:
        self.rng = rng
        self.name = name
        self.spd = Spd()
        self.sad = Sad()
        self.local_addrs: set[bytes] = {addr(a) for a in local_addrs}
        """Our addresses (4 bytes each); ESP/AH/UDP-4500 to one of them is ours to process."""
        self.drops: Counter[str] = Counter()
        """Refused packets by drop reason."""
        self._counters: Counter[str] = Counter()
        self._protected = 0
        self._decapsulated = 0
        self._bypassed = 0
        self._now = 0.0
        """``now`` of the :meth:`inbound` call in progress (for the slow path's SA use time)."""
        self.last_sa: SecurityAssociation | None = None
        """The SA the last successful outbound/inbound call used (for traces)."""
        self.events: deque[SaLimitReached] = deque()
        """Soft/hard limit events not pulled yet (:meth:`next_event`); truthy when any are."""
        self._out_protect: dict[bytes, Policy] = {}
        """Source+destination address pair -> its PROTECT policy (or :data:`_BYPASSED`), for
        flows whose source is not ours while the outbound policies are address-only; emptied
        on every SPD change."""
        self.spd.dependents.append(self._out_protect)
        self.cleartext_verdicts: dict[bytes, Policy | None] = {}
        """Source+destination address pair (8 bytes) -> the inbound policy refusing cleartext
        between them, or None (allowed): :meth:`cleartext_in`'s answers, kept while the inbound
        policies look at addresses only and emptied (in place) on every SPD or local-address
        change. A hot loop may look a pair up here and call :meth:`cleartext_in` only for a
        pair that is missing or refused; never write to it."""
        self.spd.dependents.append(self.cleartext_verdicts)
        self._sad_in = self.sad.inbound
        self._children: dict[ChildKey, tuple[Policy, Policy]] = {}
        """A child's (outbound, inbound) PROTECT policies, by :func:`child_key`."""
        self._generations: dict[ChildKey, list[ChildSaKeys]] = {}
        """The installed generations (rekeys) of each child, oldest first, by :func:`child_key`."""

    @property
    def counters(self) -> Counter[str]:
        """protected, bypassed, decapsulated, keepalives, ike, plain_in (a snapshot)."""
        c = Counter(self._counters)
        if self._protected:
            c["protected"] = self._protected
        if self._decapsulated:
            c["decapsulated"] = self._decapsulated
        if self._bypassed:
            c["bypassed"] += self._bypassed
        return c

    # ------------------------------------------------------------ configuration

    def add_local_addr(self, address: str) -> None:
        """Add one of our addresses (change :attr:`local_addrs` only through here or
        :meth:`install_child`: the outbound flow cache and the cleartext verdicts depend on
        it -- which packets are ours decides IKE's exemption and what is cached)."""
        self.local_addrs.add(addr(address))
        self._out_protect.clear()
        self.cleartext_verdicts.clear()

    def install_child(self, keys: ChildSaKeys, now: float = 0.0) -> tuple[SecurityAssociation, SecurityAssociation]:
        """Install both SAs of a child and its PROTECT policies; returns (inbound, outbound).

        Make-before-break: a new generation of an installed child switches the
        outbound policy to the new SA at once, while the old inbound SA stays
        in the SAD (packets in flight still decrypt) until :meth:`remove_sa` or
        :meth:`remove_child` removes it.
        """
        limits = SaLimits.from_dict(keys.lifetime)
        sa_in = SecurityAssociation(
            keys.proto, keys.spi_in, keys.mode, keys.encr, keys.key_in_encr, keys.integ,
            keys.key_in_integ, tunnel_src=keys.remote_addr, tunnel_dst=keys.local_addr, esn=keys.esn,
            replay_window=keys.replay_window, encap=keys.encap,
            rng=self.rng.child(f"sa-in-{keys.spi_in:08x}"), limits=limits, name=keys.name)
        sa_out = SecurityAssociation(
            keys.proto, keys.spi_out, keys.mode, keys.encr, keys.key_out_encr, keys.integ,
            keys.key_out_integ, tunnel_src=keys.local_addr, tunnel_dst=keys.remote_addr, esn=keys.esn,
            replay_window=0, encap=keys.encap,
            rng=self.rng.child(f"sa-out-{keys.spi_out:08x}"), limits=limits, name=keys.name,
            tfc_pad=keys.tfc_pad)
        self.sad.add(SadEntry(sa_in, IN, keys.name, keys.remote_ts, keys.local_ts, now,
                              keys.unique_id, keys.ike_sa))
        self.sad.add(SadEntry(sa_out, OUT, keys.name, keys.local_ts, keys.remote_ts, now,
                              keys.unique_id, keys.ike_sa))
        self.add_local_addr(keys.local_addr)
        key = child_key(keys)
        pols = self._children.get(key)
        if pols is None:
            prio = specificity(keys.local_ts, keys.remote_ts)
            out = self.spd.add(Policy(keys.name, OUT, PROTECT, keys.local_ts, keys.remote_ts, prio,
                                      sa_out, keys.proto, keys.mode))
            inp = self.spd.add(Policy(keys.name, IN, PROTECT, keys.remote_ts, keys.local_ts, prio,
                                      None, keys.proto, keys.mode))
            self._children[key] = (out, inp)
        else:  # a new generation (rekey): same selectors, same policies, new outbound SA
            pols[0].sa = sa_out
        self._generations.setdefault(key, []).append(keys)
        return sa_in, sa_out

    def remove_sa(self, spi: int, direction: str | None = None) -> int:
        """Remove the SA(s) with SPI ``spi``; returns how many. A PROTECT policy whose
        outbound SA goes stays, without SA (its packets then raise :class:`NoSa`)."""
        removed = self.sad.remove(spi, direction)
        for e in removed:
            if e.direction == OUT:
                for out, _inp in self._children.values():
                    if out.sa is e.sa:
                        out.sa = None
        return len(removed)

    def remove_child(self, keys: ChildSaKeys) -> None:
        """Remove one generation of a child; its policies go with the last generation.

        Other children of the same name (another peer's, with other selectors) are untouched.
        """
        self.sad.remove(keys.spi_in, IN)
        self.sad.remove(keys.spi_out, OUT)
        key = child_key(keys)
        gens = self._generations.get(key, [])
        gens[:] = [g for g in gens if g.spi_in != keys.spi_in]
        pols = self._children.get(key)
        if pols is None:
            return
        if not gens:
            for p in pols:
                self.spd.remove(p)
            del self._children[key]
            self._generations.pop(key, None)
        elif pols[0].sa is not None and pols[0].sa.spi == keys.spi_out:
            newest = gens[-1]
            entry = self.sad.outbound.get(newest.spi_out)
            pols[0].sa = entry.sa if entry else None

    def use_outbound(self, keys: ChildSaKeys) -> bool:
        """Send the child's traffic on ``keys``' outbound SA (already installed); True if it is.

        Installing switches outbound to the newest generation; a rekey *collision*
        (RFC 7296 §2.8.1) can make the newest one redundant, so the engine's
        ``ChildSaRekeyed(old, new)`` names the successor and the shell points
        outbound at it -- otherwise the loser sends on an SA its peer is about to delete.
        """
        pols = self._children.get(child_key(keys))
        entry = self.sad.outbound.get(keys.spi_out)
        if pols is None or entry is None:
            return False
        pols[0].sa = entry.sa
        return True

    def current_outbound(self, child: ChildSaKeys | str) -> ChildSaKeys | None:
        """The generation of a child whose outbound SA its traffic leaves on now (None if no
        SA carries it).

        ``child`` is any generation's keys (the selectors say which child: a hub has one per
        peer under the same name), or a child name when only one child has it (ValueError
        otherwise). With :meth:`use_outbound` a shell installs a new generation without
        moving traffic to it yet: the responder of a CHILD_SA rekey
        (``ChildSaUp(outbound=False)``) passes the new keys here before installing them and
        keeps sending on the old SA until the initiator's DELETE of it, as strongSwan does.
        """
        if isinstance(child, str):
            keys = [k for k in self._children if k[0] == child]
            if len(keys) > 1:
                raise ValueError(f"{len(keys)} children are named {child!r} (one per peer?): "
                                 "pass the ChildSaKeys to say which")
            key = keys[0] if keys else None
        else:
            key = child_key(child)
        pols = self._children.get(key) if key is not None else None
        if key is None or pols is None or pols[0].sa is None:
            return None
        spi = pols[0].sa.spi
        return next((g for g in self._generations.get(key, ()) if g.spi_out == spi), None)

    def add_policy(self, direction: str, action: str, src: str | list, dst: str | list,
                   name: str = "", priority: float = 0) -> Policy:
        """A BYPASS / DISCARD rule (or a PROTECT trap without SA) from selector strings."""
        return self.spd.add_rule(direction, action, src, dst, name, priority)

    def next_event(self) -> SaLimitReached | None:
        """The next soft/hard limit event, or None."""
        return self.events.popleft() if self.events else None

    def sa_entries(self) -> list[SadEntry]:
        return self.sad.entries()

    def inbound_use_times(self) -> dict[int, float]:
        """Inbound SPI -> when its SA last decrypted a packet (-1.0: never), for DPD."""
        return {spi: e.sa.used_at for spi, e in self.sad.inbound.items()}

    # ------------------------------------------------------------ packet path

    def _drop(self, exc: PacketDrop) -> PacketDrop:
        self.drops[exc.reason] += 1
        return exc

    def _pull_events(self, sa: SecurityAssociation) -> None:
        self.events.extend(sa.events)
        sa.events.clear()

    def outbound(self, pkt: bytes, now: float = 0.0) -> bytes:
        """The packet to send for IPv4 packet ``pkt``: protected, or as it is (BYPASS / no policy).

        Raises :class:`NoSa` (``no_sa``) or PacketDrop ``policy_discard``,
        ``sa_expired``, ``seq_overflow``, ``malformed``.
        """
        # fast path: a flow already seen to go to a PROTECT policy with an SA (an 8-byte
        # key also means the packet has its 20-byte header; such flows' sources are not
        # ours, so they cannot be IKE); everything else is classified by _out_policy
        pol = self._out_protect.get(pkt[12:20])
        if pol is None or pol.sa is None:
            if pol is _BYPASSED:
                self._bypassed += 1
                return pkt
            pol = self._out_policy(pkt)
            if pol is None:
                return pkt
        sa = pol.sa
        assert sa is not None  # the flow cache and _out_policy only hand out policies with an SA
        pol.hits += 1
        try:
            out = sa.encapsulate(pkt)
        except PacketDrop as exc:
            self._pull_events(sa)
            raise self._drop(exc) from None
        if sa.events:
            self._pull_events(sa)
        self.last_sa = sa
        self._protected += 1
        return out

    def _out_policy(self, pkt: bytes) -> Policy | None:
        """The PROTECT policy (with an SA) for ``pkt``, or None to send it as it is (IKE,
        BYPASS, no policy); raises for DISCARD and for PROTECT without SA (:class:`NoSa`)."""
        if len(pkt) < 20:
            raise self._drop(PacketDrop(MALFORMED, f"{len(pkt)}-byte packet has no IPv4 header"))
        local_src = pkt[12:16] in self.local_addrs
        if pkt[9] == IPPROTO_UDP and local_src:
            sport, dport = ipv4_ports(pkt)
            if sport in _IKE_PORTS or dport in _IKE_PORTS:
                self._counters["ike"] += 1
                return None
        spd = self.spd
        pol = spd.lookup_ipv4(OUT, pkt)
        if pol is None or pol.action == BYPASS:
            self._bypassed += 1
            if spd.addr_only[OUT] and not local_src:  # e.g. a tunnel's decrypted packets
                if len(self._out_protect) >= FLOW_CACHE_MAX:
                    self._out_protect.clear()
                self._out_protect[pkt[12:20]] = _BYPASSED
            return None
        if pol.action == DISCARD:
            pol.hits += 1
            raise self._drop(PacketDrop(POLICY_DISCARD, pol.name))
        if spd.addr_only[OUT] and not local_src:
            # the answer depends on the addresses alone: remember it for the fast path
            if len(self._out_protect) >= FLOW_CACHE_MAX:
                self._out_protect.clear()
            self._out_protect[pkt[12:20]] = pol
        if pol.sa is None:
            pol.hits += 1
            raise self._drop(NoSa(pol))
        return pol

    def _is_local(self, dst: bytes) -> bool:
        return not self.local_addrs or dst in self.local_addrs

    def inbound(self, pkt: bytes, now: float = 0.0) -> bytes | None:
        """Process a received IPv4 packet; see the module docstring for the return values."""
        n = len(pkt)
        if n >= 28:
            # fast path: ESP behind a plain 20-byte header, its length that of the packet,
            # to us, for an inbound ESP SA
            vihl, tlen, proto, dst, spi = _IN_HEAD(pkt)
            if (vihl == 0x45 and proto == IPPROTO_ESP and tlen == n
                    and (dst in self.local_addrs or not self.local_addrs)):
                entry = self._sad_in.get(spi)
                if entry is not None and entry.sa.proto == "esp":
                    # _sa_in, inlined
                    sa = entry.sa
                    try:
                        inner = sa.decapsulate(pkt)
                    except PacketDrop as exc:
                        if sa.events:
                            self._pull_events(sa)
                        raise self._drop(exc) from None
                    if sa.events:
                        self._pull_events(sa)
                    if inner[12:20] in entry.allowed or entry.allows_ipv4(inner):
                        self.last_sa = sa
                        self._decapsulated += 1
                        sa.used_at = now
                        return inner
                    sa.drops[POLICY_MISMATCH] += 1
                    raise self._drop(PacketDrop(POLICY_MISMATCH, f"inner packet does not fit child {entry.child}"))
        self._now = now
        return self._inbound(pkt)

    def _inbound(self, pkt: bytes) -> bytes | None:
        n = len(pkt)
        if n < 20 or pkt[0] != 0x45 or not 20 <= ((pkt[2] << 8) | pkt[3]) <= n:
            try:  # options or a broken header: the full parser says what is wrong
                parse_ipv4(pkt)
            except DecodeError as exc:
                raise self._drop(PacketDrop(MALFORMED, str(exc))) from None
        proto = pkt[9]
        dst = pkt[16:20]
        local = self._is_local(dst)
        if local and (proto == IPPROTO_ESP or proto == IPPROTO_AH):
            # the SA checks the outer header (checksum included) before anything else
            return self._ipsec_in(pkt, (pkt[0] & 15) * 4)
        if (pkt[0] & 15) == 5 and header_checksum(pkt) != 0:
            raise self._drop(PacketDrop(MALFORMED, "IPv4 header checksum is wrong"))
        if local:
            if proto == IPPROTO_UDP:
                sport, dport = ipv4_ports(pkt)
                if dport == NATT_PORT:
                    hl = (pkt[0] & 15) * 4
                    payload = pkt[hl + 8:(pkt[2] << 8) | pkt[3]]
                    kind = classify(payload)
                    if kind == KIND_KEEPALIVE:
                        self._counters["keepalives"] += 1
                        return b""
                    if kind == KIND_ESP:
                        return self._ipsec_in(pkt, hl + 8)
                    if kind == KIND_IKE:
                        self._counters["ike"] += 1
                        return None
                    raise self._drop(PacketDrop(MALFORMED, f"{len(payload)}-byte UDP-4500 payload"))
                if dport in _IKE_PORTS or sport in _IKE_PORTS:
                    self._counters["ike"] += 1
                    return None
        pol = self.spd.lookup_ipv4(IN, pkt)
        if pol is not None and pol.action != BYPASS:
            pol.hits += 1
            if pol.action == DISCARD:
                raise self._drop(PacketDrop(POLICY_DISCARD, pol.name))
            raise self._drop(PacketDrop(CLEARTEXT_REFUSED, f"policy {pol.name} requires {pol.proto.upper()}"))
        self._counters["plain_in"] += 1
        return None

    def cleartext_in(self, pkt: bytes) -> None:
        """Check a packet that arrived in cleartext on an interface, before it is delivered
        or forwarded; raises PacketDrop ``cleartext_refused`` (an inbound PROTECT policy covers
        it) or ``policy_discard``.

        RFC 4301 §5.2: an unprotected inbound packet is looked up in the SPD and discarded
        unless a BYPASS policy (or none) covers it -- Linux checks forwarded packets against
        its ``fwd`` policies the same way (``xfrm_policy_check``), strongSwan installing
        in/fwd policies with every CHILD_SA (``child_sa.c`` ``install_policies``). ESP/AH
        and IKE (UDP 500/4500) addressed to us are not cleartext: :meth:`inbound` takes them.
        """
        key = pkt[12:20]
        pol = self.cleartext_verdicts.get(key, _MISS)
        if pol is None:
            return
        if pol is _MISS:
            pol = self._cleartext_policy(pkt, key)
            if pol is None:
                return
        assert isinstance(pol, Policy)
        pol.hits += 1
        if pol.action == DISCARD:
            raise self._drop(PacketDrop(POLICY_DISCARD, pol.name))
        raise self._drop(PacketDrop(CLEARTEXT_REFUSED, f"policy {pol.name} requires {pol.proto.upper()}"))

    def _cleartext_policy(self, pkt: bytes, key: bytes) -> Policy | None:
        """The inbound policy refusing cleartext ``pkt`` (None: allowed), remembered per
        address pair when that is all the inbound policies look at."""
        local = self._is_local(pkt[16:20])
        if local and pkt[9] == IPPROTO_UDP and len(pkt) >= 28:
            sport, dport = ipv4_ports(pkt)
            if sport in _IKE_PORTS or dport in _IKE_PORTS:
                return None  # IKE and ESP-in-UDP to us: inbound() takes them
        spd = self.spd
        pol = spd.lookup_ipv4(IN, pkt)
        if pol is not None and pol.action == BYPASS:
            pol = None
        if spd.addr_only[IN] and not local:
            if len(self.cleartext_verdicts) >= FLOW_CACHE_MAX:
                self.cleartext_verdicts.clear()
            self.cleartext_verdicts[key] = pol
        return pol

    def _ipsec_in(self, pkt: bytes, off: int) -> bytes:
        """ESP, AH or ESP-in-UDP whose ESP/AH header starts at ``off``."""
        if len(pkt) < off + 8:
            raise self._drop(PacketDrop(MALFORMED, "ESP/AH header truncated"))
        spi = _U32(pkt, off + 4 if pkt[9] == IPPROTO_AH else off)[0]
        entry = self._sad_in.get(spi)
        if entry is None:
            raise self._drop(PacketDrop(UNKNOWN_SPI, f"no inbound SA with SPI 0x{spi:08x}"))
        sa = entry.sa
        want = IPPROTO_AH if sa.proto == "ah" else IPPROTO_ESP
        if pkt[9] != want and not (pkt[9] == IPPROTO_UDP and want == IPPROTO_ESP):
            raise self._drop(PacketDrop(UNKNOWN_SPI, f"SPI 0x{spi:08x} is an {sa.proto.upper()} SA"))
        return self._sa_in(entry, pkt)

    def _sa_in(self, entry: SadEntry, pkt: bytes) -> bytes:
        """Decapsulate with the entry's SA, then check the inner packet against its selectors
        (RFC 4301 §5.2 step 4)."""
        sa = entry.sa
        try:
            inner = sa.decapsulate(pkt)
        except PacketDrop as exc:
            if sa.events:
                self._pull_events(sa)
            raise self._drop(exc) from None
        if sa.events:
            self._pull_events(sa)
        if not (inner[12:20] in entry.allowed or entry.allows_ipv4(inner)):
            sa.drops[POLICY_MISMATCH] += 1
            raise self._drop(PacketDrop(POLICY_MISMATCH, f"inner packet does not fit child {entry.child}"))
        self.last_sa = sa
        self._decapsulated += 1
        sa.used_at = self._now
        return inner

    def stats(self) -> dict:
        """Counters of the stack and of every SA, as plain dicts (for summaries)."""
        return {
            "drops": dict(self.drops),
            "counters": dict(self.counters),
            "sas": [{"spi": f"0x{e.sa.spi:08x}", "direction": e.direction, "child": e.child,
                     "proto": e.sa.proto, "packets": e.sa.packets, "bytes": e.sa.bytes,
                     "drops": dict(e.sa.drops)} for e in self.sad.entries()],
        }
