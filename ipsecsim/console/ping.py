"""``ping`` / ``ping6`` on a simulated node, printing what iputils 20221126 prints.

``ping [-c N] [-i S] [-W S] [-w S] [-s SIZE] [-I ADDR] [-t TTL] [-q] [-n] DEST``: the echo
requests are real packets in simulated time, sent from the node as any packet it originates
(through its IPsec policies on a gateway), and the replies are the ones that come back; the
times printed are simulated round trips. What iputils does is followed line by line
(``ping/ping.c``, ``ping/ping_common.c``): the header ``PING 10.2.0.10 (10.2.0.10) 56(84)
bytes of data.``, one line per reply (``64 bytes from 10.2.0.10: icmp_seq=1 ttl=62 time=20.4
ms``, the ``time=`` rounding of ``gather_statistics()``), ``From 10.1.0.1 icmp_seq=2 Frag
needed and DF set (mtu = 1422)`` for an ICMP error about a probe, the statistics of
``finish()`` (loss as ``%g``, ``mdev`` by integer square root), and the end: when every probe
is answered, else the longer of twice the slowest reply and the interval after the last probe
(no reply at all: ``-W``, default 10 s).

The Don't Fragment bit is set as Linux sets it by default (``IP_PMTUDISC_WANT``): on probes
that fit the path MTU the node knows. DEST is an IPv4 address or a name of the topology's
``hosts:``; IPv6 is not modelled, so an IPv6 destination gets what ``ping`` prints when no
IPv6 route exists (``ping6: connect: Network is unreachable``). Without ``-c`` or ``-w`` a
ping runs until the run ends (then the statistics are printed, as after Ctrl-C).
"""

from __future__ import annotations

import ipaddress
import math
import struct
from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from ..core.ip import ipv4 as P
from .shell import Job

if TYPE_CHECKING:
    from .shell import Ctx

MAXWAIT = 10.0
"""Seconds ping waits for replies after its last probe when none came back (``-W``)."""

USAGE = """
Usage
  ping [options] <destination>

Options:
  <destination>      dns name or ip address
  -a                 use audible ping
  -A                 use adaptive ping
  -B                 sticky source address
  -c <count>         stop after <count> replies
  -C                 call connect() syscall on socket creation
  -D                 print timestamps
  -d                 use SO_DEBUG socket option
  -e <identifier>    define identifier for ping session, default is random for
                     SOCK_RAW and kernel defined for SOCK_DGRAM
                     Imply using SOCK_RAW (for IPv4 only for identifier 0)
  -f                 flood ping
  -h                 print help and exit
  -I <interface>     either interface name or address
  -i <interval>      seconds between sending each packet
  -L                 suppress loopback of multicast packets
  -l <preload>       send <preload> number of packages while waiting replies
  -m <mark>          tag the packets going out
  -M <pmtud opt>     define mtu discovery, can be one of <do|dont|want>
  -n                 no dns name resolution
  -O                 report outstanding replies
  -p <pattern>       contents of padding byte
  -q                 quiet output
  -Q <tclass>        use quality of service <tclass> bits
  -s <size>          use <size> as number of data bytes to be sent
  -S <size>          use <size> as SO_SNDBUF socket option value
  -t <ttl>           define time to live
  -U                 print user-to-user latency
  -v                 verbose output
  -V                 print version and exit
  -w <deadline>      reply wait <deadline> in seconds
  -W <timeout>       time to wait for response

IPv4 options:
  -4                 use IPv4
  -b                 allow pinging broadcast
  -R                 record route
  -T <timestamp>     define timestamp, can be one of <tsonly|tsandaddr|tsprespec>

IPv6 options:
  -6                 use IPv6
  -F <flowlabel>     define flow label, default is random
  -N <nodeinfo opt>  use icmp6 node info query, try <help> as argument

For more details see ping(8).
"""

_WITH_ARG = set("cisIWwtlmMpQSTeFN")
_FLAGS = set("aABCDdfhLnOqUvV46bR")
IDENT_BASE = 0x1000
"""ICMP identifiers of console pings: 0x1000 + n (traffic flows use 40000 + n)."""


class _Usage(Exception):
    pass


def _parse(prog: str, args: list[str]) -> tuple[dict[str, str], list[str]]:
    """getopt(3) with glibc's permutation: options anywhere, ``--`` ends them."""
    opts: dict[str, str] = {}
    rest: list[str] = []
    k = 0
    while k < len(args):
        a = args[k]
        k += 1
        if a == "--":
            rest += args[k:]
            break
        if not a.startswith("-") or a == "-":
            rest.append(a)
            continue
        j = 1
        while j < len(a):
            c = a[j]
            if c in _WITH_ARG:
                val = a[j + 1:]
                if not val:
                    if k >= len(args):
                        raise _Usage(f"{prog}: option requires an argument -- '{c}'\n{USAGE}")
                    val, k = args[k], k + 1
                opts[c] = val
                break
            if c not in _FLAGS:
                raise _Usage(f"{prog}: invalid option -- '{c}'\n{USAGE}")
            opts[c] = ""
            j += 1
    return opts, rest


