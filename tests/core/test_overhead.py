"""``ipsecsim overhead`` equals the length of packets actually built."""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys

import pytest

from ipsecsim.cli.overhead import main as cli_main
from ipsecsim.core import algorithms as A
from ipsecsim.core.errors import ConfigError
from ipsecsim.core.ip import build_ipv4
from ipsecsim.core.overhead import overhead
from ipsecsim.core.proposals import parse_proposal
from tests.helpers.dataplane import sa_pair

CONFIGS = [("esp", "aes128gcm16"), ("esp", "aes256-sha384"), ("esp", "chacha20poly1305"),
           ("esp", "aes128-sha512"), ("ah", "sha256"), ("ah", "sha512")]


@functools.cache
def _sender(proto: str, mode: str, proposal: str, nat_t: bool):
    p = parse_proposal(proposal, proto)[0]
    encr = A.encr(*p.encr[0]) if p.encr else None
    integ = A.INTEG_ALGS[p.integ[0]] if p.integ else None
    return sa_pair(proto, mode, encr, integ, seed=99, encap=(4500, 4500) if nat_t else None)[0]


def built_size(proto: str, mode: str, proposal: str, size: int, nat_t: bool) -> int:
    """Length of a packet of ``size`` bytes sent through an SA with other keys and other contents."""
    tx = _sender(proto, mode, proposal, nat_t)
    pkt = build_ipv4("10.9.8.7", "10.6.5.4", 6, bytes([size & 0xFF]) * (size - 20))
    return len(tx.encapsulate(pkt))


@pytest.mark.parametrize("proto,proposal", CONFIGS)
@pytest.mark.parametrize("mode", ["tunnel", "transport"])
def test_overhead_matches_built_packets_for_every_size(proto, proposal, mode):
    for size in range(28, 1501):
        for nat_t in ((False, True) if proto == "esp" else (False,)):
            r = overhead(proto, mode, proposal, size, nat_t)
            assert r["wire_bytes"] == built_size(proto, mode, proposal, size, nat_t), (size, nat_t)
            assert r["overhead_bytes"] == r["wire_bytes"] - size
            assert sum(r["breakdown"].values()) == r["overhead_bytes"]


def test_breakdown_names_the_parts():
    r = overhead("esp", "tunnel", "aes256-sha256", 1400, nat_t=True)
    b = r["breakdown"]
    assert (b["outer IPv4"], b["UDP (NAT-T)"], b["ESP header"], b["IV"], b["ICV"]) == (20, 8, 8, 16, 16)
    assert (1400 + b["padding"] + 2) % 16 == 0
    a = overhead("ah", "transport", "sha384", 100)["breakdown"]
    assert a == {"AH header": 12, "ICV": 24}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ipsecsim", "overhead", *args],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("proto,mode,proposal,size,nat", [
    ("esp", "tunnel", "aes128gcm16", 28, False),
    ("esp", "tunnel", "aes256-sha512", 1500, True),
    ("esp", "transport", "chacha20poly1305", 777, False),
    ("ah", "tunnel", "sha384", 1400, False),
    ("ah", "transport", "sha256", 29, False),
])
def test_cli_json_equals_built_packets(proto, mode, proposal, size, nat):
    args = ["--proto", proto, "--mode", mode, "--proposal", proposal, "--size", str(size), "--json"]
    p = _cli(*args, *(["--nat-t"] if nat else []))
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["wire_bytes"] == built_size(proto, mode, proposal, size, nat)
    assert r["overhead_bytes"] == r["wire_bytes"] - size


def test_cli_table_and_errors():
    p = _cli("--size", "1400")
    assert p.returncode == 0 and "1456 B" in p.stdout and "ICV" in p.stdout
    for bad in (["--size", "19"], ["--size", "65535"], ["--size", "100", "--proposal", "aes128gcm17"],
                ["--size", "100", "--proto", "ah", "--nat-t", "--proposal", "sha256"]):
        p = _cli(*bad)
        assert p.returncode == 2 and "error" in p.stderr and "Traceback" not in p.stderr


def test_cli_main_in_process(capsys):
    ns = argparse.Namespace(proto="esp", mode="transport", proposal="aes128gcm16", size=100,
                            nat_t=False, json=True)
    assert cli_main(ns) == 0
    assert json.loads(capsys.readouterr().out)["wire_bytes"] == 100 + 8 + 8 + 2 + 2 + 16
    with pytest.raises(ConfigError):
        overhead("esp", "tunnel", "aes128gcm16", 10)
