"""tshark (Wireshark 4.0) as a second, independent ESP peer.

The test writes a pcap of ESP packets built by ipsecsim and a Wireshark
configuration folder (``esp_sa`` + ``preferences``, from ``ipsecsim.export.wireshark``)
and asks tshark, with ESP decryption and its authentication check on, whether
every packet decrypts to an inner IP packet with a good ICV. AES-GCM,
AES-CBC + HMAC-SHA2 and NULL + HMAC; tunnel and transport; plain and UDP-4500.
tshark 4.0 has no ChaCha20-Poly1305 for ESP, so that cipher is not covered here
(Scapy covers it in test_scapy.py).
"""

from __future__ import annotations

import subprocess

import pytest

from ipsecsim.core.ip import echo_reply_for, icmp_echo_packet, udp_packet
from ipsecsim.export.pcap import read_pcap, write_pcap
from ipsecsim.export.wireshark import esp_sa, esp_sa_lines, write_config
from tests.helpers.dataplane import (
    CBC128,
    CBC256,
    GCM128,
    GCM256,
    NULL,
    SHA256,
    SHA384,
    SHA512,
    child_keys,
    sa_pair,
)
from tests.helpers.oracles import need_tool

pytestmark = pytest.mark.oracle

ALGS = [(GCM128, None), (GCM256, None), (CBC128, SHA256), (CBC256, SHA384), (CBC128, SHA512),
        (NULL, SHA256)]


