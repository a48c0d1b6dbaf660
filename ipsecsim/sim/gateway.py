"""Security gateways: a host or router whose IPsec lives in a :class:`~ipsecsim.core.node.IpsecNode`.

This module is the simulator's adapter for the sans-IO node, as aioquic's asyncio
adapter is for its ``QuicConnection``: it moves packets between links and the node,
drives the node's timer with one scheduled SimPy event, and turns what the node
reports into trace records and summary counters (:mod:`.ikeevents`). What a gateway
*does* -- installs, traps, discards, acquires, limits, DPD liveness -- the node decides.

On the packet path it

* runs every packet the node originates or forwards through ``IpsecNode.protect``
  (PROTECT -> encrypted bytes; a refusal -> a counted drop with its reason), and checks
  the *encrypted* size against the egress MTU: an inner packet with DF that no longer
  fits is dropped and its source gets ICMP "fragmentation needed" with the MTU minus the
  IPsec overhead (RFC 4301 §8.2); without DF the outer packet is fragmented;
* hands ESP, AH and ESP-in-UDP addressed to the node to ``IpsecNode.unprotect`` and
  re-injects the inner packet; IKE datagrams (UDP 500, UDP 4500 with the non-ESP marker)
  go to ``IpsecNode.receive_ike``.

Manual keying (``ipsec: {manual: [...]}``) installs a :class:`ChildSaKeys` built
from the seed instead of running IKE: both ends derive the same key from the
SPI, so the data plane can be exercised alone.
"""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from ..console.charon_cp import CP_EVENTS
from ..console.charonlog import CharonLog
from ..core import algorithms as A
from ..core.errors import PacketDrop
from ..core.ip import ipv4 as P
from ..core.ip.tcp import clamp_mss
from ..core.keys import ChildSaKeys
from ..core.natt import KIND_ESP, KIND_KEEPALIVE, classify
from ..core.node import Block, IpsecNode
from ..core.proposals import parse_proposal
from ..core.rng import Rng
from ..core.selectors import TrafficSelector
from . import roadwarrior
from .ikeevents import record_event
from .nodes import Node

if TYPE_CHECKING:
    from .network import Network

IKE_PORT = 500
NATT_PORT = 4500
_SPI_SEQ = struct.Struct("!II")

__all__ = ["Block", "Gateway", "manual_keys"]


