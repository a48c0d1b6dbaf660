"""Anti-replay window (RFC 4303 §3.4.3, Appendix A) and sequence number exhaustion."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsecsim.core.errors import PacketDrop
from ipsecsim.core.ip import udp_packet
from ipsecsim.core.replay import ReplayWindow
from tests.helpers.dataplane import GCM128, sa_pair

PKT = udp_packet("10.1.0.1", "10.2.0.1", 40000, 40001, b"replay")


def _accept(w: ReplayWindow, seq: int) -> bool:
    try:
        full = w.check(seq & 0xFFFFFFFF if w.esn else seq)
    except PacketDrop as exc:
        assert exc.reason == "replay"
        return False
    w.accept(full)
    return True


def test_duplicate_rejected_out_of_order_inside_window_accepted_once():
    w = ReplayWindow(32)
    assert _accept(w, 1) and _accept(w, 5)
    assert not _accept(w, 5)  # duplicate
    assert _accept(w, 3)  # late but inside the window
    assert not _accept(w, 3)  # ... only once
    assert _accept(w, 40)  # window now covers 9..40
    assert not _accept(w, 8)  # left of the window
    assert _accept(w, 9)  # left edge is inside
    assert not _accept(w, 0)  # sequence 0 is never valid


def test_window_zero_disables_replay_checks():
    w = ReplayWindow(0)
    assert all(_accept(w, s) for s in (5, 5, 1, 5))


@settings(max_examples=200, deadline=None)
@given(size=st.sampled_from([1, 8, 32, 64, 128]),
       seqs=st.lists(st.integers(min_value=1, max_value=400), max_size=120))
def test_window_matches_a_set_model(size, seqs):
    """Model: accept iff never accepted before and within ``size`` of the highest accepted."""
    w, seen, top = ReplayWindow(size), set(), 0
    for s in seqs:
        want = s not in seen and s > top - size
        assert _accept(w, s) == want, (s, top, size)
        if want:
            seen.add(s)
            top = max(top, s)


@settings(max_examples=100, deadline=None)
@given(start=st.integers(min_value=2**32 - 200, max_value=2**32 - 1),
       jitter=st.lists(st.integers(min_value=0, max_value=20), min_size=10, max_size=60))
def test_esn_inference_across_the_2_32_boundary(start, jitter):
    """RFC 4303 Appendix A2.2: the receiver recovers the high 32 bits from the low 32 on the wire,
    for packets arriving slightly out of order around 2**32."""
    w = ReplayWindow(64, esn=True)
    w.accept(start - 30)
    for i, j in enumerate(jitter):
        seq = start + i * 5 - j  # mostly increasing, reordered by up to 20
        if seq <= w.top - 64:
            continue
        got = w.infer(seq & 0xFFFFFFFF)
        assert got == seq
        if _accept(w, seq):
            assert w.top >= seq


def test_esn_sa_pair_crosses_2_32():
    tx, rx = sa_pair("esp", "tunnel", GCM128, None, esn=True)
    tx.seq = 2**32 - 3
    rx.replay.accept(2**32 - 10)
    for _ in range(6):
        assert rx.decapsulate(tx.encapsulate(PKT)) == PKT
    assert tx.seq == 2**32 + 3 and rx.replay.top == 2**32 + 3


def test_without_esn_the_sender_stops_after_2_32_minus_1():
    """RFC 4303 §3.3.3: the counter must not cycle; 2**32 - 1 is the last number sent."""
    tx, rx = sa_pair("esp", "tunnel", GCM128, None)
    tx.seq = 2**32 - 2
    rx.replay.accept(2**32 - 5)
    wire = tx.encapsulate(PKT)
    assert int.from_bytes(wire[24:28], "big") == 2**32 - 1
    assert rx.decapsulate(wire) == PKT
    with pytest.raises(PacketDrop) as exc:
        tx.encapsulate(PKT)
    assert exc.value.reason == "seq_overflow"
    assert tx.drops["seq_overflow"] == 1 and tx.seq == 2**32 - 1


def test_replayed_packet_is_dropped_and_counted_by_the_sa():
    tx, rx = sa_pair("esp", "tunnel", GCM128, None, replay_window=4)
    wires = [tx.encapsulate(PKT) for _ in range(8)]
    assert rx.decapsulate(wires[7]) == PKT
    for stale in (wires[0], wires[7]):  # left of the window, duplicate
        with pytest.raises(PacketDrop):
            rx.decapsulate(stale)
    assert rx.decapsulate(wires[5]) == PKT  # inside the 4-packet window
    assert rx.drops["replay"] == 2 and rx.packets == 2
