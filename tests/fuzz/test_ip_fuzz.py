"""Fuzz properties of the IP library and NAT-T classification (issue 15: "hypothesis
properties for every parser ... fragments, IP, NAT-T classification").

``ipsecsim.core.errors`` promises that codecs raise only :class:`DecodeError` (and the
Reassembler also :class:`PacketDrop` with a reason). The outside test of issue 15 found
IndexError and struct.error escaping ``parse_udp``, ``fix_l4_checksum`` and both
Reassemblers; those inputs are kept below as ``@example`` cases.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from ipsecsim.core import ip, natt
from ipsecsim.core.errors import DecodeError, PacketDrop
from ipsecsim.core.ip import tcp as T
from ipsecsim.core.ip.reassembly import Reassembler
from tests.fuzz.budget import fuzz, only
from tests.fuzz.strategies import BASES, packets


@fuzz(400)
@given(packets())
@example(b"\x45")
@example(b"\x45\x80")
def test_ipv4_codecs_raise_only_decode_error(pkt: bytes) -> None:
    with only("ip.parse_ipv4", DecodeError):
        h = ip.parse_ipv4(pkt)
        assert 20 + len(h.options) <= h.total_length <= len(pkt)
    with only("ip.parse_udp", DecodeError):
        hdr, payload = ip.parse_udp(pkt)
        assert len(payload) == hdr.length - 8
    with only("ip.parse_icmp_echo", DecodeError):
        ip.parse_icmp_echo(pkt)
    with only("ip.tcp.parse_tcp", DecodeError):
        T.parse_tcp(pkt, verify=True)
    with only("ip.fix_l4_checksum", DecodeError):
        fixed = ip.fix_l4_checksum(pkt)
        assert len(fixed) == len(pkt)
    with only("ip.tcp.clamp_mss", DecodeError):
        T.clamp_mss(pkt, 1200)
    with only("ip.fragment_info", DecodeError):
        info = ip.fragment_info(pkt)
        if info is not None:
            assert len(info[3]) > 0


@fuzz(150)
@given(st.lists(packets(), min_size=1, max_size=8), st.integers(0, 3))
@example([b"\x45\x80"], 0)
def test_reassembler_raises_only_decode_error_or_drop(pkts: list[bytes], skip: int) -> None:
    """Any sequence of packets -- mutated fragments among them -- is reassembled, passed
    through, or refused with a reason; the table stays bounded."""
    r = Reassembler(timeout=30.0, max_fragments=16, max_datagrams=4)
    for i, p in enumerate(pkts):
        with only("Reassembler.add", DecodeError, PacketDrop):
            out = r.add(p, now=float(i * skip), tag=i)
            if out is not None:
                ip.parse_ipv4(out, verify=False)  # whatever comes out is a whole datagram
        assert len(r) <= 4


def test_reassembler_rebuilds_the_unmutated_fragments() -> None:
    """The fuzz bases include a real fragment train: unmutated, it comes back whole (so the
    property above feeds a reassembler that really can complete datagrams)."""
    r = Reassembler()
    frags = [b for b in BASES if ip.fragment_info(b) is not None]
    assert len(frags) >= 3
    outs = [r.add(f) for f in frags]
    assert outs[:-1] == [None] * (len(frags) - 1) and outs[-1] is not None
    assert ip.parse_udp(outs[-1])[1] == bytes(300)


@fuzz(400)
@given(st.binary(max_size=64))
@example(b"")
@example(b"\xff")
@example(b"\x00\x00\x00\x00")
def test_natt_classify_never_raises(payload: bytes) -> None:
    """RFC 3948 §2: a UDP-4500 payload is a keepalive (one 0xFF), IKE (non-ESP marker),
    ESP (at least 8 bytes, a non-zero SPI), or malformed."""
    with only("natt.classify"):
        kind = natt.classify(payload)
    assert kind in (natt.KIND_ESP, natt.KIND_IKE, natt.KIND_KEEPALIVE, natt.KIND_MALFORMED)
    with only("natt.strip_non_esp_marker", ValueError):
        ike = natt.strip_non_esp_marker(payload)
        assert kind == natt.KIND_IKE and natt.add_non_esp_marker(ike) == payload
