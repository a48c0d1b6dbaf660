"""A TLS-over-TCP VPN gateway, to set beside ESP: TCP inside TCP, measured.

``role: gateway`` with ``tlsvpn: {peer: ADDR, remote: [PREFIX, ...]}`` instead of
``ipsec:``: every packet the gateway would send toward ``remote`` is sealed into a TLS 1.3
record (:mod:`ipsecsim.core.tlsrecord`, real AES-GCM) and written into a TCP connection to
``peer`` (:mod:`.tcp`, NewReno); the peer gateway reads the stream, opens the records in
order and forwards the inner packets. This is how OpenConnect, SSTP or OpenVPN over TCP
carry traffic, and why the explainer's "IPsec can be faster" holds under loss: a lost outer
segment holds back every inner packet behind it until it is retransmitted (head-of-line
blocking), and an inner TCP whose packets are delayed that long times out and resends into
the same stream -- TCP meltdown. ESP has no such coupling: a lost ESP packet is one lost
inner packet, which the inner TCP repairs alone.

Simplifications, said out loud: one TCP connection per direction (a real VPN uses one
connection both ways, piggybacking ACKs); no TLS handshake (keys are derived from the run's
seed; it would cost one round trip before the first packet); the outer connection opens at
time 0. Inner packets keep their packet ids through the stream, so conservation holds: an
inner packet still in a send buffer when the run ends is in flight.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections import deque
from typing import TYPE_CHECKING, Any

from ..core.errors import DecodeError
from ..core.ip import ipv4 as P
from ..core.tlsrecord import RecordReader, RecordWriter
from .nodes import Node
from .tcp import TcpFlow, TcpReceiver
from .traffic import FlowConfig

if TYPE_CHECKING:
    from .network import Network

TLS_PORT = 443
TUNNEL_QUEUE_FULL = "tunnel_queue_full"


class StreamSource:
    """The outer connection's send buffer: the records written so far, minus what the peer
    has acknowledged (what :class:`~.tcp.TcpFlow` reads its segments from)."""

    finite = False

    def __init__(self) -> None:
        self.buf = bytearray()
        self.base = 0

    def available(self) -> int:
        return self.base + len(self.buf)

    def read(self, start: int, n: int) -> bytes:
        i = start - self.base
        return bytes(self.buf[i:i + n])

    def acked(self, upto: int) -> None:
        if upto > self.base:
            del self.buf[:upto - self.base]
            self.base = upto


class TlsVpnGateway(Node):
    """A gateway whose tunnel is a TLS record stream over TCP."""

    role = "gateway"

    def __init__(self, net: Network, name: str, addrs: list[str], cfg: dict[str, Any]) -> None:
        super().__init__(net, name, addrs, forwarding=True)
        self.tls_cfg = cfg
        self.peer_addr = P.aton(str(cfg["peer"]))
        self.remote = [ipaddress.IPv4Network(str(p), strict=False) for p in cfg["remote"]]
        self._remote_hit: dict[bytes, bool] = {}
        self.stream = StreamSource()
        self.pending: deque[int] = deque()
        """Packet ids of the inner packets in the stream, in record order."""
        self.flow: TcpFlow | None = None
        self.writer: RecordWriter | None = None
        self.reader: RecordReader | None = None
        self.peer: TlsVpnGateway | None = None
        self.records_out = self.records_in = 0
        self.queue = int(cfg.get("queue", 500))

    def _to_remote(self, dst: bytes) -> bool:
        hit = self._remote_hit.get(dst)
        if hit is None:
            a = ipaddress.IPv4Address(dst)
            hit = self._remote_hit[dst] = any(a in n for n in self.remote)
        return hit

    def output(self, data: bytes, pkt_id: int, forwarded: bool = False) -> None:
        if self.flow is not None and self._to_remote(data[16:20]):
            assert self.writer is not None and self.peer is not None
            if self.records_out - self.peer.records_in >= self.queue:
                # the tunnel device's queue is full while the stream is stalled (Linux:
                # a tun device's txqueuelen, 500 packets): the inner packet is lost
                net = self.net
                net.drop(net.env.now, self.name, pkt_id, TUNNEL_QUEUE_FULL,
                         f"{self.queue} packets wait in the TLS stream")
                return
            self.stream.buf += self.writer.seal(data)
            self.pending.append(pkt_id)
            self.records_out += 1
            if self.flow.established:
                self.flow._fill()
            return
        super().output(data, pkt_id, forwarded)

    def stream_in(self, data: bytes) -> None:
        """In-order bytes of the peer's connection: whole records become inner packets."""
        assert self.reader is not None and self.peer is not None
        net = self.net
        try:
            inner = self.reader.feed(data)
        except DecodeError as exc:  # a broken stream: the TLS connection would close
            for pid in self.peer.pending:
                net.drop(net.env.now, self.name, pid, "tls_record", str(exc))
            self.peer.pending.clear()
            return
        for pkt in inner:
            self.records_in += 1
            super().output(pkt, self.peer.pending.popleft(), True)

    def summary(self) -> dict[str, Any]:
        return {"peer": P.ntoa(self.peer_addr), "records_sent": self.records_out,
                "records_received": self.records_in,
                "buffered_bytes": len(self.stream.buf), "queued_packets": len(self.pending)}


def _keys(seed: Any, src: str, dst: str) -> tuple[bytes, bytes]:
    k = hashlib.sha256(f"tlsvpn/{seed}/{src}->{dst}".encode()).digest()
    return k[:16], k[16:28]


def connect_tls_vpns(net: Network, index: int) -> None:
    """Pair every TLS-VPN gateway with the one at its ``peer`` address and open one TCP
    connection per direction (flow ``NAME.tls``); ``index`` numbers the flows' ports."""
    gws = sorted((n for n in net.nodes.values() if isinstance(n, TlsVpnGateway)),
                 key=lambda n: n.name)
    for i, gw in enumerate(gws):
        peer = net.addr_owner.get(gw.peer_addr)
        if not isinstance(peer, TlsVpnGateway):
            raise ValueError(f"nodes.{gw.name}.tlsvpn.peer: {P.ntoa(gw.peer_addr)} is not a "
                             "TLS-VPN gateway")
        gw.peer = peer
        c = gw.tls_cfg
        cfg = FlowConfig(name=f"{gw.name}.tls", type="tcp", src=gw.name,
                         dst=P.ntoa(gw.peer_addr), start=0.0, df=True,
                         rwnd=int(c.get("rwnd", 262144)),
                         min_rto=float(c.get("min_rto", 1.0)))
        key, iv = _keys(net.seed, gw.name, peer.name)
        gw.writer = RecordWriter(key, iv)
        peer.reader = RecordReader(key, iv)
        flow = TcpFlow(net, cfg, index + i, source=gw.stream, sink=peer.stream_in)
        flow.port = int(c.get("port", TLS_PORT)) + i  # one connection per direction
        net.flows[cfg.name] = flow
        flow.receiver = TcpReceiver(flow)
        peer.tcp_listeners[flow.port] = flow.receiver
        gw.flow = flow
        flow.start()
