"""A packet capture inside a namespace (dumpcap), stopped by PID, read back with tshark."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from .netns import Side


class Capture:
    """``dumpcap -i IFACE -w FILE`` running in ``side``'s namespace."""

    def __init__(self, side: Side, path: str, iface: str = "veth0") -> None:
        self.path = path
        self._err_path = path + ".stderr"
        self._err = open(self._err_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(side.cmd("dumpcap", "-q", "-i", iface, "-w", path, "-P"),
                                     stdout=subprocess.DEVNULL, stderr=self._err,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # dumpcap says "Capturing on" once the socket is open
            with open(self._err_path) as f:
                if "Capturing on" in f.read():
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        with open(self._err_path) as f:
            raise RuntimeError(f"dumpcap did not start: {f.read()}")

    def stop(self, settle: float = 0.5) -> str:
        """SIGINT by PID (dumpcap flushes and closes the file), SIGKILL if it lingers.

        ``settle`` seconds first: dumpcap drains the kernel's capture buffer in batches,
        and packets still in it when the signal arrives are lost.
        """
        if self.proc.poll() is None:
            time.sleep(settle)
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if not self._err.closed:
            self._err.close()
        return self.path if os.path.exists(self.path) else ""
