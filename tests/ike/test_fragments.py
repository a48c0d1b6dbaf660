"""IKEv2 message fragmentation (RFC 7383) between two engines wired back to back.

Sources: RFC 7383 §2.3 (negotiation: N(IKEV2_FRAGMENTATION_SUPPORTED) in both IKE_SA_INIT
messages), §2.5 (only encrypted messages; each fragment a whole IKE message with one SKF
payload whose Next Payload is the first inner payload in fragment 1 and 0 in the others),
§2.5.3 (own IV/padding/ICV per fragment), §2.6 (verify before keeping; duplicates ignored),
§2.6.1 (retransmissions resend every fragment; a responder answers a retransmitted request
only on its fragment 1). Sizes: strongswan.conf ``charon.fragment_size`` is the whole IP
datagram, so an IKE fragment is at most fragment_size - 20 (IPv4) - 8 (UDP) bytes
(strongSwan 5.9 ``message.c`` ``fragment()``).
"""

from __future__ import annotations

import dataclasses
import struct

import pytest

from ipsecsim.core.errors import ConfigError
from ipsecsim.core.ike import events as E
from ipsecsim.core.ike import fragments as F
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike import states as S
from ipsecsim.core.ike.ca import CertificateAuthority
from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.core.rng import Rng
from tests.helpers.ike_pair import Pair, configs
from tests.ike.test_engine import assert_keys_agree, ike_state

SIZE = 600
LIMIT = SIZE - 28  # IKE bytes in a 600-byte IPv4 datagram (no non-ESP marker on port 500)


def pair(frag_a: str = "yes", frag_b: str = "yes", size: int = SIZE, **kw) -> Pair:
    """RSA certificates on both sides: IKE_AUTH of about 1,100 bytes each way."""
    a = {"local": {"auth": "pubkey", "key": "rsa"}, "remote": {"auth": "pubkey"},
         "fragmentation": frag_a}
    b = {"local": {"auth": "pubkey", "key": "rsa"},
         "remote": {"auth": "pubkey", "id": "gw-a.example"}, "fragmentation": frag_b}
    ca_, cb = configs(a=a, b=b, **kw)
    ca = CertificateAuthority(Rng(11), "C=CH, O=ipsecsim, CN=Test CA")
    return Pair(dataclasses.replace(ca_, fragment_size=size),
                dataclasses.replace(cb, fragment_size=size), ca=ca)


def skf(d: bytes) -> tuple[int, int, int, int]:
    """(Next Payload, Fragment Number, Total Fragments, message ID) of an SKF message."""
    nxt, _, _, num, total = struct.unpack_from(">BBHHH", d, 28)
    return nxt, num, total, struct.unpack_from(">I", d, 20)[0]


def is_auth(d: bytes) -> bool:
    return d[18] == M.IKE_AUTH


def notifies(p: Pair, side: str, exchange: str) -> list[str]:
    return [e.payloads for e in p.of(side, E.IkeMessageEvent)
            if e.direction == "out" and e.exchange == exchange]


def test_both_fragment_ike_auth():
    p = pair()
    p.a.start(0.0)
    # IKE_SA_INIT { SA, KEi, Ni, N(NATD_S_IP), N(NATD_D_IP), N(FRAGMENTATION_SUPPORTED) } -->
    #             <-- { SA, KEr, Nr, N(NATD_S_IP), N(NATD_D_IP), N(FRAGMENTATION_SUPPORTED) }
    # IKE_AUTH { SKF(1/3) }, { SKF(2/3) }, { SKF(3/3) } -->
    #          <-- { SKF(1/3) }, { SKF(2/3) }, { SKF(3/3) }
    p.pump()
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    assert "N(IKEV2_FRAGMENTATION_SUPPORTED)" in notifies(p, "a", "IKE_SA_INIT")[0]
    assert "N(IKEV2_FRAGMENTATION_SUPPORTED)" in notifies(p, "b", "IKE_SA_INIT")[0]
    for side, first in (("a", M.IDi), ("b", M.IDr)):
        frags = [d for s, d in p.wire if s == side and is_auth(d)]
        assert len(frags) >= 2
        assert all(d[16] == M.SKF and len(d) <= LIMIT for d in frags)
        assert all(struct.unpack_from(">I", d, 24)[0] == len(d) for d in frags)  # own length
        heads = [skf(d) for d in frags]
        n = len(frags)
        assert [h[1] for h in heads] == list(range(1, n + 1)) and {h[2] for h in heads} == {n}
        assert heads[0][0] == first and all(h[0] == 0 for h in heads[1:])  # §2.5
        assert {h[3] for h in heads} == {1}
    assert not p.a.drops and not p.b.drops
    # the ladder gets one message per direction, with the fragment count and all the bytes
    out_a = [e for e in p.of("a", E.IkeMessageEvent) if e.exchange == "IKE_AUTH"]
    assert [e.direction for e in out_a] == ["out", "in"]
    n_a = sum(1 for s, d in p.wire if s == "a" and is_auth(d))
    assert f"SKF({n_a} fragments)" in out_a[0].payloads
    assert out_a[0].size == sum(len(d) for s, d in p.wire if s == "a" and is_auth(d))
    assert_keys_agree(p)


