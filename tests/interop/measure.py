"""Handshake time and ping RTT: charon against ipsecsim peer, and charon against charon.

Run as root from the repository: ``.venv/bin/python -m tests.interop.measure``. Each line says what was
measured. A handshake is charon's vici ``initiate`` (IKE_SA_INIT + IKE_AUTH with the
first CHILD_SA) timed from charon's side, so both rows measure the same thing.
"""

from __future__ import annotations

import re
import shutil
import socket
import statistics
import time

from tests.interop.charon import Charon
from tests.interop.fixtures import Interop
from tests.interop.swanctl import site_config
from tests.interop.tunnel import CHARON_ID, PEER_ID, start_tunnel

SUITES = [("aes128gcm16-prfsha256-x25519", "aes128gcm16"), ("aes256-sha512-modp2048", "aes256-sha256")]


def handshakes(charon: Charon, n: int = 7) -> list[float]:
    """Seconds per charon-initiated handshake (the first, already up, is terminated first)."""
    import vici

    out = []
    for _ in range(n):
        charon.swanctl("--terminate", "--ike", "interop", "--timeout", "5", check=False)
        time.sleep(0.2)
        s = socket.socket(socket.AF_UNIX)
        s.connect(charon.vici_path)
        t = time.perf_counter()
        for _log in vici.Session(s).initiate({"child": "net", "ike": "interop", "timeout": 5000}):
            pass
        out.append(time.perf_counter() - t)
        s.close()
    return out


def ping(env: Interop, n: int = 200) -> str:
    r = env.left.run("ping", "-n", "-q", "-c", str(n), "-i", "0.005", "-I", env.left.inner[0],
                     env.right.inner[0], check=False, timeout=60)
    loss = re.search(r"(\d+) received", r.stdout)
    rtt = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)", r.stdout)
    return f"{loss.group(1) if loss else '?'}/{n} answered, rtt avg {rtt.group(2) if rtt else '?'} ms"


def report(label: str, times: list[float], pings: str) -> None:
    print(f"{label}: handshake median {statistics.median(times) * 1000:.1f} ms "
          f"(min {min(times) * 1000:.1f}, n={len(times)}); {pings}")


def main() -> None:
    for ike, esp in SUITES:
        env = Interop()
        try:
            charon, _peer = start_tunnel(env, "charon", [ike], [esp])
            report(f"charon -> ipsecsim {ike}/{esp}", handshakes(charon), ping(env))
        finally:
            env.close()
            shutil.rmtree(env.dir, ignore_errors=True)
        env = Interop()
        try:
            a, b = env.charon(env.left, "a"), env.charon(env.right, "b")
            a.load(site_config(env.left.addr, env.right.addr, env.left.inner, env.right.inner,
                               CHARON_ID, PEER_ID, [ike], [esp]))
            b.load(site_config(env.right.addr, env.left.addr, env.right.inner, env.left.inner,
                               PEER_ID, CHARON_ID, [ike], [esp]))
            a.initiate("net", "interop")
            report(f"charon -> charon   {ike}/{esp}", handshakes(a), ping(env))
        finally:
            env.close()
            shutil.rmtree(env.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
