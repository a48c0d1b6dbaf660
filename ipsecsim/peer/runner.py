"""The socket loop of ``ipsecsim peer``: an :class:`~ipsecsim.core.node.IpsecNode` on UDP 500/4500.

Shaped like aioquic's asyncio adapter, without asyncio: one selector over two UDP
sockets and a wake-up pipe for signals. The loop only moves bytes and time; what the
endpoint does (installs, traps, discards, limits, DPD) the node decides, exactly as in
the simulator. Each turn

1. wraps each datagram in the IPv4/UDP header it arrived with and hands it to the node
   (``receive_packet``): IKE, ESP in UDP, a NAT keepalive;
2. fires the node's timer when it is due (``handle_timer``);
3. answers the inner packets the node delivers (ICMP echo and UDP echo for
   ``inner_addrs``) through the node (``send_packet``), logs its events;
4. sends ``packets_to_send`` from the socket bound to their source port;
5. sleeps until the next timer or datagram.

Time is ``time.monotonic()``; nothing in the core sees a socket.
"""

from __future__ import annotations

import dataclasses
import os
import selectors
import signal
import socket
import sys
import time
import traceback
from collections import Counter
from typing import IO, Any

from ..core.ike import events as E
from ..core.node import IpsecNode
from ..core.node_events import PacketDropped
from ..export.keylog import WiresharkExport
from .dataplane import echo_reply, from_packet, to_packet

IKE_PORT = 500
NATT_PORT = 4500
MAX_DATAGRAM = 65535
DROP_LOG_BURST = 5
"""Drops of one reason logged one by one per :data:`DROP_LOG_INTERVAL`; the rest are counted."""
DROP_LOG_INTERVAL = 10.0
"""Seconds between two summaries of the drops not logged one by one."""


def _fields(obj: Any, prefix: str = "") -> list[str]:
    out = []
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if dataclasses.is_dataclass(v) and not isinstance(v, type) and not hasattr(v, "iana"):
            out += _fields(v, f"{prefix}{f.name}.")
            continue
        if isinstance(v, (bytes, bytearray)):
            v = v.hex()
        elif "spi" in f.name and isinstance(v, int) and not isinstance(v, bool):
            v = f"{v:08x}"
        elif isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], int):
            v = f"{v[0]}:{v[1]}"
        elif isinstance(v, (tuple, list)):
            v = ",".join(_short(x) for x in v)
        else:
            v = _short(v)
        s = str(v)
        out.append(f"{prefix}{f.name}={s!r}" if (" " in s or s == "") else f"{prefix}{f.name}={s}")
    return out


def _short(v: Any) -> str:
    if hasattr(v, "iana") and hasattr(v, "name"):
        return str(v.name)  # an algorithm descriptor
    return str(v)  # traffic selectors print in swanctl syntax


def format_event(ev: Any) -> str:
    """One line for an event: class name and ``field=value`` pairs, nested ones as ``a.b=``.

    Bytes are hex, key material included: the log is how a capture gets decrypted.
    """
    if not dataclasses.is_dataclass(ev):
        return f"{type(ev).__name__} {ev!r}"
    return " ".join([type(ev).__name__, *_fields(ev)])


