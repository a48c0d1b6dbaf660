"""Traffic selectors, the seeded random source, the algorithm table and the trace."""

import io
import json

from hypothesis import given
from hypothesis import strategies as st

from ipsecsim.core import algorithms as A
from ipsecsim.core.rng import Rng
from ipsecsim.core.selectors import TrafficSelector as TS
from ipsecsim.core.selectors import int_to_ip, ip_to_int
from ipsecsim.trace import SCHEMA, Trace


def test_selector_parse_forms():
    assert (TS.parse("10.1.0.0/16").start, TS.parse("10.1.0.0/16").end) == (
        ip_to_int("10.1.0.0"), ip_to_int("10.1.255.255"))
    s = TS.parse("10.1.2.0/24[udp/500]")
    assert (s.proto, s.port_start, s.port_end) == (17, 500, 500)
    assert TS.parse("192.0.2.1[tcp]").proto == 6
    assert str(TS.parse("10.1.2.0/24[udp/500]")) == "10.1.2.0/24[udp/500]"


def test_selector_narrowing_rfc7296_2_9():
    wide, narrow = TS.parse("10.0.0.0/8"), TS.parse("10.1.0.0/16[tcp]")
    assert wide.intersect(narrow) == narrow
    assert narrow.is_subset_of(wide) and not wide.is_subset_of(narrow)
    assert TS.parse("10.1.0.0/16").intersect(TS.parse("10.2.0.0/16")) is None
    assert TS.parse("0.0.0.0/0[udp]").intersect(TS.parse("0.0.0.0/0[tcp]")) is None


def test_selector_matches_ports_only_when_restricted():
    s = TS.parse("10.1.0.0/16[udp/53]")
    assert s.matches(ip_to_int("10.1.2.3"), 17, 53)
    assert not s.matches(ip_to_int("10.1.2.3"), 17, 54)
    assert not s.matches(ip_to_int("10.1.2.3"), 6, 53)
    assert TS.parse("10.1.0.0/16").matches(ip_to_int("10.1.2.3"), 1, 0)


@given(st.integers(0, 2**32 - 1))
def test_ip_int_round_trip(v):
    assert ip_to_int(int_to_ip(v)) == v


def test_rng_is_deterministic_and_children_independent():
    a, b = Rng(7), Rng(7)
    assert a.bytes(32) == b.bytes(32)
    assert Rng(7).bytes(16) != Rng(8).bytes(16)
    assert Rng(7).child("gw-a").bytes(16) != Rng(7).child("gw-b").bytes(16)
    assert Rng(7).child("gw-a").bytes(16) == Rng(7).child("gw-a").bytes(16)
    assert all(Rng(1).spi() > 255 for _ in range(100))


def test_algorithm_table_sizes_from_the_rfcs():
    gcm = A.encr(A.ENCR_AES_GCM_16, 128)
    # RFC 4106 §8.1: 4-byte salt after the key; §3.1: 8-byte explicit IV; 16-byte ICV
    assert (gcm.key_size, gcm.salt_size, gcm.iv_size, gcm.icv_size) == (16, 4, 8, 16)
    # RFC 7634 §2/§4: 32-byte key, 4-byte salt, 8-byte IV, 16-byte tag
    cc = A.encr(A.ENCR_CHACHA20_POLY1305, 0)
    assert (cc.key_size, cc.salt_size, cc.iv_size, cc.icv_size) == (32, 4, 8, 16)
    # RFC 3602 §3: 16-byte IV and block
    cbc = A.encr(A.ENCR_AES_CBC, 256)
    assert (cbc.key_size, cbc.iv_size, cbc.block_size) == (32, 16, 16)
    # RFC 4868 §2.1: key = hash output, ICV = half of it
    for iana, key, icv in ((A.AUTH_HMAC_SHA2_256_128, 32, 16), (A.AUTH_HMAC_SHA2_384_192, 48, 24),
                           (A.AUTH_HMAC_SHA2_512_256, 64, 32)):
        alg = A.INTEG_ALGS[iana]
        assert (alg.key_size, alg.icv_size) == (key, icv)
        assert A.hash_size(alg.hash_name) == key


def test_transform_names_for_unknown_ids():
    assert A.transform_name(A.TRANSFORM_ENCR, A.ENCR_3DES) == "ENCR_3DES"
    assert A.transform_name(A.TRANSFORM_DH, 99) == "DH_99"


def test_trace_records_and_jsonl():
    t = Trace()
    t.emit(0.5, "drop", "gw-a", 7, "replay", "seq 3")
    t.emit(0.5, "note", "gw-a", "hello")
    assert [r[0] for r in t] == [1, 2]
    assert t.as_dict(t.records[0]) == {"seq": 1, "t": 0.5, "kind": "drop", "node": "gw-a",
                                       "pkt_id": 7, "reason": "replay", "detail": "seq 3"}
    buf = io.StringIO()
    t.write_jsonl(buf)
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert lines[1]["text"] == "hello"
    assert set(SCHEMA) >= {"link_tx", "ike_msg", "sa", "drop", "app_send", "app_deliver"}
    df = t.dataframe("drop")
    assert list(df["reason"]) == ["replay"]
