"""The DNS codec (ipsecsim/core/ip/dns.py) against an independent oracle, Scapy's DNS layer
(scapy/layers/dns.py), and malformed messages (RFC 1035 §4.1: header, question, resource
records; §4.1.4: compression pointers) that must raise DecodeError and nothing else."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.dns import DNS, DNSQR, DNSRR, dns_compress

from ipsecsim.core.errors import DecodeError
from ipsecsim.core.ip import dns as D

NAMES = ["www.strongswan.org", "intranet.strongswan.org", "a.b.c.d.e.example", "x" * 63 + ".org"]


@pytest.mark.parametrize("name", NAMES)
def test_query_is_byte_for_byte_what_scapy_builds(name: str) -> None:
    # a standard recursive query (RFC 1035 §4.1.1: QR=0, OPCODE=0, RD=1; one question, A, IN)
    ours = D.query(0xBEEF, name)
    assert ours == bytes(DNS(id=0xBEEF, rd=1, qd=DNSQR(qname=name, qtype="A", qclass="IN")))
    s = DNS(ours)
    assert (s.id, s.qr, s.opcode, s.rd, s.qdcount, s.ancount) == (0xBEEF, 0, 0, 1, 1, 0)
    assert s.qd[0].qname.decode() == name + "."


def test_answer_as_scapy_reads_it() -> None:
    q = D.decode(D.query(7, "www.strongswan.org"))
    wire = D.answer(q, (D.a_record("www.strongswan.org", "203.0.114.80", 60),))
    s = DNS(wire)
    assert (s.id, s.qr, s.aa, s.rd, s.ra, s.rcode, s.ancount) == (7, 1, 1, 1, 1, 0, 1)
    assert s.an[0].rrname.decode() == "www.strongswan.org."  # through the 0xC00C pointer
    assert (s.an[0].type, s.an[0].rclass, s.an[0].ttl, s.an[0].rdata) == (1, 1, 60, "203.0.114.80")
    assert wire[12 + 20 + 4:12 + 20 + 6] == b"\xc0\x0c"  # the owner name is a pointer (§4.1.4)
    nx = DNS(D.answer(q, rcode=D.NXDOMAIN))
    assert (nx.rcode, nx.ancount, nx.qd[0].qname) == (3, 0, b"www.strongswan.org.")


@pytest.mark.parametrize("compress", [False, True])
def test_decodes_what_scapy_builds(compress: bool) -> None:
    pkt = DNS(id=0x4242, qr=1, aa=0, rd=1, ra=1, rcode=0,
              qd=DNSQR(qname="www.strongswan.org"),
              an=[DNSRR(rrname="www.strongswan.org", type="A", ttl=300, rdata="192.0.2.7"),
                  DNSRR(rrname="www.strongswan.org", type="A", ttl=300, rdata="192.0.2.8"),
                  DNSRR(rrname="strongswan.org", type="TXT", ttl=5, rdata="hello")])
    wire = bytes(dns_compress(pkt)) if compress else bytes(pkt)
    assert (len(wire) < len(bytes(pkt))) == compress  # compressed: names are pointers (§4.1.4)
    m = D.decode(wire)
    assert (m.id, m.qr, m.aa, m.rd, m.ra, m.rcode) == (0x4242, True, False, True, True, 0)
    assert m.questions == (D.Question("www.strongswan.org", 1, 1),)
    assert [(r.name, r.rtype, r.ttl, r.address) for r in m.answers] == [
        ("www.strongswan.org", 1, 300, "192.0.2.7"), ("www.strongswan.org", 1, 300, "192.0.2.8"),
        ("strongswan.org", 16, 5, "")]
    assert m.answers[2].rdata == b"\x05hello"


def test_scapy_nxdomain_and_other_opcode() -> None:
    m = D.decode(bytes(DNS(id=1, qr=1, rcode=3, qd=DNSQR(qname="nope.example"))))
    assert (m.rcode, m.rcode_name, m.answers) == (3, "NXDOMAIN", ())
    m = D.decode(bytes(DNS(id=2, opcode=2, qd=DNSQR(qname="a.example"))))  # STATUS
    assert m.opcode == 2 and not m.qr


def test_round_trip() -> None:
    q = D.decode(D.query(99, "intranet.strongswan.org"))
    rec = D.a_record("intranet.strongswan.org", "10.1.0.10", 30)
    m = D.decode(D.answer(q, (rec,)))
    assert m.answers == (rec,) and m.questions == q.questions and m.id == 99


VALID = D.answer(D.decode(D.query(5, "www.strongswan.org")),
                 (D.a_record("www.strongswan.org", "203.0.114.80"),))


@pytest.mark.parametrize("n", range(len(VALID)))
def test_every_truncation_is_a_decode_error(n: int) -> None:
    # the counts promise sections the bytes no longer hold (RFC 1035 §4.1.1)
    with pytest.raises(DecodeError):
        D.decode(VALID[:n])


HDR1 = b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"  # id 1, RD, one question
MALFORMED = {
    "trailing bytes": VALID + b"\x00",
    "pointer to itself": HDR1 + b"\xc0\x0c\x00\x01\x00\x01",
    "pointer forward": HDR1 + b"\xc0\x20\x00\x01\x00\x01" + bytes(30),
    "pointer loop": HDR1 + b"\x01a\xc0\x0c\x00\x01\x00\x01",
    "truncated pointer": HDR1 + b"\xc0",
    "label type 0x40 (RFC 6891 reserved)": HDR1 + b"\x40" + bytes(70),
    "label past the end": HDR1 + b"\x3fabc",
    "name over 255 octets": HDR1 + (b"\x3f" + b"a" * 63) * 4 + b"\x00\x00\x01\x00\x01",
    "A record of 5 bytes": b"\x00\x01\x81\x80\x00\x00\x00\x01\x00\x00\x00\x00"
                           + b"\x00\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x05" + bytes(5),
    "RDATA past the end": b"\x00\x01\x81\x80\x00\x00\x00\x01\x00\x00\x00\x00"
                          + b"\x00\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x09abc",
    "short header": b"\x00\x01\x01",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_is_a_decode_error(case: str) -> None:
    with pytest.raises(DecodeError):
        D.decode(MALFORMED[case])


def test_random_bytes_raise_only_decode_error() -> None:
    rng = random.Random(1035)
    ok = bad = 0
    seeds = [VALID, D.query(1, "a.example"), bytes(dns_compress(DNS(
        id=3, qr=1, qd=DNSQR(qname="x.example"), an=DNSRR(rrname="x.example", rdata="1.2.3.4"))))]
    for i in range(3000):
        base = bytearray(rng.choice(seeds))
        if i % 2:
            for _ in range(rng.randint(1, 4)):  # flip bytes of a valid message
                base[rng.randrange(len(base))] = rng.randrange(256)
            data = bytes(base)
        else:
            data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 60)))
        try:
            D.decode(data)
            ok += 1
        except DecodeError:
            bad += 1
    assert ok + bad == 3000 and bad > 1000  # and no other exception escaped


@pytest.mark.parametrize("name,why", [("a..b", "empty label"), ("x" * 64 + ".org", "63"),
                                      ("é.example", "ASCII"), (("a" * 60 + ".") * 5, "255")])
def test_bad_names_are_refused(name: str, why: str) -> None:
    with pytest.raises(DecodeError, match=why):
        D.query(1, name)


# hypothesis: any bytes at all, and a valid response cut anywhere with any tail


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=120) | st.builds(lambda pre, tail: VALID[:pre] + tail,
                                           st.integers(0, len(VALID)), st.binary(max_size=40)))
def test_decode_raises_only_decode_error_and_re_encodes(data: bytes) -> None:
    try:
        m = D.decode(data)
    except DecodeError:
        return
    try:
        again = D.encode(m)
    except DecodeError:
        return  # a name the encoder refuses (non-ASCII, an empty label from a dot inside one)
    assert D.decode(again) == m  # what we send back says what we read