@pytest.mark.parametrize("frag_a,frag_b", [("no", "yes"), ("yes", "no")])
def test_one_side_no_sends_whole_messages(frag_a, frag_b):
    p = pair(frag_a, frag_b)
    p.a.start(0.0)
    p.pump()
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    # the side with `no` does not announce; the responder only answers an announcement
    assert "FRAGMENTATION" not in notifies(p, "b", "IKE_SA_INIT")[0]
    assert ("FRAGMENTATION" in notifies(p, "a", "IKE_SA_INIT")[0]) == (frag_a == "yes")
    auth = [d for _, d in p.wire if is_auth(d)]
    assert len(auth) == 2 and all(d[16] == M.SK for d in auth)
    assert all(len(d) > LIMIT for d in auth)  # larger than the fragment: IP fragments it
    assert_keys_agree(p)


def test_accept_announces_but_sends_whole():
    """swanctl.conf(5) ``fragmentation = accept``: announce support, never send fragments."""
    p = pair("yes", "accept")
    p.a.start(0.0)
    p.pump()
    assert ike_state(p.b) == S.ESTABLISHED
    assert "FRAGMENTATION" in notifies(p, "b", "IKE_SA_INIT")[0]
    assert all(d[16] == M.SKF for s, d in p.wire if s == "a" and is_auth(d))
    resp = [d for s, d in p.wire if s == "b" and is_auth(d)]
    assert len(resp) == 1 and resp[0][16] == M.SK


def test_small_messages_are_not_fragmented():
    """§2.5: only a message larger than the fragment size is split (PSK IKE_AUTH is small)."""
    a, b = configs()
    p = Pair(dataclasses.replace(a, fragment_size=SIZE), dataclasses.replace(b, fragment_size=SIZE))
    p.a.start(0.0)
    p.pump()
    assert ike_state(p.a) == S.ESTABLISHED
    assert all(d[16] != M.SKF for _, d in p.wire)


def test_reassembly_out_of_order():
    p = pair()
    held: list[bytes] = []

    def reverse(side, data, src, dst):
        if not is_auth(data):
            return [data]
        held.append(data)
        _, num, total, _ = skf(data)
        if num < total:
            return []
        out = held[::-1]
        held.clear()
        return out

    p.filter = reverse
    p.a.start(0.0)
    p.pump()
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    assert not p.a.drops and not p.b.drops


def test_duplicate_and_tampered_fragments_are_dropped_and_counted():
    p = pair()

    def mess(side, data, src, dst):
        if side == "a" and is_auth(data) and skf(data)[1] == 2:
            bad = bytearray(data)
            bad[-20] ^= 1  # one bit of ciphertext/ICV: the ICV must fail (§2.6)
            return [bytes(bad), data, data]
        return [data]

    p.filter = mess
    p.a.start(0.0)
    p.pump()
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    assert p.b.drops["integrity"] == 1 and p.b.drops["duplicate_fragment"] == 1
    assert any(isinstance(e, E.IkeDrop) and e.reason == "duplicate_fragment"
               for e in p.events["b"])


def test_lost_fragment_then_retransmission_completes():
    p = pair()
    sent: list[bytes] = []

    def lose(side, data, src, dst):
        if side == "a" and is_auth(data):
            sent.append(data)
            if len(sent) == 2:  # fragment 2 of the first transmission
                return []
        return [data]

    p.filter = lose
    p.a.start(0.0)
    p.pump()
    assert ike_state(p.b) == S.CONNECTING  # still waiting for fragment 2
    n = skf(sent[0])[2]
    p.advance(4.0)  # strongSwan's first retransmission timeout
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    # §2.6.1: every fragment again, byte for byte
    assert sent[n:2 * n] == sent[:n]
    assert p.b.drops["duplicate_fragment"] == 1  # fragment 1 was already kept
    retx = [e for e in p.of("a", E.IkeMessageEvent) if e.exchange == "IKE_AUTH" and e.retransmit]
    assert len(retx) == 1 and retx[0].size == sum(map(len, sent[:n]))


