"""The SA's inlined AEAD tunnel fast paths agree with its general paths, byte for byte.

``SecurityAssociation.encapsulate`` / ``decapsulate`` take a shortcut for AEAD
ESP in tunnel mode; ``_encapsulate`` / ``_decapsulate`` are the general code.
Fed the same input, fresh SAs must give the same bytes, the same drop reason
and the same counters either way -- including for plaintexts no honest sender
makes (wrong padding, next header, inner length), which are built here with the
SA's own key straight through ``cryptography`` so that their tag verifies.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsecsim.core.errors import PacketDrop
from ipsecsim.core.ip import build_ipv4, udp_packet
from tests.helpers.dataplane import CHACHA, GCM128, GCM256, TUNNEL_DST, TUNNEL_SRC, sa_pair

AEADS = [GCM128, GCM256, CHACHA]
SPI = 0x11223344


def _outcome(fn, pkt: bytes) -> tuple[str, bytes | str]:
    try:
        return "ok", fn(pkt)
    except PacketDrop as exc:
        return "drop", exc.reason


def _state(sa) -> tuple:
    return sa.seq, sa.packets, sa.bytes, dict(sa.drops), sa.replay.top, sa.replay.bitmap


def _forge(encr, esn: bool, seq: int, plaintext: bytes, *, ident: int = 0) -> bytes:
    """An outer IPv4 + ESP packet whose ciphertext is ``plaintext`` under the pair's key
    (RFC 4106 §3.1 / RFC 7634 §2: nonce = salt || IV; AAD = SPI || Seq, or SPI || Seq-hi || Seq-lo)."""
    tx, _ = sa_pair("esp", "tunnel", encr, None, esn=esn)
    aead, salt = tx.esp._aead, tx.esp._salt
    aad = struct.pack("!III", SPI, seq >> 32, seq & 0xFFFFFFFF) if esn else struct.pack("!II", SPI, seq)
    esp = struct.pack("!IIQ", SPI, seq & 0xFFFFFFFF, seq)
    esp += aead.encrypt(salt + esp[8:16], plaintext, aad)
    return build_ipv4(TUNNEL_SRC, TUNNEL_DST, 50, esp, ident=ident)


@pytest.mark.parametrize("encr", AEADS, ids=lambda e: e.name)
@pytest.mark.parametrize("esn", [False, True])
@settings(max_examples=40, deadline=None)
@given(payload=st.binary(max_size=2000), start=st.sampled_from([0, 7, 2**32 - 3]))
def test_fast_and_general_encapsulation_give_the_same_bytes(encr, esn, payload, start):
    fast, _ = sa_pair("esp", "tunnel", encr, None, esn=esn)
    slow, _ = sa_pair("esp", "tunnel", encr, None, esn=esn)
    fast.seq = slow.seq = start
    pkt = udp_packet("10.1.0.1", "10.2.0.1", 1, 2, payload)
    for _ in range(4):  # crosses 2**32 with ESN; runs out of sequence numbers without
        assert _outcome(fast.encapsulate, pkt) == _outcome(slow._encapsulate, pkt)
        assert _state(fast) == _state(slow)


# plaintexts after decryption: an honest one, then every way its trailer or inner header can be off
def _plaintexts(inner: bytes) -> list[bytes]:
    n = len(inner)
    pad = -(n + 2) & 3
    good = inner + bytes(range(1, pad + 1)) + bytes((pad, 4))
    extra = inner + bytes(range(1, pad + 5)) + bytes((pad + 4, 4))  # more padding than needed
    tfc = inner + bytes(8) + good[n:]  # TFC zeros after the packet (RFC 4303 §2.4)
    bad_pad = inner + bytes(pad + 1) + bytes((pad + 1, 4))  # zeros instead of 1, 2, 3, ...
    nh6 = good[:-1] + b"\x06"  # next header TCP in a tunnel SA
    too_long = good[:2] + struct.pack("!H", n + 40) + good[4:]
    too_short = good[:2] + struct.pack("!H", 12) + good[4:]
    v6 = b"\x65" + good[1:]
    huge_padlen = good[:-2] + bytes((250, 4))
    return [good, extra, tfc, bad_pad, nh6, too_long, too_short, v6, huge_padlen, b"\x45\x00\x00\x04"]


@pytest.mark.parametrize("encr", AEADS, ids=lambda e: e.name)
@pytest.mark.parametrize("esn", [False, True])
@settings(max_examples=20, deadline=None)
@given(payload=st.binary(max_size=300), seq=st.sampled_from([1, 5, 40, 2**32 - 1]))
def test_fast_and_general_decapsulation_agree_on_any_plaintext(encr, esn, payload, seq):
    inner = udp_packet("10.1.0.1", "10.2.0.1", 1, 2, payload)
    results = []
    for pt in _plaintexts(inner):
        wire = _forge(encr, esn, seq, pt, ident=seq & 0xFFFF)
        _, fast = sa_pair("esp", "tunnel", encr, None, esn=esn)
        _, slow = sa_pair("esp", "tunnel", encr, None, esn=esn)
        for _ in range(2):  # the second time it is a replay
            got = _outcome(fast.decapsulate, wire)
            assert got == _outcome(slow._decapsulate, wire)
            assert _state(fast) == _state(slow)
            results.append(got)
    # honest, extra padding, TFC: delivered then a replay; the damaged ones each refused
    assert results[:6:2] == [("ok", inner)] * 3
    assert results[1:6:2] == [("drop", "replay")] * 3
    assert {r[1] for r in results[6::2]} == {"bad_padding", "malformed"}


@pytest.mark.parametrize("encr", AEADS, ids=lambda e: e.name)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_fast_and_general_decapsulation_agree_on_a_damaged_outer_header(encr, data):
    tx, _ = sa_pair("esp", "tunnel", encr, None)
    wire = bytearray(tx.encapsulate(udp_packet("10.1.0.1", "10.2.0.1", 1, 2, data.draw(st.binary(max_size=64)))))
    at = data.draw(st.integers(0, 39))
    wire[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.sampled_from([None, 50, len(wire) - 1]))
    pkt = bytes(wire[:cut])
    _, fast = sa_pair("esp", "tunnel", encr, None)
    _, slow = sa_pair("esp", "tunnel", encr, None)
    assert _outcome(fast.decapsulate, pkt) == _outcome(slow._decapsulate, pkt)
    assert _state(fast) == _state(slow)


def test_an_expired_sa_leaves_the_fast_path():
    tx, rx = sa_pair("esp", "tunnel", GCM128, None, limits={"hard_packets": 2})
    pkt = udp_packet("10.1.0.1", "10.2.0.1", 1, 2, b"x")
    wires = [tx.encapsulate(pkt), tx.encapsulate(pkt)]
    with pytest.raises(PacketDrop) as e:
        tx.encapsulate(pkt)
    assert e.value.reason == "sa_expired" and tx.expired
    assert rx.decapsulate(wires[0]) == pkt
    assert rx.decapsulate(wires[1]) == pkt
    with pytest.raises(PacketDrop) as e:
        rx.decapsulate(wires[1])
    assert e.value.reason == "sa_expired"
    tx.expired = False  # clearing it by hand re-enables traffic
    assert rx.expired and tx.encapsulate(pkt)
