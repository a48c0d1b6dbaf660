"""Two network namespaces joined by a veth pair, named uniquely per process and call.

Every test run (pytest-xdist workers included) gets its own names: the pid and a
counter are in each name. :meth:`NetnsPair.close` removes everything it made.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from dataclasses import dataclass, field

_COUNTER = itertools.count()


def run(cmd: list[str], check: bool = True, timeout: float = 20.0,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a command, capturing its output; raise with stderr in the message on failure.

    ``env`` adds variables to the inherited environment.
    """
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **env) if env else None)
    if check and proc.returncode != 0:
        # swanctl lists every plugin it cannot find; keep the lines that say what went wrong
        err = "\n".join(x for x in proc.stderr.splitlines() if "failed to load" not in x)
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err.strip()}")
    return proc


@dataclass
class Side:
    """One namespace of the pair."""

    ns: str
    """Network namespace name (``ip netns``)."""
    addr: str
    """Outer address on the veth (the IKE endpoint)."""
    inner: list[str]
    """Inner addresses (on ``lo``, /32), inside the traffic selectors."""

    def cmd(self, *argv: str) -> list[str]:
        """``argv`` prefixed so it runs inside this namespace."""
        return ["ip", "netns", "exec", self.ns, *argv]

    def run(self, *argv: str, check: bool = True, timeout: float = 20.0) -> subprocess.CompletedProcess:
        return run(self.cmd(*argv), check=check, timeout=timeout)

    def ping(self, dst: str, count: int = 5, interval: float = 0.2, src: str | None = None,
             deadline: float | None = None) -> tuple[int, int, str]:
        """(sent, received, output) of ``ping`` from this namespace."""
        argv = ["ping", "-n", "-c", str(count), "-i", str(interval), "-W", "1"]
        if src:
            argv += ["-I", src]
        if deadline:
            argv += ["-w", str(deadline)]
        proc = self.run(*argv, dst, check=False, timeout=count * interval + 15)
        sent = received = 0
        for line in proc.stdout.splitlines():
            if "packets transmitted" in line:
                parts = line.split(",")
                sent = int(parts[0].split()[0])
                received = int(parts[1].split()[0])
        return sent, received, proc.stdout + proc.stderr


    def udp_echo(self, src: str, dst: str, port: int = 7, payloads: int = 3,
                 timeout: float = 2.0) -> list[bytes]:
        """Send ``payloads`` UDP datagrams from ``src`` to ``dst:port``; the answers received."""
        script = (
            "import socket,sys\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind((sys.argv[1],0))\n"
            f"s.settimeout({timeout})\n"
            "for i in range(int(sys.argv[4])):\n"
            "    s.sendto(b'echo %d through the tunnel' % i,(sys.argv[2],int(sys.argv[3])))\n"
            "    try: print(s.recvfrom(2048)[0].hex())\n"
            "    except OSError: print('-')\n"
        )
        proc = self.run(sys.executable, "-c", script, src, dst, str(port), str(payloads),
                        check=False, timeout=payloads * timeout + 10)
        return [bytes.fromhex(x) for x in proc.stdout.split() if x != "-"]


@dataclass
class NetnsPair:
    """Namespaces ``left`` and ``right`` joined by veth 10.99.x.1/24 <-> 10.99.x.2/24."""

    left: Side
    right: Side
    created: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, left_inner: list[str] | None = None,
               right_inner: list[str] | None = None) -> NetnsPair:
        n = next(_COUNTER)
        x = (os.getpid() + n) % 250 + 1
        tag = f"ipss{os.getpid()}-{n}"
        pair = cls(
            left=Side(f"{tag}-l", f"10.99.{x}.1", list(left_inner or ["192.168.10.1"])),
            right=Side(f"{tag}-r", f"10.99.{x}.2", list(right_inner or ["192.168.20.1"])),
        )
        try:
            pair._setup()
        except BaseException:
            pair.close()
            raise
        return pair

    def _setup(self) -> None:
        for side in (self.left, self.right):
            run(["ip", "netns", "add", side.ns])
            self.created.append(side.ns)
            side.run("ip", "link", "set", "lo", "up")
            for a in side.inner:
                side.run("ip", "addr", "add", f"{a}/32", "dev", "lo")
            # libipsec's TUN path: replies leave via ipsec0 though they came in on veth
            side.run("sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0")
            side.run("sysctl", "-q", "-w", "net.ipv4.conf.default.rp_filter=0")
        run(["ip", "link", "add", "veth0", "netns", self.left.ns, "type", "veth",
             "peer", "name", "veth0", "netns", self.right.ns])
        for side in (self.left, self.right):
            side.run("ip", "addr", "add", f"{side.addr}/24", "dev", "veth0")
            side.run("ip", "link", "set", "veth0", "up")

    def close(self) -> None:
        """Delete the namespaces (their veth ends go with them)."""
        while self.created:
            run(["ip", "netns", "del", self.created.pop()], check=False)

    def __enter__(self) -> NetnsPair:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
