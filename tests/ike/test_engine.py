"""IKEv2 engine, back to back in memory: IKE_SA_INIT + IKE_AUTH + the first CHILD_SA.

Each exchange is written as a ladder (strongSwan's tests/suites style) with the SA
states asserted after each step. The proof that the keys agree is the data plane:
the ChildSaKeys of both ends drive two IPsecStacks, and a packet one protects the
other decapsulates.
"""

from __future__ import annotations

import struct

import pytest

from ipsecsim.core.ike import events as E
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike import states as S
from ipsecsim.core.ip import build_ipv4
from ipsecsim.core.rng import Rng
from ipsecsim.core.selectors import int_to_ip
from ipsecsim.core.stack import IPsecStack
from tests.helpers.ike_pair import A_ADDR, B_ADDR, Pair, configs


def udp_packet(src: str, dst: str, data: bytes = b"hello through the tunnel") -> bytes:
    return build_ipv4(src, dst, 17, struct.pack("!HHHH", 40000, 7, 8 + len(data), 0) + data)


def assert_keys_agree(p: Pair, index: int = -1, ka=None, kb=None) -> None:
    """A packet protected with A's keys decapsulates with B's, and back."""
    if ka is None:
        ka, kb = p.child_keys("a")[index], p.child_keys("b")[index]
    assert (ka.spi_in, ka.spi_out) == (kb.spi_out, kb.spi_in)
    sa_, sb = IPsecStack(Rng(5), "a"), IPsecStack(Rng(6), "b")
    sa_.install_child(ka)
    sb.install_child(kb)
    here = int_to_ip(ka.local_ts[0].start + 5)  # addresses inside the child's selectors
    there = int_to_ip(ka.remote_ts[0].start + 7)
    inner = udp_packet(here, there)
    wire = sa_.outbound(inner)
    assert wire != inner and inner[20:] not in wire  # really encrypted
    assert sb.inbound(wire) == inner
    back = udp_packet(there, here, b"reply")
    assert sa_.inbound(sb.outbound(back)) == back


def ike_state(ep, index: int = 0) -> str:
    sas = list(ep.ike_sas.values())
    return sas[index].state if sas else S.DESTROYED


def test_psk_handshake_ladder():
    p = Pair(*configs())
    p.a.start(0.0)
    # IKE_SA_INIT { SA, KEi, Ni, N(NATD_S_IP), N(NATD_D_IP) } -->
    assert ike_state(p.a) == S.CONNECTING
    (data, src, dst), = p.a.datagrams_to_send(0.0)
    assert src == (A_ADDR, 500) and dst == (B_ADDR, 500)
    p.b.receive_datagram(data, src, dst, 0.0)
    #                                     <-- { SA, KEr, Nr, N(NATD_S_IP), N(NATD_D_IP) }
    assert ike_state(p.b) == S.CONNECTING
    (data, src, dst), = p.b.datagrams_to_send(0.0)
    p.a.receive_datagram(data, src, dst, 0.0)
    # IKE_AUTH { IDi, IDr, AUTH, SA, TSi, TSr } -->
    (data, src, dst), = p.a.datagrams_to_send(0.0)
    assert M.decode_header(data).exchange == M.IKE_AUTH
    p.b.receive_datagram(data, src, dst, 0.0)
    #                                     <-- { IDr, AUTH, SA, TSi, TSr }
    assert ike_state(p.b) == S.ESTABLISHED
    (data, src, dst), = p.b.datagrams_to_send(0.0)
    p.a.receive_datagram(data, src, dst, 0.0)
    assert ike_state(p.a) == S.ESTABLISHED
    p._collect()
    up_a, up_b = p.of("a", E.IkeSaUp)[0], p.of("b", E.IkeSaUp)[0]
    assert up_a.sk_ei == up_b.sk_ei and up_a.sk_er == up_b.sk_er
    assert up_a.initiator and not up_b.initiator
    ka, = p.child_keys("a")
    assert str(ka.local_ts[0]) == "10.1.0.0/16" and str(ka.remote_ts[0]) == "10.2.0.0/16"
    assert ka.mode == "tunnel" and ka.encap is None
    assert_keys_agree(p)
    # one IkeMessageEvent per datagram on each side: 2 out + 2 in
    assert len(p.of("a", E.IkeMessageEvent)) == 4 and len(p.of("b", E.IkeMessageEvent)) == 4


@pytest.mark.parametrize("ike,esp", [
    ("aes128gcm16-prfsha256-x25519", "aes128gcm16"),
    ("aes256gcm16-prfsha384-ecp384", "aes256gcm16"),
    ("aes128-sha256-ecp256", "aes128-sha256"),
    ("aes256-sha512-ecp521", "aes256-sha512"),
    ("aes256-sha384-modp2048", "aes192-sha384"),
    ("aes128-sha256-modp3072", "aes128-sha256"),
    ("chacha20poly1305-prfsha256-x25519", "chacha20poly1305"),
])
def test_every_proposal_family(ike, esp):
    p = Pair(*configs(proposals=[ike], esp=[esp]))
    p.a.start(0.0)
    p.pump()
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    assert_keys_agree(p)


def test_ah_transport_mode():
    child = {"mode": "transport", "ah_proposals": ["sha256"], "local_ts": ["dynamic"],
             "remote_ts": ["dynamic"]}
    p = Pair(*configs(a={"children": {"net": child}}, b={"children": {"net": child}}))
    p.a.start(0.0)
    p.pump()
    ka, kb = p.child_keys("a")[0], p.child_keys("b")[0]
    assert ka.proto == kb.proto == "ah" and ka.mode == kb.mode == "transport"
    assert "N(USE_TRANSPORT_MODE)" in p.of("b", E.IkeMessageEvent)[-1].payloads
    sa_, sb = IPsecStack(Rng(5), "a"), IPsecStack(Rng(6), "b")
    sa_.install_child(ka)
    sb.install_child(kb)
    inner = udp_packet(A_ADDR, B_ADDR)
    assert sb.inbound(sa_.outbound(inner)) == inner


def test_transport_requested_but_refused_falls_back_to_tunnel():
    p = Pair(*configs(a={"children": {"net": {"mode": "transport"}}}))
    p.a.start(0.0)
    p.pump()
    assert p.child_keys("a")[0].mode == p.child_keys("b")[0].mode == "tunnel"


def test_deterministic_bytes():
    def run() -> list[bytes]:
        p = Pair(*configs(), seed=42)
        p.a.start(0.0)
        p.pump()
        return [d for _, d in p.wire]

    assert run() == run()
