"""IPsecStack: two gateways back to back (RFC 4301 §5 processing), no event loop."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsecsim.core.errors import PacketDrop
from ipsecsim.core.ip import icmp_echo_packet, udp_packet
from ipsecsim.core.natt import add_non_esp_marker, keepalive_packet
from ipsecsim.core.rng import Rng
from ipsecsim.core.selectors import TrafficSelector as TS
from ipsecsim.core.stack import IPsecStack, NoSa
from tests.helpers.dataplane import CBC256, GCM128, GW_A, GW_B, SHA256, child_keys


def gateways(**kw):
    a, b = IPsecStack(Rng(1), "gw-a", [GW_A]), IPsecStack(Rng(2), "gw-b", [GW_B])
    ka, kb = child_keys(**kw)
    a.install_child(ka)
    b.install_child(kb)
    return a, b, ka, kb


PING = icmp_echo_packet("10.1.0.5", "10.2.0.7", data=b"hello")


@pytest.mark.parametrize("encr,integ", [(GCM128, None), (CBC256, SHA256)])
def test_ping_across_and_back(encr, integ):
    a, b, _ka, _kb = gateways(encr=encr, integ=integ)
    wire = a.outbound(PING, now=1.0)
    assert wire[9] == 50 and wire[12:16] == bytes([198, 51, 100, 1])
    assert b.inbound(wire, now=1.001) == PING
    reply = icmp_echo_packet("10.2.0.7", "10.1.0.5", reply=True, data=b"hello")
    assert a.inbound(b.outbound(reply)) == reply
    assert a.counters["protected"] == 1 and b.counters["decapsulated"] == 1
    # the reply travels on A's inbound SPI, which B uses outbound
    assert a.last_sa.spi == b.last_sa.spi == 0xA001 and a.last_sa is not b.last_sa


def test_no_policy_bypasses_and_plain_traffic_outside_policy_passes():
    a, b, *_ = gateways()
    other = udp_packet("192.0.2.5", "192.0.2.6", 1, 2, b"not ours")
    assert a.outbound(other) == other
    assert b.inbound(other) is None
    assert b.counters["plain_in"] == 1


def test_no_sa_names_the_child_so_ike_can_start():
    a = IPsecStack(Rng(1), "gw-a", [GW_A])
    ka, _ = child_keys()
    a.install_child(ka)
    a.remove_sa(ka.spi_out, "out")
    with pytest.raises(NoSa) as exc:
        a.outbound(PING)
    assert exc.value.reason == "no_sa" and exc.value.child == "lan-lan" and exc.value.detail == "lan-lan"
    assert a.drops["no_sa"] == 1


def test_discard_policy_and_cleartext_refused():
    a, b, *_ = gateways()
    a.add_policy("out", "discard", "10.1.66.0/24", "0.0.0.0/0", name="quarantine", priority=-1)
    with pytest.raises(PacketDrop) as exc:
        a.outbound(icmp_echo_packet("10.1.66.1", "10.2.0.7"))
    assert exc.value.reason == "policy_discard"
    with pytest.raises(PacketDrop) as exc:
        b.inbound(PING)  # PING from 10.1/16 to 10.2/16 in the clear: policy demands ESP
    assert exc.value.reason == "cleartext_refused" and b.drops["cleartext_refused"] == 1


def test_inner_packet_outside_the_sa_selectors_is_a_policy_mismatch():
    a, b, ka, _kb = gateways()
    # A sends through the SA a packet that does not belong to it (a forged/buggy peer)
    sa_out = a.sad.outbound[ka.spi_out].sa
    spoofed = icmp_echo_packet("172.16.0.1", "10.2.0.7")
    with pytest.raises(PacketDrop) as exc:
        b.inbound(sa_out.encapsulate(spoofed))
    assert exc.value.reason == "policy_mismatch"
    assert b.drops["policy_mismatch"] == 1


def test_unknown_spi_and_wrong_protocol():
    a, b, *_ = gateways()
    wire = bytearray(a.outbound(PING))
    wire[20:24] = (0xDEAD).to_bytes(4, "big")
    with pytest.raises(PacketDrop) as exc:
        b.inbound(bytes(wire))
    assert exc.value.reason == "unknown_spi"


def test_make_before_break_rekey():
    """A new generation takes over outbound at once; the old inbound SA keeps working
    (packets in flight) until it is removed."""
    a, b, ka1, kb1 = gateways()
    in_flight = a.outbound(PING)
    ka2, kb2 = child_keys(gen=2)
    b.install_child(kb2)  # responder installs first
    a.install_child(ka2)
    new = a.outbound(PING)
    assert new[20:24] == kb2.spi_in.to_bytes(4, "big")
    assert b.inbound(in_flight) == PING  # old SA still accepted
    assert b.inbound(new) == PING
    b.remove_child(kb1)
    a.remove_child(ka1)
    with pytest.raises(PacketDrop) as exc:
        b.inbound(in_flight)
    assert exc.value.reason == "unknown_spi"
    assert b.inbound(a.outbound(PING)) == PING  # policies survive with generation 2
    a.remove_child(ka2)
    assert a.outbound(PING) == PING and len(a.spd) == 0  # last generation: policies gone


def test_rekey_collision_loser_sends_on_the_peers_sa():
    """RFC 7296 §2.8.1: both ends rekeyed at once and made two new pairs; A's pair (installed
    last on A) is the redundant one. use_outbound() points A back at the survivor, so nothing
    is sent on the SA B is about to delete."""
    a, b, ka1, kb1 = gateways()
    kb_surv, ka_surv = child_keys(gen=2)[1], child_keys(gen=2)[0]
    ka_red, kb_red = child_keys(gen=3)
    a.install_child(ka_surv)
    b.install_child(kb_surv)
    b.install_child(kb_red)
    a.install_child(ka_red)  # the newest on A: outbound switched to the redundant SA
    assert a.outbound(PING)[20:24] == kb_red.spi_in.to_bytes(4, "big")
    assert a.use_outbound(ka_surv)
    sent = a.outbound(PING)
    assert sent[20:24] == kb_surv.spi_in.to_bytes(4, "big")
    b.remove_child(kb_red)
    assert b.inbound(sent) == PING
    assert not a.use_outbound(child_keys(gen=9)[0])  # not installed: nothing changes
    assert a.outbound(PING)[20:24] == kb_surv.spi_in.to_bytes(4, "big")


def test_limit_events_are_pulled_from_the_stack():
    a, b, *_ = gateways(lifetime={"soft_packets": 2, "hard_packets": 3})
    for _ in range(3):
        b.inbound(a.outbound(PING))
    ev = [a.next_event() for _ in range(3)]
    assert [(e.which, e.kind) for e in ev[:2]] == [("soft", "packets"), ("hard", "packets")]
    assert ev[2] is None
    assert [(e.which, e.spi) for e in iter(b.next_event, None)] == [("soft", 0xB001), ("hard", 0xB001)]
    with pytest.raises(PacketDrop) as exc:
        a.outbound(PING)
    assert exc.value.reason == "sa_expired" and a.drops["sa_expired"] == 1


def test_nat_t_keepalive_ike_marker_and_esp_in_udp():
    a, b, *_ = gateways(encap=(4500, 4500))
    wire = a.outbound(PING)
    assert wire[9] == 17 and wire[22:24] == (4500).to_bytes(2, "big")
    assert b.inbound(wire) == PING
    assert b.inbound(keepalive_packet(GW_A, GW_B)) == b""
    assert b.counters["keepalives"] == 1
    ike = udp_packet(GW_A, GW_B, 4500, 4500, add_non_esp_marker(b"\x11" * 28))
    assert b.inbound(ike) is None  # not ESP: the caller hands it to IKE
    assert a.outbound(ike[:12] + ike[16:20] + ike[12:16] + ike[20:]) is not None
    assert b.counters["ike"] == 1


def test_ike_bypasses_a_transport_policy_covering_the_gateways():
    ka, kb = child_keys(mode="transport")
    ka = dataclasses.replace(ka, local_ts=(TS.parse(GW_A),), remote_ts=(TS.parse(GW_B),))
    kb = dataclasses.replace(kb, local_ts=(TS.parse(GW_B),), remote_ts=(TS.parse(GW_A),))
    a, b = IPsecStack(Rng(1), "a", [GW_A]), IPsecStack(Rng(2), "b", [GW_B])
    a.install_child(ka)
    b.install_child(kb)
    ike = udp_packet(GW_A, GW_B, 500, 500, b"IKE_SA_INIT")
    assert a.outbound(ike) == ike and b.inbound(ike) is None
    data = udp_packet(GW_A, GW_B, 7000, 7, b"echo me")
    wire = a.outbound(data)
    assert wire[9] == 50 and len(wire) > len(data)
    assert b.inbound(wire) == data
    with pytest.raises(PacketDrop):
        b.inbound(data)


def test_ah_child():
    a, b, *_ = gateways(proto="ah", encr=None, integ=SHA256)
    wire = a.outbound(PING)
    assert wire[9] == 51
    assert b.inbound(wire) == PING


def test_stats_report_per_sa_counters():
    a, b, *_ = gateways()
    b.inbound(a.outbound(PING))
    s = b.stats()
    inbound = next(x for x in s["sas"] if x["direction"] == "in")
    assert inbound["packets"] == 1 and inbound["bytes"] == len(PING)
    assert s["counters"]["decapsulated"] == 1


def test_demo_dataplane_runs(capsys):
    from ipsecsim.cli.demo_dataplane import main

    assert main(["--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("peer recovers the ping: yes") == 5 and "NO" not in out


@settings(max_examples=300, deadline=None)
@given(junk=st.binary(max_size=120), flip=st.integers(min_value=0, max_value=10**6))
def test_garbage_in_either_direction_is_a_counted_drop_or_passes(junk, flip):
    """Whatever arrives, the stack returns or raises PacketDrop (counted); it never crashes."""
    a, b, *_ = _GW
    wire = bytearray(a.outbound(PING))
    wire[flip % len(wire)] ^= 1 << (flip % 8)
    for stack, pkt in ((b, bytes(wire)), (b, junk), (a, junk), (b, junk[:20] + bytes(wire[20:]))):
        before = sum(stack.drops.values())
        try:
            stack.inbound(pkt) if stack is b else stack.outbound(pkt)
        except PacketDrop:
            assert sum(stack.drops.values()) == before + 1


_GW = gateways()


def test_udp_4500_classification():
    """RFC 3948 §2: keepalive 0xFF, non-ESP marker = IKE, otherwise ESP (non-zero SPI)."""
    from ipsecsim.core.natt import classify, strip_non_esp_marker

    assert classify(b"\xff") == "keepalive"
    assert classify(add_non_esp_marker(b"IKE header...")) == "ike"
    assert strip_non_esp_marker(add_non_esp_marker(b"msg")) == b"msg"
    assert classify((0x1234).to_bytes(4, "big") + bytes(20)) == "esp"
    assert classify(b"\x01\x02") == "malformed"
    with pytest.raises(ValueError):
        strip_non_esp_marker(b"\x00\x00\x00\x01rest")


def test_remembered_flows_follow_policy_changes():
    """The outbound flow cache never outlives the policies it came from."""
    a, b, ka1, _kb1 = gateways()
    host = icmp_echo_packet("10.1.0.5", "10.2.0.9")
    assert b.inbound(a.outbound(host)) == host  # the flow is remembered now
    a.add_policy("out", "bypass", "10.1.0.5", "10.2.0.9", name="direct", priority=-1)
    assert a.outbound(host) == host  # the new, narrower BYPASS wins at once
    pol = a.spd.lookup_addrs("out", "10.1.0.5", "10.2.0.9")
    a.spd.remove(pol)
    assert a.outbound(host)[9] == 50  # protected again
    # a child with the same name but narrowed to one host pair is another CHILD_SA with its
    # own policies (strongSwan child_sa.c install_policies(): per CHILD_SA, its own TS);
    # removing the broad one takes its policies, and the flow cache, with it
    narrow = dataclasses.replace(child_keys(gen=2)[0], local_ts=(TS.parse("10.1.0.5"),),
                                 remote_ts=(TS.parse("10.2.0.7"),))
    a.install_child(narrow)
    assert a.outbound(host)[20:24] == ka1.spi_out.to_bytes(4, "big")  # still the broad child's
    a.remove_child(ka1)
    assert a.outbound(host) == host  # 10.2.0.9 no longer falls under any child
    assert a.outbound(PING)[20:24] == narrow.spi_out.to_bytes(4, "big")
    a.remove_sa(narrow.spi_out, "out")
    with pytest.raises(NoSa):
        a.outbound(PING)  # the cached policy is read afresh: its SA is gone


def test_counters_are_a_snapshot_of_every_path():
    a, b, *_ = gateways()
    for _ in range(3):
        b.inbound(a.outbound(PING))
    a.outbound(udp_packet("192.0.2.5", "192.0.2.6", 1, 2, b""))
    c = a.counters
    assert c == {"protected": 3, "bypassed": 1}
    c["protected"] = 0  # a copy: the stack's own count is untouched
    assert a.counters["protected"] == 3 and b.counters["decapsulated"] == 3
    assert b.stats()["counters"] == {"decapsulated": 3}


def test_a_remembered_flow_forgets_a_source_that_becomes_ours():
    a, *_ = gateways()
    ike_from_lan = udp_packet("10.1.0.1", "10.2.0.1", 500, 500, b"ike")
    assert a.outbound(ike_from_lan)[9] == 50  # a LAN host's UDP 500: protected, flow remembered
    a.add_local_addr("10.1.0.1")
    assert a.outbound(ike_from_lan) == ike_from_lan  # now our own IKE: bypasses the SPD
    assert a.counters["ike"] == 1


def test_bypass_is_remembered_per_address_pair_until_the_spd_changes():
    """A forwarded flow no PROTECT policy covers is classified once (the flow cache keeps the
    BYPASS answer); a policy added later for it takes effect on the very next packet."""
    a = IPsecStack(Rng(1), "gw-a", [GW_A])
    plain = udp_packet("10.1.0.5", "10.2.0.7", 40000, 40000, b"x" * 64)
    for _ in range(3):
        assert a.outbound(plain) is plain
    assert a.counters["bypassed"] == 3 and a.spd.flows["out"] == {plain[12:20]: None}
    ka, _ = child_keys()
    a.install_child(ka)  # now 10.1/16 -> 10.2/16 is protected
    wire = a.outbound(plain)
    assert wire[9] == 50 and a.counters == {"bypassed": 3, "protected": 1}
    a.add_policy("out", "discard", "10.1.0.5/32", "10.2.0.7/32", name="block", priority=-1)
    with pytest.raises(PacketDrop) as exc:
        a.outbound(plain)
    assert exc.value.reason == "policy_discard"
