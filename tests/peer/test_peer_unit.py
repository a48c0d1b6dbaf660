"""The pieces of ``ipsecsim peer`` that need no sockets: echo answers, demux, config, log lines.

The echo responder is what a strongSwan ping meets at the far end of the tunnel,
so its replies must be packets a Linux kernel accepts: checksums verified here
with the IPv4/ICMP/UDP codecs (RFC 791, RFC 792, RFC 768).
"""

from __future__ import annotations

import argparse

import pytest

from ipsecsim.core import ip
from ipsecsim.core.errors import ConfigError
from ipsecsim.peer.config import load
from ipsecsim.peer.dataplane import classify, echo_reply
from ipsecsim.peer.runner import format_event

INNER = ["192.168.20.1"]


def test_icmp_echo_request_for_an_inner_address_is_answered() -> None:
    req = ip.icmp_echo_packet("192.168.10.1", "192.168.20.1", ident=0x1234, seq=7, data=b"ping!" * 11)
    rep = echo_reply(req, INNER)
    assert rep is not None
    h = ip.parse_ipv4(rep)  # verifies the header checksum
    assert (ip.ntoa(rep[12:16]), ip.ntoa(rep[16:20])) == ("192.168.20.1", "192.168.10.1")
    assert h.proto == ip.IPPROTO_ICMP
    e = ip.parse_icmp_echo(rep)  # verifies the ICMP checksum
    assert (e.type, e.ident, e.seq, e.data) == (ip.ICMP_ECHO_REPLY, 0x1234, 7, b"ping!" * 11)


def test_echo_for_other_addresses_or_replies_is_not_answered() -> None:
    assert echo_reply(ip.icmp_echo_packet("192.168.10.1", "192.168.99.9"), INNER) is None
    assert echo_reply(ip.icmp_echo_packet("192.168.10.1", "192.168.20.1", reply=True), INNER) is None
    assert echo_reply(b"\x45\x00garbage", INNER) is None


def test_udp_echo_on_port_7_only() -> None:
    req = ip.udp_packet("192.168.10.1", "192.168.20.1", 40000, 7, b"hello")
    rep = echo_reply(req, INNER)
    assert rep is not None
    u, data = ip.parse_udp(rep)  # verifies the UDP checksum over the pseudo-header
    assert (u.sport, u.dport, data) == (7, 40000, b"hello")
    assert ip.ntoa(rep[16:20]) == "192.168.10.1"
    assert echo_reply(ip.udp_packet("192.168.10.1", "192.168.20.1", 40000, 9, b"x"), INNER) is None


def test_port_4500_demux_rfc3948() -> None:
    # RFC 3948 §2.2 (non-ESP marker), §2.3 (keepalive 0xFF), §2.1 (ESP: non-zero SPI first)
    assert classify(b"\x00\x00\x00\x00" + b"\x11" * 28) == "ike"
    assert classify(b"\xff") == "keepalive"
    assert classify(b"\xc0\x01\x02\x03" + b"\x00" * 20) == "esp"


def test_config_needs_listen_and_ipv4(tmp_path) -> None:
    p = tmp_path / "peer.yaml"
    p.write_text("connections: {}\nsecrets: {}\ninner_addrs: [192.168.20.1]\n")
    with pytest.raises(ConfigError, match="listen"):
        load(str(p))
    p.write_text("listen: 10.99.0.2\ninner_addrs: [not-an-address]\n")
    with pytest.raises(ConfigError, match="not-an-address"):
        load(str(p))
    p.write_text("listen: 10.99.0.2\ninner_addrs: 192.168.20.1\n")
    assert load(str(p))[1:] == ("10.99.0.2", ["192.168.20.1"])


def test_peer_exits_2_with_a_sentence_on_a_bad_config(tmp_path, capsys) -> None:
    from ipsecsim.cli.peer import main

    p = tmp_path / "peer.yaml"
    p.write_text("inner_addrs: [192.168.20.1]\n")
    assert main(argparse.Namespace(config=str(p), verbose=False)) == 2
    assert "'listen' is missing" in capsys.readouterr().err


