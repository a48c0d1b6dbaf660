"""The socket loop of ``ipsecsim peer``: the sans-IO engine on UDP 500/4500 and the real clock.

Shaped like aioquic's asyncio adapter, without asyncio: one selector over two UDP
sockets and a wake-up pipe for signals. Each turn of the loop

1. feeds what arrived to the engine (``receive_datagram``) or, for ESP in UDP, to the
   stack (answering echo requests for ``inner_addrs`` through the CHILD_SA),
2. fires the engine's timer when it is due (``handle_timer``),
3. drains the engine's events (``ChildSaUp`` installs keys into the stack, ...),
4. sends ``datagrams_to_send`` on the socket bound to their source port,
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
from typing import IO, Any

from .dataplane import EspInUdp, classify, echo_reply
from .keylog import WiresharkExport

IKE_PORT = 500
NATT_PORT = 4500
MAX_DATAGRAM = 65535


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
    """Runs one :class:`IkeEndpoint` and one :class:`IPsecStack` on sockets bound to ``listen``."""

    def __init__(self, endpoint: Any, stack: Any, listen: str, inner_addrs: list[str],
                 log: IO[str] | None = None, verbose: bool = False,
                 ports: tuple[int, int] = (IKE_PORT, NATT_PORT), wireshark_dir: str | None = None) -> None:
        self.endpoint = endpoint
        self.stack = stack
        self.esp = EspInUdp(stack)
        self.listen = listen
        self.inner_addrs = list(inner_addrs)
        self.out = log or sys.stderr
        self.verbose = verbose
        self.t0 = time.monotonic()
        self.keylog = WiresharkExport(wireshark_dir) if wireshark_dir else None
        self._spi_in_of_out: dict[int, int] = {}
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
            self.endpoint.start(time.monotonic())
            self._flush()
            self._serve(sel, None if until is None else self.t0 + until, lambda: self._stop)
            self.log("closing: deleting IKE_SAs")
            self.endpoint.close(time.monotonic())
            self._flush()
            self._serve(sel, time.monotonic() + grace, self._all_closed)
        finally:
            for sig, h in old.items():
                signal.signal(sig, h)
            sel.close()
            self.close()
        self.log(f"stopped; esp in={self.esp.received} out={self.esp.sent} drops={self.esp.drops}")
        return 0

    def _all_closed(self) -> bool:
        sas = getattr(self.endpoint, "ike_sas", {})
        return all(getattr(sa, "state", "") == "DESTROYED" for sa in sas.values())

    def _serve(self, sel: selectors.BaseSelector, deadline: float | None, done: Any) -> None:
        """Turn the loop until ``done()`` or the monotonic ``deadline``."""
        while not done():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return
            timer = self.endpoint.get_timer()
            timeout = None if timer is None else max(0.0, timer - now)
            if deadline is not None:
                timeout = deadline - now if timeout is None else min(timeout, deadline - now)
            for key, _mask in sel.select(timeout):
                if key.data is None:
                    os.read(self._wake_r, 64)
                    continue
                self._drain_socket(self.socks[key.data], key.data)
            timer = self.endpoint.get_timer()
            now = time.monotonic()
            try:
                if timer is not None and timer <= now:
                    self.endpoint.handle_timer(now)
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
                self._datagram(data, (src[0], src[1]), (self.listen, port))
            except Exception as exc:  # noqa: BLE001 - one bad datagram must not end the peer
                self._internal_error(f"on a {len(data)}-byte datagram from {src[0]}:{src[1]}", exc)

    def _datagram(self, data: bytes, src: tuple[str, int], dst: tuple[str, int]) -> None:
        now = time.monotonic()
        kind = "ike" if dst[1] != NATT_PORT else classify(data)
        if kind == "ike":
            self.endpoint.receive_datagram(data, src, dst, now)
        elif kind == "esp":
            before = dict(self.esp.drops)
            received = self.esp.received
            for inner in self.esp.inbound(data, src, dst, now):
                self._deliver(inner, now)
            if self.esp.received != received:
                # authenticated ESP is a sign of life: DPD waits (strongSwan: the kernel's
                # inbound use time, ike_sa.c get_use_time())
                self.endpoint.note_inbound(int.from_bytes(data[:4], "big"), now)
            if self.verbose and self.esp.drops != before:
                why = [r for r, n in self.esp.drops.items() if n != before.get(r, 0)]
                self.log(f"ESP from {src[0]}:{src[1]} SPI 0x{data[:4].hex()} dropped: {', '.join(why)}")
        elif kind == "keepalive":
            if self.verbose:
                self.log(f"NAT keepalive from {src[0]}:{src[1]}")
        else:
            self.log(f"dropped {len(data)} bytes from {src[0]}:{src[1]}: not IKE, ESP or keepalive")
        self._flush()

    def _deliver(self, inner: bytes, now: float) -> None:
        reply = echo_reply(inner, self.inner_addrs)
        if self.verbose:
            self.log(f"ESP in: {len(inner)}-byte inner packet {_describe(inner)}"
                     + ("" if reply else " (not for us, not answered)"))
        if reply is None:
            return
        for payload, src, dst in self.esp.outbound(reply, now):
            self._send(payload, src, dst, esp=True)

    # --- send -------------------------------------------------------------------------

    def _flush(self) -> None:
        """Pass the stack's limit events to IKE, handle IKE's events, send what it queued."""
        now = time.monotonic()
        while (sev := self.stack.next_event()) is not None:
            self._limit(sev, now)
        while (ev := self.endpoint.next_event()) is not None:
            self._event(ev, now)
        for payload, src, dst in self.endpoint.datagrams_to_send(now):
            self._send(payload, src, dst)

    def _limit(self, ev: Any, now: float) -> None:
        """An SA crossed a soft/hard byte or packet limit: IKE rekeys (soft) or expires (hard).

        The engine names a child by our inbound SPI; an outbound SA maps to its pair."""
        self.log(f"stack {format_event(ev)}")
        spi = getattr(ev, "spi", 0)
        spi_in = self._spi_in_of_out.get(spi, spi)
        self.endpoint.sa_limit_reached(spi_in, getattr(ev, "which", "soft"), now)

    def _event(self, ev: Any, now: float) -> None:
        name = type(ev).__name__
        if name == "ChildSaUp":
            # outbound=False (we answered a rekey): keep sending on the old SA until the
            # initiator's DELETE of it brings ChildSaRekeyed (strongSwan does the same)
            keep = None if getattr(ev, "outbound", True) else self.stack.current_outbound(ev.keys)
            self.stack.install_child(ev.keys, now)
            if keep is not None:
                self.stack.use_outbound(keep)
            self._spi_in_of_out[ev.keys.spi_out] = ev.keys.spi_in
        elif name == "ChildSaRekeyed":
            self.stack.use_outbound(ev.new)  # the successor, also after a rekey collision
        elif name == "ChildSaDown":
            self._spi_in_of_out.pop(ev.keys.spi_out, None)
            try:
                self.stack.remove_child(ev.keys)
            except Exception as exc:  # noqa: BLE001 - a missing SA must not end the peer
                self.log(f"remove_child failed: {exc!r}")
        self.log(format_event(ev))
        if self.keylog is not None and (problem := self.keylog.event(ev)):
            self.log(problem)

    def _send(self, payload: bytes, src: tuple[str, int], dst: tuple[str, int], esp: bool = False) -> None:
        sock = self.socks.get(src[1]) or self.socks[NATT_PORT if esp else IKE_PORT]
        try:
            sock.sendto(payload, (dst[0], dst[1]))
        except OSError as exc:
            self.log(f"send to {dst[0]}:{dst[1]} failed: {exc}")
            return
        if esp and self.verbose:
            self.log(f"ESP out: {len(payload)} bytes to {dst[0]}:{dst[1]}")


def _describe(pkt: bytes) -> str:
    from ..core import ip

    try:
        return f"{ip.ntoa(pkt[12:16])} > {ip.ntoa(pkt[16:20])} proto {pkt[9]}"
    except IndexError:
        return "(truncated)"
