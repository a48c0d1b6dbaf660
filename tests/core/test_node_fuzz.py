"""No bytes given to ``IpsecNode.receive_packet`` raise (hypothesis, bounded for ``make test``).

The node sits on an established IKE_SA with one CHILD_SA (from test_node_pair's back-to-back
pair), so inputs reach the deep paths: IKE on 500 and 4500 with live SPIs, ESP/AH and
ESP-in-UDP with a live inbound SPI, fragments, and cleartext the inbound policy refuses.
Whatever arrives is delivered, taken by IKE, or dropped with a reason -- never an exception.
"""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from ipsecsim.core import ip
from ipsecsim.core.node_events import PacketDropped
from tests.core.test_node_pair import A_OUT, B_OUT, Pair
from tests.fuzz.budget import fuzz, only

FUZZ = fuzz(300)  # make fuzz scales it

_PAIR = Pair()
_PAIR.start()
NODE = _PAIR.b
[KEYS] = list(NODE.children.values())
[IKE_SA] = list(NODE.ike.ike_sas.values()) if NODE.ike else []


def feed(pkt: bytes) -> None:
    with only("IpsecNode.receive_packet"):
        NODE.receive_packet(pkt, "wan", _PAIR.now)
        # whatever it produced can be pulled; a drop says why
        while (ev := NODE.next_event()) is not None:
            if isinstance(ev, PacketDropped):
                assert ev.reason
        NODE.packets_to_send()
        NODE.packets_to_deliver()


def ipv4(proto: int, payload: bytes, flags_off: int = 0, src: str = A_OUT, dst: str = B_OUT) -> bytes:
    hdr = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, flags_off, 64,
                                proto, 0, ip.addr(src), ip.addr(dst)))
    hdr[10:12] = ip.header_checksum(hdr).to_bytes(2, "big")
    return bytes(hdr) + payload


@FUZZ
@given(st.binary(max_size=200))
def test_any_bytes(data: bytes) -> None:
    feed(data)


@FUZZ
@given(st.sampled_from([ip.IPPROTO_ESP, ip.IPPROTO_AH, ip.IPPROTO_UDP, ip.IPPROTO_ICMP, 4, 6]),
       st.binary(max_size=300), st.sampled_from([0, 0x2000, 0x2001, 0x0003, 0x4000]))
def test_ipv4_to_the_node(proto: int, payload: bytes, flags_off: int) -> None:
    feed(ipv4(proto, payload, flags_off))


@FUZZ
@given(st.binary(max_size=300), st.booleans())
def test_esp_with_a_live_spi(rest: bytes, in_udp: bool) -> None:
    esp = KEYS.spi_in.to_bytes(4, "big") + rest
    if in_udp:
        feed(ipv4(ip.IPPROTO_UDP, struct.pack("!HHHH", 4500, 4500, 8 + len(esp), 0) + esp))
    else:
        feed(ipv4(ip.IPPROTO_ESP, esp))


@FUZZ
@given(st.binary(max_size=400), st.sampled_from([500, 4500]), st.integers(0, 5))
def test_ike_with_live_spis(rest: bytes, port: int, msg_id: int) -> None:
    """An IKE header with the established IKE_SA's SPIs, then anything (sealed SK or not)."""
    hdr = IKE_SA.spi_i + IKE_SA.spi_r + bytes([46, 0x20, 37, 0x08]) + struct.pack("!II", msg_id, 28 + len(rest))
    payload = (b"\0\0\0\0" if port == 4500 else b"") + hdr + rest
    feed(ipv4(ip.IPPROTO_UDP, struct.pack("!HHHH", port, port, 8 + len(payload), 0) + payload))


@FUZZ
@given(st.binary(min_size=20, max_size=120))
def test_cleartext_from_a_protected_subnet(payload: bytes) -> None:
    feed(ipv4(ip.IPPROTO_ICMP, payload, src="10.1.0.10", dst="10.2.0.10"))


def test_the_pair_still_works_after_the_fuzzing() -> None:
    """The node's SAs survive the garbage: a real packet still crosses."""
    feed(b"\x45\x00")
    req = _PAIR.ping(99)
    assert _PAIR.delivered["gw-b"][-1] == req
