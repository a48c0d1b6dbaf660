"""A client that echoes cookies cannot pile up half-open IKE_SAs (issue 15, finding 4).

Cookies (RFC 7296 §2.6) stop spoofed floods, but a client at a real address answers them:
10,147 half-open IKE_SAs in 25 s, each costing the responder a DH. strongSwan bounds that
in receiver.c ``drop_ike_sa_init()``: ``charon.block_threshold`` half-open IKE_SAs per peer
address (default 5) and ``charon.init_limit_half_open`` in all; requests beyond are dropped
unanswered, after the cookie check and before any DH.
"""

from __future__ import annotations

from ipsecsim.core.ike import events as E
from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.core.ike.endpoint import IkeEndpoint
from ipsecsim.core.rng import Rng

RESP = ("192.0.2.1", 500)


def responder(**top: int) -> IkeEndpoint:
    cfg = {"connections": {"rw": {
        "local_addrs": [RESP[0]], "remote_addrs": ["%any"],
        "local": {"auth": "psk", "id": "gw"}, "remote": {"auth": "psk"},
        "children": {"net": {"local_ts": ["10.0.0.0/16"], "remote_ts": ["dynamic"]}}}},
        "secrets": {"ike-1": {"secret": "a long enough key"}}, **top}
    return IkeEndpoint(IkeConfig.from_dict(cfg), Rng(1, "resp"), "gw")


def flood(gw: IkeEndpoint, n: int, src: tuple[str, int] = ("198.51.100.7", 500)) -> int:
    """``n`` clients at one address, each answering the COOKIE it is asked for; how many
    IKE_SA_INIT responses with a KE payload (a DH computed) the responder sent."""
    cfg = {"connections": {"c": {
        "local_addrs": [src[0]], "remote_addrs": [RESP[0]],
        "local": {"auth": "psk", "id": "client"}, "remote": {"auth": "psk", "id": "gw"},
        "children": {"net": {"local_ts": ["dynamic"], "remote_ts": ["10.0.0.0/16"],
                             "start_action": "start"}}}},
        "secrets": {"ike-1": {"secret": "a long enough key"}}}
    dh = 0
    for i in range(n):
        client = IkeEndpoint(IkeConfig.from_dict(cfg), Rng(i, "client"), "client")
        client.start(0.0)
        for _ in range(3):  # the request, its COOKIE retry, maybe an INVALID_KE retry
            out = client.datagrams_to_send(0.0)
            if not out:
                break
            for payload, _s, _d in out:
                gw.receive_datagram(payload, src, RESP, 0.0)
            for payload, _s, _d in gw.datagrams_to_send(0.0):
                if b"\x00\x00\x00\x00" != payload[:4] and payload[16] == 33:  # first payload SA
                    dh += 1
                    break  # the client stops here: half-open, as a flood leaves it
                client.receive_datagram(payload, RESP, src, 0.0)
    return dh


def half_open(gw: IkeEndpoint) -> int:
    return sum(1 for sa in gw.ike_sas.values() if sa.state != "ESTABLISHED")


def test_one_address_echoing_cookies_gets_block_threshold_half_open_sas() -> None:
    gw = responder(cookie_threshold=2)
    dh = flood(gw, 200)
    assert half_open(gw) == 5 and dh == 5
    assert gw.drops["block_threshold"] >= 190
    drops = [e for e in iter(gw.next_event, None) if isinstance(e, E.IkeDrop)
             and e.reason == "block_threshold"]
    assert drops[0].detail == ("ignoring IKE_SA setup from 198.51.100.7, per-IP half-open "
                               "IKE_SA limit of 5 reached")
    # another address is not blocked by the first one's half-open SAs
    assert flood(gw, 1, ("198.51.100.8", 500)) == 1


def test_init_limit_half_open_bounds_all_addresses_together() -> None:
    gw = responder(cookie_threshold=100, block_threshold=0, init_limit_half_open=20)
    for k in range(10):
        flood(gw, 5, (f"203.0.113.{k + 1}", 500))
    assert half_open(gw) == 20
    assert gw.drops["half_open_limit"] == 30