def _tshark(tshark: str, cfg: str, pcap: str, *extra: str) -> list[list[str]]:
    out = subprocess.run(
        [tshark, "-n", "-r", pcap, "-o", "esp.enable_encryption_decode:TRUE",
         "-o", "esp.enable_authentication_check:TRUE", "-T", "fields", "-E", "separator=|",
         "-e", "frame.protocols", "-e", "esp.spi", "-e", "esp.icv_good", "-e", "esp.icv_bad", *extra],
        env={"WIRESHARK_CONFIG_DIR": cfg, "HOME": cfg, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=True)
    return [line.split("|") for line in out.stdout.splitlines() if line]


def _build(tmp_path, wrong_key: bool = False):
    packets, lines, expect = [], [], []
    spi = 0x5000
    for encr, integ in ALGS:
        for mode in ("tunnel", "transport"):
            for encap in (None, (4500, 4500)):
                spi += 1
                tx, _rx = sa_pair("esp", mode, encr, integ, seed=spi, spi=spi, encap=encap)
                if mode == "tunnel":
                    src, dst = tx.tunnel_src, tx.tunnel_dst
                    inner = [icmp_echo_packet("10.1.0.5", "10.2.0.7", data=b"tshark" * 7),
                             udp_packet("10.1.0.5", "10.2.0.7", 40000, 40001, bytes(1000))]
                else:
                    src, dst = "192.0.2.10", "192.0.2.20"
                    inner = [icmp_echo_packet(src, dst, data=b"tshark" * 7),
                             udp_packet(src, dst, 40000, 40001, bytes(1000))]
                for p in inner:
                    packets.append(tx.encapsulate(p))
                    expect.append((spi, mode, encap is not None, p[9]))
                ek, ik = tx.test_keys
                if wrong_key:
                    ek = bytes(b ^ 0xFF for b in ek) if encr.aead else ek
                    ik = bytes(b ^ 0xFF for b in ik) if ik else ik
                lines.append(esp_sa(src, dst, spi, encr, ek, integ, ik))
    pcap = str(tmp_path / "esp.pcap")
    write_pcap(pcap, packets)
    cfg = write_config(tmp_path / "wireshark", lines)
    return pcap, cfg, expect


def test_pcap_round_trip(tmp_path):
    pkts = [icmp_echo_packet("10.0.0.1", "10.0.0.2", seq=i) for i in range(3)]
    path = tmp_path / "x.pcap"
    assert write_pcap(path, [(0.5 * i, p) for i, p in enumerate(pkts)]) == 3
    got = list(read_pcap(path))
    assert [p for _t, p in got] == pkts
    assert [t for t, _p in got] == [0.0, 0.5, 1.0]


def test_every_esp_packet_decrypts_with_good_icv(tmp_path):
    tshark = need_tool("tshark")
    pcap, cfg, expect = _build(tmp_path)
    rows = _tshark(tshark, cfg, pcap)
    assert len(rows) == len(expect)
    for (protocols, spi, good, bad), (want_spi, mode, encap, inner_proto) in zip(rows, expect, strict=True):
        assert int(spi, 16) == want_spi
        assert good == "1" and bad in ("", "0"), (protocols, want_spi)
        layers = protocols.split(":")
        assert ("udpencap" in layers) == encap
        after_esp = layers[layers.index("esp") + 1:]
        upper = {1: "icmp", 17: "udp"}[inner_proto]
        # tunnel: esp:ip:<upper>; transport: esp:<upper>
        want = ["ip", upper] if mode == "tunnel" else [upper]
        assert after_esp[:len(want)] == want, protocols


def test_wrong_keys_are_noticed_by_tshark(tmp_path):
    """The oracle can fail: with wrong keys GCM no longer decrypts and HMAC ICVs turn bad."""
    tshark = need_tool("tshark")
    pcap, cfg, expect = _build(tmp_path, wrong_key=True)
    rows = _tshark(tshark, cfg, pcap)
    assert len(rows) == len(expect)
    assert all(good != "1" for _p, _s, good, _b in rows)


def test_ikev2_decryption_table_lines():
    """The line shape tshark 4.0 reads (shared ORACLES.md): hex without 0x, quoted algorithm names."""
    from ipsecsim.core import algorithms as A
    from ipsecsim.export.wireshark import ikev2_decryption_table

    cbc, gcm = A.encr(A.ENCR_AES_CBC, 256), A.encr(A.ENCR_AES_GCM_16, 128)
    line = ikev2_decryption_table(0x0102030405060708, bytes(range(8)), b"\x01" * 32, b"\x02" * 32, cbc,
                                  b"\x03" * 32, b"\x04" * 32, SHA256)
    assert line == ("0102030405060708,0001020304050607," + "01" * 32 + "," + "02" * 32 +
                    ',"AES-CBC-256 [RFC3602]",' + "03" * 32 + "," + "04" * 32 + ',"HMAC_SHA2_256_128 [RFC4868]"')
    aead = ikev2_decryption_table(1, 2, b"\x05" * 20, b"\x06" * 20, gcm, b"", b"", None)
    assert aead.endswith(',"AES-GCM-128 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"')
    with pytest.raises(ValueError, match="cannot"):
        esp_sa("1.1.1.1", "2.2.2.2", 1, A.encr(A.ENCR_CHACHA20_POLY1305, 0), bytes(36), None, b"")


def test_stack_traffic_from_a_trace_decrypts_with_esp_sa_lines(tmp_path):
    """End to end: two IPsecStacks exchange pings; the trace's link_tx records become a pcap
    (write_trace_pcaps) and the child's keys become esp_sa lines (esp_sa_lines); tshark
    decrypts both directions with good ICVs."""
    tshark = need_tool("tshark")
    from ipsecsim.core.rng import Rng
    from ipsecsim.core.stack import IPsecStack
    from ipsecsim.export.pcap import write_trace_pcaps
    from ipsecsim.trace import Trace

    trace, lines = Trace(), []
    for gen, (encr, integ) in enumerate([(GCM128, None), (CBC256, SHA256)], start=1):
        ka, kb = child_keys(gen=gen, encr=encr, integ=integ)
        a, b = IPsecStack(Rng(1), "gw-a", [ka.local_addr]), IPsecStack(Rng(2), "gw-b", [kb.local_addr])
        a.install_child(ka)
        b.install_child(kb)
        for i in range(3):
            req = icmp_echo_packet("10.1.0.5", "10.2.0.7", seq=i, data=b"ping")
            w1 = a.outbound(req)
            trace.emit(gen + i * 0.1, "link_tx", "gw-a", "wan", i, "gw-a", "gw-b", len(w1), w1)
            w2 = b.outbound(echo_reply_for(b.inbound(w1)))
            trace.emit(gen + i * 0.1 + 0.01, "link_tx", "gw-b", "wan", i, "gw-b", "gw-a", len(w2), w2)
            assert a.inbound(w2)[20] == 0  # echo reply
        lines += esp_sa_lines(ka)  # both directions, from A's view of the child
    cfg = write_config(tmp_path / "ws", lines)
    paths = write_trace_pcaps(trace, tmp_path / "pcap")
    assert list(paths) == ["wan"]
    rows = _tshark(tshark, cfg, paths["wan"])
    assert len(rows) == 12
    assert all(good == "1" and protocols.endswith("esp:ip:icmp:data") for protocols, _s, good, _b in rows)
