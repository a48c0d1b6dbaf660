"""One IPsec node, sans-IO: an IPsec stack (SPD/SAD, ESP/AH) joined to an IKEv2 endpoint.

This is where a gateway's behaviour lives, once, for every shell: the simulator
(:mod:`ipsecsim.sim.gateway`), ``ipsecsim peer`` on real sockets
(:mod:`ipsecsim.peer.runner`) and plain unit tests with no event loop. Shaped like
aioquic's ``QuicConnection``: packets and ``now`` go in, work comes out, and the node
never reads a clock or touches a socket.

In::

    receive_packet(data, iface, now)   an IP packet from an interface (any kind)
    send_packet(data, now)             an IP packet this node originates or forwards
    handle_timer(now)                  when get_timer() says so
    start(now) / initiate(...) / close(now)

Out::

    packets_to_send()      IP packets for the wire: protected traffic, IKE in UDP
    packets_to_deliver()   IP packets for this node or to forward: decrypted, or allowed cleartext
    next_event()           what happened, in order: the IKE endpoint's events (after the node
                           acted on them) and the node's own (:mod:`.node_events`)
    get_timer()            when to call handle_timer

A shell that needs to tie each result to its own packet (the simulator's packet ids and
per-hop records) calls the per-packet steps those two entry points are built on --
:meth:`protect`, :meth:`unprotect`, :meth:`receive_ike`, :meth:`check_cleartext` --
which return their result or raise :class:`~ipsecsim.core.errors.PacketDrop`. Either way
the same code decides.

What the node does on its own (what the shells used to do, differently):

* installs a CHILD_SA's SAs and policies on ``ChildSaUp`` (a rekey responder keeps sending
  on the old SA until ``ChildSaRekeyed``), switches on ``ChildSaRekeyed``, removes on
  ``ChildSaDown``; a CHILD_SA the data plane refuses gets a DISCARD policy;
* traps: ``start_action: trap`` children get a trap policy at :meth:`start`; a packet that
  hits a PROTECT policy without SA (``no_sa``) starts IKE for its child, at most once a
  second per child (strongSwan's acquire); a break-before-make reauthentication leaves a
  trap over the CHILD_SA's selectors until it is back, so the gap's packets are dropped,
  not sent in the clear;
* a CHILD_SA that IKE refused gets a DISCARD policy over its config's selectors;
* soft/hard byte and packet limits of the data plane go to IKE at once (rekey, expire);
* ESP/AH decrypted on a CHILD_SA counts as a sign of life for DPD (reported before each
  IKE timer, as strongSwan's DPD job asks the kernel for the SA's use time);
* fragments addressed to the node are reassembled before IPsec input (Linux does so too).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from . import ip
from .blocks import TRAP, Block, Blocks
from .errors import MALFORMED, NO_SA, ConfigError, DecodeError, PacketDrop
from .ike import events as E
from .ike.config import ChildConfig, ConnectionConfig, IkeConfig
from .ike.cp_events import VirtualIpInstalled, VirtualIpRemoved
from .ike.endpoint import IkeEndpoint
from .keys import ChildSaKeys
from .natt import IKE_PORT, NATT_PORT
from .node_events import (
    Note,
    PacketDropped,
    SaInstalled,
    SaInstallFailed,
    SaRemoved,
)
from .rng import Rng
from .selectors import TrafficSelector
from .spd import Policy, specificity
from .stack import IPsecStack, NoSa, child_key

__all__ = ["ACQUIRE_INTERVAL", "Block", "IpsecNode", "TRAP"]

ACQUIRE_INTERVAL = 1.0
"""Seconds between two acquires for one child (strongSwan ignores a child's acquires while
one is being handled)."""

SAME_INSTANT_ROUNDS = 50
"""Timer rounds allowed at one instant before the node steps the timer 1 ms (a guard
against a core bug turning into an endless loop at one simulated time)."""

IKE_PORTS = (IKE_PORT, NATT_PORT)


class IpsecNode:
    """An IPsec stack and (with ``config``) an IKEv2 endpoint, and the glue between them.

    ``local_addrs`` are the node's addresses (the first is the local end of a connection
    without ``local_addrs``); ``ident`` numbers the IP headers of the IKE datagrams the node
    wraps (a shell that numbers its other packets passes its counter)."""

    def __init__(self, name: str, rng: Rng, local_addrs: Iterable[str],
                 config: IkeConfig | None = None, ca: Any = None,
                 ident: Callable[[], int] | None = None) -> None:
        self.name = name
        self.local_addrs = list(local_addrs)
        self.stack = IPsecStack(rng.child("stack"), name, self.local_addrs)
        """The SPD, SAD and packet processing (read: ``sa_entries()``, ``spd``, ``drops``)."""
        self.ike: IkeEndpoint | None = None
        if config is not None and config.connections:
            kwargs = {"ca": ca} if ca is not None else {}
            self.ike = IkeEndpoint(config, rng.child("ike"), name, **kwargs)
        self.children: dict[tuple[str, int], ChildSaKeys] = {}
        """Installed CHILD_SAs by (name, unique_id)."""
        self.events: deque[Any] = deque()
        """Events not pulled yet (:meth:`next_event`); truthy when any wait, which is all a
        shell's per-packet path needs to ask after :meth:`protect` / :meth:`unprotect`."""
        self._blocks = Blocks(self.stack, config, self.local_addrs, self.events)
        self.blocks: dict[str, list[Block]] = self._blocks.by_child
        """Blocking policies (traps, discards) of each child name, one :class:`Block` per
        config or CHILD_SA instance they stand in for (see :meth:`block_child`)."""
        self.acquired: dict[str, float] = {}
        """Child name -> when IKE was last started for it by a ``no_sa`` packet."""
        self.virtual_ips: list[str] = []
        """Addresses a peer's CFG_REPLY gave us (``ike/cp.py``): ours, and the source of our
        traffic into the tunnel (charon installs them on the host)."""
        self.reassembler = ip.Reassembler()
        self._ident = ident or self._next_ident
        self._ip_id = 0
        self._to_send: list[Any] = []
        self._to_deliver: list[Any] = []
        self._spi_in_of_out: dict[int, int] = {}
        self._inbound_seen: dict[int, float] = {}
        self._now = 0.0
        self._last_fire = -1.0
        self._same_instant = 0

    # ------------------------------------------------------------------ control

    def start(self, now: float) -> None:
        """Install the traps of ``start_action: trap`` children and bring up the connections
        whose children say ``start_action: start``."""
        self._now = now
        if self.ike is not None:
            for conn in self.ike.config.connections:
                for ch in conn.children:
                    if ch.start_action == "trap":
                        self.block_child(ch.name, "protect", "trap")
            self.ike.start(now)
            self._process(now)

    def install_manual(self, keys: ChildSaKeys, now: float) -> None:
        """Install a manually keyed CHILD_SA (no IKE), as IKE's ``ChildSaUp`` would."""
        self._install(keys, now)

    def initiate(self, connection: str, now: float, child: str | None = None) -> str:
        """Start an IKE_SA (and ``child``, else the connection's children); its name."""
        name = self._ike().initiate(connection, now, child)
        self._process(now)
        return name

    def rekey_child(self, spi_in: int, now: float) -> None:
        """Rekey the CHILD_SA with our inbound SPI ``spi_in`` (``swanctl --rekey --child``)."""
        self._ike().rekey_child(spi_in, now)
        self._process(now)

    def rekey_ike(self, name: str, now: float) -> None:
        """Rekey the IKE_SA ``name`` (``swanctl --rekey --ike``)."""
        self._ike().rekey_ike(name, now)
        self._process(now)

    def delete_child(self, spi_in: int, now: float) -> None:
        """Delete the CHILD_SA with our inbound SPI ``spi_in`` (``swanctl --terminate --child``)."""
        self._ike().delete_child(spi_in, now)
        self._process(now)

    def delete_ike(self, name: str, now: float) -> None:
        """Delete the IKE_SA ``name`` and its CHILD_SAs (``swanctl --terminate --ike``)."""
        self._ike().delete_ike(name, now)
        self._process(now)

    def process(self, now: float) -> None:
        """Act on whatever the IKE endpoint has queued since the node last looked -- after
        code that drives the endpoint directly (a test starting a task by hand)."""
        self._process(now)

    def close(self, now: float) -> None:
        """Delete every IKE_SA (INFORMATIONAL with a Delete payload each)."""
        if self.ike is not None:
            self.ike.close(now)
            self._process(now)

    def restart(self, rng: Rng, now: float) -> None:
        """A power cycle: every CHILD_SA's SAs go (as on its ``ChildSaDown`` with reason
        ``reboot``) and a fresh IKE endpoint -- same configuration and credentials, new
        random draws from ``rng`` -- replaces the old one, knowing nothing of its IKE_SAs.
        Call :meth:`start` to bring the connections up again."""
        for keys in list(self.children.values()):
            self.handle_ike_event(E.ChildSaDown(keys, "reboot"), now)
        old = self.ike
        if old is not None:
            self.ike = IkeEndpoint(old.config, rng, self.name, ca=old.ca, trust=old.trust)
        self.acquired.clear()
        self._inbound_seen = {}

    def _ike(self) -> IkeEndpoint:
        if self.ike is None:
            raise ConfigError(f"node {self.name} has no IKE connections")
        return self.ike

    # ------------------------------------------------------------------ output

    def next_event(self) -> Any:
        """The next event, or None: IKE's (:mod:`.ike.events`) and the node's (:mod:`.node_events`)."""
        return self.events.popleft() if self.events else None

    def packets_to_send(self) -> list[Any]:
        """IP packets for the wire since the last call (tags as given to :meth:`send_packet`;
        None for the node's own IKE datagrams)."""
        out, self._to_send = self._to_send, []
        return out

    def packets_to_deliver(self) -> list[Any]:
        """(IP packet, tag) for this node or to forward, since the last call: the inner
        packets of ESP/AH, and cleartext the inbound policies allow."""
        out, self._to_deliver = self._to_deliver, []
        return out

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` wants to run (None: nothing scheduled)."""
        t = self.ike.get_timer() if self.ike is not None else None
        r = self.reassembler.get_timer() if len(self.reassembler) else None
        if r is not None and (t is None or r < t):
            t = r
        if t is not None and t <= self._now:
            # due again right after handling it: allow a few rounds, then step 1 ms
            self._same_instant = self._same_instant + 1 if self._last_fire == self._now else 0
            if self._same_instant > SAME_INSTANT_ROUNDS:
                t = self._now + 0.001
        return t

    def handle_timer(self, now: float) -> None:
        """Run IKE's timers (retransmits, rekeys, DPD, expiry) due by ``now``, and give up
        on fragments that waited too long for the rest of their datagram (``frag_timeout``)."""
        self._now = self._last_fire = now
        if len(self.reassembler):
            for tag in self.reassembler.handle_timer(now):
                self.events.append(PacketDropped("frag_timeout", "reassembly timed out", tag))
        ike = self.ike
        if ike is None:
            return
        self._report_inbound()
        try:
            ike.handle_timer(now)
        except Exception as exc:  # noqa: BLE001 - a core bug is a note, never the end of a run
            self.events.append(Note(f"IKE timer error: {exc!r}"))
        self._process(now)

    # ------------------------------------------------------------------ input

    def send_packet(self, data: bytes, now: float, tag: object = None) -> None:
        """An IP packet this node originates or forwards: protected, sent as it is, or dropped
        (a :class:`PacketDropped` event)."""
        try:
            out = self.protect(data, now)
        except PacketDrop as exc:
            self.events.append(PacketDropped(exc.reason, exc.detail, tag))
            return
        self._to_send.append((out, tag))

    def receive_packet(self, data: bytes, iface: object, now: float, tag: object = None) -> None:
        """An IP packet that arrived on ``iface``. Never raises: whatever it is, it ends up
        delivered (:meth:`packets_to_deliver`), taken by IKE, or dropped with a reason."""
        self._now = now
        try:
            self._receive(data, now, tag)
        except PacketDrop as exc:
            self.events.append(PacketDropped(exc.reason, exc.detail, tag))
        except DecodeError as exc:
            self.events.append(PacketDropped(MALFORMED, str(exc), tag))

    def _receive(self, data: bytes, now: float, tag: object) -> None:
        if len(data) < 20 or data[0] >> 4 != 4:
            raise PacketDrop(MALFORMED, f"{len(data)}-byte packet is not IPv4")
        local = data[16:20] in self.stack.local_addrs
        if local and (data[6] & 0x3F or data[7]):  # MF or an offset: reassemble first
            whole = self.reassembler.add(data, now, tag)
            if whole is None:
                return
            data = whole
        proto = data[9]
        if local and proto == ip.IPPROTO_UDP:
            h = ip.parse_ipv4(data)
            u, payload = ip.parse_udp(data, verify=False)
            if u.dport in IKE_PORTS and (u.dport == IKE_PORT or payload[:4] == b"\0\0\0\0"):
                self.receive_ike(payload, (h.src_str, u.sport), (h.dst_str, u.dport), now)
                return
        if local and (proto == ip.IPPROTO_ESP or proto == ip.IPPROTO_AH or proto == ip.IPPROTO_UDP):
            inner = self.unprotect(data, now)
            if inner is not None:
                if inner:
                    self._to_deliver.append((inner, tag))
                return  # b"": consumed (a NAT keepalive)
        self.check_cleartext(data)
        self._to_deliver.append((data, tag))

    # ------------------------------------------------------------------ per-packet steps

    def protect(self, pkt: bytes, now: float) -> bytes:
        """Outbound IPsec processing of IPv4 packet ``pkt``: its protected form, or ``pkt``
        itself (the same object) when no policy protects it. Raises PacketDrop (counted in
        ``stack.drops``); a ``no_sa`` drop has started IKE for the packet's child first."""
        stack = self.stack
        try:
            out = stack.outbound(pkt, now)
        except PacketDrop as exc:
            if exc.reason == NO_SA:
                self._acquire(exc, pkt, now)
            if stack.events:
                self._stack_events(now)
            raise
        except DecodeError as exc:
            raise PacketDrop(MALFORMED, str(exc)) from None
        if stack.events:
            self._stack_events(now)
        return out

    def unprotect(self, pkt: bytes, now: float) -> bytes | None:
        """Inbound IPsec processing of a whole (reassembled) IPv4 packet addressed to us: the
        inner packet of ESP/AH/ESP-in-UDP, ``b""`` when consumed (a NAT keepalive), None when
        it is not IPsec for us (IKE, allowed cleartext). Raises PacketDrop (counted)."""
        stack = self.stack
        try:
            res = stack.inbound(pkt, now)
        except PacketDrop:
            if stack.events:
                self._stack_events(now)
            raise
        except DecodeError as exc:
            raise PacketDrop(MALFORMED, str(exc)) from None
        if stack.events:
            self._stack_events(now)
        return res

    def check_cleartext(self, pkt: bytes) -> None:
        """Raise PacketDrop ``cleartext_refused`` / ``policy_discard`` for a cleartext packet
        from an interface that the inbound policies say must arrive protected (RFC 4301 §5.2).
        The verdicts per address pair are in :attr:`cleartext_verdicts`."""
        self.stack.cleartext_in(pkt)

    @property
    def cleartext_verdicts(self) -> dict[bytes, Policy | None]:
        """See :attr:`IPsecStack.cleartext_verdicts` (a hot loop may consult it inline)."""
        return self.stack.cleartext_verdicts

    def receive_ike(self, payload: bytes, src: tuple[str, int], dst: tuple[str, int],
                    now: float) -> None:
        """An IKE datagram (UDP payload; on 4500 with its non-ESP marker). Raises PacketDrop
        ``no_listener`` when the node runs no IKE, ``ike_error`` when the engine failed on it
        (a core bug: the packet is dropped and the run goes on)."""
        ike = self.ike
        if ike is None:
            raise PacketDrop("no_listener", f"udp/{dst[1]}: no IKE")
        self._now = now
        try:
            ike.receive_datagram(payload, src=src, dst=dst, now=now)
        except Exception as exc:  # noqa: BLE001 - a core bug is a counted drop, not a crash
            self._process(now)
            raise PacketDrop("ike_error", repr(exc)) from None
        self._process(now)

    # ------------------------------------------------------------------ IKE glue

    def _process(self, now: float) -> None:
        """Act on IKE's events (queueing them for the shell) and wrap its datagrams."""
        self._now = now
        ike = self.ike
        if ike is None:
            return
        events = self.events
        while (ev := ike.next_event()) is not None:
            events.append(ev)
            try:
                self._on_ike_event(ev, now)
            except Exception as exc:  # noqa: BLE001 - recorded, never ends a run
                events.append(Note(f"IKE event {type(ev).__name__} failed: {exc!r}"))
        for payload, src, dst in ike.datagrams_to_send(now):
            pkt = ip.udp(ip.aton(src[0]), ip.aton(dst[0]), src[1], dst[1], payload, self._ident())
            self._to_send.append((pkt, None))
        if self.stack.events:
            self._stack_events(now)

    def handle_ike_event(self, ev: Any, now: float) -> None:
        """Act on one IKE event as if the endpoint had produced it (tests, a restart model);
        the event and what the node did are queued for :meth:`next_event`."""
        self.events.append(ev)
        self._on_ike_event(ev, now)
        self._process(now)

    def _on_ike_event(self, ev: Any, now: float) -> None:
        match ev:
            case E.ChildSaUp(keys=keys, outbound=outbound):
                # outbound=False (a rekey responder): traffic stays on the current SA until
                # ChildSaRekeyed, as strongSwan installs the responder's outbound SA late
                keep = None if outbound else self.stack.current_outbound(keys)
                self._install(keys, now)
                if keep is not None:
                    self.stack.use_outbound(keep)
            case E.ChildSaRekeyed(new=new):
                self.stack.use_outbound(new)  # the successor, also when a collision was lost
            case E.ChildSaDown(keys=keys, reason=reason):
                self._remove(keys, str(reason))
            case VirtualIpInstalled(address=vip):
                if vip not in self.virtual_ips:
                    self.virtual_ips.append(vip)
                    self.stack.add_local_addr(vip)  # inbound packets to it are ours
            case VirtualIpRemoved(address=vip) if vip in self.virtual_ips and not any(
                    vip in sa.local_vips for sa in self._ike().ike_sas.values()):
                self.virtual_ips.remove(vip)  # no other IKE_SA (a reauthentication) holds it
            case E.IkeFailure(child=child, ike_sa=ike_sa, notify=notify, reason=reason) if child:
                # ChildSaKeys.ike_sa names the IKE_SA that made the child; an IKE_SA rekey
                # moves it to a new one (RFC 7296 §2.18): ask which CHILD_SAs it holds now
                held = {c.spi_in for sa in self._ike().ike_sas.values() if sa.name == ike_sa
                        for c in sa.children}
                if not any(k.name == child and k.spi_in in held for k in self.children.values()):
                    # refused, not a rekey of one this IKE_SA still has: its traffic is
                    # dropped with this reason, not sent in the clear
                    self.block_child(child, "discard", f"{notify}: {reason}")
            case _:
                pass

    def _install(self, keys: ChildSaKeys, now: float) -> None:
        self._blocks.lift(keys)
        try:
            self.stack.install_child(keys, now)
        except ConfigError as exc:
            why = str(exc)
            self.stack.add_policy("out", "discard", [str(t) for t in keys.local_ts],
                                  [str(t) for t in keys.remote_ts],
                                  name=f"{keys.name} not installed: {why}",
                                  priority=specificity(keys.local_ts, keys.remote_ts))
            self.events.append(SaInstallFailed(keys, why))
            return
        self.children[(keys.name, keys.unique_id)] = keys
        self._spi_in_of_out[keys.spi_out] = keys.spi_in
        self.events.append(SaInstalled(keys))

    def _remove(self, keys: ChildSaKeys, reason: str) -> None:
        self.children.pop((keys.name, keys.unique_id), None)
        self._spi_in_of_out.pop(keys.spi_out, None)
        try:
            self.stack.remove_child(keys)
        except Exception as exc:  # noqa: BLE001 - a missing SA must not end the run
            self.events.append(Note(f"remove_child {keys.name} failed: {exc!r}"))
        self.events.append(SaRemoved(keys, reason))
        if reason.startswith("reauthenticating"):
            key = child_key(keys)
            if not any(child_key(k) == key for k in self.children.values()):
                # break-before-make reauthentication: until the new IKE_SA brings this
                # CHILD_SA back its traffic is dropped (no_sa), not sent in the clear; the trap
                # covers its own selectors only (a hub's other peers keep their SAs)
                self.block_child(keys.name, "protect", "reauthentication", keys=keys)

    def _stack_events(self, now: float) -> None:
        """SAs crossed soft/hard limits: queue each and tell IKE, which rekeys (soft) or
        expires (hard) the child at once, not at its next timer (strongSwan queues the rekey
        job on the kernel's expire message)."""
        stack = self.stack
        ike = self.ike
        while (ev := stack.next_event()) is not None:
            self.events.append(ev)
            if ike is not None:
                # the engine names a child by our inbound SPI; an outbound SA maps to its pair
                spi = self._spi_in_of_out.get(ev.spi, ev.spi)
                try:
                    ike.sa_limit_reached(spi, ev.which, now)
                except Exception as exc:  # noqa: BLE001 - recorded, never ends a run
                    self.events.append(Note(f"sa_limit_reached failed: {exc!r}"))
        self._process(now)

    def _report_inbound(self) -> None:
        """Tell IKE when each inbound SA last decrypted a packet, so that DPD counts ESP as a
        sign of life (strongSwan asks the kernel the same when its DPD job runs:
        ``child_sa.c`` ``get_usestats()``); only SAs used since the last look are reported."""
        ike = self.ike
        assert ike is not None
        seen = self.stack.inbound_use_times()
        last = self._inbound_seen
        self._inbound_seen = seen
        for spi, t in seen.items():
            if t > last.get(spi, -1.0):
                ike.note_inbound(spi, t)

    def _acquire(self, exc: PacketDrop, pkt: bytes, now: float) -> None:
        """A packet hit a PROTECT policy without SA: negotiate its child, at most once per
        :data:`ACQUIRE_INTERVAL` per child."""
        ike = self.ike
        if ike is None:
            return
        names = [c.name for conn in ike.config.connections for c in conn.children]
        child = exc.child if isinstance(exc, NoSa) else ""
        if child not in names:
            child = self._child_for(pkt)
        if not child or now - self.acquired.get(child, -1e9) < ACQUIRE_INTERVAL:
            return
        self.acquired[child] = now
        try:
            ike.acquire(child, now)
        except Exception as exc2:  # noqa: BLE001
            self.events.append(Note(f"acquire {child} failed: {exc2!r}"))
        self._process(now)

    def _child_for(self, pkt: bytes) -> str:
        """The child whose configured selectors cover this packet's addresses (for acquire)."""
        ike = self._ike()
        src, dst = int.from_bytes(pkt[12:16], "big"), int.from_bytes(pkt[16:20], "big")
        first = ""
        for conn in ike.config.connections:
            for ch in conn.children:
                first = first or ch.name
                lts = [TrafficSelector.parse(t) for t in ch.local_ts if t != "dynamic"]
                rts = [TrafficSelector.parse(t) for t in ch.remote_ts if t != "dynamic"]
                if (not lts or any(t.contains_addr(src) for t in lts)) and (
                        not rts or any(t.contains_addr(dst) for t in rts)):
                    return ch.name
        return first

    # ------------------------------------------------------------------ blocks

    def child_config(self, name: str) -> tuple[ConnectionConfig, ChildConfig] | None:
        """The connection and child config named ``name`` (None if there is none)."""
        return self._blocks.child_config(name)

    def block_child(self, name: str, action: str, why: str, keys: ChildSaKeys | None = None) -> bool:
        """Cover a child's traffic with a trap (``protect``) or a ``discard`` while it has no
        SA; False if none was installed (:meth:`.blocks.Blocks.add`)."""
        return self._blocks.add(name, action, why, keys)

    # ------------------------------------------------------------------ read API

    def sa_entries(self) -> list[Any]:
        """The SAD's entries (both directions of every installed CHILD_SA)."""
        return self.stack.sa_entries()

    def policies(self, direction: str) -> list[Policy]:
        """The SPD's policies for ``in`` or ``out``, in lookup order."""
        return self.stack.spd.policies(direction)

    def stats(self) -> dict[str, Any]:
        """The stack's counters and every SA's, as plain dicts."""
        return self.stack.stats()

    def _next_ident(self) -> int:
        self._ip_id = (self._ip_id + 1) & 0xFFFF
        return self._ip_id
