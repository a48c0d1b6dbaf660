"""A TCP flow: NewReno congestion control with RTO, MSS from the path MTU, a receive window.

``type: tcp`` in a topology's ``traffic:`` sends ``bytes`` bytes (or, with ``bytes: 0``,
as much as it can until ``stop``) from ``from`` to ``to`` over one TCP connection whose
segments are real TCP/IPv4 packets (:mod:`ipsecsim.core.ip.tcp`), so the pcaps show a
connection tshark follows. What it implements, each from its RFC:

* the three-way handshake with the MSS and window-scale options (RFC 9293 §3.5, §3.7.1;
  RFC 7323 §2); the sender's MSS is the smaller of its interface MTU − 40, the peer's MSS
  option and the path MTU it has learnt − 40 (RFC 1191 §6.3: on ICMP "fragmentation needed"
  it re-segments and retransmits what is outstanding at once, §6.5);
* slow start, congestion avoidance, fast retransmit after three duplicate ACKs
  (RFC 5681 §3.1-3.2) and NewReno's fast recovery with partial ACKs (RFC 6582 §3.2);
* the retransmission timer (RFC 6298): SRTT/RTTVAR, Karn's rule, exponential backoff,
  ``min_rto`` (RFC 6298 §2.4's 1 s by default; Linux uses 0.2 s);
* a receiver that ACKs every segment (no delayed ACKs, so the Mathis et al. constant
  sqrt(3/2) applies), keeps out-of-order data, and advertises ``rwnd`` bytes.

Not modelled: FIN/RST teardown (the flow ends when its bytes are acknowledged or at
``stop``), SACK, timestamps, delayed ACKs, Nagle, persist timer (the window never closes:
the receiving application reads at once).

Every segment and every ACK is one application packet for the network's accounting
(delivered or dropped with its reason, like any flow's); the flow's summary adds a
``tcp`` section: goodput (in-order payload bytes over the connection's time), the MSS,
retransmissions by cause, and the smoothed RTT.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.ip import ipv4 as P
from ..core.ip import tcp as T
from .scheduler import Alarm
from .traffic import Flow, FlowConfig

if TYPE_CHECKING:
    from .network import Network
    from .nodes import Node

MAX_RTO = 60.0
"""RFC 6298 §2.5: an upper bound of at least 60 s."""
INITIAL_RTO = 1.0
"""RFC 6298 §2.1."""
DUPACK_THRESHOLD = 3
"""RFC 5681 §3.2."""


def initial_window(mss: int) -> int:
    """RFC 5681 §3.1's IW in bytes for a sender MSS."""
    if mss > 2190:
        return 2 * mss
    if mss > 1095:
        return 3 * mss
    return 4 * mss


def wscale_for(rwnd: int) -> int:
    """The smallest RFC 7323 window-scale shift that lets ``rwnd`` fit the 16-bit field."""
    shift = 0
    while (rwnd >> shift) > 0xFFFF and shift < 14:
        shift += 1
    return shift


class ZeroSource:
    """What a plain bulk transfer sends: ``total`` zero bytes (None: without end)."""

    def __init__(self, total: int | None) -> None:
        self.total = total

    def available(self) -> int | None:
        """Bytes the application has written so far (None: unlimited)."""
        return self.total

    def read(self, start: int, n: int) -> bytes | None:
        """Payload bytes ``start``..``start+n`` (None: zeros, built by the codec)."""
        return None

    def acked(self, upto: int) -> None:
        """The peer has every byte before ``upto``: what the source may forget."""


