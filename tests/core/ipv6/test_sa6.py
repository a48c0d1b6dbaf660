"""DualStackSA's configuration checks, the factory, and bad IPv6 input on the receive path:
every refusal a ConfigError at set-up or a counted PacketDrop, never a traceback."""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import ConfigError, PacketDrop
from ipsecsim.core.ip import ipv6, udp_packet
from ipsecsim.core.ip.ipv6_frag import fragment6
from ipsecsim.core.sa import SecurityAssociation
from ipsecsim.core.sa6 import DualStackSA, make_sa
from tests.core.ipv6.helpers6 import H6_A, H6_B, T6_DST, T6_SRC, inner_packets, pair6
from tests.helpers.dataplane import AH_ALGS, CBC128, GCM128, SHA256

KEY = bytes(20)


def test_factory_keeps_the_ipv4_class_for_ipv4_only_sas():
    v4 = make_sa("esp", 1, "tunnel", GCM128, KEY, None, b"", "198.51.100.1", "203.0.113.1")
    assert type(v4) is SecurityAssociation and v4._fast  # the IPv4 ESP fast path, unchanged
    v6 = make_sa("esp", 1, "tunnel", GCM128, KEY, None, b"", T6_SRC, T6_DST, families=(6, 6))
    assert type(v6) is DualStackSA and not v6._fast and (v6.outer_family, v6.inner_family) == (6, 6)


@pytest.mark.parametrize("kw,match", [
    ({"families": (6, 6), "encap": (4500, 4500)}, "NAT traversal"),
    ({"families": (4, 6), "encap": (4500, 4500)}, "NAT traversal"),
    ({"families": (6, 4), "mode": "transport"}, "families must match"),
    ({"families": (6, 5)}, "each 4 or 6"),
    ({"families": (6, 6), "src": "198.51.100.1"}, "not IPv6"),
    ({"families": (4, 6), "src": T6_SRC, "dst": T6_DST}, "not IPv4"),
    ({"families": (6, 6), "src": "2001:db8::zz"}, "not an IPv6 address"),
    ({"families": (6, 6), "mode": "sideways"}, "must be 'tunnel' or 'transport'"),
])
def test_bad_configurations_are_config_errors(kw, match):
    mode = kw.pop("mode", "tunnel")
    src, dst = kw.pop("src", T6_SRC), kw.pop("dst", T6_DST)
    with pytest.raises(ConfigError, match=match):
        make_sa("esp", 1, mode, GCM128, KEY, None, b"", src, dst, **kw)


def test_dual_stack_sa_refuses_to_be_an_ipv4_only_sa():
    with pytest.raises(ConfigError, match="IPv4-only"):
        DualStackSA("esp", 1, "tunnel", GCM128, KEY, None, b"", "198.51.100.1", "203.0.113.1", families=(4, 4))


def test_wrong_inner_family_is_a_counted_drop():
    tx, _rx = pair6("esp", "6in6", GCM128, None)
    v4 = udp_packet("10.1.0.5", "10.2.0.7", 1, 2, b"v4 into a 6in6 SA")
    with pytest.raises(PacketDrop, match="protects IPv6"):
        tx.encapsulate(v4)
    short = inner_packets(6)[0][:-1]  # payload length says one byte more
    with pytest.raises(PacketDrop, match="exceeds"):
        tx.encapsulate(short)
    assert tx.drops["malformed"] == 2 and tx.seq == 0  # no sequence number spent


def test_received_garbage_is_counted_not_raised_as_anything_else():
    """Truncated headers, a malformed extension chain before ESP, a fragment not yet
    reassembled, a different protocol: each a ``malformed`` drop."""
    tx, rx = pair6("esp", "6in6", CBC128, SHA256)
    good = tx.encapsulate(inner_packets(6)[0])
    chain = bytearray(ipv6.build_ipv6(T6_SRC, T6_DST, 60, bytes((50, 255)) + bytes(6) + good[40:]))
    frag = fragment6(tx.encapsulate(inner_packets(6)[1]), 1280, ident=1)[0]
    plain = ipv6.build_udp6(H6_A, H6_B, 1, 2, b"clear")
    cases = [good[:30], good[:60], bytes(chain), frag, plain, b"\x45" + good[1:], b""]
    for bad in cases:
        with pytest.raises(PacketDrop) as exc:
            rx.decapsulate(bad)
        assert exc.value.reason == "malformed", bad[:8]
    assert rx.drops["malformed"] == len(cases) and rx.packets == 0
    assert rx.decapsulate(good) == inner_packets(6)[0]  # the SA still works


