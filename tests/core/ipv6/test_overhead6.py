"""``ipsecsim overhead --ip 6 [--inner 4|6]`` against Scapy: the wire size it reports is the
length of the packet Scapy's SecurityAssociation builds for the same original packet
(issue 14: "ipsecsim overhead --ip 6 agrees with it")."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from ipsecsim.cli.overhead import main as cli_main
from ipsecsim.core.errors import ConfigError
from ipsecsim.core.overhead import _TUNNEL_ADDRS, overhead, sa_for, sample_packet
from tests.core.ipv6.helpers6 import SCAPY_AUTH, SCAPY_CRYPT, scapy_ip

pytest.importorskip("scapy.layers.ipsec")

CASES = [(proto, proposal, mode, ip, inner)
         for proto, proposal in (("esp", "aes128gcm16"), ("esp", "aes256-sha384"), ("esp", "chacha20poly1305"),
                                 ("ah", "sha256"), ("ah", "sha512"))
         for mode, ip, inner in (("tunnel", 6, 6), ("tunnel", 6, 4), ("tunnel", 4, 6), ("transport", 6, 6))]
SIZES = (48, 49, 555, 1400)


def scapy_wire_len(proto: str, proposal: str, mode: str, ip: int, pkt: bytes) -> int:
    from scapy.layers import ipsec as S
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6

    ours = sa_for(proto, mode, proposal, ip=ip, inner=pkt[0] >> 4)
    kw: dict = {}
    if mode == "tunnel":
        src, dst = _TUNNEL_ADDRS[ip]
        kw["tunnel_header"] = IPv6(src=src, dst=dst) if ip == 6 else IP(src=src, dst=dst)
    if proto == "esp":
        kw.update(crypt_algo=SCAPY_CRYPT[ours.encr.name], crypt_key=b"\0" * (ours.encr.keymat_size))
        if ours.encr.aead:
            kw["crypt_icv_size"] = 16
        else:
            kw.update(auth_algo=SCAPY_AUTH[ours.integ.name], auth_key=bytes(ours.integ.key_size))
        sa = S.SecurityAssociation(S.ESP, spi=1, **kw)
    else:
        sa = S.SecurityAssociation(S.AH, spi=1, auth_algo=SCAPY_AUTH[ours.integ.name],
                                   auth_key=bytes(ours.integ.key_size), **kw)
    return len(bytes(sa.encrypt(scapy_ip(pkt))))


@pytest.mark.parametrize("proto,proposal,mode,ip,inner", CASES,
                         ids=[f"{p}-{q}-{m}-{i}in{o}" for p, q, m, o, i in CASES])
def test_overhead_agrees_with_scapy(proto, proposal, mode, ip, inner):
    for size in SIZES:
        r = overhead(proto, mode, proposal, size, ip=ip, inner=inner)
        assert r["wire_bytes"] == scapy_wire_len(proto, proposal, mode, ip, sample_packet(size, inner))
        assert sum(r["breakdown"].values()) == r["overhead_bytes"] == r["wire_bytes"] - size
        assert (r["ip"], r["inner"]) == (ip, inner)


def test_ipv6_breakdown_names_the_outer_header_and_ah_alignment():
    r = overhead("ah", "tunnel", "sha256", 1000, ip=6)
    assert r["breakdown"] == {"outer IPv6": 40, "AH header": 12, "ICV": 16, "ICV padding": 4}
    r4 = overhead("ah", "tunnel", "sha256", 1000)
    assert r4["breakdown"] == {"outer IPv4": 20, "AH header": 12, "ICV": 16} and "ip" not in r4


def test_cli_ip6_and_its_errors():
    p = subprocess.run([sys.executable, "-m", "ipsecsim", "overhead", "--size", "1400", "--ip", "6",
                        "--inner", "4", "--json"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["wire_bytes"] == 1476 and r["breakdown"]["outer IPv6"] == 40  # 1400 + 40 + 8 + 8 + 2 + 2 + 16
    base = dict(proto="esp", mode="tunnel", proposal="aes128gcm16", size=1400, nat_t=False, json=True)
    for bad in ({"ip": 6, "nat_t": True}, {"ip": 6, "inner": 4, "mode": "transport"}, {"ip": 6, "size": 39}):
        assert cli_main(argparse.Namespace(**{**base, "ip": 4, "inner": None, **bad})) == 2
    with pytest.raises(ConfigError, match="NAT traversal"):
        overhead("esp", "tunnel", "aes128gcm16", 100, nat_t=True, ip=4, inner=6)