class TcpFlow(Flow):
    """The sending end of a TCP connection and, through :class:`TcpReceiver`, its far end."""

    def __init__(self, net: Network, cfg: FlowConfig, index: int, source: Any = None,
                 sink: Any = None) -> None:
        super().__init__(net, cfg, index)
        self.source = source if source is not None else ZeroSource(cfg.bytes or None)
        self.rng = net.rng.child(f"flow/{cfg.name}")
        self.iss = int(self.rng.random() * 2**32)
        self.rwnd_local = cfg.rwnd
        self.mss = 0
        self.una = self.nxt = 0  # byte offsets of the data stream (the SYN is before 0)
        self.cwnd = self.ssthresh = 0
        self.peer_window = 0
        self.dupacks = 0
        self.recover = 0
        self.in_recovery = False
        self.established = False
        self.srtt: float | None = None
        self.rttvar = 0.0
        self.rto = INITIAL_RTO
        self.timing: tuple[int, float] | None = None  # (byte that acks the timed segment, sent at)
        self.deadline: float | None = None
        self.syn_sent_at = 0.0
        self.completed_at: float | None = None
        self.retransmits = {"timeout": 0, "fast": 0, "partial_ack": 0, "pmtu": 0, "syn": 0}
        self.timeouts = 0
        self.fast_recoveries = 0
        self.cwnd_max = 0
        self.ack_flow = _TcpAcks(self)
        self.receiver: TcpReceiver | None = None
        self.sink = sink
        self.irs = 0
        self.shift = 0
        self.peer_shift = 0

    # --- setup ---------------------------------------------------------------------------
    def start(self) -> None:
        self.node.tcp_listeners[self.port] = self
        self.node.pmtu_watchers.append(self._pmtu_changed)
        self._timer = Alarm(self.net.env, self._on_timer)
        self._opener = Alarm(self.net.env, lambda _a: self._send_syn())
        self._opener.at(self.cfg.start)

    def _own_mss(self) -> int:
        hop = self.node.lookup(self.dst)
        mtu = hop[0].link.cfg.mtu if hop is not None and hop[0].link is not None else 1500
        mss = mtu - 40
        if self.cfg.mss:
            mss = min(mss, self.cfg.mss)
        return mss

    def _send_syn(self) -> None:
        now = self.net.env.now
        if self.cfg.stop is not None and now >= self.cfg.stop:
            return
        if self.syn_sent_at == 0.0:
            self.syn_sent_at = now
        shift = wscale_for(self.rwnd_local)
        opts = T.syn_options(self._own_mss(), shift)
        src = self.node.primary_addr(self.dst)
        pkt = T.tcp(src, self.dst, self.port, self.port, self.iss, 0, T.SYN,
                    min(self.rwnd_local, 0xFFFF), options=opts, ident=self.node.next_ident(),
                    df=self.cfg.df)
        pid = self.net.app_send(self, self.cfg.src, self.cfg.dst, len(pkt))
        self.node.send_packet(pkt, pid)
        self._arm(now + self.rto)

    # --- timers --------------------------------------------------------------------------
    def _arm(self, t: float) -> None:
        self.deadline = t
        if not self._timer.queued:
            self._timer.at(t)

    def _on_timer(self, _a: Any) -> None:
        now = self.net.env.now
        d = self.deadline
        if d is None:
            return
        if now < d:
            self._timer.at(d)
            return
        self.deadline = None
        self.rto = min(2 * self.rto, MAX_RTO)  # RFC 6298 §5.5: back off
        self.timing = None
        if not self.established:
            self.retransmits["syn"] += 1
            self._send_syn()
            return
        if self.una >= self.nxt:
            return
        # RFC 5681 §3.1 eqn. 4 and the loss window: one segment, slow start again
        self.timeouts += 1
        self.retransmits["timeout"] += 1
        self.ssthresh = max((self.nxt - self.una) // 2, 2 * self.mss)
        self.cwnd = self.mss
        self.recover = self.nxt
        self.in_recovery = False
        self.dupacks = 0
        self.nxt = self.una  # go back: what was in flight is sent again as the window allows
        self._send_segment(self.una, retransmit=True)
        self._fill()

    # --- sending -------------------------------------------------------------------------
    def _seg_len(self, start: int) -> int:
        avail = self.source.available()
        n = self.mss if avail is None else min(self.mss, avail - start)
        return max(0, n)

    def _send_segment(self, start: int, retransmit: bool = False) -> int:
        n = self._seg_len(start)
        if n <= 0:
            return 0
        node = self.node
        now = self.net.env.now
        if self.cfg.stop is not None and now >= self.cfg.stop:
            return 0
        src = node.primary_addr(self.dst)
        pkt = T.tcp(src, self.dst, self.port, self.port, self.iss + 1 + start, self.irs + 1,
                    T.ACK | T.PSH, min(self.rwnd_local >> self.shift, 0xFFFF), n,
                    ident=node.next_ident(), df=self.cfg.df, payload=self.source.read(start, n))
        pid = self.net.app_send(self, self.cfg.src, self.cfg.dst, len(pkt))
        if retransmit:
            self.timing = None  # Karn's rule (RFC 6298 §3)
        elif self.timing is None:
            self.timing = (start + n, now)
        if start + n > self.nxt:
            self.nxt = start + n
        if self.deadline is None:
            self._arm(now + self.rto)
        node.send_packet(pkt, pid)
        return n

    def _fill(self) -> None:
        """Send new segments while the congestion and receive windows allow."""
        limit = self.una + min(self.cwnd, self.peer_window)
        while True:
            n = self._seg_len(self.nxt)
            if n <= 0 or self.nxt + n > limit:
                return
            if self._send_segment(self.nxt, retransmit=self.nxt < self.recover) == 0:
                return

    # --- receiving -----------------------------------------------------------------------
    def tcp_receive(self, node: Node, data: bytes, pkt_id: int) -> None:
        """An ACK (or the SYN-ACK) from the receiver."""
        if node.net.app_deliver(node, data, pkt_id) is None:
            return
        try:
            seg = T.parse_tcp(data)
        except Exception:  # noqa: BLE001 - our own receiver built it
            return
        now = self.net.env.now
        if not self.established:
            if seg.flags & T.SYN and seg.flags & T.ACK and seg.ack == (self.iss + 1) & 0xFFFFFFFF:
                self._on_synack(seg, now)
            return
        ack = (seg.ack - self.iss - 1) & 0xFFFFFFFF
        self.peer_window = seg.window << self.peer_shift
        if ack > self.nxt + 0x7FFFFFFF or ack < self.una:
            return  # old
        if ack > self.una:
            self._new_ack(ack, now)
        elif self.una < self.nxt:
            self._dupack()
        self.cwnd_max = max(self.cwnd_max, self.cwnd)

    def _on_synack(self, seg: T.TcpSegment, now: float) -> None:
        self.established = True
        self.irs = seg.seq
        self.shift = wscale_for(self.rwnd_local) if seg.wscale is not None else 0
        self.peer_shift = seg.wscale if seg.wscale is not None else 0
        self.peer_window = seg.window  # RFC 7323 §2.2: a SYN's window is never scaled
        peer_mss = seg.mss if seg.mss is not None else T.DEFAULT_MSS
        self.mss = min(self._own_mss(), peer_mss)
        pm = self.node.pmtu.get(self.dst)
        if pm is not None:
            self.mss = min(self.mss, pm - 40)
        self.cwnd = initial_window(self.mss)
        self.ssthresh = 1 << 30
        if self.timing is None and self.retransmits["syn"] == 0:
            self._sample(now - self.syn_sent_at)
        self.deadline = None
        self.rto = self._rto()
        # the third segment of the handshake is the first data segment's ACK flag
        self._fill()

    def _sample(self, r: float) -> None:
        if self.srtt is None:  # RFC 6298 §2.2
            self.srtt, self.rttvar = r, r / 2
        else:  # §2.3, alpha 1/8, beta 1/4
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - r)
            self.srtt = 0.875 * self.srtt + 0.125 * r
        self.rto = self._rto()

    def _rto(self) -> float:
        if self.srtt is None:
            return INITIAL_RTO
        return min(max(self.srtt + max(0.001, 4 * self.rttvar), self.cfg.min_rto), MAX_RTO)

    def _new_ack(self, ack: int, now: float) -> None:
        acked = ack - self.una
        # RFC 7661 §4.2 in spirit: the window grows only while it is what limits the sender
        limited = self.nxt - self.una + self.mss > self.cwnd
        self.una = ack
        self.source.acked(ack)
        if self.timing is not None and ack >= self.timing[0]:
            self._sample(now - self.timing[1])
            self.timing = None
        mss = self.mss
        if self.in_recovery:
            if ack >= self.recover:  # RFC 6582 §3.2 step 3: a full acknowledgment
                self.cwnd = min(self.ssthresh, max(self.nxt - self.una, mss) + mss)
                self.in_recovery = False
            else:  # a partial acknowledgment: the next hole is lost too
                self.retransmits["partial_ack"] += 1
                self._send_segment(self.una, retransmit=True)
                self.cwnd = max(self.cwnd - acked, 0) + (mss if acked >= mss else 0)
                self._arm(now + self.rto)
        elif not limited:
            pass
        elif self.cwnd < self.ssthresh:
            self.cwnd += min(acked, mss)  # slow start (RFC 5681 eqn. 2)
        else:
            self.cwnd += max(1, mss * mss // self.cwnd)  # congestion avoidance (eqn. 3)
        self.dupacks = 0
        if self.una >= self.nxt:
            self.deadline = None
            total = self.source.available() if getattr(self.source, "finite", True) else None
            if total is not None and self.una >= total:
                if self.completed_at is None:
                    self.completed_at = now
                return
        else:
            self.deadline = now + self.rto  # RFC 6298 §5.3: restart
            if not self._timer.queued:
                self._timer.at(self.deadline)
        self._fill()

    def _dupack(self) -> None:
        self.dupacks += 1
        mss = self.mss
        if self.in_recovery:
            self.cwnd += mss  # RFC 6582 §3.2 step 4: inflate
            self._fill()
        elif self.dupacks == DUPACK_THRESHOLD and self.una >= self.recover:
            # RFC 6582 §3.2 step 2 (with §4.1's check against ``recover``)
            self.fast_recoveries += 1
            self.retransmits["fast"] += 1
            self.ssthresh = max((self.nxt - self.una) // 2, 2 * mss)
            self.recover = self.nxt
            self.in_recovery = True
            self._send_segment(self.una, retransmit=True)
            self.cwnd = self.ssthresh + DUPACK_THRESHOLD * mss

    def _pmtu_changed(self, dst: bytes) -> None:
        """ICMP told the node a smaller path MTU toward ``dst`` (RFC 1191 §6.5)."""
        if dst != self.dst or not self.established:
            return
        pm = self.node.pmtu.get(dst)
        if pm is None or pm - 40 >= self.mss:
            return
        self.mss = max(pm - 40, 88)
        self.retransmits["pmtu"] += 1
        self.nxt = self.una  # re-segment: what was in flight no longer fits
        self.timing = None
        self._fill()

    # --- results -------------------------------------------------------------------------
    def goodput_bytes(self) -> int:
        return self.receiver.delivered_bytes if self.receiver is not None else 0

    def summary(self) -> dict[str, Any]:
        d = super().summary()
        rx = self.receiver
        end = self.completed_at
        if end is None and rx is not None and rx.last_data is not None:
            end = rx.last_data
        span = (end - self.syn_sent_at) if end is not None else 0.0
        good = self.goodput_bytes()
        d["tcp"] = {
            "mss": self.mss,
            "bytes_acked": self.una,
            "goodput_bytes": good,
            "goodput_bps": 8 * good / span if span > 0 else 0.0,
            "completed_at": self.completed_at,
            "retransmits": dict(self.retransmits),
            "timeouts": self.timeouts,
            "fast_recoveries": self.fast_recoveries,
            "srtt_ms": 1e3 * self.srtt if self.srtt is not None else None,
            "cwnd_max_bytes": self.cwnd_max,
        }
        return d


class TcpReceiver:
    """The far end: ACKs every segment with the next byte it expects (RFC 9293 §3.10.7.4)."""

    def __init__(self, flow: TcpFlow) -> None:
        self.flow = flow
        self.irs: int | None = None
        self.nxt = 0  # next in-order byte offset
        self.ooo: dict[int, tuple[int, bytes | None]] = {}
        self.delivered_bytes = 0
        self.last_data: float | None = None
        self.iss = 0
        self.shift = 0

    def tcp_receive(self, node: Node, data: bytes, pkt_id: int) -> None:
        net = node.net
        if net.app_deliver(node, data, pkt_id) is None:
            return
        try:
            seg = T.parse_tcp(data)
        except Exception:  # noqa: BLE001 - a malformed segment is not acknowledged
            return
        flow = self.flow
        if seg.flags & T.SYN:
            self.irs = seg.seq
            self.shift = wscale_for(flow.cfg.rwnd) if seg.wscale is not None else 0
            self.iss = int(flow.rng.random() * 2**32)
            own_mss = (node.lookup(data[12:16]) or (None,))[0]
            mtu = own_mss.link.cfg.mtu if own_mss is not None and own_mss.link is not None else 1500
            self._send(node, data, T.SYN | T.ACK, self.iss, seg.seq + 1,
                       T.syn_options(mtu - 40, self.shift if seg.wscale is not None else None),
                       min(flow.cfg.rwnd, 0xFFFF))
            return
        if self.irs is None:
            return
        start = (seg.seq - self.irs - 1) & 0xFFFFFFFF
        n = seg.payload_len
        if n:
            hl = (data[0] & 0x0F) * 4
            body = data[hl + ((data[hl + 12] >> 4) * 4):] if flow.sink is not None else None
            if start == self.nxt:
                self._take(n, body)
                while self.nxt in self.ooo:
                    ln, b = self.ooo.pop(self.nxt)
                    self._take(ln, b)
                self.last_data = net.env.now
            elif start > self.nxt and start < self.nxt + flow.cfg.rwnd:
                self.ooo.setdefault(start, (n, body))
            elif start < self.nxt < start + n:  # a retransmission that overlaps new data
                cut = self.nxt - start
                self._take(n - cut, body[cut:] if body is not None else None)
                while self.nxt in self.ooo:
                    ln, b = self.ooo.pop(self.nxt)
                    self._take(ln, b)
                self.last_data = net.env.now
        self._send(node, data, T.ACK, self.iss + 1, self.irs + 1 + self.nxt, b"",
                   min(flow.cfg.rwnd >> self.shift, 0xFFFF))

    def _take(self, n: int, body: bytes | None) -> None:
        self.nxt += n
        self.delivered_bytes += n
        sink = self.flow.sink
        if sink is not None and body is not None:
            sink(body[:n])

    def _send(self, node: Node, data: bytes, flags: int, seq: int, ack: int, opts: bytes,
              window: int) -> None:
        flow = self.flow
        pkt = T.tcp(data[16:20], data[12:16], flow.port, flow.port, seq, ack, flags, window,
                    options=opts, ident=node.next_ident(), df=flow.cfg.df)
        pid = node.net.app_send(flow.ack_flow, node.name, P.ntoa(data[12:16]), len(pkt))
        node.send_packet(pkt, pid)


class _TcpAcks(Flow):
    """The receiver's segments (SYN-ACK and ACKs), accounted as the flow ``NAME.ack``."""

    def __init__(self, tcp: TcpFlow) -> None:
        cfg = FlowConfig(name=f"{tcp.name}.ack", type="ack", src=tcp.cfg.dst, dst=tcp.cfg.src)
        self.net = tcp.net
        self.cfg = cfg
        self.name = cfg.name
        self.sent = self.delivered = self.dropped = self.bytes_delivered = 0
        self.lat_sum, self.lat_min, self.lat_max = 0.0, float("inf"), 0.0
        self.first_delivery = self.last_delivery = None
        tcp.net.flows[self.name] = self

    def summary(self) -> dict[str, Any]:
        d = super().summary()
        d["type"] = "ack"
        return d


def tls_vpn_summary(net: Network) -> dict[str, Any]:
    """Per TLS-VPN gateway (:mod:`.tlsvpn`): records sent and received, what waits."""
    return {name: n.summary() for name, n in net.nodes.items()  # type: ignore[attr-defined]
            if hasattr(n, "tls_cfg")}


def make_tcp_flow(net: Network, cfg: FlowConfig, index: int) -> TcpFlow:
    """Build a TCP flow and its receiver on the node that owns ``cfg.dst``."""
    flow = TcpFlow(net, cfg, index)
    net.flows[cfg.name] = flow
    owner = net.addr_owner.get(flow.dst)
    if owner is not None:
        flow.receiver = TcpReceiver(flow)
        owner.tcp_listeners[flow.port] = flow.receiver
    return flow
