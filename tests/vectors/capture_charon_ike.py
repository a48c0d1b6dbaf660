"""Regenerate ``charon_ike_*.json``: real IKEv2 exchanges between two strongSwan charons.

Run as root from the repository (needs charon, swanctl, tshark; uses the interop
harness in tests/interop):

    .venv/bin/python -m tests.vectors.capture_charon_ike [SET ...]

For each proposal set it starts two charons (5.9.8, Debian) in a namespace pair,
lets ``a`` initiate, captures UDP 500/4500 on ``a``'s veth with tshark, and writes
the raw IKE messages (hex, without the non-ESP marker) and the keys charon logged
(``ike = 4``, ``chd = 4``: shared DH secret, SKEYSEED, SK_*, CHILD_SA keys). The
codec, SK and KDF tests then check ipsecsim against this independent implementation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.interop.fixtures import Interop
from tests.interop.logs import child_keys, hexdumps, ike_keys
from tests.interop.swanctl import site_config

HERE = os.path.dirname(os.path.abspath(__file__))

SETS = {
    "aes256-sha256-modp2048": (["aes256-sha256-modp2048"], ["aes128-sha256"]),
    "aes256gcm16-prfsha384-ecp384": (["aes256gcm16-prfsha384-ecp384"], ["aes256gcm16"]),
    "chacha20poly1305-prfsha256-x25519": (["chacha20poly1305-prfsha256-x25519"],
                                          ["chacha20poly1305"]),
    # then a CHILD_SA rekey with PFS and an IKE_SA rekey (CREATE_CHILD_SA, RFC 7296 §1.3.2-3)
    "rekey-aes128-sha256-x25519": (["aes128-sha256-x25519"], ["aes128gcm16-ecp256"]),
}


def capture(name: str, proposals: list[str], esp: list[str]) -> dict:
    rekey = name.startswith("rekey")
    env = Interop()
    pcap = os.path.join(env.dir, "ike.pcap")
    try:
        a, b = env.charon(env.left, "a"), env.charon(env.right, "b")
        a.load(site_config(env.left.addr, env.right.addr, env.left.inner, env.right.inner,
                           "a.example", "b.example", proposals, esp))
        b.load(site_config(env.right.addr, env.left.addr, env.right.inner, env.left.inner,
                           "b.example", "a.example", proposals, esp))
        errlog = os.path.join(env.dir, "tshark.err")
        with open(errlog, "w") as err:
            ts = subprocess.Popen(env.left.cmd("tshark", "-q", "-i", "veth0", "-w", pcap,
                                               "-f", "udp port 500 or udp port 4500"),
                                  stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 20
        while "Capturing on" not in open(errlog).read():  # noqa: SIM115
            if time.monotonic() > deadline or ts.poll() is not None:
                raise RuntimeError(f"tshark did not start: {open(errlog).read()}")  # noqa: SIM115
            time.sleep(0.1)
        a.initiate("net", "interop")
        time.sleep(1.0)
        if rekey:
            a.swanctl("--rekey", "--child", "net")
            time.sleep(2.5)
            a.swanctl("--rekey", "--ike", "interop")
            time.sleep(2.5)
        time.sleep(0.5)
        ts.terminate()
        ts.wait(timeout=10)
        out = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "ip.src",
                              "-e", "udp.srcport", "-e", "udp.payload"],
                             capture_output=True, text=True, check=True).stdout
        msgs = []
        for line in out.splitlines():
            src, sport, payload = line.split("\t")
            data = bytes.fromhex(payload)
            if sport == "4500" or data[:4] == bytes(4):
                if data[:4] != bytes(4):
                    continue  # ESP in UDP
                data = data[4:]
            msgs.append({"from": "a" if src == env.left.addr else "b", "hex": data.hex()})
        log_a = a.log()
        dumps = hexdumps(log_a)
        shared = [d.hex() for n, d in dumps if n == "shared Diffie Hellman secret"]
        # charon logs a CHILD_SA's PFS secret under another name (keymat_v2.c)
        child_dh = [d.hex() for n, d in dumps if n == "DH secret"]
        return {
            "source": "strongSwan 5.9.8 charon (Debian 12) <-> charon, captured with tshark "
                      "on this project's interop namespace pair by tests/vectors/"
                      "capture_charon_ike.py",
            "captured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "ike_proposal": proposals[0],
            "esp_proposal": esp[0],
            "initiator": "a",
            "messages": msgs,
            "shared_dh_secret": shared[0] if shared else None,
            "ike_keys": {k: v.hex() for k, v in ike_keys(log_a)[0].items()},
            "child_keys": {k: v.hex() for k, v in child_keys(log_a)[0].items()},
            # every derivation in log order (more than one after a rekey)
            "shared_dh_secrets": shared,
            "child_dh_secrets": child_dh,
            "ike_key_sets": [{k: v.hex() for k, v in d.items()} for d in ike_keys(log_a)],
            "child_key_sets": [{k: v.hex() for k, v in d.items()} for d in child_keys(log_a)],
        }
    finally:
        env.close()


def complete(name: str, vec: dict) -> bool:
    """Both IKE_SA_INIT and IKE_AUTH pairs (and, for a rekey set, both CREATE_CHILD_SA pairs)."""
    exchanges = [bytes.fromhex(m["hex"])[18] for m in vec["messages"]]
    want = {34: 2, 35: 2, 36: 4 if name.startswith("rekey") else 0}
    return all(exchanges.count(x) >= n for x, n in want.items())


def main() -> None:
    for name, (p, e) in SETS.items():
        if sys.argv[1:] and name not in sys.argv[1:]:
            continue
        for _ in range(3):
            vec = capture(name, p, e)
            if complete(name, vec):
                break
        else:
            raise SystemExit(f"{name}: the capture missed messages three times")
        path = os.path.join(HERE, f"charon_ike_{name}.json")
        with open(path, "w") as f:
            json.dump(vec, f, indent=1)
            f.write("\n")
        print(path, len(vec["messages"]), "messages", sorted(vec["ike_keys"]))


if __name__ == "__main__":
    main()