def test_replay_and_wrong_spi_over_ipv6():
    tx, rx = pair6("ah", "transport6", None, AH_ALGS[0])
    w = tx.encapsulate(inner_packets(6)[1])
    assert rx.decapsulate(w) == inner_packets(6)[1]
    with pytest.raises(PacketDrop) as exc:
        rx.decapsulate(w)
    assert exc.value.reason == "replay"
    other, _ = pair6("ah", "transport6", None, AH_ALGS[0], spi=0x99)
    with pytest.raises(PacketDrop) as exc:
        rx.decapsulate(other.encapsulate(inner_packets(6)[1]))
    assert exc.value.reason == "unknown_spi"
    assert rx.drops == {"replay": 1, "unknown_spi": 1}


def test_tunnel_next_header_names_the_inner_family():
    """IANA: 41 for IPv6 inside, 4 for IPv4 inside (RFC 4303 §2.6 Next Header)."""
    for layout, fam, nh in (("6in6", 6, 41), ("4in6", 4, 4), ("6in4", 6, 41)):
        tx, _rx = pair6("ah", layout, None, AH_ALGS[0])
        w = tx.encapsulate(inner_packets(fam)[0])
        ah_at = 40 if layout != "6in4" else 20
        assert w[ah_at] == nh, layout


def test_a_4in6_packet_is_refused_by_a_6in6_sa():
    tx, _ = pair6("esp", "4in6", GCM128, None)
    _, rx = pair6("esp", "6in6", GCM128, None)
    with pytest.raises(PacketDrop, match="expected 41"):
        rx.decapsulate(tx.encapsulate(inner_packets(4)[0]))
    assert rx.drops["malformed"] == 1


@pytest.mark.parametrize("layout", ["6in6", "4in6", "6in4", "transport6"])
def test_overhead_is_what_encapsulate_adds(layout):
    for proto, e, i in (("esp", GCM128, None), ("esp", CBC128, SHA256), ("ah", None, AH_ALGS[2])):
        tx, rx = pair6(proto, layout, e, i)
        fam = 4 if layout == "4in6" else 6
        a, b = ("10.1.0.5", "10.2.0.7") if fam == 4 else (H6_A, H6_B)
        for n in (0, 1, 7, 100, 1400):
            pkt = udp_packet(a, b, 1, 2, bytes(n)) if fam == 4 else ipv6.build_udp6(a, b, 1, 2, bytes(n))
            w = tx.encapsulate(pkt)
            assert len(w) - len(pkt) == tx.overhead(len(pkt))
            assert rx.decapsulate(w) == pkt


def test_tfc_padding_is_cut_off_on_receipt():
    tx, rx = pair6("esp", "6in6", GCM128, None, tfc_pad=600)
    pkt = inner_packets(6)[2]
    w = tx.encapsulate(pkt)
    assert len(w) >= 40 + 600 and rx.decapsulate(w) == pkt


def test_hard_limit_applies_over_ipv6():
    tx, _ = pair6("esp", "6in6", GCM128, None, limits={"hard_packets": 1})
    tx.encapsulate(inner_packets(6)[0])
    with pytest.raises(PacketDrop) as exc:
        tx.encapsulate(inner_packets(6)[0])
    assert exc.value.reason == "sa_expired" and tx.events[-1].which == "hard"


def test_the_same_seed_gives_the_same_bytes():
    a = [pair6("esp", "6in4", CBC128, SHA256, seed=5)[0].encapsulate(p) for p in inner_packets(6)]
    b = [pair6("esp", "6in4", CBC128, SHA256, seed=5)[0].encapsulate(p) for p in inner_packets(6)]
    assert a == b
