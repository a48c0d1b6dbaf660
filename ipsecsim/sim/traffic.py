"""Traffic generators: ping, UDP constant bit rate, UDP Poisson, and a fixed-window bulk transfer.

Each generator counts what it sent and what came back delivered; the packets
themselves are accounted end to end by :class:`~.network.Network` (a packet id
per application packet). Sizes are IPv4 packet sizes, header included, so they
compare directly with ``ipsecsim overhead --size``.

A flow with ``df: true`` sets Don't Fragment and respects the path MTU its
source node has learnt from ICMP "fragmentation needed" (RFC 1191).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from ..core.ip import ipv4 as P
from .scheduler import Alarm

if TYPE_CHECKING:
    from .network import Network
    from .nodes import Node

BASE_PORT = 40000  # clear of well-known ports tshark would dissect as something else


@dataclass
class FlowConfig:
    """One traffic flow of a topology file."""

    name: str
    """Flow name (trace ``flow`` field)."""
    type: str
    """``ping``, ``cbr``, ``poisson``, ``bulk``, ``tcp`` (:mod:`.tcp`) or ``dns`` (:mod:`.dns`)."""
    src: str
    """Source node name."""
    dst: str
    """Destination IPv4 address (DNS: the resolver, ``""``: the node's own)."""
    start: float = 1.0
    """Simulated time of the first packet."""
    stop: float | None = None
    """No packet is sent at or after this time (None: until the run ends / count reached)."""
    size: int = 1000
    """IPv4 packet size in bytes, header included."""
    rate: float = 10.0
    """Packets per second (ping, cbr: fixed interval; poisson: mean rate)."""
    count: int = 0
    """Packets to send (0: unlimited; bulk: segments to transfer)."""
    df: bool = False
    """Set Don't Fragment and follow the learnt path MTU."""
    window: int = 16
    """Bulk: segments in flight (each acknowledged segment releases one more)."""
    ack_size: int = 40
    """Bulk: size of an acknowledgement packet."""
    bytes: int = 0
    """TCP: payload bytes to transfer (0: as many as fit before ``stop``)."""
    mss: int = 0
    """TCP: an MSS below the interface MTU's (0: MTU - 40)."""
    rwnd: int = 262144
    """TCP: the receive window in bytes (window scaling when over 65,535)."""
    min_rto: float = 1.0
    """TCP: the retransmission timeout's lower bound (RFC 6298 §2.4; Linux uses 0.2 s)."""
    names: tuple[str, ...] = ()
    """DNS: the names to query, in turn (:mod:`.dns`)."""


class Flow:
    """Counters shared by every generator."""

    def __init__(self, net: Network, cfg: FlowConfig, index: int) -> None:
        self.net = net
        self.cfg = cfg
        self.name = cfg.name
        self.index = index
        self.port = BASE_PORT + index
        self.node: Node = net.nodes[cfg.src]
        self.dst = P.aton(cfg.dst)
        self.sent = 0
        self.delivered = 0
        self.dropped = 0
        self.bytes_delivered = 0
        self.lat_sum = 0.0
        self.lat_min = float("inf")
        self.lat_max = 0.0
        self.first_delivery: float | None = None
        self.last_delivery: float | None = None
        self.seq = 0

    def on_delivered(self, size: int, latency: float, now: float) -> None:
        self.delivered += 1
        self.bytes_delivered += size
        self.lat_sum += latency
        if latency < self.lat_min:
            self.lat_min = latency
        if latency > self.lat_max:
            self.lat_max = latency
        if self.first_delivery is None:
            self.first_delivery = now
        self.last_delivery = now

    def size_now(self) -> int:
        size = self.cfg.size
        if self.cfg.df:
            pm = self.node.pmtu.get(self.dst)
            if pm is not None and pm < size:
                size = pm
        return size

    def summary(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.cfg.type, "src": self.cfg.src, "dst": self.cfg.dst,
                             "sent": self.sent, "delivered": self.delivered, "dropped": self.dropped,
                             "bytes_delivered": self.bytes_delivered}
        if self.delivered:
            d["latency_ms"] = {"mean": 1e3 * self.lat_sum / self.delivered,
                               "min": 1e3 * self.lat_min, "max": 1e3 * self.lat_max}
        if self.first_delivery is not None and self.last_delivery and self.delivered > 1:
            span = self.last_delivery - self.first_delivery
            if span > 0:
                # bytes after the first delivery over the time between first and last delivery
                first = self.bytes_delivered / self.delivered
                d["throughput_bps"] = 8 * (self.bytes_delivered - first) / span
        return d

    def start(self) -> None:
        raise NotImplementedError

    def _src_addr(self) -> bytes:
        hop = self.node._fast.get(self.dst)  # the route is known once the first packet went
        if hop is not None:
            return hop[0].src.ip  # type: ignore[no-any-return]
        return self.node.primary_addr(self.dst)


class _Periodic(Flow):
    """Sends one packet per tick; the tick is fixed (ping, cbr) or exponential (poisson)."""

    def start(self) -> None:
        self.rng = self.net.rng.child(f"flow/{self.name}")
        self._wake = Alarm(self.net.env, self._tick)
        self._made: dict[tuple[bytes, int], tuple[int, bytes, bytes | None]] = {}
        self._tick(None, first=True)

    def _tick(self, _ev: Any, first: bool = False) -> None:
        cfg = self.cfg
        if first:
            delay = cfg.start
        else:
            self.send_one()
            delay = self.rng.expovariate(cfg.rate) if cfg.type == "poisson" else 1.0 / cfg.rate
            if cfg.count and self.sent >= cfg.count:
                return
        t = self.net.env.now + delay
        if cfg.stop is not None and t >= cfg.stop:
            return
        self._wake.at(t)

    def send_one(self) -> None:
        cfg = self.cfg
        size = self.size_now() if cfg.df else cfg.size
        node = self.node
        hop = node._fast.get(self.dst)  # the route is known once the first packet went
        src = hop[0].src.ip if hop is not None else node.primary_addr(self.dst)
        if node.vip_src is not None:  # a road warrior: its virtual IP into the tunnel
            src = node.vip_src[self.dst] or src
        pid = self.net.app_send(self, cfg.src, cfg.dst, size)
        self.seq += 1
        ident = node.ident = (node.ident + 1) & 0xFFFF
        if cfg.type == "ping":
            body = bytes(max(0, size - 28))
            rest = self.port.to_bytes(2, "big") + (self.seq & 0xFFFF).to_bytes(2, "big")
            pkt = P.icmp(src, self.dst, P.ICMP_ECHO_REQUEST, 0, rest, body, ident, cfg.df)
        else:
            # what P.udp builds, with the parts that do not change between packets made once:
            # the UDP header and payload, and the sum of the IPv4 header's fixed words
            key = (src, size)
            made = self._made.get(key)
            if made is None:
                made = (*P.udp_parts(src, self.dst, self.port, max(0, size - 28), cfg.df), None)
            hsum, tail, first = made
            pkt = P.ipv4_header(0x45, 0, 20 + len(tail), ident, P.DF if cfg.df else 0, 64, P.IPPROTO_UDP,
                                -(hsum + ident) % 0xFFFF, src, self.dst) + tail
            if first is None:  # the flow's first packet of this size: the base of the later ones
                first = pkt
                self._made[key] = (hsum, tail, pkt)
            # only the header differs from the flow's first packet: the trace keeps a header patch
            keep = self.net.keep
            keep.data = pkt
            keep.base = first
        node.output(pkt, pid)


class UdpSink:
    """Receives a UDP flow at its destination node and counts it delivered."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.udp_receive = flow.net.app_deliver
        """``udp_receive(node, data, pkt_id)``: the network's delivery, called directly."""


class Bulk(Flow):
    """A transfer of ``count`` segments with a fixed window; the receiver acks each segment.

    No retransmission: a lost segment or ack permanently shrinks the window by one
    (the topology's loss should be 0 for throughput measurements).
    """

    def start(self) -> None:
        self.ack_flow = _AckCounter(self)
        ev = Timeout(self.net.env, self.cfg.start)
        ev.callbacks.append(self._open_window)

    def _open_window(self, _ev: Any) -> None:
        for _ in range(self.cfg.window):
            self.send_one()

    def send_one(self) -> None:
        if self.cfg.count and self.sent >= self.cfg.count:
            return
        if self.cfg.stop is not None and self.net.env.now >= self.cfg.stop:
            return
        size = self.size_now()
        pid = self.net.app_send(self, self.cfg.src, self.cfg.dst, size)
        pkt = P.udp(self._src_addr(), self.dst, self.port, self.port, bytes(max(0, size - 28)),
                    self.node.next_ident(), self.cfg.df)
        self.node.send_packet(pkt, pid)

    def udp_receive(self, node: Node, data: bytes, pkt_id: int) -> None:
        """A segment at the receiver: deliver it and send an ack back."""
        net = node.net
        if net.app_deliver(node, data, pkt_id) is None:
            return
        ack = self.ack_flow
        pid = net.app_send(ack, node.name, P.ntoa(data[12:16]), self.cfg.ack_size)
        sport, dport = P.ports(data)
        pkt = P.udp(data[16:20], data[12:16], dport, sport + 1, bytes(max(0, self.cfg.ack_size - 28)),
                    node.next_ident())
        node.send_packet(pkt, pid)


class _AckCounter(Flow):
    """The acks of a bulk transfer: accounted like any flow; each delivered ack sends a segment."""

    def __init__(self, bulk: Bulk) -> None:
        cfg = FlowConfig(name=f"{bulk.name}.ack", type="ack", src="", dst=P.ntoa(bulk.node.ifaces[0].ip))
        self.net = bulk.net
        self.cfg = cfg
        self.name = cfg.name
        self.bulk = bulk
        self.sent = self.delivered = self.dropped = self.bytes_delivered = 0
        self.lat_sum, self.lat_min, self.lat_max = 0.0, float("inf"), 0.0
        self.first_delivery = self.last_delivery = None
        bulk.node.udp_listeners[bulk.port + 1] = self
        bulk.net.flows[self.name] = self

    def udp_receive(self, node: Node, data: bytes, pkt_id: int) -> None:
        if node.net.app_deliver(node, data, pkt_id) is not None:
            self.bulk.send_one()

    def summary(self) -> dict[str, Any]:
        d = super().summary()
        d["type"] = "ack"
        return d


def make_flow(net: Network, cfg: FlowConfig, index: int) -> Flow:
    """Build a flow and register its receiver on the destination node."""
    if cfg.type == "tcp":
        from .tcp import make_tcp_flow

        return make_tcp_flow(net, cfg, index)
    if cfg.type == "dns":
        from .dns import DnsFlow

        dns = DnsFlow(net, cfg, index)
        net.flows[cfg.name] = dns
        return dns
    if cfg.type == "bulk":
        flow: Flow = Bulk(net, cfg, index)
    else:
        flow = _Periodic(net, cfg, index)
    net.flows[cfg.name] = flow
    owner = net.addr_owner.get(flow.dst)
    if cfg.type != "ping" and owner is not None:
        owner.udp_listeners[flow.port] = flow if cfg.type == "bulk" else UdpSink(flow)
    return flow