class PeerRunner:
    """Runs one :class:`IpsecNode` on sockets bound to ``listen``."""

    def __init__(self, node: IpsecNode, listen: str, inner_addrs: list[str],
                 log: IO[str] | None = None, verbose: bool = False,
                 ports: tuple[int, int] = (IKE_PORT, NATT_PORT), wireshark_dir: str | None = None,
                 daemon_log: str | None = None) -> None:
        self.node = node
        self.listen = listen
        self.inner_addrs = list(inner_addrs)
        self.out = log or sys.stderr
        self.verbose = verbose
        self.t0 = time.monotonic()
        self.keylog = WiresharkExport(wireshark_dir) if wireshark_dir else None
        self.daemon_log = daemon_log
        """Where the charon-worded daemon log goes when the peer stops (None: nowhere)."""
        self.charon_log: Any = None
        if daemon_log:
            from ..console.charonlog import CharonLog

            self.charon_log = CharonLog.for_node(node.name, node, self.t0)
        self.received = 0
        """Inner packets the node decrypted and delivered."""
        self.sent = 0
        """Protected packets sent (ESP in UDP)."""
        self.drops: Counter[str] = Counter()
        """Packets the node (or the socket shell) refused, by drop reason."""
        self._window: Counter[str] = Counter()
        self._window_start = self.t0
        self.socks: dict[int, socket.socket] = {}
        for port in ports:
            # no SO_REUSEADDR: on UDP it would let a second IKE daemon (a charon) bind the
            # same port silently and split the traffic; an error here says so instead
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind((listen, port))
            except OSError:
                s.close()
                for other in self.socks.values():
                    other.close()
                raise
            s.setblocking(False)
            self.socks[port] = s
        self.ports = ports
        self._stop = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    # --- output -------------------------------------------------------------------

    def log(self, line: str) -> None:
        self.out.write(f"{time.monotonic() - self.t0:9.3f} {line}\n")
        self.out.flush()

    # --- the loop -----------------------------------------------------------------

    def stop(self, *_: Any) -> None:
        """Ask the loop to end (safe from a signal handler)."""
        self._stop = True
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def run(self, until: float | None = None, grace: float = 1.0) -> int:
        """Serve until SIGINT/SIGTERM (or ``until`` seconds); returns an exit status.

        On the way out every IKE_SA is deleted (INFORMATIONAL with D, as charon does
        on shutdown) and the answers are awaited for up to ``grace`` seconds.
        """
        old = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        sel = selectors.DefaultSelector()
        for port, s in self.socks.items():
            sel.register(s, selectors.EVENT_READ, port)
        sel.register(self._wake_r, selectors.EVENT_READ, None)
        self.log(f"listening on {self.listen} UDP {' and '.join(map(str, self.ports))}; "
                 f"answering echo for {', '.join(self.inner_addrs) or 'nothing'}")
        try:
            self.node.start(time.monotonic())
            self._flush()
            self._serve(sel, None if until is None else self.t0 + until, lambda: self._stop)
            self.log("closing: deleting IKE_SAs")
            self.node.close(time.monotonic())
            self._flush()
            self._serve(sel, time.monotonic() + grace, self._all_closed)
        finally:
            for sig, h in old.items():
                signal.signal(sig, h)
            sel.close()
            self.close()
        self._drop_summary(time.monotonic())
        if self.charon_log is not None:
            self._write_daemon_log()
        self.log(f"stopped; esp in={self.received} out={self.sent} drops={dict(self.drops)}")
        return 0

    def _write_daemon_log(self) -> None:
        """The charon-worded log, stamped in seconds since the peer started."""
        try:
            with open(str(self.daemon_log), "w") as f:
                f.writelines(f"{line}\n" for line in self.charon_log.lines(since=self.t0))
        except OSError as exc:
            self.log(f"cannot write the daemon log {self.daemon_log}: {exc.strerror}")

    def _all_closed(self) -> bool:
        ike = self.node.ike
        return ike is None or all(sa.state == "DESTROYED" for sa in ike.ike_sas.values())

    def _serve(self, sel: selectors.BaseSelector, deadline: float | None, done: Any) -> None:
        """Turn the loop until ``done()`` or the monotonic ``deadline``."""
        node = self.node
        while not done():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            timer = node.get_timer()
            timeout = None if timer is None else max(0.0, timer - now)
            if deadline is not None:
                timeout = deadline - now if timeout is None else min(timeout, deadline - now)
            for key, _mask in sel.select(timeout):
                if key.data is None:
                    os.read(self._wake_r, 64)
                    continue
                self._drain_socket(self.socks[key.data], key.data)
            timer = node.get_timer()
            now = time.monotonic()
            try:
                if timer is not None and timer <= now:
                    node.handle_timer(now)
                self._flush()
            except Exception as exc:  # noqa: BLE001 - an engine bug must not end the peer
                self._internal_error("on a timer", exc)

    def _internal_error(self, where: str, exc: Exception) -> None:
        self.log(f"internal error {where}: {exc!r}")
        if self.verbose:
            self.out.write(traceback.format_exc())

    def close(self) -> None:
        for s in self.socks.values():
            s.close()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    # --- receive --------------------------------------------------------------------

    def _drain_socket(self, sock: socket.socket, port: int) -> None:
        while True:
            try:
                data, src = sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. ICMP port unreachable reported on a later call
                self.log(f"socket error on port {port}: {exc}")
                return
            try:
                self.datagram(data, (src[0], src[1]), (self.listen, port))
            except Exception as exc:  # noqa: BLE001 - one bad datagram must not end the peer
                self._internal_error(f"on a {len(data)}-byte datagram from {src[0]}:{src[1]}", exc)

    def datagram(self, data: bytes, src: tuple[str, int], dst: tuple[str, int]) -> None:
        """One UDP datagram that arrived on ``dst`` from ``src``."""
        self.node.receive_packet(to_packet(data, src, dst), dst[1], time.monotonic(), src)
        self._flush()

    def _deliver(self, inner: bytes, now: float) -> None:
        self.received += 1
        reply = echo_reply(inner, [*self.inner_addrs, *self.node.virtual_ips])
        if self.verbose:
            self.log(f"ESP in: {len(inner)}-byte inner packet {_describe(inner)}"
                     + ("" if reply else " (not for us, not answered)"))
        if reply is not None:
            self.node.send_packet(reply, now, "esp")

    # --- send -------------------------------------------------------------------------

    def _flush(self) -> None:
        """Answer what the node delivered, log its events, send what it queued."""
        node = self.node
        now = time.monotonic()
        for inner, _tag in node.packets_to_deliver():
            self._deliver(inner, now)
        while (ev := node.next_event()) is not None:
            self._event(ev)
        for pkt, tag in node.packets_to_send():
            self._send(pkt, esp=tag == "esp")

    def _event(self, ev: Any) -> None:
        if self.charon_log is not None:
            self.charon_log.feed(ev, time.monotonic())
        if isinstance(ev, PacketDropped):
            self.drops[ev.reason] += 1
            if self.verbose:
                src = ev.tag if isinstance(ev.tag, tuple) else ("?", 0)
                self._log_drop(ev.reason, f"packet from {src[0]}:{src[1]} dropped: {ev.reason} {ev.detail}".rstrip())
            return
        if isinstance(ev, E.IkeDrop):
            self._log_drop(f"ike_{ev.reason}", format_event(ev))
            return
        self.log(format_event(ev))
        if self.keylog is not None and isinstance(ev, E.IkeSaUp | E.IkeSaRekeyed | E.ChildSaUp) \
                and (problem := self.keylog.event(ev)):
            self.log(problem)

    def _log_drop(self, reason: str, line: str) -> None:
        """A drop's line, unless :data:`DROP_LOG_BURST` of that reason were logged in this
        interval already: a flood of hostile datagrams costs a summary line, not a line each."""
        now = time.monotonic()
        if now - self._window_start >= DROP_LOG_INTERVAL:
            self._drop_summary(now)
        self._window[reason] += 1
        if self._window[reason] <= DROP_LOG_BURST:
            self.log(line)

    def _drop_summary(self, now: float) -> None:
        more = {r: n - DROP_LOG_BURST for r, n in sorted(self._window.items()) if n > DROP_LOG_BURST}
        if more:
            self.log(f"dropped {sum(more.values())} more in the last {now - self._window_start:.0f} s, "
                     f"not logged one by one: " + " ".join(f"{r}={n}" for r, n in more.items()))
        self._window.clear()
        self._window_start = now

    def _send(self, pkt: bytes, esp: bool) -> None:
        parts = from_packet(pkt)
        sock = self.socks.get(parts[1][1]) if parts is not None else None
        if parts is None or sock is None:
            # plain ESP/AH would need a raw socket, and anything not from UDP 500/4500 (an
            # answer no policy protects) is not this endpoint's to send
            self.drops["no_udp_encap"] += 1
            return
        payload, _src, dst = parts
        try:
            sock.sendto(payload, (dst[0], dst[1]))
        except OSError as exc:
            self.log(f"send to {dst[0]}:{dst[1]} failed: {exc}")
            return
        if esp:
            self.sent += 1
            if self.verbose:
                self.log(f"ESP out: {len(payload)} bytes to {dst[0]}:{dst[1]}")


def _describe(pkt: bytes) -> str:
    from ..core import ip
    from ..core.errors import DecodeError

    try:
        return f"{ip.ntoa(pkt[12:16])} > {ip.ntoa(pkt[16:20])} proto {pkt[9]}"
    except (IndexError, DecodeError):  # ntoa refuses a short slice with DecodeError
        return "(truncated)"