def test_cached_response_is_retransmitted_as_fragments():
    p = pair()
    resp: list[bytes] = []

    def lose_response(side, data, src, dst):
        if side == "b" and is_auth(data):
            resp.append(data)
            _, _, total, _ = skf(data)
            if len(resp) <= total:  # the whole first response is lost
                return []
        return [data]

    p.filter = lose_response
    p.a.start(0.0)
    p.pump()
    assert ike_state(p.b) == S.ESTABLISHED and ike_state(p.a) == S.CONNECTING
    n = skf(resp[0])[2]
    p.advance(4.0)
    assert ike_state(p.a) == S.ESTABLISHED
    assert resp[n:2 * n] == resp[:n]  # the cached fragments, resent once
    assert len(resp) == 2 * n
    # §2.6.1: only the retransmitted fragment 1 is answered, the others are ignored
    assert p.b.drops["retransmitted_request"] == n_req(p)
    assert_keys_agree(p)


def n_req(p: Pair) -> int:
    """Fragments of A's IKE_AUTH request (each is seen again in the retransmission)."""
    return sum(1 for s, d in p.wire if s == "a" and is_auth(d)) // 2


def test_larger_total_restarts_and_bounds():
    """§2.6: a verified fragment with a larger Total Fragments discards what was kept;
    a smaller one is dropped. strongSwan message.c: Total Fragments above 255 is refused."""
    p = pair()
    p.a.start(0.0)
    p.step()  # IKE_SA_INIT request and response; A sends its IKE_AUTH fragments now
    sa_a = next(iter(p.a.ike_sas.values()))
    sa_b = next(iter(p.b.ike_sas.values()))
    p.a.datagrams_to_send(p.now)  # lose them
    msg = M.IkeMessage(sa_a.spi_i, sa_a.spi_r, M.IKE_AUTH, 1, True, False,
                       [M.Notify(M.INITIAL_CONTACT, data=bytes(900))])
    three = F.split(msg, sa_a.sk_out, 400)
    four = F.split(msg, sa_a.sk_out, 300)
    assert len(three) == 3 and len(four) == 4
    dst, src = sa_b.local, sa_b.remote
    p.b.receive_datagram(three[0], src, dst, p.now)
    p.b.receive_datagram(four[0], src, dst, p.now)  # restart with 4
    p.b.receive_datagram(three[1], src, dst, p.now)  # total 3 < 4: dropped
    assert p.b.drops["bad_fragment"] == 1
    r = sa_b.reassembly[False]
    assert r.total == 4 and list(r.parts) == [1]
    assert F.split(msg, sa_a.sk_out, 400)[0] != three[0]  # fresh IV per fragment (§2.5.3)
    with pytest.raises(ValueError):
        F.split(M.IkeMessage(sa_a.spi_i, sa_a.spi_r, M.IKE_AUTH, 1, True, False,
                             [M.Notify(M.INITIAL_CONTACT, data=bytes(20000))]), sa_a.sk_out, 80)


def test_fragment_without_negotiation_is_dropped():
    p = pair("yes", "no")
    p.a.start(0.0)
    p.step()
    sa_a = next(iter(p.a.ike_sas.values()))
    sa_b = next(iter(p.b.ike_sas.values()))
    p.a.datagrams_to_send(p.now)
    msg = M.IkeMessage(sa_a.spi_i, sa_a.spi_r, M.IKE_AUTH, 1, True, False,
                       [M.Notify(M.INITIAL_CONTACT, data=bytes(900))])
    p.b.receive_datagram(F.split(msg, sa_a.sk_out, 400)[0], sa_b.remote, sa_b.local, p.now)
    assert p.b.drops["fragment_not_negotiated"] == 1


def test_config_keys():
    """swanctl.conf(5) ``fragmentation``: yes (default), accept, force, no;
    strongswan.conf(5) ``charon.fragment_size`` 1280 by default."""
    base = {"connections": {"c": {"remote_addrs": ["192.0.2.1"]}}}
    cfg = IkeConfig.from_dict(base)
    assert cfg.fragment_size == F.DEFAULT_FRAGMENT_SIZE == 1280
    assert cfg.connections[0].fragmentation == "yes"
    for v in ("accept", "force", "no"):
        d = {"connections": {"c": {"remote_addrs": ["192.0.2.1"], "fragmentation": v}}}
        assert IkeConfig.from_dict(d).connections[0].fragmentation == v
    with pytest.raises(ConfigError, match="connections.c.fragmentation"):
        IkeConfig.from_dict({"connections": {"c": {"fragmentation": "maybe"}}})
    assert IkeConfig.from_dict({**base, "fragment_size": 1400}).fragment_size == 1400
    with pytest.raises(ConfigError, match="fragment_size"):
        IkeConfig.from_dict({**base, "fragment_size": 100})
    assert F.max_message_len(1280, False) == 1252 and F.max_message_len(1280, True) == 1248
