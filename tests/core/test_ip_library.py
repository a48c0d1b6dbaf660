"""The one IP library (ipsecsim.core.ip): its layout, the bounded Reassembler (RFC 791 §3.2,
RFC 5722 §4), and codecs that raise only DecodeError on bad bytes (issue 15 item 6).

The codec and reassembler properties are bounded (a few hundred examples each) so that
``make test`` stays fast; every escaped exception they ever find belongs here as a case.
"""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipsecsim.core import ip
from ipsecsim.core.errors import (
    DROP_REASONS,
    FRAG_DUPLICATE,
    FRAG_OVERLAP,
    FRAG_OVERSIZE,
    FRAG_TABLE_FULL,
    FRAG_TOO_MANY,
    DecodeError,
    PacketDrop,
)
from ipsecsim.core.ip import Reassembler, ipv4, reassembly
from tests.helpers.sim_topos import assert_conserved, plain_chain

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def datagram(size: int = 3000, ident: int = 7, df: bool = False, seed: int = 1) -> bytes:
    """An IPv4/UDP datagram of ``size`` bytes with a recognisable payload."""
    body = random.Random(seed).randbytes(size - 28)
    return ip.udp(ip.aton("10.1.0.10"), ip.aton("10.2.0.10"), 40000, 40001, body, ident, df)