def _number(prog: str, text: str, kind: type, low: float, high: float) -> Any:
    try:
        v = kind(text)
    except ValueError:
        raise _Usage(f"{prog}: invalid argument: '{text}'\n") from None
    if not low <= v <= high:
        raise _Usage(f"{prog}: invalid argument: '{text}': out of range: "
                     f"{low:g} <= value <= {high:.0f}\n")
    return v


def main(ctx: Ctx, argv: list[str]) -> Job | None:
    prog = argv[0]
    try:
        opts, rest = _parse(prog, argv[1:])
        if "V" in opts:
            ctx.out.out(f"{prog} from iputils 20221126\n")
            return None
        if "h" in opts:
            ctx.out.out(USAGE.lstrip("\n"))
            return None
        if not rest:
            raise _Usage(f"{prog}: usage error: Destination address required\n")
        count = _number(prog, opts["c"], int, 1, 2**63 - 1) if "c" in opts else 0
        interval = _number(prog, opts["i"], float, 0, 2**31 / 1000) if "i" in opts else 1.0
        linger = _number(prog, opts["W"], float, 0, 2**31 / 1000) if "W" in opts else MAXWAIT
        deadline = _number(prog, opts["w"], int, 0, 2**31 - 1) if "w" in opts else 0
        size = _number(prog, opts["s"], int, 0, 65507) if "s" in opts else 56
        ttl = _number(prog, opts["t"], int, 1, 255) if "t" in opts else 64
    except _Usage as exc:
        ctx.out.err(str(exc))
        return None
    target = rest[-1]
    want6 = prog == "ping6" or "6" in opts
    addr = _resolve(ctx, prog, target, want6)
    if addr is None:
        return None
    node = ctx.node
    dst = P.aton(addr)
    if "I" in opts:
        src_text = _source(ctx, prog, opts["I"])
        if src_text is None:
            return None
        src = P.aton(src_text)
    if dst not in node.local and node.lookup(dst) is None:  # e.g. a switch: no address at all
        ctx.out.err(f"{prog}: connect: Network is unreachable\n")
        return None
    if "I" not in opts:
        src = node.primary_addr(dst)
    hostname = target
    numeric = _is_v4(target) or "n" in opts
    head = f"PING {hostname} ({addr}) "
    if "I" in opts:
        head += f"from {P.ntoa(src)} : "
    ctx.out.out(f"{head}{size}({size + 28}) bytes of data.\n")
    job = Ping(ctx, hostname, dst, src, numeric, count, interval, linger, deadline, size, ttl,
               "q" in opts)
    job.start()
    return job


def _is_v4(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)
    except ValueError:
        return False