def test_event_log_line_is_one_line_with_hex_keys() -> None:
    from ipsecsim.core.ike.events import IkeFailure, IkeMessageEvent

    line = format_event(IkeFailure("peer[1]", "office", "NO_PROPOSAL_CHOSEN",
                                   "no common ENCR: we accept only AES_GCM_16_256", True))
    assert line.startswith("IkeFailure ") and "\n" not in line
    assert "notify=NO_PROPOSAL_CHOSEN" in line and "reason='no common ENCR" in line
    msg = IkeMessageEvent("out", ("10.0.0.2", 4500), ("10.0.0.1", 4500), "IKE_AUTH", 1, True,
                          "SK{IDr AUTH SA TSi TSr}", b"\x01" * 8, b"\xab" * 8, 300)
    assert "rspi=abababababababab" in format_event(msg) and "local=10.0.0.2:4500" in format_event(msg)


def _mirrored_keys():
    from ipsecsim.core import algorithms as A
    from ipsecsim.core.keys import ChildSaKeys
    from ipsecsim.core.selectors import TrafficSelector

    gcm = A.encr(A.ENCR_AES_GCM_16, 128)
    k1, k2 = bytes(range(20)), bytes(range(100, 120))
    ts_a, ts_b = (TrafficSelector.parse("192.168.10.1/32"),), (TrafficSelector.parse("192.168.20.1/32"),)
    a = ChildSaKeys("net", "esp", "tunnel", 0x1111, 0x2222, gcm, None, k1, b"", k2, b"",
                    "10.99.0.1", "10.99.0.2", ts_a, ts_b, encap=(4500, 4500))
    b = ChildSaKeys("net", "esp", "tunnel", 0x2222, 0x1111, gcm, None, k2, b"", k1, b"",
                    "10.99.0.2", "10.99.0.1", ts_b, ts_a, encap=(4500, 4500))
    return a, b


def test_esp_in_udp_round_trip_through_two_nodes() -> None:
    """What the peer sends from port 4500 is what the other node decapsulates (RFC 3948 §2.1)."""
    from ipsecsim.core.node import IpsecNode
    from ipsecsim.core.node_events import PacketDropped
    from ipsecsim.core.rng import Rng
    from ipsecsim.peer.dataplane import from_packet, to_packet

    ka, kb = _mirrored_keys()
    a, b = IpsecNode("a", Rng(1), ["10.99.0.1"]), IpsecNode("b", Rng(2), ["10.99.0.2"])
    a.install_manual(ka, 0.0)
    b.install_manual(kb, 0.0)

    def sent(node: IpsecNode) -> list[tuple[bytes, tuple[str, int], tuple[str, int]]]:
        return [p for pkt, _tag in node.packets_to_send() if (p := from_packet(pkt))]

    def arrive(node: IpsecNode, payload: bytes, src: tuple[str, int], dst: tuple[str, int]) -> list[bytes]:
        node.receive_packet(to_packet(payload, src, dst), dst[1], 0.0)
        return [p for p, _tag in node.packets_to_deliver()]

    ping = ip.icmp_echo_packet("192.168.10.1", "192.168.20.1", ident=9, seq=1, data=b"x" * 56)
    a.send_packet(ping, 0.0)
    [(payload, src, dst)] = sent(a)
    assert (src, dst) == (("10.99.0.1", 4500), ("10.99.0.2", 4500))
    assert payload[:4] == (0x2222).to_bytes(4, "big")  # the SPI the receiver chose
    assert arrive(b, payload, src, dst) == [ping]
    # the answer goes back the same way
    b.send_packet(echo_reply(ping, ["192.168.20.1"]), 0.0)
    [(back, _s, _d)] = sent(b)
    [reply] = arrive(a, back, dst, src)
    assert ip.parse_icmp_echo(reply).type == ip.ICMP_ECHO_REPLY
    # a replay is a counted drop, a flipped ciphertext bit too; a keepalive is no packet
    assert arrive(b, payload, src, dst) == []
    a.send_packet(ping, 0.0)
    [(second, _s, _d)] = sent(a)
    bad = bytearray(second)
    bad[20] ^= 1  # past SPI, sequence number and IV: ciphertext (RFC 4106 §3)
    assert arrive(b, bytes(bad), src, dst) == []
    assert arrive(b, b"\xff", src, dst) == []
    assert b.stack.drops == {"bad_icv": 1, "replay": 1}
    dropped = []
    while (ev := b.next_event()) is not None:
        if isinstance(ev, PacketDropped):
            dropped.append(ev.reason)
    assert dropped == ["replay", "bad_icv"]
