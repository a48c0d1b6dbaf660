"""``ipsecsim peer`` draws its key material from the operating system (issue 15, finding 3).

Before, its ``Rng`` was a Mersenne Twister seeded once from ``os.urandom``: the nonces and
SPIs it sends in clear came from the same generator as its DH private keys and cookie
secret, and about 624 observed outputs rebuild that state. Here every draw must reach
``os.urandom`` (through :class:`random.SystemRandom`, which reads ``random._urandom``):
replacing that function changes the SPI and nonce on the wire, and nothing is seeded.
"""

from __future__ import annotations

import random

from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.core.rng import Rng, SystemRng
from ipsecsim.peer.config import make_node

CONF = {
    "connections": {"c": {
        "local_addrs": ["10.99.0.2"], "remote_addrs": ["10.99.0.1"],
        "local": {"auth": "psk", "id": "a"}, "remote": {"auth": "psk", "id": "b"},
        "children": {"net": {"local_ts": ["10.2.0.0/16"], "remote_ts": ["10.1.0.0/16"],
                             "start_action": "start"}}}},
    "secrets": {"ike-1": {"id-1": "a", "id-2": "b", "secret": "0123456789abcdef"}},
}


def first_ike_sa_init(fill: int, monkeypatch) -> bytes:
    calls: list[int] = []

    def urandom(n: int) -> bytes:
        calls.append(n)
        return bytes([fill]) * n

    monkeypatch.setattr(random, "_urandom", urandom)
    node = make_node(IkeConfig.from_dict(CONF), "10.99.0.2")
    node.start(0.0)
    [(pkt, _tag)] = node.packets_to_send()
    assert calls, "the peer drew nothing from os.urandom"
    return pkt[28:]  # the IKE message after the IPv4 and UDP headers


def test_the_peer_draws_spis_and_nonces_from_the_os(monkeypatch) -> None:
    msg = first_ike_sa_init(0xA5, monkeypatch)
    assert msg[:8] == b"\xa5" * 8  # initiator SPI (RFC 7296 §3.1)
    assert b"\xa5" * 32 in msg[28:]  # the nonce
    other = first_ike_sa_init(0x3C, monkeypatch)
    assert other[:8] == b"\x3c" * 8


def test_system_rng_is_not_seeded() -> None:
    assert isinstance(SystemRng("x")._r, random.SystemRandom)
    assert isinstance(SystemRng("x").child("y")._r, random.SystemRandom)
    # the simulation's Rng stays deterministic
    assert Rng(7, "a").bytes(16) == Rng(7, "a").bytes(16)
    assert SystemRng().bytes(16) != SystemRng().bytes(16)
