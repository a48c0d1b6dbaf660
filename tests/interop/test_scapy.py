"""Scapy 2.x's ``scapy.layers.ipsec.SecurityAssociation`` as an independent ESP/AH peer.

Every algorithm x mode of the issue, both directions: packets ipsecsim builds
decrypt (and verify) in Scapy, and packets Scapy builds decapsulate in ipsecsim.
Scapy has no replay window and infers tunnel mode from ``tunnel_header``.
"""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import PacketDrop
from ipsecsim.core.ip import icmp_echo_packet, udp_packet
from tests.helpers.dataplane import (
    AH_ALGS,
    ESP_ALGS,
    MODES,
    TUNNEL_DST,
    TUNNEL_SRC,
    alg_id,
    sa_pair,
)

scapy_ipsec = pytest.importorskip("scapy.layers.ipsec")
from scapy.layers.inet import IP  # noqa: E402

SCAPY_CRYPT = {"aes128gcm16": "AES-GCM", "aes256gcm16": "AES-GCM", "chacha20poly1305": "CHACHA20-POLY1305",
               "aes128": "AES-CBC", "aes256": "AES-CBC"}
SCAPY_AUTH = {"sha256": "SHA2-256-128", "sha384": "SHA2-384-192", "sha512": "SHA2-512-256"}

INNER = [
    icmp_echo_packet("10.1.0.5", "10.2.0.7", ident=3, seq=9, data=b"scapy interop " * 3),
    udp_packet("10.1.0.5", "10.2.0.7", 40000, 40001, bytes(range(256)) * 5),  # 1308 bytes
    udp_packet("10.1.0.5", "10.2.0.7", 40000, 40001, b""),
]


def scapy_sa(ours):
    """The Scapy SA with the same algorithms and keys as our SA ``ours``."""
    kw = {}
    if ours.mode == "tunnel":
        kw["tunnel_header"] = IP(src=TUNNEL_SRC, dst=TUNNEL_DST)
    if ours.proto == "esp":
        e = ours.encr
        kw.update(crypt_algo=SCAPY_CRYPT[e.name], crypt_key=ours.test_keys[0])
        if e.aead:
            kw["crypt_icv_size"] = 16
        else:
            kw.update(auth_algo=SCAPY_AUTH[ours.integ.name], auth_key=ours.test_keys[1])
        return scapy_ipsec.SecurityAssociation(scapy_ipsec.ESP, spi=ours.spi, **kw)
    kw.update(auth_algo=SCAPY_AUTH[ours.integ.name], auth_key=ours.test_keys[1])
    return scapy_ipsec.SecurityAssociation(scapy_ipsec.AH, spi=ours.spi, **kw)


def _pair(proto, mode, encr, integ):
    return sa_pair(proto, mode, encr, integ)


CASES = [("esp", m, e, i) for e, i in ESP_ALGS for m in MODES] + [
    ("ah", m, None, i) for i in AH_ALGS for m in MODES]
IDS = [f"{p}-{m}-{alg_id(e, i)}" for p, m, e, i in CASES]


@pytest.mark.parametrize("proto,mode,encr,integ", CASES, ids=IDS)
def test_ours_decrypt_in_scapy(proto, mode, encr, integ):
    tx, _rx = _pair(proto, mode, encr, integ)
    theirs = scapy_sa(tx)
    for inner in INNER:
        wire = tx.encapsulate(inner)
        got = theirs.decrypt(IP(wire))  # verifies the ICV, raises on failure
        assert bytes(got) == inner


@pytest.mark.parametrize("proto,mode,encr,integ", CASES, ids=IDS)
def test_scapy_decrypts_in_ours(proto, mode, encr, integ):
    _tx, rx = _pair(proto, mode, encr, integ)
    theirs = scapy_sa(rx)
    for n, inner in enumerate(INNER, start=1):
        wire = bytes(theirs.encrypt(IP(inner), seq_num=n))
        assert rx.decapsulate(wire) == inner
    assert rx.packets == len(INNER)


@pytest.mark.parametrize("proto,mode,encr,integ", CASES[::3], ids=IDS[::3])
def test_scapy_packet_with_wrong_key_is_refused(proto, mode, encr, integ):
    _tx, rx = _pair(proto, mode, encr, integ)
    theirs = scapy_sa(rx)
    wire = bytearray(bytes(theirs.encrypt(IP(INNER[0]), seq_num=1)))
    wire[-1] ^= 0x01  # last ICV byte
    with pytest.raises(PacketDrop) as exc:
        rx.decapsulate(bytes(wire))
    assert exc.value.reason == "bad_icv"
    assert rx.drops["bad_icv"] == 1


EXTRA = [(m, e, i) for e, i in ESP_ALGS[::2] for m in MODES]


@pytest.mark.parametrize("mode,encr,integ", EXTRA, ids=[f"{m}-{alg_id(e, i)}" for m, e, i in EXTRA])
def test_esn_and_nat_t_both_ways(mode, encr, integ):
    """ESN near 2**32 (RFC 4303 §2.2.1) and UDP encapsulation (RFC 3948) against Scapy."""
    from scapy.layers.inet import UDP

    tx, rx = sa_pair("esp", mode, encr, integ, esn=True, encap=(4500, 4500))
    tx.seq = 2**32 + 4
    rx.replay.accept(2**32 + 1)
    theirs = scapy_sa(tx)
    theirs.nat_t_header = UDP(sport=4500, dport=4500)
    inner = INNER[0] if mode == "tunnel" else udp_packet(TUNNEL_SRC, TUNNEL_DST, 40000, 40001, b"nat-t")
    wire = tx.encapsulate(inner)
    assert wire[9] == 17
    got = theirs.decrypt(IP(wire), esn_en=True, esn=1)
    assert bytes(got) == inner
    back = bytes(theirs.encrypt(IP(inner), seq_num=6, esn_en=True, esn=1))
    assert back[9] == 17
    assert rx.decapsulate(back) == inner
