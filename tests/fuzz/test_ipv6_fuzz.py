"""Hypothesis properties for the IPv6 parsers and the dual-stack SA's receive path: mutated
IPv6 packets (chains, fragments, ESP, AH) raise only what each function documents --
DecodeError, or PacketDrop with a reason -- never IndexError or struct.error (issue 14's
"bad input ... never a crash"; `make fuzz` scales them)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ipsecsim.core.ah6 import zero_mutable6
from ipsecsim.core.errors import DecodeError, PacketDrop
from ipsecsim.core.ip import Reassembler, icmpv6, ipv6
from ipsecsim.core.ip.ipv6_frag import fragment6, fragment_info6
from tests.core.ipv6.helpers6 import inner_packets, pair6
from tests.fuzz.budget import fuzz, only
from tests.fuzz.strategies import mutated
from tests.helpers.dataplane import CBC128, GCM128, SHA256, SHA384

_ESP_TX, ESP_RX = pair6("esp", "6in6", GCM128, None)
_AH_TX, AH_RX = pair6("ah", "transport6", None, SHA384)
_CBC_TX, CBC_RX = pair6("esp", "6in4", CBC128, SHA256)
_CHAIN = bytes.fromhex("3c00" + "01020000" + "0000") + bytes.fromhex("2b02" + "0001" + "00000000") + bytes(16)
SEEDS = ([_ESP_TX.encapsulate(p) for p in inner_packets(6)] + [_AH_TX.encapsulate(inner_packets(6)[0])]
         + [_CBC_TX.encapsulate(inner_packets(6)[0])]
         + fragment6(inner_packets(6)[1], 1280, ident=3)
         + [ipv6.build_ipv6("2001:db8::1", "2001:db8::2", 0, _CHAIN[:8] + bytes.fromhex("3c00") + _CHAIN[10:]
                            + bytes((59, 0)) + bytes(6))]
         + inner_packets(6))


@st.composite
def packets6(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 5)) == 0:
        return b"\x60" + draw(st.binary(max_size=120))
    return draw(mutated(draw(st.sampled_from(SEEDS))))


@fuzz(400)
@given(packets6())
def test_ipv6_codecs_raise_only_decode_error(pkt: bytes) -> None:
    with only("ipv6.walk", DecodeError):
        ch = ipv6.walk(pkt)
        assert ch.end <= len(pkt) and len(ch.headers) <= ipv6.MAX_EXT_HEADERS
        for h in ch.headers:
            assert h.offset + h.length <= ch.end
            if h.kind in (0, 60):
                with only("ipv6.options", DecodeError):
                    ipv6.options(pkt, h)
    with only("ipv6.parse_udp6", DecodeError):
        ipv6.parse_udp6(pkt)
    with only("icmpv6.parse_icmpv6", DecodeError):
        icmpv6.parse_icmpv6(pkt)
    with only("ipv6_frag.fragment_info6", DecodeError):
        fragment_info6(pkt)
    with only("ipv6_frag.fragment6", DecodeError):
        for f in fragment6(pkt, 1280, ident=1):
            assert len(f) <= 1280
    with only("ah6.zero_mutable6", PacketDrop):
        zero_mutable6(pkt)


@fuzz(300)
@given(packets6())
def test_dual_stack_receive_path_drops_with_a_reason(pkt: bytes) -> None:
    for name, rx in (("DualStackSA.decapsulate esp", ESP_RX), ("DualStackSA.decapsulate ah", AH_RX),
                     ("DualStackSA.decapsulate 6in4", CBC_RX)):
        before = sum(rx.drops.values())
        with only(name, PacketDrop):
            try:
                rx.decapsulate(pkt)
            except PacketDrop:
                assert sum(rx.drops.values()) == before + 1  # counted, once
                raise


@fuzz(150)
@given(st.lists(packets6(), min_size=1, max_size=8))
def test_ipv6_reassembly_raises_only_decode_error_or_drop(pkts: list[bytes]) -> None:
    r = Reassembler(max_fragments=16, max_datagrams=4)
    for i, p in enumerate(pkts):
        with only("Reassembler.add v6", DecodeError, PacketDrop):
            out = r.add(p, now=float(i), tag=i)
            if out is not None and out[0] >> 4 == 6:
                assert ipv6.walk(out).fragment is None  # whatever comes out is whole
    assert len(r) <= 4
