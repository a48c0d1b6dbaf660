"""Security gateways: a host or router with an IPsec stack (SPD/SAD) and an IKEv2 endpoint.

The node is a thin shell around the sans-IO core, as aioquic's asyncio adapter
is around its ``QuicConnection``: packets and ``now`` go in, datagrams, timers
and events come out. This module

* runs every packet the node originates or forwards through ``stack.outbound``
  (PROTECT -> encrypted bytes; ``no_sa`` -> counted drop and an IKE ``acquire``),
  and checks the *encrypted* size against the egress MTU: an inner packet with DF
  that no longer fits is dropped and its source gets ICMP "fragmentation needed"
  with the MTU minus the IPsec overhead (RFC 4301 §8.2); without DF the outer
  packet is fragmented;
* hands ESP, AH and ESP-in-UDP addressed to the node to ``stack.inbound`` and
  re-injects the inner packet; IKE datagrams (UDP 500, UDP 4500 with the non-ESP
  marker) go to the IKE endpoint;
* drives the endpoint's timer with one scheduled SimPy event, and turns its
  events into trace records and SAD installs/removals.

Manual keying (``ipsec: {manual: [...]}``) installs a :class:`ChildSaKeys` built
from the seed instead of running IKE: both ends derive the same key from the
SPI, so the data plane can be exercised alone.
"""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING, Any, NamedTuple

from simpy.events import Timeout

from ..core import algorithms as A
from ..core.errors import NO_SA, ConfigError, DecodeError, PacketDrop
from ..core.keys import ChildSaKeys
from ..core.proposals import parse_proposal
from ..core.rng import Rng
from ..core.selectors import TrafficSelector
from ..core.spd import specificity
from ..core.stack import child_key
from ..trace import HeaderPatch
from . import packet as P
from .ikeevents import handle_event, handle_stack_event
from .network import SEALED_MAX
from .nodes import Node

if TYPE_CHECKING:
    from .network import Network

IKE_PORT = 500
NATT_PORT = 4500
_SPI_SEQ = struct.Struct("!II")


TRAP = "trap"
"""Scope of a config's start trap: it stays while CHILD_SAs come and go."""


class Block(NamedTuple):
    """A blocking policy (trap or discard) and what it stands in for: :data:`TRAP` (the
    config, for its life), None (the config until a CHILD_SA of its name installs), or a
    :func:`~ipsecsim.core.stack.child_key` (that CHILD_SA instance, until it is back)."""

    policy: Any
    scope: Any


