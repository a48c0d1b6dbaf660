"""Regenerate ``charon_pubkey_*.json``: two strongSwan charons authenticating with our seeded CA.

Run as root from the repository (needs charon, swanctl, tshark; uses tests/interop):

    .venv/bin/python -m tests.vectors.capture_charon_pubkey

For each key type, :class:`ipsecsim.core.ike.ca.CertificateAuthority` with
``SEED`` issues ``a.example`` and ``b.example``; both charons (5.9.8, Debian) get
the CA certificate, their certificate and key as PEM files and ``auth = pubkey``.
``a`` initiates; tshark captures UDP 500/4500 and charon's log (``ike = 4``)
gives SK_*. The JSON holds the raw IKE messages and the keys -- not the
certificates: tests re-create them from the seed and expect charon to have sent
exactly those bytes, and verify charon's AUTH payloads (RFC 7427 signatures)
with ipsecsim's code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from ipsecsim.core.ike.ca import CertificateAuthority, write_swanctl
from ipsecsim.core.rng import Rng
from tests.interop.charon import SWANCTL
from tests.interop.fixtures import Interop
from tests.interop.logs import ike_keys
from tests.interop.swanctl import site_config, swanctl_conf

HERE = os.path.dirname(os.path.abspath(__file__))

SEED = "charon-pubkey"
# vector name: (key type, initiator id, responder id) -- ids in swanctl syntax
CASES = {
    "ecdsa": ("ecdsa", "a.example", "b.example"),
    "rsa": ("rsa", "a.example", "b.example"),
    "ed25519": ("ed25519", "a.example", "b.example"),
    "ecdsa384_dn": ("ecdsa384", "C=CH, O=ipsecsim, CN=gw-a", "C=CH, O=ipsecsim, CN=gw-b"),
    "ecdsa521_email": ("ecdsa521", "a@ipsecsim.example", "b@ipsecsim.example"),
}
PROPOSAL = "aes256-sha256-x25519"


def pubkey_config(side, other, local_id: str, remote_id: str) -> dict:
    """site_config with ``auth = pubkey``; swanctl finds the files in its x509/x509ca/private dirs."""
    cfg = site_config(side.addr, other.addr, side.inner, other.inner, local_id, remote_id,
                      [PROPOSAL], ["aes128gcm16"])
    conn = cfg["connections"]["interop"]
    conn["local"] = {"auth": "pubkey", "id": local_id, "certs": "own.pem"}
    conn["remote"] = {"auth": "pubkey", "id": remote_id, "cacerts": "ca.pem"}
    del cfg["secrets"]
    return cfg


def load_with_creds(charon, ca: CertificateAuthority, issued, config: dict) -> None:
    """Write the PEM files into a swanctl directory and load config and credentials from it."""
    root = os.path.join(charon.dir, "swanctl")
    write_swanctl(root, ca, issued, name="own")
    os.replace(os.path.join(root, "x509ca", "ipsecsim_CA.pem"), os.path.join(root, "x509ca", "ca.pem"))
    conf = os.path.join(root, "swanctl.conf")
    with open(conf, "w") as f:
        f.write(swanctl_conf(config))
    subprocess.run([SWANCTL, "--load-all", "--noprompt", "--file", conf, "--uri", charon.uri],
                   env={**os.environ, "SWANCTL_DIR": root}, check=True, capture_output=True,
                   timeout=20)


def establish(env: Interop, key_type: str, pcap: str | None = None, id_a: str = "a.example",
              id_b: str = "b.example") -> tuple:
    """Start two charons with seeded certificates of ``key_type``; a initiates. Returns (a, b, tshark)."""
    ca = CertificateAuthority(Rng(SEED), key_type="ecdsa")
    ia, ib = ca.issue(id_a, key_type), ca.issue(id_b, key_type)
    a, b = env.charon(env.left, "a"), env.charon(env.right, "b")
    load_with_creds(a, ca, ia, pubkey_config(env.left, env.right, id_a, id_b))
    load_with_creds(b, ca, ib, pubkey_config(env.right, env.left, id_b, id_a))
    ts = None
    if pcap:
        ts = subprocess.Popen(env.left.cmd("tshark", "-q", "-i", "veth0", "-w", pcap,
                                           "-f", "udp port 500 or udp port 4500"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
    a.initiate("net", "interop")
    return a, b, ts


def capture(key_type: str, id_a: str, id_b: str) -> dict:
    env = Interop()
    pcap = os.path.join(env.dir, "ike.pcap")
    try:
        a, b, ts = establish(env, key_type, pcap, id_a, id_b)
        time.sleep(1.0)
        ts.terminate()
        ts.wait(timeout=10)
        out = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "ip.src",
                              "-e", "udp.srcport", "-e", "udp.payload"],
                             capture_output=True, text=True, check=True).stdout
        msgs = []
        for line in out.splitlines():
            src, sport, payload = line.split("\t")
            data = bytes.fromhex(payload)
            if sport == "4500":
                if data[:4] != bytes(4):
                    continue  # ESP in UDP
                data = data[4:]
            msgs.append({"from": "a" if src == env.left.addr else "b", "hex": data.hex()})
        return {
            "source": "strongSwan 5.9.8 charon (Debian 12) <-> charon, auth = pubkey with "
                      "certificates from ipsecsim's CertificateAuthority(Rng(seed)), captured "
                      "with tshark by tests/vectors/capture_charon_pubkey.py",
            "captured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seed": SEED,
            "ca_key_type": "ecdsa",
            "key_type": key_type,
            "ids": [id_a, id_b],
            "ike_proposal": PROPOSAL,
            "initiator": "a",
            "messages": msgs,
            "ike_keys": {k: v.hex() for k, v in ike_keys(a.log())[0].items()},
        }
    finally:
        env.close()


def main() -> None:
    only = sys.argv[1:]
    for name, (kt, id_a, id_b) in CASES.items():
        if only and name not in only:
            continue
        vec = capture(kt, id_a, id_b)
        path = os.path.join(HERE, f"charon_pubkey_{name}.json")
        with open(path, "w") as f:
            json.dump(vec, f, indent=1)
            f.write("\n")
        print(path, len(vec["messages"]), "messages", sorted(vec["ike_keys"]))


if __name__ == "__main__":
    main()
