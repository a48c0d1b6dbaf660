"""pytest fixtures for interop tests: import them into a test module's namespace.

``interop`` gives an :class:`Interop`: a fresh namespace pair plus a work directory,
with everything started through it stopped by PID (and the namespaces deleted) at
teardown. On teardown the tail of every log goes to stderr, which pytest shows when a test
fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import pytest

from tests.helpers.oracles import need, need_root, need_tool

from .charon import CHARON, SWANCTL, Charon
from .netns import NetnsPair, Side

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Interop:
    """A namespace pair (``left`` for charon, ``right`` for the other end) and its processes."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix=f"ipss{os.getpid()}-")
        self.pair = NetnsPair.create(["192.168.10.1"], ["192.168.20.1"])
        self.left, self.right = self.pair.left, self.pair.right
        self.charons: list[Charon] = []
        self.peers: list[PeerProcess] = []

    def charon(self, side: Side, name: str, settings: dict | None = None) -> Charon:
        c = Charon(side, self.dir, name, settings)
        self.charons.append(c)
        return c.start()

    def peer(self, side: Side, config: dict, name: str = "peer", verbose: bool = True) -> PeerProcess:
        p = PeerProcess(side, self.dir, config, name, verbose)
        self.peers.append(p)
        return p.start()

    def close(self) -> None:
        for p in self.peers:
            p.stop()
        for c in self.charons:
            c.stop()
        self.pair.close()

    def report(self) -> str:
        parts = []
        for c in self.charons:
            parts.append(f"--- {c.dir}/charon.log (tail) ---\n{c.log()[-6000:]}")
        for p in self.peers:
            parts.append(f"--- {p.log_path} (tail) ---\n{p.log()[-6000:]}")
        return "\n".join(parts)


class PeerProcess:
    """``ipsecsim peer CONFIG`` as a subprocess inside a namespace; its stderr is the log."""

    def __init__(self, side: Side, workdir: str, config: dict, name: str, verbose: bool) -> None:
        import yaml

        self.side = side
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.config_path = os.path.join(self.dir, "peer.yaml")
        self.log_path = os.path.join(self.dir, "peer.log")
        with open(self.config_path, "w") as f:
            yaml.safe_dump(config, f, sort_keys=False)
        self.verbose = verbose
        self.proc: subprocess.Popen | None = None

    def start(self) -> PeerProcess:
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        argv = [sys.executable, "-m", "ipsecsim", "peer", self.config_path]
        if self.verbose:
            argv.append("-v")
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=REPO)
        self.proc = subprocess.Popen(self.side.cmd(*argv), stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        return self

    def wait_log(self, needle: str, timeout: float = 10.0) -> bool:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log():
                return True
            if self.proc is not None and self.proc.poll() is not None:
                return needle in self.log()
            time.sleep(0.05)
        return False

    def stop(self) -> int | None:
        """SIGTERM by PID (the peer exits cleanly on it), SIGKILL if it lingers."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        return self.proc.returncode

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


@pytest.fixture
def interop() -> Iterator[Interop]:
    """A namespace pair with cleanup; skips (or fails under IPSECSIM_REQUIRE_ORACLES=1)
    without root, charon, swanctl or ping."""
    need_root()
    need_tool("charon", CHARON)
    need_tool("swanctl", SWANCTL)
    need_tool("ping")
    need_tool("unshare")
    need(os.path.exists("/dev/net/tun"), "no /dev/net/tun: charon's kernel-libipsec needs a TUN device")
    env = Interop()
    try:
        yield env
    finally:
        env.close()
        # captured by pytest: shown only when the test fails
        sys.stderr.write(env.report() + "\n")
        if os.environ.get("IPSECSIM_KEEP_INTEROP"):
            sys.stderr.write(f"interop files kept in {env.dir}\n")
        else:
            shutil.rmtree(env.dir, ignore_errors=True)