def frag(whole: bytes, off: int, data_len: int, more: bool, ident: int | None = None) -> bytes:
    """A hand-cut fragment of ``whole``: payload bytes ``off .. off + data_len`` (may overlap)."""
    hl = ip.header_len(whole)
    data = whole[hl + off:hl + off + data_len]
    hdr = bytearray(whole[:hl])
    struct.pack_into("!H", hdr, 2, hl + len(data))
    if ident is not None:
        struct.pack_into("!H", hdr, 4, ident)
    struct.pack_into("!H", hdr, 6, (off // 8) | (ip.MF if more else 0))
    ip.set_ipv4_checksum(hdr)
    return bytes(hdr) + data


# ------------------------------------------------------------------ layout


def test_one_library_ipv4_beside_a_family_agnostic_reassembler():
    """core/ip is a package: inet (shared), ipv4, reassembly; the old flat names still import,
    and the simulator's packet module is gone (issue 11 item 3)."""
    from ipsecsim.core.ip import inet

    assert ip.checksum is inet.checksum is ipv4.checksum
    assert ip.parse_ipv4 is ipv4.parse_ipv4 and ip.Reassembler is reassembly.Reassembler
    assert set(reassembly.FAMILIES) == {4, 6}  # IPv6's Fragment header (RFC 8200 §4.5)
    # one function per job: the core's old names are the same objects as the packet path's
    assert ip.addr is ip.aton and ip.ipv4_ports is ip.ports
    # what sim/gateway.py, peer/dataplane.py and peer/runner.py read through the module
    for name in ("has_df", "ports", "l4", "ntoa", "aton", "udp", "IPPROTO_ESP", "IPPROTO_AH",
                 "IPPROTO_UDP", "parse_ipv4", "parse_udp", "parse_icmp_echo", "echo_reply_for",
                 "udp_packet", "ICMP_ECHO_REQUEST", "IPPROTO_ICMP"):
        assert hasattr(ipv4, name) and hasattr(ip, name), name
    assert sorted(ip.__all__) == sorted(set(ip.__all__))
    with pytest.raises(ImportError):
        __import__("ipsecsim.sim.packet")


def test_udp_and_udp_packet_are_one_builder():
    """udp_packet is udp from dotted quads with the checksum on: same bytes, and the
    no-checksum form is what the simulator's packet path has always sent."""
    a, b = ip.aton("192.0.2.1"), ip.aton("198.51.100.7")
    assert ip.udp_packet("192.0.2.1", "198.51.100.7", 1, 2, b"x", ident=5, ttl=9) == \
        ip.udp(a, b, 1, 2, b"x", 5, ttl=9, with_checksum=True)
    plain = ip.udp(a, b, 1, 2, b"x", 5)
    assert plain[26:28] == b"\0\0" and ip.parse_udp(plain)[1] == b"x"
    ip.parse_ipv4(plain)


@pytest.mark.parametrize("text", ["010.0.0.1", "10.1", "1.2.3.4 ", "256.1.1.1", "1.2.3.4\n",
                                  "\u0661.\u0662.\u0663.\u0664", "", "a.b.c.d"])
def test_aton_reads_a_dotted_quad_as_ipaddress_does(text):
    """inet_aton (the simulator's old aton) read '010.0.0.1' as octal 8.0.0.1 and '10.1' as
    10.0.0.1; the core's old addr read Arabic-Indic digits. One strict reading now."""
    with pytest.raises(DecodeError):
        ip.aton(text)


def test_aton_ntoa_round_trip():
    for text in ("0.0.0.0", "255.255.255.255", "10.2.0.10", "192.0.2.199"):
        assert ip.ntoa(ip.aton(text)) == text
    with pytest.raises(DecodeError):
        ip.ntoa(b"\x01\x02\x03")


def test_fragment_keeps_df_when_told_to_ignore_it():
    """A gateway that decided to fragment a DF packet's outer header (RFC 4301 §8.1) gets
    fragments that keep the DF bit, as the simulator's old fragment() made them."""
    p = datagram(3000, df=True)
    with pytest.raises(ip.FragmentationNeeded):
        ip.fragment(p, 1500)
    frags = ip.fragment(p, 1500, ignore_df=True)
    assert len(frags) == 3 and all(ip.has_df(f) for f in frags)
    r = Reassembler()
    assert [r.add(f) for f in frags][-1] == p  # reassembled with DF, as the first fragment had it


# ------------------------------------------------------------------ issue 15 item 6: DecodeError only


def test_issue15_6_parse_udp_of_one_byte_raises_decode_error():
    """Issue 15 item 6: ip.parse_udp(b"\\x45") raised IndexError."""
    with pytest.raises(DecodeError, match="shorter than a header"):
        ip.parse_udp(b"\x45")


def test_issue15_6_fix_l4_checksum_of_short_input_raises_decode_error():
    """Issue 15 item 6: fix_l4_checksum raised struct.error on a TCP header whose total length
    claims a segment that is not there (and IndexError on one byte)."""
    tcp_claimed = ip.build_ipv4("10.0.0.1", "10.0.0.2", ip.IPPROTO_TCP, bytes(20))[:20]
    with pytest.raises(DecodeError, match="total length"):
        ip.fix_l4_checksum(tcp_claimed)
    with pytest.raises(DecodeError):
        ip.fix_l4_checksum(b"\x45")


def test_issue15_6_reassembler_on_two_bytes_raises_decode_error():
    """Issue 15 item 6: both Reassemblers (core and sim, now one) raised IndexError on b"\\x45\\x80"."""
    r = Reassembler()
    with pytest.raises(DecodeError):
        r.add(b"\x45\x80", 0.0)
    with pytest.raises(DecodeError):
        r.add(b"", 0.0)
    assert len(r) == 0 and r.held == 0


@pytest.mark.parametrize("call", [
    lambda: ip.parse_icmp_echo(b"\x45"),
    lambda: ip.echo_reply_for(b"\x45\x00"),
    lambda: ip.icmp_frag_needed("10.0.0.1", b"", 1280),
    lambda: ip.fragment(b"\x45", 68),
    lambda: ip.fragment_info(b"\x45" + bytes(10)),
], ids=["parse_icmp_echo", "echo_reply_for", "icmp_frag_needed", "fragment", "fragment_info"])
def test_issue15_6_other_codecs_of_short_input_raise_decode_error(call):
    """The same finding in the codecs beside them: each raised IndexError on short input."""
    with pytest.raises(DecodeError):
        call()


# ------------------------------------------------------------------ the bounded Reassembler


def test_a_whole_datagram_passes_through():
    p = datagram(200)
    assert Reassembler().add(p) is p


def test_duplicate_fragment_is_refused_alone_and_the_datagram_completes():
    p = datagram(3000)
    f = ip.fragment(p, 1500)
    r = Reassembler()
    assert r.add(f[0]) is None
    with pytest.raises(PacketDrop) as exc:
        r.add(f[0])
    assert exc.value.reason == FRAG_DUPLICATE
    # a piece wholly inside one held is a duplicate too (RFC 5722 errata 3089, Linux IPFRAG_DUP)
    with pytest.raises(PacketDrop, match="already held"):
        r.add(frag(p, 8, 16, True))
    assert r.add(f[2]) is None and r.add(f[1]) == p and len(r) == 0 and r.held == 0


@pytest.mark.parametrize("off,length", [
    (1472, 1480),  # starts inside the first piece held, runs past it
    (1480, 1488),  # starts in the gap, runs into the second piece held
    (1472, 1496),  # bridges the gap, overlapping both
    (0, 2960),     # covers the first piece and more
], ids=["tail", "head", "bridge", "superset"])
def test_overlapping_fragment_discards_the_datagram(off, length):
    """RFC 5722 §4, which Linux applies to IPv4 since 4.19 (FragmentSmack): no byte ranges
    for an attacker to choose between -- the whole datagram goes."""
    p = datagram(4000)
    r = Reassembler()
    assert r.add(frag(p, 0, 1480, True)) is None
    assert r.add(frag(p, 2960, 1008, True)) is None
    with pytest.raises(PacketDrop) as exc:
        r.add(frag(p, off, length, True))
    assert exc.value.reason == FRAG_OVERLAP and "discarded" in exc.value.detail
    assert len(r) == 0 and r.held == 0


def test_fragments_disagreeing_about_the_end_discard_the_datagram():
    p = datagram(3000)
    r = Reassembler()
    assert r.add(frag(p, 2000, 80, False)) is None  # last fragment: ends at 2080
    with pytest.raises(PacketDrop, match="disagrees") as exc:
        r.add(frag(p, 2080, 80, True))  # data past that end
    assert exc.value.reason == FRAG_OVERLAP and len(r) == 0
    assert r.add(frag(p, 0, 2048, True)) is None
    with pytest.raises(PacketDrop, match="disagrees"):
        r.add(frag(p, 8, 8, False))  # an end before data already held


def test_ping_of_death_is_refused_at_65535_bytes():
    """A fragment placed so the datagram would pass 65,535 bytes (the Ping of Death, 1996)."""
    p = ip.udp(ip.aton("10.0.0.1"), ip.aton("10.0.0.2"), 1, 2, bytes(65535 - 28))
    r = Reassembler()
    assert r.add(frag(p, 0, 1480, True)) is None
    hdr = bytearray(frag(p, 0, 1480, False))
    struct.pack_into("!H", hdr, 6, 65528 // 8)  # offset 65,528 + 1,480 bytes of data
    ip.set_ipv4_checksum(hdr)
    with pytest.raises(PacketDrop) as exc:
        r.add(bytes(hdr))
    assert exc.value.reason == FRAG_OVERSIZE and len(r) == 0 and r.held == 0
    # the largest legal datagram still reassembles
    frags = ip.fragment(p, 1500)
    assert [r.add(f) for f in frags][-1] == p


def test_too_many_fragments_discard_the_datagram():
    p = datagram(3000)
    r = Reassembler(max_fragments=4)
    for i in range(4):
        assert r.add(frag(p, i * 8, 8, True)) is None
    with pytest.raises(PacketDrop) as exc:
        r.add(frag(p, 32, 8, True))
    assert exc.value.reason == FRAG_TOO_MANY and len(r) == 0 and r.held == 0


def test_a_fragment_flood_stays_within_its_bounds():
    """Memory bounded under a flood: datagrams in progress and bytes held never pass their
    caps, refusals are counted (frag_table_full), and a legitimate datagram gets through once
    the flood's entries time out."""
    p = datagram(60000, ident=1)
    r = Reassembler(max_datagrams=32)
    refused = 0
    for i in range(2000):
        try:
            r.add(frag(p, 0, 1480 * 40, True, ident=i + 2), now=i * 0.001)
        except PacketDrop as exc:
            assert exc.reason == FRAG_TABLE_FULL
            refused += 1
        assert len(r) <= 32 and r.held <= 32 * r.max_size
    assert len(r) == 32 and refused == 2000 - 32
    assert r.get_timer() == pytest.approx(30.0)
    assert len(r.handle_timer(31.0)) == 32 and r.held == 0 and r.expired == 32
    assert [r.add(f, 31.0) for f in ip.fragment(p, 1500)][-1] == p


def test_timeouts_name_the_first_fragment_and_come_in_order():
    r = Reassembler(timeout=30)
    a, b = datagram(3000, ident=1), datagram(3000, ident=2)
    assert r.get_timer() is None
    assert r.add(ip.fragment(a, 1500)[0], 1.0, tag=11) is None
    assert r.add(ip.fragment(b, 1500)[1], 2.0, tag=22) is None
    assert r.get_timer() == 31.0
    assert r.handle_timer(30.5) == [] and len(r) == 2
    assert r.handle_timer(31.0) == [11] and r.get_timer() == 32.0
    assert r.handle_timer(99.0) == [22] and r.expired == 2 and r.get_timer() is None


def test_add_gives_up_on_a_timed_out_datagram_it_meets():
    """A caller with no timer: the stale datagram is counted in ``expired`` and restarted."""
    p = datagram(3000)
    f = ip.fragment(p, 1500)
    r = Reassembler(timeout=30)
    assert r.add(f[0], 0.0) is None
    assert r.add(f[1], 30.0) is None and r.expired == 1 and len(r) == 1  # f[0] is gone
    assert r.add(f[2], 30.0) is None and r.add(f[0], 30.0) == p


@pytest.mark.parametrize("mutate,match", [
    (lambda f: f[:10] + bytes([f[10] ^ 1]) + f[11:], "checksum"),
    (lambda f: frag(datagram(3000), 0, 0, True), "no data"),
    (lambda f: frag(datagram(3000), 0, 12, True), "multiple of 8"),
    (lambda f: f[:-1], "total length"),
], ids=["bad-checksum", "empty", "not-8-byte-units", "truncated"])
def test_malformed_fragments_are_decode_errors(mutate, match):
    f = ip.fragment(datagram(3000), 1500)[0]
    r = Reassembler()
    with pytest.raises(DecodeError, match=match):
        r.add(mutate(f))
    assert len(r) == 0


def test_ipv6_is_a_family_and_other_versions_are_not():
    """An IPv6 packet without a Fragment header is whole (tests/core/ipv6 has the rest);
    a version the reassembler does not know is still a DecodeError."""
    whole = b"\x60" + bytes(5) + b"\x3b\x40" + bytes(32)  # next header 59: nothing follows
    assert Reassembler().add(whole) == whole
    with pytest.raises(DecodeError, match="IP version 5"):
        Reassembler().add(b"\x50" + bytes(39))


# ------------------------------------------------------------------ the simulator counts every refusal


def test_sim_nodes_count_reassembly_refusals_and_timeouts_as_drops():
    """A lossy link loses fragments; the receiver gives up on each such datagram after 30 s
    and records frag_timeout under its first fragment's packet id (that packet's fate was
    already decided by its link_loss, so the books still balance). A malformed fragment is a
    malformed drop, not an exception out of the run."""
    from ipsecsim.sim.runner import Simulation

    topo = plain_chain({"big": {"type": "cbr", "from": "h1", "to": "10.0.2.10", "rate": 4,
                                "count": 200, "size": 3000}},
                       duration=80, mtu=1500, loss=0.1)
    sim = Simulation.from_dict(topo).run()
    s = assert_conserved(sim)
    drops = list(sim.trace.of("drop"))
    timeouts = [r for r in drops if r[5] == "frag_timeout"]
    lost = {r[4] for r in drops if r[5] == "link_loss"}
    assert timeouts and all(r[3] == "h2" and r[4] in lost for r in timeouts)
    assert "frag_timeout" not in s["dropped"] and s["delivered"] > 0
    h2 = sim.node("h2")
    before = sim.net.all_drops["malformed"]
    assert h2.reassemble(b"\x45\x20" + bytes(18), 10**6) is None
    assert sim.net.all_drops["malformed"] == before + 1


# ------------------------------------------------------------------ properties: only DecodeError


@st.composite
def _ipv4ish(draw: st.DrawFn) -> bytes:
    """Bytes that get past the first checks: an IPv4 header (one key for all: the pieces meet
    in the reassembler) whose IHL, total length, flags and offset are mostly consistent and
    sometimes not, its checksum mostly right, and a tail: 8-byte units, a UDP datagram or an
    ICMP message (lengths and checksums mostly right), or random bytes."""
    ihl = draw(st.sampled_from([5, 5, 5, 5, 6, 15, 4, 0]))
    hl = max(20, ihl * 4)
    kind = draw(st.sampled_from(["units", "random", "udp", "icmp"]))
    tail = draw({"units": st.integers(0, 8).map(lambda k: bytes(range(8 * k))),
                 "random": st.binary(max_size=64), "udp": _udp_tail(), "icmp": _icmp_tail()}[kind])
    tlen = draw(st.one_of(st.just(hl + len(tail)), st.just(hl + len(tail)),
                          st.integers(0, 0xFFFF)))
    ff = draw(st.one_of(st.just(0), st.builds(lambda mf, off: (ip.MF if mf else 0) | off,
                                              st.booleans(), st.integers(0, 12)),
                        st.integers(0, 0xFFFF)))
    proto = draw(st.one_of(st.just({"udp": 17, "icmp": 1}.get(kind, 17)),
                           st.sampled_from([17, 1, 6, 50, 51, 4, 0])))
    hdr = bytearray(struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tlen, 9, ff, 64, proto, 0,
                                b"\x0a\0\0\x01", b"\x0a\0\0\x02"))
    hdr += bytes(hl - 20)
    if ihl >= 5 and draw(st.sampled_from([True, True, True, False])):
        ip.set_ipv4_checksum(hdr)
    return bytes(hdr) + tail


@st.composite
def _udp_tail(draw: st.DrawFn) -> bytes:
    body = draw(st.binary(max_size=40))
    length = draw(st.one_of(st.just(8 + len(body)), st.integers(0, 0xFFFF)))
    return struct.pack("!HHHH", 500, 4500, length, draw(st.sampled_from([0, 0, 1]))) + body


@st.composite
def _icmp_tail(draw: st.DrawFn) -> bytes:
    t, code = draw(st.sampled_from([(8, 0), (8, 0), (0, 0), (3, 4), (8, 1)]))
    msg = bytearray(struct.pack("!BBHHH", t, code, 0, 1, 2) + draw(st.binary(max_size=40)))
    if draw(st.booleans()):
        struct.pack_into("!H", msg, 2, ip.checksum(msg))
    return bytes(msg)


@st.composite
def _fragment_stream(draw: st.DrawFn) -> list[bytes]:
    """The fragments of one real datagram (the key of :func:`_ipv4ish`'s packets), some of
    them flipped in one byte or sent twice, other packets between, in any order."""
    body = bytes(range(256)) * 2
    p = ip.udp(b"\x0a\0\0\x01", b"\x0a\0\0\x02", 1, 2, body[:draw(st.integers(1, 500))], 9)
    pieces = ip.fragment(p, draw(st.integers(68, 200)))
    out = []
    for f in pieces + draw(st.lists(st.sampled_from(pieces), max_size=3)):
        if draw(st.integers(0, 9)) == 0:
            i = draw(st.integers(0, len(f) - 1))
            f = f[:i] + bytes([f[i] ^ draw(st.integers(1, 255))]) + f[i + 1:]
        out.append(f)
    return draw(st.permutations(out + draw(st.lists(_WIRE, max_size=6))))


_WIRE = st.one_of(st.binary(max_size=80), _ipv4ish(), _ipv4ish())
_CODECS = {
    "parse_ipv4": ip.parse_ipv4,
    "parse_udp": ip.parse_udp,
    "parse_icmp_echo": ip.parse_icmp_echo,
    "fix_l4_checksum": ip.fix_l4_checksum,
    "echo_reply_for": ip.echo_reply_for,
    "icmp_frag_needed": lambda b: ip.icmp_frag_needed("10.9.9.9", b, 576),
    "fragment": lambda b: ip.fragment(b, 68, ignore_df=True),
    "fragment_info": ip.fragment_info,
    "ntoa": ip.ntoa,
}


@pytest.mark.parametrize("name", sorted(_CODECS))
@PROPERTY
@given(data=_WIRE)
def test_codecs_raise_only_decode_error(name, data):
    try:
        _CODECS[name](data)
    except DecodeError:
        pass


@PROPERTY
@given(text=st.one_of(st.text(max_size=20), st.from_regex(r"[0-9.]{1,16}", fullmatch=True)))
def test_aton_raises_only_decode_error(text):
    try:
        b = ip.aton(text)
    except DecodeError:
        return
    assert len(b) == 4 and ip.ntoa(b) == text


@PROPERTY
@given(packets=st.one_of(st.lists(_WIRE, max_size=20), _fragment_stream()))
def test_reassembler_raises_only_decode_error_or_a_counted_drop(packets):
    r = Reassembler(max_datagrams=4, max_fragments=8)
    for i, p in enumerate(packets):
        try:
            out = r.add(p, i * 5.0, i)
        except DecodeError:
            pass
        except PacketDrop as exc:
            assert exc.reason in DROP_REASONS
        else:
            if out is not None:
                ip.parse_ipv4(out)  # what it hands back is a whole, valid IPv4 header
        assert len(r) <= 4 and r.held <= 4 * r.max_size
    r.handle_timer(1e9)
    assert len(r) == 0 and r.held == 0


@PROPERTY
@given(size=st.integers(29, 6000), mtu=st.integers(68, 1500), seed=st.integers(0, 2**16),
       dups=st.integers(0, 3), junk=st.lists(st.binary(max_size=60), max_size=3))
def test_any_order_with_duplicates_and_junk_gives_the_datagram(size, mtu, seed, dups, junk):
    """Fragments in any order, some twice, garbage between: what comes out is the original
    (again, when duplicates arriving after it complete a second copy), every other packet
    is None or a counted refusal."""
    p = datagram(size, ident=seed & 0xFFFF, seed=seed)
    rnd = random.Random(seed)
    frags = ip.fragment(p, mtu)
    stream = frags + [rnd.choice(frags) for _ in range(dups)] + junk
    rnd.shuffle(stream)
    r = Reassembler()
    out = []
    for f in stream:
        try:
            got = r.add(f, 0.0)
        except DecodeError:
            assert f in junk
            continue
        except PacketDrop as exc:
            assert exc.reason == FRAG_DUPLICATE or f in junk
            continue
        if got is not None and got is not f:
            out.append(got)
    if len(frags) == 1:
        assert out == []  # a whole packet passes through as itself
    else:
        assert out and all(o == p for o in out)
