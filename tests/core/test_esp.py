"""ESP through the SA: round trips, tampering, limits, TFC padding, NAT-T (RFC 4303, RFC 3948)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipsecsim.core.errors import DROP_REASONS, ConfigError, PacketDrop
from ipsecsim.core.ip import (
    build_ipv4,
    fix_l4_checksum,
    parse_ipv4,
    parse_udp,
    set_ipv4_checksum,
    udp_packet,
)
from ipsecsim.core.sa import SaLimitReached
from tests.helpers.dataplane import CBC128, ESP_ALGS, GCM128, MODES, NULL, SHA256, alg_id, sa_pair

CASES = [(m, e, i) for e, i in ESP_ALGS + [(NULL, SHA256)] for m in MODES]
IDS = [f"{m}-{alg_id(e, i)}" for m, e, i in CASES]
PAIRS = {c: sa_pair("esp", c[0], c[1], c[2], replay_window=0) for c in CASES}
ENCAP_PAIRS = {c: sa_pair("esp", c[0], c[1], c[2], replay_window=0, encap=(4500, 4500)) for c in CASES}


def _packet(payload: bytes, proto: int = 17) -> bytes:
    if proto == 17:
        return udp_packet("10.1.0.1", "10.2.0.1", 40000, 40001, payload)
    return build_ipv4("10.1.0.1", "10.2.0.1", proto, payload)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=9000), proto=st.sampled_from([17, 6, 253]), encap=st.booleans())
def test_round_trip_any_payload(case, payload, proto, encap):
    tx, rx = (ENCAP_PAIRS if encap else PAIRS)[case]
    pkt = _packet(payload, proto)
    wire = tx.encapsulate(pkt)
    h = parse_ipv4(wire)  # a valid outer IPv4 packet
    assert h.proto == (17 if encap else 50)
    assert len(wire) - len(pkt) == tx.overhead(len(pkt))
    block = case[1].block_size
    esp_len = len(wire) - 20 - (8 if encap else 0)
    assert (esp_len - 8 - case[1].iv_size - tx.esp.icv_size) % block == 0
    # transport mode in UDP recomputes TCP/UDP checksums (RFC 3948 §3.1.2); our random
    # "TCP" payloads do not carry a valid one to begin with
    want = fix_l4_checksum(pkt) if encap and case[0] == "transport" else pkt
    assert rx.decapsulate(wire) == want


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_any_single_flipped_bit_is_rejected_and_counted(case, data):
    mode, encr, integ = case
    tx, rx = sa_pair("esp", mode, encr, integ, replay_window=32)
    pkt = _packet(data.draw(st.binary(max_size=300)))
    wire = bytearray(tx.encapsulate(pkt))
    bit = data.draw(st.integers(min_value=0, max_value=len(wire) * 8 - 1))
    wire[bit // 8] ^= 1 << (bit % 8)
    before = sum(rx.drops.values())
    # flips in the IPv4 header (outside ESP's protection) are caught by its checksum
    with pytest.raises(PacketDrop) as exc:
        rx.decapsulate(bytes(wire))
    assert exc.value.reason in DROP_REASONS
    assert sum(rx.drops.values()) == before + 1
    assert rx.packets == 0


@settings(max_examples=300, deadline=None)
@given(junk=st.binary(max_size=200))
def test_garbage_is_a_counted_drop_never_a_crash(junk):
    _tx, rx = PAIRS[("tunnel", GCM128, None)]
    before = sum(rx.drops.values())
    with pytest.raises(PacketDrop):
        rx.decapsulate(junk)
    assert sum(rx.drops.values()) == before + 1


def test_gcm_ivs_never_repeat_and_cbc_ivs_come_from_the_seed():
    tx, _ = sa_pair("esp", "tunnel", GCM128, None)
    ivs = {tx.encapsulate(_packet(b"x"))[28:36] for _ in range(500)}
    assert len(ivs) == 500
    a, _ = sa_pair("esp", "tunnel", CBC128, SHA256, seed=7)
    b, _ = sa_pair("esp", "tunnel", CBC128, SHA256, seed=7)
    c, _ = sa_pair("esp", "tunnel", CBC128, SHA256, seed=8)
    wa = [a.encapsulate(_packet(b"y")) for _ in range(50)]
    assert wa == [b.encapsulate(_packet(b"y")) for _ in range(50)]  # same seed, same bytes
    assert len({w[28:44] for w in wa}) == 50
    assert c.encapsulate(_packet(b"y"))[28:44] != wa[0][28:44]


def test_soft_and_hard_packet_limits_raise_events_then_refuse():
    tx, _ = sa_pair("esp", "tunnel", GCM128, None, limits={"soft_packets": 3, "hard_packets": 5})
    for _ in range(5):
        tx.encapsulate(_packet(b"z"))
    assert tx.events == [SaLimitReached(tx.spi, "soft", "packets", "esp", 3),
                         SaLimitReached(tx.spi, "hard", "packets", "esp", 5)]
    with pytest.raises(PacketDrop) as exc:
        tx.encapsulate(_packet(b"z"))
    assert exc.value.reason == "sa_expired" and tx.packets == 5


def test_byte_limits_count_plaintext_bytes():
    pkt = _packet(bytes(72))  # 100 bytes
    _, rx = sa_pair("esp", "tunnel", GCM128, None, limits={"soft_bytes": 250, "hard_bytes": 10_000})
    tx, _ = sa_pair("esp", "tunnel", GCM128, None)
    for _ in range(3):
        rx.decapsulate(tx.encapsulate(pkt))
    assert rx.bytes == 300
    assert [(e.which, e.kind) for e in rx.events] == [("soft", "bytes")]


def test_tfc_padding_hides_the_length_and_is_removed():
    tx, rx = sa_pair("esp", "tunnel", GCM128, None, tfc_pad=500)
    small, big = _packet(b"a"), _packet(bytes(600))
    ws, wb = tx.encapsulate(small), tx.encapsulate(big)
    assert len(ws) == len(tx.encapsulate(_packet(bytes(300))))  # both padded to 500
    assert len(wb) > len(ws)
    assert rx.decapsulate(ws) == small and rx.decapsulate(wb) == big


def test_nat_t_transport_fixes_the_inner_udp_checksum():
    """RFC 3948 §3.1.2: after a NAT changed the outer addresses, the receiver recomputes
    the TCP/UDP checksum of the reconstructed transport-mode packet."""
    tx, rx = sa_pair("esp", "transport", GCM128, None, encap=(4500, 4500))
    pkt = udp_packet("192.168.0.10", "203.0.113.9", 5000, 6000, b"through a NAT")
    wire = bytearray(tx.encapsulate(pkt))
    wire[12:16] = bytes([198, 51, 100, 77])  # NAT rewrites the source and fixes the header
    set_ipv4_checksum(wire)
    out = rx.decapsulate(bytes(wire))
    assert out[12:16] == bytes([198, 51, 100, 77])
    _h, payload = parse_udp(out)  # checksum verified against the new pseudo-header
    assert payload == b"through a NAT"
    assert out == fix_l4_checksum(out)


def test_impossible_configurations_are_refused_with_a_sentence():
    with pytest.raises(ConfigError, match="AEAD"):
        sa_pair("esp", "tunnel", GCM128, SHA256)
    with pytest.raises(ConfigError, match="integrity"):
        sa_pair("esp", "tunnel", CBC128, None)
    with pytest.raises(ConfigError, match="tunnel_src"):
        sa_pair("esp", "tunnel", GCM128, None, tunnel_src=None)
    with pytest.raises(ConfigError, match="UDP"):
        sa_pair("ah", "tunnel", None, SHA256, encap=(4500, 4500))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("encap", [None, (4500, 4500)])
def test_esn_round_trip_across_2_32_every_algorithm(case, encap):
    """ESN (RFC 4303 §2.2.1, RFC 4106 §5): high bits in the ICV/AAD, low bits on the wire."""
    mode, encr, integ = case
    tx, rx = sa_pair("esp", mode, encr, integ, esn=True, encap=encap)
    tx.seq = 2**32 - 2
    rx.replay.accept(2**32 - 4)
    pkt = _packet(b"esn" * 30)
    for _ in range(4):
        assert rx.decapsulate(tx.encapsulate(pkt)) == pkt
    assert rx.replay.top == 2**32 + 2
    _, stale = sa_pair("esp", mode, encr, integ, esn=True, encap=encap)  # believes high half 0
    stale.replay.accept(5)
    with pytest.raises(PacketDrop) as exc:
        stale.decapsulate(tx.encapsulate(pkt))
    assert exc.value.reason == "bad_icv"


@pytest.mark.parametrize("case", CASES[:4], ids=IDS[:4])
def test_packet_too_big_to_protect_is_a_drop_not_a_crash(case):
    tx, rx = PAIRS[case]
    seq = tx.seq
    biggest = _packet(bytes(65535 - 28 - tx.overhead(65535 - 16)))
    assert rx.decapsulate(tx.encapsulate(biggest)) == biggest and len(biggest) > 65400
    with pytest.raises(PacketDrop) as exc:
        tx.encapsulate(_packet(bytes(65535 - 28)))
    assert exc.value.reason == "malformed" and tx.seq == seq + 1