class _IkePort:
    """UDP listener for 500/4500 that feeds the gateway's IKE endpoint or its stack."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    def udp_receive(self, node: Node, data: bytes, pkt_id: int) -> None:
        self.gw.udp_ike(data, pkt_id)


class Gateway(Node):
    """A node with an IPsec stack and (unless manually keyed) an IKEv2 endpoint."""

    role = "gateway"

    def __init__(self, net: Network, name: str, addrs: list[str], forwarding: bool,
                 ipsec: dict[str, Any], rng: Rng, ca: Any = None) -> None:
        super().__init__(net, name, addrs, forwarding)
        from ..core.stack import IPsecStack

        self.rng = rng
        self.stack = IPsecStack(rng.child("stack"), name, [i.name for i in self.ifaces])
        self._cleartext = self.stack._in_plain  # Node.receive's check (the stack empties it in place)
        self.ike: Any = None
        self._timer_at: float | None = None
        self._timer_gen = 0
        self._last_fire = -1.0
        self._same_instant = 0
        self._inbound_seen: dict[int, float] = {}
        """Inbound SPI -> its use time at the last IKE timer (see ``_report_inbound``)."""
        self.acquired: dict[str, float] = {}
        self.blocks: dict[str, list[Block]] = {}
        """Blocking policies (traps, discards) of each child name, one :class:`Block` per
        config or CHILD_SA instance they stand in for (see :meth:`block_child`)."""
        self.children: dict[tuple[str, int], ChildSaKeys] = {}
        """Installed child SAs by (name, unique_id), for the Wireshark export."""
        self.udp_listeners[IKE_PORT] = _IkePort(self)
        self.udp_listeners[NATT_PORT] = _IkePort(self)
        if ipsec.get("connections"):
            from ..core.ike.config import IkeConfig
            from ..core.ike.endpoint import IkeEndpoint

            cfg = IkeConfig.from_dict({k: v for k, v in ipsec.items() if k != "manual"},
                                      source=f"node {name}")
            kwargs = {"ca": ca} if ca is not None else {}
            self.ike = IkeEndpoint(cfg, rng.child("ike"), name, **kwargs)
        self.manual = [manual_keys(m, net.seed) for m in ipsec.get("manual", [])]

    # --- start -------------------------------------------------------------------
    def start(self) -> None:
        now = self.net.env.now
        for keys in self.manual:
            self._install(keys, now)
        if self.ike is not None:
            for conn in self.ike.config.connections:
                for ch in conn.children:
                    if ch.start_action == "trap":
                        self.block_child(ch.name, "protect", "trap")
            self.ike.start(now)
            self._pump()

    def _child_config(self, name: str) -> tuple[Any, Any] | None:
        if self.ike is None:
            return None
        for conn in self.ike.config.connections:
            for ch in conn.children:
                if ch.name == name:
                    return conn, ch
        return None

    def block_child(self, name: str, action: str, why: str, keys: ChildSaKeys | None = None) -> bool:
        """Cover a child's traffic with an outbound policy while it has no SA; False if none
        was installed. ``protect`` without SA is a trap (packets raise ``no_sa`` and start
        IKE), ``discard`` drops them with ``why`` as the detail (a child IKE refused must not
        leak in the clear).

        Without ``keys`` the policy covers the child *config*'s selectors. A start trap
        (``why == "trap"``) is strongSwan's ``trap_manager.c`` ``install()``: it stays for the
        config's life, its priority one step below a CHILD_SA policy with the same selectors
        (``kernel_netlink_ipsec.c`` ``get_priority()`` subtracts one unless
        ``POLICY_PRIORITY_ROUTED``), so installed CHILD_SAs carry their own (narrowed) traffic
        and the trap keeps covering the rest, also after they go. With a remote address
        of ``%any`` strongSwan installs no trap for a tunnel-mode child ("installing trap
        failed, remote address unknown": it could not initiate) and the sim does the same;
        a discard for such a connection's refused child is not installed either, as the
        config's selectors cover every other peer's traffic too. Either refusal is a trace
        ``note``. Any other config-level block (a refused child's discard) goes when a
        CHILD_SA of that name installs.

        With ``keys`` (a break-before-make reauthentication's gap) the policy covers that
        CHILD_SA's negotiated selectors and goes when a CHILD_SA with the same
        :func:`~ipsecsim.core.stack.child_key` installs: on a hub, one peer's gap leaves the
        other peers' CHILD_SAs and blocks alone.
        """
        found = self._child_config(name)
        if found is None:
            return False
        conn, ch = found
        if keys is not None:
            lsel, rsel = tuple(keys.local_ts), tuple(keys.remote_ts)
            lts, rts = [str(t) for t in lsel], [str(t) for t in rsel]
            scope: Any = child_key(keys)
        else:
            local = conn.local_addrs[0] if conn.local_addrs else self.ifaces[0].name
            remote = conn.remote_addrs[0] if conn.remote_addrs else "%any"
            wildcard = "%" in remote or remote in ("0.0.0.0/0", "0.0.0.0")
            if wildcard and (action == "discard" or ch.mode != "transport"):
                what = ("installing trap failed, remote address unknown" if action == "protect"
                        else f"no discard policy for a refused child ({why}): the config's "
                             "selectors cover every peer's traffic")
                self.net.trace.emit(self.net.env.now, "note", self.name,
                                    f"child {name} of %any connection {conn.name}: {what}")
                return False
            if wildcard:
                remote = "0.0.0.0/0"
            lts = [local if t == "dynamic" else t for t in ch.local_ts]
            rts = [remote if t == "dynamic" else t for t in ch.remote_ts]
            lsel = tuple(TrafficSelector.parse(t) for t in lts)
            rsel = tuple(TrafficSelector.parse(t) for t in rts)
            scope = TRAP if action == "protect" and why == "trap" else None
        prio: float = specificity(lsel, rsel)
        if scope is TRAP:
            prio += 0.5  # below a CHILD_SA policy with the same selectors, above any broader one
        pol = self.stack.add_policy("out", action, lts, rts,
                                    name=name if action == "protect" else f"{name}: {why}",
                                    priority=prio)
        self.blocks.setdefault(name, []).append(Block(pol, scope))
        return True

    def _unblock(self, keys: ChildSaKeys) -> None:
        """A CHILD_SA is being installed: lift the blocks standing in for it (not the traps)."""
        blocks = self.blocks.get(keys.name)
        if not blocks:
            return
        key = child_key(keys)
        keep = []
        for b in blocks:
            if b.scope is TRAP or (b.scope is not None and b.scope != key):
                keep.append(b)
            else:
                self.stack.spd.remove(b.policy)
        if keep:
            self.blocks[keys.name] = keep
        else:
            del self.blocks[keys.name]

    # --- data plane --------------------------------------------------------------
    def _refuse_cleartext(self, data: bytes, pkt_id: int) -> bool:
        """Whether to drop a packet from a link that is not IPsec for us: cleartext that the
        inbound policies say must arrive protected (:meth:`IPsecStack.cleartext_in`, RFC 4301
        §5.2). :meth:`Node.receive` calls it for address pairs without a remembered verdict."""
        try:
            self.stack.cleartext_in(data)
        except PacketDrop as exc:
            net = self.net
            net.drop(net.env.now, self.name, pkt_id, exc.reason, exc.detail)
            return True
        return False

    def output(self, data: bytes, pkt_id: int, forwarded: bool = False) -> None:
        net = self.net
        now = net.env.now
        try:
            res = self.stack.outbound(data, now)
        except PacketDrop as exc:
            net.drop(now, self.name, pkt_id, exc.reason, exc.detail)
            if exc.reason == NO_SA:
                self._acquire(exc, data)
            self._stack_events()
            return
        except DecodeError as exc:
            net.drop(now, self.name, pkt_id, "malformed", str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a core bug is a counted drop, not the end of the run
            net.drop(now, self.name, pkt_id, "internal_error", f"outbound: {exc!r}")
            return
        fast = self._fast
        if res is data:  # BYPASS / no policy: the stack hands the same object back
            hop = fast.get(data[16:20])
            if hop is not None and len(data) <= hop[1]:
                hop[0].send(data, pkt_id)
            else:
                self.transmit(data, pkt_id)
            return
        if data is net.fwd_data and type(res) is bytes:  # see Network.sealed
            sealed = net.sealed
            if len(sealed) >= SEALED_MAX:
                sealed.clear()
            sealed[pkt_id] = (res, net.fwd_base)  # type: ignore[assignment]
        for out in ((res,) if type(res) is bytes else _packets(res)):
            self._trace_crypto("encrypt", pkt_id, out, len(data), len(out))
            hop = fast.get(out[16:20])
            if hop is not None and len(out) <= hop[1]:
                hop[0].send(out, pkt_id)
            else:
                self._send_protected(data, out, pkt_id)
        if self.stack._events:
            self._stack_events()

    def _send_protected(self, data: bytes, out: bytes, pkt_id: int) -> None:
        """The protected packet ``out`` of ``data`` that needs a route lookup or is over the MTU."""
        hop = self.lookup(out[16:20])
        if hop is not None and hop[0].link is not None and len(out) > hop[0].link.cfg.mtu:
            if P.has_df(data):
                # RFC 4301 §8.2: report the MTU the inner packet must fit, after overhead
                self.too_big(data, pkt_id, hop[0].link.cfg.mtu - (len(out) - len(data)))
                return
            self.transmit(out, pkt_id, df_override=False)
        else:
            self.transmit(out, pkt_id)

    def deliver(self, data: bytes, pkt_id: int) -> None:
        proto = data[9]
        if proto == P.IPPROTO_ESP or proto == P.IPPROTO_AH:
            self._inbound(data, pkt_id)
        else:
            super().deliver(data, pkt_id)

    def udp_ike(self, data: bytes, pkt_id: int) -> None:
        """UDP 500/4500 addressed to us: IKE, NAT keepalive, or ESP in UDP."""
        sport, dport = P.ports(data)
        payload = P.l4(data)[8:]
        if dport == NATT_PORT and payload[:4] != b"\0\0\0\0":
            if len(payload) == 1 and payload[0] == 0xFF:
                return  # NAT keepalive (RFC 3948 §2.3)
            self._inbound(data, pkt_id)
            return
        if self.ike is None:
            self.net.drop(self.net.env.now, self.name, pkt_id, "no_listener", f"udp/{dport}: no IKE")
            return
        src = (P.ntoa(data[12:16]), sport)
        dst = (P.ntoa(data[16:20]), dport)
        try:
            self.ike.receive_datagram(payload, src=src, dst=dst, now=self.net.env.now)
        except Exception as exc:  # noqa: BLE001 - a core bug must be a trace record, not a crash
            self.net.drop(self.net.env.now, self.name, pkt_id, "ike_error", repr(exc))
        self._pump()

    def _inbound(self, data: bytes, pkt_id: int) -> None:
        net = self.net
        now = net.env.now
        try:
            res = self.stack.inbound(data, now)
        except PacketDrop as exc:
            net.drop(now, self.name, pkt_id, exc.reason, exc.detail)
            self._stack_events()
            return
        except DecodeError as exc:
            net.drop(now, self.name, pkt_id, "malformed", str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - a core bug is a counted drop, not the end of the run
            net.drop(now, self.name, pkt_id, "internal_error", f"inbound: {exc!r}")
            return
        if type(res) is bytes:
            inner: Any = (res,) if res and res is not data else ()
        else:
            inner = [p for p in _packets(res) if p != data]
        if not inner:
            net.drop(now, self.name, pkt_id, "no_listener", "IPsec packet the stack did not take")
            return
        base = None
        if data is net.rx_data and net.sealed:  # the near end's plaintext was a patch: see Network.sealed
            kept = net.rx_kept
            entry = net.sealed.pop(pkt_id, None)
            if entry is not None and entry[0] is (kept.base if type(kept) is HeaderPatch else kept):
                base = entry[1]
        for p in inner:
            self._trace_crypto("decrypt", pkt_id, data, len(data), len(p))
            if base is not None and len(p) == len(base):
                net.rx_data = p
                net.rx_kept = base
            self.receive(p, pkt_id, None)
        if self.stack._events:
            self._stack_events()

    def _trace_crypto(self, kind: str, pkt_id: int, outer: bytes, size_in: int, size_out: int) -> None:
        """An encrypt / decrypt record, if this packet's hops are kept."""
        net = self.net
        tr = net.trace
        if not tr.enabled or pkt_id in net.quiet:
            return
        now = net.env.now
        h = (outer[0] & 0x0F) * 4
        proto = outer[9]
        name = "esp"
        if proto == P.IPPROTO_UDP:
            h += 8
        elif proto == P.IPPROTO_AH:
            h += 4
            name = "ah"
        spi, seq = _SPI_SEQ.unpack_from(outer, h)
        tr.records.append((next(tr.counter), now, kind, self.name, pkt_id, name, spi, seq, size_in, size_out))

    def _acquire(self, exc: PacketDrop, data: bytes) -> None:
        if self.ike is None:
            return
        now = self.net.env.now
        names = [c.name for conn in self.ike.config.connections for c in conn.children]
        child = getattr(exc, "child", None) or ""
        if child not in names:
            child = self._child_for(data, names)
        if not child or now - self.acquired.get(child, -1e9) < 1.0:
            return
        self.acquired[child] = now
        try:
            self.ike.acquire(child, now)
        except Exception as exc2:  # noqa: BLE001
            self.net.trace.emit(now, "note", self.name, f"acquire {child} failed: {exc2!r}")
        self._pump()

    def _child_for(self, data: bytes, names: list[str]) -> str:
        """The child whose selectors cover this packet (for acquire)."""
        src, dst = int.from_bytes(data[12:16], "big"), int.from_bytes(data[16:20], "big")
        for conn in self.ike.config.connections:  # type: ignore[union-attr]
            for ch in conn.children:
                name = ch.name
                lts = [TrafficSelector.parse(t) for t in ch.local_ts if t != "dynamic"]
                rts = [TrafficSelector.parse(t) for t in ch.remote_ts if t != "dynamic"]
                if (not lts or any(t.contains_addr(src) for t in lts)) and (
                        not rts or any(t.contains_addr(dst) for t in rts)):
                    return name
        return names[0] if names else ""

    # --- IKE driving -------------------------------------------------------------
    def _pump(self) -> None:
        """Handle the endpoint's events, send its datagrams, re-arm its timer."""
        ike = self.ike
        if ike is None:
            return
        net = self.net
        now = net.env.now
        while (ev := ike.next_event()) is not None:
            try:
                handle_event(self, ev, now)
            except Exception as exc:  # noqa: BLE001 - recorded, never ends the run
                net.trace.emit(now, "note", self.name, f"IKE event {type(ev).__name__} failed: {exc!r}")
        for payload, src, dst in ike.datagrams_to_send(now):
            pkt = P.udp(P.aton(src[0]), P.aton(dst[0]), src[1], dst[1], payload, self.next_ident())
            self.transmit(pkt, net.control_id())
        self._stack_events()
        t = ike.get_timer()
        if t is not None and t <= now:
            # a timer due now again right after handling it: allow a few rounds, then step 1 ms
            self._same_instant = self._same_instant + 1 if self._last_fire == now else 0
            if self._same_instant > 50:
                t = now + 0.001
        if t is not None and (self._timer_at is None or t < self._timer_at or self._timer_at < now):
            self._timer_gen += 1
            self._timer_at = t
            tev = Timeout(net.env, max(0.0, t - now), self._timer_gen)
            tev.callbacks.append(self._on_timer)

    def _on_timer(self, ev: Timeout) -> None:
        if ev.value != self._timer_gen:
            return
        self._timer_at = None
        self._last_fire = self.net.env.now
        self._report_inbound(self.net.env.now)
        try:
            self.ike.handle_timer(self.net.env.now)  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001
            self.net.trace.emit(self.net.env.now, "note", self.name, f"IKE timer error: {exc!r}")
        self._pump()

    def _report_inbound(self, now: float) -> None:
        """Tell IKE when each inbound SA last decrypted a packet, so that DPD counts ESP
        traffic as a sign of life (strongSwan asks the kernel the same when its DPD job runs:
        ``child_sa.c`` ``get_usestats()``). Read from the SAs' use times here, once per IKE
        timer, rather than per packet on the data path; only SAs used since the last look
        are reported."""
        seen = {spi: e.sa.used_at for spi, e in self.stack.sad.inbound.items()}
        last = self._inbound_seen
        self._inbound_seen = seen
        for spi, t in seen.items():
            if t > last.get(spi, -1.0):
                self.ike.note_inbound(spi, t)  # type: ignore[union-attr]

    def _stack_events(self) -> None:
        ev = self.stack.next_event()
        if ev is None:
            return
        while ev is not None:
            handle_stack_event(self, ev, self.net.env.now)
            ev = self.stack.next_event()
        # a limit moved IKE (rekey request queued, SA expired): send and re-arm now, not at
        # the next IKE timer (strongSwan queues the rekey job on the kernel's expire message)
        self._pump()

    def _install(self, keys: ChildSaKeys, now: float) -> None:
        self._unblock(keys)
        try:
            self.stack.install_child(keys, now)
        except ConfigError as exc:
            self._install_failed(keys, now, str(exc))
            return
        self.children[(keys.name, keys.unique_id)] = keys
        self.net.child_keys.append(keys)
        tr = self.net.trace
        for direction, spi in (("in", keys.spi_in), ("out", keys.spi_out)):
            tr.emit(now, "sa", self.name, "installed", keys.proto, spi, direction, keys.remote_addr,
                    keys.name, None, f"{keys.mode} {keys.encr.name if keys.encr else ''}"
                    f"{'/' + keys.integ.name if keys.integ else ''}")

    def _install_failed(self, keys: ChildSaKeys, now: float, why: str) -> None:
        """The data plane refused a negotiated child (e.g. AH with NAT-T encapsulation): record why
        and install a DISCARD policy for its selectors, so its traffic is dropped with that reason
        instead of leaking in the clear."""
        net = self.net
        net.counters["child_failed"] += 1
        net.unique.setdefault("child_failed", set()).add(frozenset((keys.spi_in, keys.spi_out)))
        net.trace.emit(now, "ike_fail", self.name, keys.ike_sa or keys.name, "INSTALL_FAILED",
                       f"child {keys.name}: {why}", keys.name)
        src = [str(t) for t in keys.local_ts]
        dst = [str(t) for t in keys.remote_ts]
        self.stack.add_policy("out", "discard", src, dst, name=f"{keys.name} not installed: {why}",
                              priority=specificity(keys.local_ts, keys.remote_ts))


def _packets(result: Any) -> list[bytes]:
    """The stack may return one packet, None, or a list: always a list."""
    if result is None:
        return []
    if isinstance(result, bytes | bytearray | memoryview):
        return [bytes(result)]
    return [bytes(p) for p in result if p]


def manual_keys(m: dict[str, Any], seed: int | str) -> ChildSaKeys:
    """A :class:`ChildSaKeys` from a topology's ``manual`` entry; keys derived from seed and SPI.

    Both ends list the same pair of SPIs (swapped), so each derives the same key
    for the same SPI: key(spi) = SHA-512(seed / spi) truncated.
    """
    proto = "ah" if m.get("ah_proposal") else "esp"
    prop = parse_proposal(m.get("ah_proposal") or m.get("esp_proposal", "aes128gcm16"), proto)[0]
    encr = A.encr(*prop.encr[0]) if prop.encr else None
    integ = A.INTEG_ALGS[prop.integ[0]] if prop.integ and prop.integ[0] else None

    def key(spi: int, what: str, n: int) -> bytes:
        return hashlib.sha512(f"{seed}/{spi}/{what}".encode()).digest()[:n]

    spi_in, spi_out = int(m["spi_in"]), int(m["spi_out"])
    ek = encr.keymat_size if encr else 0
    ik = integ.key_size if integ else 0
    encap = (NATT_PORT, NATT_PORT) if m.get("encap") else None
    return ChildSaKeys(
        name=m.get("name", "manual"), proto=proto, mode=m.get("mode", "tunnel"),
        spi_in=spi_in, spi_out=spi_out, encr=encr, integ=integ,
        key_in_encr=key(spi_in, "e", ek), key_in_integ=key(spi_in, "a", ik),
        key_out_encr=key(spi_out, "e", ek), key_out_integ=key(spi_out, "a", ik),
        local_addr=m["local_addr"], remote_addr=m["remote_addr"],
        local_ts=tuple(TrafficSelector.parse(t) for t in m.get("local_ts", [m["local_addr"]])),
        remote_ts=tuple(TrafficSelector.parse(t) for t in m.get("remote_ts", [m["remote_addr"]])),
        encap=encap,
    )