def _resolve(ctx: Ctx, prog: str, target: str, want6: bool) -> str | None:
    """DEST's IPv4 address, or None after printing why not (as ping prints it)."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(target)
    except ValueError:
        ip = None
    if ip is None:
        known = ctx.console.resolve(target)
        if known is None:
            ctx.out.err(f"{prog}: {target}: Name or service not known\n")
            return None
        ip = ipaddress.ip_address(known)
    if ip.version == 6:
        ctx.out.err(f"{prog}: connect: Network is unreachable\n")  # IPv6 is not modelled
        return None
    if want6:
        ctx.out.err(f"{prog}: {target}: Address family for hostname not supported\n")
        return None
    return str(ip)


def _source(ctx: Ctx, prog: str, text: str) -> str | None:
    """The ``-I`` address (one of the node's), or None after ping's error."""
    if not _is_v4(text):
        ctx.out.err(f"{prog}: SO_BINDTODEVICE {text}: No such device\n")
        return None
    if P.aton(text) not in ctx.node.local:
        ctx.out.err(f"{prog}: bind: Cannot assign requested address\n")
        return None
    return text


def _loss(sent: int, received: int) -> str:
    """``%g`` of the (float) loss percentage, as ``finish()`` prints it."""
    v = struct.unpack("f", struct.pack("f", (sent - received) * 100.0 / sent))[0]
    return f"{v:g}"


def _isqrt(a: int) -> int:
    """``llsqrt()`` of ping_common.c (Newton's method on integers)."""
    return math.isqrt(a) if a > 0 else 0


def _ms(us: int) -> str:
    """A round trip in microseconds as ``gather_statistics()`` prints it."""
    if us >= 100000 - 50:
        return f"{(us + 500) // 1000}"
    if us >= 10000 - 5:
        return f"{(us + 50) // 1000}.{((us + 50) % 1000) // 100}"
    if us >= 1000:
        return f"{(us + 5) // 1000}.{((us + 5) % 1000) // 10:02d}"
    return f"{us // 1000}.{us % 1000:03d}"


class Ping(Job):
    """One ping run: probes on a timer, replies from the node's echo listener."""

    def __init__(self, ctx: Ctx, hostname: str, dst: bytes, src: bytes, numeric: bool,
                 count: int, interval: float, linger: float, deadline: int, size: int, ttl: int,
                 quiet: bool) -> None:
        super().__init__(ctx)
        self.hostname, self.dst, self.src, self.numeric = hostname, dst, src, numeric
        self.count, self.interval, self.linger = count, interval, linger
        self.deadline_s, self.size, self.ttl, self.quiet = deadline, size, ttl, quiet
        state = ctx.console.node_state(ctx.node.name)
        n = state.get("pings", 0)
        state["pings"] = n + 1
        self.ident = (IDENT_BASE + n) & 0xFFFF
        self.t0 = ctx.now
        self.sent_at: dict[int, float] = {}
        self.got: set[int] = set()
        self.ntransmitted = self.nreceived = self.nrepeats = self.nerrors = 0
        self.tsum = self.tsum2 = 0
        self.tmin, self.tmax = 1 << 62, 0
        self.last_send = ctx.now
        self.exit_at: float | None = None
        self.gen = 0
        ends = [ctx.now + deadline + 1e-6] if deadline else []
        if count and not deadline:
            ends.append(ctx.now + (count - 1) * interval + max(linger, MAXWAIT, interval) + 1)
        if not ends:
            sim = ctx.console.sim
            ends.append(max(float(sim.duration), ctx.now + interval))
        self.deadline = min(ends)

    # --- driving -----------------------------------------------------------------------
    def start(self) -> None:
        node = self.ctx.node
        listeners = self.ctx.console.node_state(node.name).setdefault("echo", {})
        listeners[self.ident] = self
        if node.echo_listener is None:
            node.echo_listener = _Dispatch(listeners)
        if self.deadline_s:
            self._at(self.t0 + self.deadline_s, self._deadline)
        self._probe(None)

    def _at(self, t: float, fn: Any) -> None:
        env = self.ctx.env
        Timeout(env, max(0.0, t - float(env.now))).callbacks.append(fn)

    def _probe(self, _ev: Any) -> None:
        if self.done:
            return
        if self.count and self.ntransmitted >= self.count and not self.deadline_s:
            return
        now = float(self.ctx.env.now)
        self._send(now)
        if self.count and self.ntransmitted >= self.count and not self.deadline_s:
            # __schedule_exit(): wait for late replies, then finish
            wait = max(2 * self.tmax / 1e6, self.interval) if self.nreceived else self.linger
            self.exit_at = now + wait
            self._at(self.exit_at, self._exit)
        else:
            self._at(now + self.interval, self._probe)

    def _send(self, now: float) -> None:
        node = self.ctx.node
        self.ntransmitted += 1
        seq = self.ntransmitted & 0xFFFF
        self.sent_at[seq] = now
        self.last_send = now
        sec = int(now)
        stamp = struct.pack("<qq", sec, int(round((now - sec) * 1e6)))
        body = (stamp + bytes(i & 0xFF for i in range(16, self.size)))[:self.size] \
            if self.size >= 16 else bytes(i & 0xFF for i in range(8, 8 + self.size))
        hop = node.lookup(self.dst)
        mtu = hop[0].mtu if hop is not None else 65535
        df = self.size + 28 <= node.pmtu.get(self.dst, mtu)
        rest = struct.pack("!HH", self.ident, seq)
        pkt = P.icmp(self.src, self.dst, P.ICMP_ECHO_REQUEST, 0, rest, body, node.next_ident(), df,
                     ttl=self.ttl)
        if self.dst in node.local:  # the loopback answers at once
            reply = P.icmp(self.dst, self.src, P.ICMP_ECHO_REPLY, 0, rest, body, 0, df)
            self._at(now + 2e-5, lambda _ev: self.reply(reply))
            return
        node.send_packet(pkt, node.net.control_id())

    def _deadline(self, _ev: Any) -> None:
        if not self.done:
            self._finish(float(self.ctx.env.now))

    def _exit(self, _ev: Any) -> None:
        if not self.done and self.exit_at is not None and float(self.ctx.env.now) >= self.exit_at:
            self._finish(float(self.ctx.env.now))

    def _check_done(self) -> None:
        if self.count and self.nreceived + self.nerrors >= self.count:
            self._finish(float(self.ctx.env.now))

    def _finish(self, now: float) -> None:
        self.out.out(self.statistics())  # -q too: quiet hides the replies only
        self.finish()
        listeners = self.ctx.console.node_state(self.ctx.node.name).get("echo", {})
        listeners.pop(self.ident, None)

    def interrupted(self, now: float) -> str:
        return self.statistics()

    def stop(self, now: float) -> None:
        """Interrupted (Ctrl-C): the statistics so far, and no more probes."""
        if not self.done:
            self._finish(now)

    # --- receiving ---------------------------------------------------------------------
    def reply(self, data: bytes) -> None:
        """An echo reply carrying our identifier reached the node."""
        if self.done:
            return
        now = float(self.ctx.env.now)
        h = P.header_len(data)
        seq = struct.unpack_from("!H", data, h + 6)[0]
        sent = self.sent_at.get(seq)
        if sent is None:
            return
        cc = len(data) - h
        us = int(round((now - sent) * 1e6))
        timing = self.size >= 16
        self.nreceived += 1
        if timing:
            self.tsum += us
            self.tsum2 += us * us
            self.tmin = min(self.tmin, us)
            self.tmax = max(self.tmax, us)
        dup = seq in self.got
        if dup:
            self.nrepeats += 1
            self.nreceived -= 1
        self.got.add(seq)
        if not self.quiet:
            line = f"{cc} bytes from {self._addr(data[12:16])}: icmp_seq={seq} ttl={data[8]}"
            if cc < self.size + 8:
                line += " (truncated)"
            elif timing:
                line += f" time={_ms(us)} ms"
            if dup:
                line += " (DUP!)"
            self.out.out(line + "\n")
        self._check_done()

    def error(self, data: bytes, seq: int, text: str) -> None:
        """An ICMP error quoting one of our probes (``From ... icmp_seq=N ...``)."""
        if self.done or seq not in self.sent_at:
            return
        self.nerrors += 1
        if not self.quiet:
            self.out.out(f"From {self._addr(data[12:16])} icmp_seq={seq} {text}\n")
        self._check_done()

    def _addr(self, raw: bytes) -> str:
        """``pr_addr()``: ``name (addr)`` unless numeric; a name from ``hosts:``, else the
        address again (a failed reverse lookup gives the numeric form)."""
        addr = P.ntoa(raw)
        if self.numeric:
            return addr
        return f"{self.ctx.console.name_of(addr) or addr} ({addr})"

    # --- the end -----------------------------------------------------------------------
    def statistics(self) -> str:
        ms = int((self.last_send - self.t0) * 1000 + 0.5)
        s = [f"\n--- {self.hostname} ping statistics ---\n",
             f"{self.ntransmitted} packets transmitted, {self.nreceived} received"]
        if self.nrepeats:
            s.append(f", +{self.nrepeats} duplicates")
        if self.nerrors:
            s.append(f", +{self.nerrors} errors")
        if self.ntransmitted:
            s.append(f", {_loss(self.ntransmitted, self.nreceived)}% packet loss, time {ms}ms")
        s.append("\n")
        if self.nreceived and self.size >= 16:
            total = self.nreceived + self.nrepeats
            avg = self.tsum // total
            if self.tsum < 2**31 - 1:
                var = (self.tsum2 - (self.tsum * self.tsum) // total) // total
            else:
                var = self.tsum2 // total - avg * avg
            dev = _isqrt(var)
            s.append(f"rtt min/avg/max/mdev = {self.tmin // 1000}.{self.tmin % 1000:03d}/"
                     f"{avg // 1000}.{avg % 1000:03d}/{self.tmax // 1000}.{self.tmax % 1000:03d}/"
                     f"{dev // 1000}.{dev % 1000:03d} ms")
        s.append("\n")
        return "".join(s)


class _Dispatch:
    """A node's echo listener: echo replies and ICMP errors to the console ping they belong to
    (by ICMP identifier, as the kernel hands them to the pinging socket)."""

    def __init__(self, pings: dict[int, Ping]) -> None:
        self.pings = pings

    def __call__(self, data: bytes, pkt_id: int) -> None:
        h = P.header_len(data)
        t = data[h]
        if t == P.ICMP_ECHO_REPLY:
            ident = struct.unpack_from("!H", data, h + 4)[0]
            ping = self.pings.get(ident)
            if ping is not None:
                ping.reply(data)
        elif t == P.ICMP_DEST_UNREACH and data[h + 1] == P.ICMP_FRAG_NEEDED:
            inner = data[h + 8:]
            ih = (inner[0] & 0x0F) * 4 if inner else 0
            if len(inner) < ih + 8 or inner[9] != P.IPPROTO_ICMP:
                return
            ident, seq = struct.unpack_from("!HH", inner, ih + 4)
            ping = self.pings.get(ident)
            if ping is not None:
                mtu = (data[h + 6] << 8) | data[h + 7]
                ping.error(data, seq, f"Frag needed and DF set (mtu = {mtu})")