class _IkePort:
    """UDP listener for 500/4500 that feeds the gateway's node."""

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
        config = None
        if ipsec.get("connections"):
            from ..core.ike.config import IkeConfig
            from ..swanctl.unmodelled import modelled

            config = IkeConfig.from_dict(modelled({k: v for k, v in ipsec.items() if k != "manual"}),
                                         source=f"node {name}")
        self.rng = rng
        self.node = IpsecNode(name, rng, [i.name for i in self.ifaces], config, ca,
                              ident=self.next_ident)
        """The sans-IO IPsec node: its stack, its IKE endpoint and what joins them."""
        self.charon_log = CharonLog.for_node(name, self.node)  # its daemon.log: every event, in charon's words
        self.stack = self.node.stack
        self._events = self.node.events
        self._cleartext = self.node.cleartext_verdicts  # Node.receive's inline check
        self._timer_at: float | None = None
        self._timer_gen = 0
        self.udp_listeners[IKE_PORT] = _IkePort(self)
        self.udp_listeners[NATT_PORT] = _IkePort(self)
        self.manual = [manual_keys(m, net.seed) for m in ipsec.get("manual", [])]
        self.mss_clamp = 0
        """``mss_clamp: N``: the MSS option of TCP SYNs it sends on lowered to N (0: off)."""

    def set_mss_clamp(self, mss: int) -> None:
        """Clamp the MSS of every TCP SYN this gateway sends on to ``mss`` (0: off): what
        strongSwan's documentation sets with iptables' TCPMSS target for its tunnels' traffic
        (both ways), so TCP never sends a segment the ESP-wrapped packet can't fit
        (RFC 4459 §3.2). Only a clamping gateway pays for the check on its packet path."""
        self.mss_clamp = mss
        if mss:
            self.output = self._clamped_output  # type: ignore[method-assign]

    def _clamped_output(self, data: bytes, pkt_id: int, forwarded: bool = False) -> None:
        if data[9] == 6:
            data = clamp_mss(data, self.mss_clamp)
        Gateway.output(self, data, pkt_id, forwarded)

    @property
    def ike(self) -> Any:
        """The node's IKE endpoint (None when manually keyed)."""
        return self.node.ike

    @property
    def blocks(self) -> dict[str, list[Block]]:
        """The node's blocking policies by child name (:attr:`IpsecNode.blocks`)."""
        return self.node.blocks

    @property
    def children(self) -> dict[tuple[str, int], ChildSaKeys]:
        """The node's installed CHILD_SAs by (name, unique_id) (:attr:`IpsecNode.children`)."""
        return self.node.children

    # --- start -------------------------------------------------------------------
    def start(self) -> None:
        now = self.net.env.now
        for keys in self.manual:
            self.node.install_manual(keys, now)
        self.node.start(now)
        self.drain()

    def restart(self, rng: Rng) -> None:
        """Power-cycle the gateway (:meth:`IpsecNode.restart`) and start it again; the old
        endpoint's timer is void."""
        self.node.restart(rng, self.net.env.now)
        self.drain()
        self._timer_gen += 1
        self._timer_at = None
        self.start()

    def block_child(self, name: str, action: str, why: str, keys: ChildSaKeys | None = None) -> bool:
        """:meth:`IpsecNode.block_child`, its notes recorded."""
        done = self.node.block_child(name, action, why, keys)
        self.drain()
        return done

    # --- data plane --------------------------------------------------------------
    def _refuse_cleartext(self, data: bytes, pkt_id: int) -> bool:
        """Whether to drop a packet from a link that is not IPsec for us: cleartext that the
        inbound policies say must arrive protected (:meth:`IpsecNode.check_cleartext`, RFC
        4301 §5.2). :meth:`Node.receive` calls it for address pairs without a remembered verdict."""
        try:
            self.node.check_cleartext(data)
        except PacketDrop as exc:
            net = self.net
            net.drop(net.env.now, self.name, pkt_id, exc.reason, exc.detail)
            return True
        return False

    def output(self, data: bytes, pkt_id: int, forwarded: bool = False) -> None:
        net = self.net
        now = net.env.now
        try:
            res = self.node.protect(data, now)
        except PacketDrop as exc:
            net.drop(now, self.name, pkt_id, exc.reason, exc.detail)
            if self._events:
                self.drain()
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
        keep = net.keep
        if data is keep.data:  # its far end keeps a patch of the same base: see sim/keep.py
            keep.seal(pkt_id, res)
        self._trace_crypto("encrypt", pkt_id, res, len(data), len(res))
        hop = fast.get(res[16:20])
        if hop is not None and len(res) <= hop[1]:
            hop[0].send(res, pkt_id)
        else:
            self._send_protected(data, res, pkt_id)
        if self._events:
            self.drain()

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
        """UDP 500/4500 addressed to us: IKE, NAT keepalive, or ESP in UDP (RFC 3948 §2.2)."""
        sport, dport = P.ports(data)
        payload = P.l4(data)[8:]
        if dport == NATT_PORT and classify(payload) in (KIND_ESP, KIND_KEEPALIVE):
            self._inbound(data, pkt_id)
            return
        net = self.net
        try:
            self.node.receive_ike(payload, (P.ntoa(data[12:16]), sport),
                                  (P.ntoa(data[16:20]), dport), net.env.now)
        except PacketDrop as exc:
            net.drop(net.env.now, self.name, pkt_id, exc.reason, exc.detail)
        self.drain()

    def _inbound(self, data: bytes, pkt_id: int) -> None:
        net = self.net
        now = net.env.now
        try:
            res = self.node.unprotect(data, now)
        except PacketDrop as exc:
            net.drop(now, self.name, pkt_id, exc.reason, exc.detail)
            if self._events:
                self.drain()
            return
        except Exception as exc:  # noqa: BLE001 - a core bug is a counted drop, not the end of the run
            net.drop(now, self.name, pkt_id, "internal_error", f"inbound: {exc!r}")
            return
        if not res or res is data:
            if res is None or res is data:
                net.drop(now, self.name, pkt_id, "no_listener", "IPsec packet the stack did not take")
            return  # b"": a NAT keepalive, consumed (RFC 3948 §2.3)
        keep = net.keep
        if data is keep.data:  # the near end's plaintext was a patch: see sim/keep.py
            base = keep.unseal(pkt_id, data)
            if base is not None and len(res) == len(base):
                keep.data = res
                keep.base = base
        self._trace_crypto("decrypt", pkt_id, data, len(data), len(res))
        self.receive(res, pkt_id, None)
        if self._events:
            self.drain()

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

    # --- the node's output ----------------------------------------------------------
    def drain(self) -> None:
        """Record the node's events, send its IKE datagrams, re-arm its timer (after letting
        the node act on anything its endpoint was told directly)."""
        node = self.node
        net = self.net
        now = net.env.now
        node.process(now)
        while (ev := node.next_event()) is not None:
            try:
                record_event(self, ev, now)
                self.charon_log.feed(ev, now)
                if type(ev) in CP_EVENTS:
                    roadwarrior.on_event(self, ev, now)
            except Exception as exc:  # noqa: BLE001 - recorded, never ends the run
                net.trace.emit(now, "note", self.name, f"IKE event {type(ev).__name__} failed: {exc!r}")
        for pkt, _tag in node.packets_to_send():
            self.transmit(pkt, net.control_id())
        t = node.get_timer()
        if t is not None and (self._timer_at is None or t < self._timer_at or self._timer_at < now):
            self._timer_gen += 1
            self._timer_at = t
            tev = Timeout(net.env, max(0.0, t - now), self._timer_gen)
            tev.callbacks.append(self._on_timer)

    def _on_timer(self, ev: Timeout) -> None:
        if ev.value != self._timer_gen:
            return
        self._timer_at = None
        self.node.handle_timer(self.net.env.now)
        self.drain()


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
