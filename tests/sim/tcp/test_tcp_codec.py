"""The TCP codec and MSS clamping (core/ip/tcp.py), with Scapy as the independent oracle."""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import DecodeError
from ipsecsim.core.ip import tcp as T
from ipsecsim.core.ip.ipv4 import aton

scapy_inet = pytest.importorskip("scapy.layers.inet")
IP, TCP = scapy_inet.IP, scapy_inet.TCP

A, B = aton("10.1.0.10"), aton("10.2.0.10")


def _scapy_checksums_ok(pkt: bytes) -> bool:
    """Scapy recomputes both checksums when they are deleted: equal means ours were right."""
    p = IP(pkt)
    ip_c, tcp_c = p.chksum, p[TCP].chksum
    del p.chksum
    del p[TCP].chksum
    q = IP(bytes(p))
    return q.chksum == ip_c and q[TCP].chksum == tcp_c


def test_syn_with_options_as_scapy_reads_it():
    pkt = T.tcp(A, B, 40000, 5201, 123456, 0, T.SYN, 65535, options=T.syn_options(1460, 7), ident=9)
    p = IP(pkt)
    assert p[TCP].sport == 40000 and p[TCP].dport == 5201 and p[TCP].seq == 123456
    assert p[TCP].flags == "S" and p.flags == "DF"
    opts = dict((k, v) for k, v in p[TCP].options if k in ("MSS", "WScale"))
    assert opts == {"MSS": 1460, "WScale": 7}
    assert _scapy_checksums_ok(pkt)
    seg = T.parse_tcp(pkt, verify=True)
    assert (seg.mss, seg.wscale, seg.flags, seg.payload_len) == (1460, 7, T.SYN, 0)


def test_data_segment_checksum_and_length():
    pkt = T.tcp(A, B, 1, 2, 2**32 - 10, 77, T.ACK | T.PSH, 512, 1000, payload=b"x" * 1000)
    assert len(pkt) == 1040
    assert _scapy_checksums_ok(pkt)
    assert T.parse_tcp(pkt, verify=True).payload_len == 1000
    bad = bytearray(pkt)
    bad[-1] ^= 1
    with pytest.raises(DecodeError, match="checksum"):
        T.parse_tcp(bytes(bad), verify=True)


@pytest.mark.parametrize("pad", [0, 1])
def test_clamp_rewrites_the_mss_and_keeps_the_checksum_right(pad):
    # pad=1 puts the MSS option at an odd offset (after one NOP): the incremental update
    # would be wrong there, so the checksum is recomputed
    opts = b"\x01" * pad + T.syn_options(1460, None) + b"\x01" * (4 - pad if pad else 0)
    pkt = T.tcp(A, B, 1, 2, 5, 0, T.SYN, 65535, options=opts)
    out = T.clamp_mss(pkt, 1360)
    assert T.parse_tcp(out, verify=True).mss == 1360
    assert _scapy_checksums_ok(out)
    assert T.clamp_mss(out, 1400) is out  # already below: untouched


def test_clamp_leaves_other_packets_alone():
    ack = T.tcp(A, B, 1, 2, 5, 6, T.ACK, 100, 10)
    assert T.clamp_mss(ack, 500) is ack
    assert T.clamp_mss(b"\x45" + bytes(10), 500) == b"\x45" + bytes(10)


@pytest.mark.parametrize("cut", [20, 30, 39, 44, 46])
def test_truncated_segments_are_decode_errors(cut):
    pkt = T.tcp(A, B, 1, 2, 5, 6, T.SYN, 100, options=T.syn_options(1460, 2))
    broken = bytearray(pkt[:cut])
    broken[2:4] = len(broken).to_bytes(2, "big")
    with pytest.raises(DecodeError):
        T.parse_tcp(bytes(broken))
