"""One strongSwan charon in a network namespace, with a private /run, vici socket and log.

charon's pid file is fixed at /run/charon.pid, so each instance runs in its own
mount namespace (``unshare -m``) with a private directory bind-mounted on /run.
Its own strongswan.conf (via ``STRONGSWAN_CONF``) loads the userland ESP plugin
``kernel-libipsec`` (this kernel has no ESP) and puts the vici socket in the
work directory, where ``swanctl --uri`` and the ``vici`` package reach it.

It is stopped by the PID :class:`subprocess.Popen` returned: SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from typing import Any

from .netns import Side, run
from .swanctl import strongswan_conf, swanctl_conf

CHARON = "/usr/lib/ipsec/charon"
SWANCTL = "/usr/sbin/swanctl"


class Charon:
    """A running charon inside ``side``'s namespace; files under ``workdir``."""

    def __init__(self, side: Side, workdir: str, name: str = "charon",
                 settings: dict[str, Any] | None = None) -> None:
        self.side = side
        self.settings = settings or {}
        """Extra ``charon.*`` strongswan.conf options."""
        self.dir = os.path.join(workdir, name)
        os.makedirs(os.path.join(self.dir, "run"), exist_ok=True)
        self.log_path = os.path.join(self.dir, "charon.log")
        self.vici_path = os.path.join(self.dir, "charon.vici")
        self.uri = f"unix://{self.vici_path}"
        self.conf_path = os.path.join(self.dir, "strongswan.conf")
        self.swanctl_path = os.path.join(self.dir, "swanctl.conf")
        self.swanctl_dir = self.dir
        """swanctl reads credentials beside the ``--file`` it loads: x509ca/, x509/, private/."""
        self.proc: subprocess.Popen | None = None

    # --- lifecycle -----------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> Charon:
        with open(self.conf_path, "w") as f:
            f.write(strongswan_conf(self.dir, self.log_path, self.uri, settings=self.settings))
        script = (f"mount --bind {self.dir}/run /run && "
                  f"STRONGSWAN_CONF={self.conf_path} exec {CHARON}")
        out = open(os.path.join(self.dir, "charon.out"), "w")  # noqa: SIM115 - closed in stop()
        self._out = out
        self.proc = subprocess.Popen(
            self.side.cmd("unshare", "-m", "--propagation", "private", "sh", "-c", script),
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"charon exited {self.proc.returncode}: {self.output()[-2000:]}")
            if os.path.exists(self.vici_path) and self._vici_answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"charon's vici socket did not appear in {timeout}s: {self.log()[-2000:]}")

    def _vici_answers(self) -> bool:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(self.vici_path)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def stop(self) -> None:
        """SIGTERM by PID, wait, SIGKILL if it lingers."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if getattr(self, "_out", None):
            self._out.close()
            self._out = None

    def kill(self) -> None:
        """SIGKILL by PID: the peer sees it vanish without a DELETE."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)

    # --- driving it ------------------------------------------------------------------

    def swanctl(self, *args: str, check: bool = True, timeout: float = 20.0) -> subprocess.CompletedProcess:
        """``swanctl ARGS --uri <this charon>`` (run from the root namespace: vici is a file)."""
        return run([SWANCTL, *args, "--uri", self.uri], check=check, timeout=timeout)

    def load(self, config: dict[str, Any]) -> str:
        """Write swanctl.conf from the swanctl-shaped dict and load it; returns the text."""
        text = swanctl_conf(config)
        with open(self.swanctl_path, "w") as f:
            f.write(text)
        self.swanctl("--load-all", "--noprompt", "--file", self.swanctl_path)
        return text

    def initiate(self, child: str, ike: str | None = None, timeout: int = 15,
                 check: bool = True) -> subprocess.CompletedProcess:
        args = ["--initiate", "--child", child, "--timeout", str(timeout)]
        if ike:
            args += ["--ike", ike]
        return self.swanctl(*args, check=check, timeout=timeout + 5)

    def list_sas(self) -> list[dict[str, Any]]:
        """vici ``list-sas``: one dict per IKE_SA (``{name: {...}}`` flattened), str values."""
        import vici  # the PyPI client for charon's control socket

        s = socket.socket(socket.AF_UNIX)
        s.connect(self.vici_path)
        try:
            session = vici.Session(s)
            out = []
            for entry in session.list_sas():
                for name, sa in entry.items():
                    out.append({"name": name, **_decode(sa)})
            return out
        finally:
            s.close()

    def wait_for(self, predicate, timeout: float = 10.0, interval: float = 0.1) -> Any:
        """Poll ``predicate(list_sas())`` until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = predicate(self.list_sas())
            if got:
                return got
            time.sleep(interval)
        return None

    # --- reading what it did -----------------------------------------------------------

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def output(self) -> str:
        try:
            with open(os.path.join(self.dir, "charon.out"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


def _decode(v: Any) -> Any:
    """vici returns bytes everywhere; make str for readable assertions."""
    if isinstance(v, bytes):
        return v.decode(errors="replace")
    if isinstance(v, dict):
        return {k: _decode(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_decode(x) for x in v]
    return v


def established_child(sas: list[dict[str, Any]], child: str) -> dict[str, Any] | None:
    """The INSTALLED child SA named ``child`` in an ESTABLISHED IKE_SA, or None."""
    for ike in sas:
        if ike.get("state") != "ESTABLISHED":
            continue
        for c in ike.get("child-sas", {}).values():
            if c.get("name") == child and c.get("state") == "INSTALLED":
                return c
    return None
