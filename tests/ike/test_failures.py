"""IKEv2 engine failures, each with its notify and its sentence; loss, duplicates, forgeries.

Two endpoints back to back (tests/helpers/ike_pair.py); time is advanced by hand so the
retransmission schedule (4 s × 1.8^n, 5 retransmissions; strongSwan's defaults)
is exact.
"""

from __future__ import annotations

import pytest

from ipsecsim.core.ike import events as E
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike import states as S
from tests.helpers.ike_pair import A_ADDR, B_ADDR, Pair, configs
from tests.ike.test_engine import assert_keys_agree, ike_state


def failures(p: Pair, side: str) -> list[E.IkeFailure]:
    return p.of(side, E.IkeFailure)


def test_no_proposal_chosen_names_both_offers():
    p = Pair(*configs(a={"proposals": ["aes128-sha1-modp1024"]},
                      b={"proposals": ["aes256gcm16-prfsha384-ecp384"]}))
    p.a.start(0.0)
    # IKE_SA_INIT { SA, KEi, Ni, ... } -->
    #                          <-- { N(NO_PROPOSAL_CHOSEN) }
    p.pump()
    fb, = failures(p, "b")
    assert fb.notify == "NO_PROPOSAL_CHOSEN" and fb.sent_by_us and fb.fatal
    assert fb.reason == ("peer offered ENCR_AES_CBC_128/AUTH_HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024; "
                         "we accept only ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384; "
                         "no common ENCR, PRF, DH")
    fa, = failures(p, "a")
    assert fa.notify == "NO_PROPOSAL_CHOSEN" and not fa.sent_by_us
    assert "ENCR_AES_CBC_128/AUTH_HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024" in fa.reason
    assert not p.a.ike_sas and not p.b.ike_sas
    assert p.of("a", E.IkeSaDown)
    assert fa.child == fb.child == ""  # IKE_SA_INIT: no CHILD_SA concerned


def test_authentication_failed_with_different_psks():
    p = Pair(*configs(psk_b="another secret entirely"))
    p.a.start(0.0)
    p.pump()
    # IKE_AUTH { IDi, IDr, AUTH, SA, TSi, TSr } -->
    #                          <-- { N(AUTHENTICATION_FAILED) }
    fb, = failures(p, "b")
    assert fb.notify == "AUTHENTICATION_FAILED" and fb.sent_by_us
    assert "pre-shared key" in fb.reason and "gw-a.example" in fb.reason
    fa, = failures(p, "a")
    assert fa.notify == "AUTHENTICATION_FAILED" and not fa.sent_by_us and fa.fatal and fb.fatal
    assert fa.child == fb.child == ""  # the IKE_SA failed, not a child
    assert not p.a.ike_sas and not p.b.ike_sas
    assert not p.of("a", E.ChildSaUp) and not p.of("b", E.ChildSaUp)


def test_ts_unacceptable_keeps_the_ike_sa():
    p = Pair(*configs(a={"children": {"net": {"local_ts": ["10.9.0.0/16"]}}}))
    p.a.start(0.0)
    p.pump()
    fb, = failures(p, "b")
    assert fb.notify == "TS_UNACCEPTABLE" and fb.sent_by_us
    assert fb.reason == ("CHILD_SA 'net': refused selectors: TSi 10.9.0.0/16 is outside our "
                         "remote_ts 10.1.0.0/16")
    fa, = failures(p, "a")
    assert fa.notify == "TS_UNACCEPTABLE" and "10.9.0.0/16" in fa.reason
    assert not fa.fatal and not fb.fatal  # only the CHILD_SA failed
    assert fa.child == fb.child == "net"  # both ends name the refused child (RFC 7296 §2.9)
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    assert not p.of("a", E.ChildSaUp)


def test_ts_narrowing():
    # A asks for 10.2.0.0/16 behind B; B only offers 10.2.5.0/24: A accepts the narrowed one
    p = Pair(*configs(b={"children": {"net": {"local_ts": ["10.2.5.0/24"]}}}))
    p.a.start(0.0)
    p.pump()
    ka, kb = p.child_keys("a")[0], p.child_keys("b")[0]
    assert [str(t) for t in ka.remote_ts] == ["10.2.5.0/24"] == [str(t) for t in kb.local_ts]


def test_child_no_proposal_chosen_sentence():
    p = Pair(*configs(a={"children": {"net": {"esp_proposals": ["aes256-sha512"]}}}))
    p.a.start(0.0)
    p.pump()
    fb, = failures(p, "b")
    assert fb.notify == "NO_PROPOSAL_CHOSEN"
    assert ("peer offered ENCR_AES_CBC_256/AUTH_HMAC_SHA2_512_256/NO_ESN; we accept only "
            "ENCR_AES_GCM_16_128/NO_ESN; no common ENCR") in fb.reason
    assert ike_state(p.a) == S.ESTABLISHED
    # RFC 7296 §1.2: a CHILD_SA refused inside IKE_AUTH leaves the IKE_SA up; the event says
    # which child, for the shells (they block its traffic instead of sending it in the clear)
    fa, = failures(p, "a")
    assert fa.notify == "NO_PROPOSAL_CHOSEN" and not fa.sent_by_us
    assert fa.child == fb.child == "net" and not fa.fatal and not fb.fatal


def test_invalid_ke_payload_recovered():
    p = Pair(*configs(a={"proposals": ["aes128gcm16-prfsha256-x25519-ecp256"]},
                      b={"proposals": ["aes128gcm16-prfsha256-ecp256"]}))
    p.a.start(0.0)
    # IKE_SA_INIT { SA, KEi(x25519), Ni } -->
    #                   <-- { N(INVALID_KE_PAYLOAD, ecp256) }
    # IKE_SA_INIT { SA, KEi(ecp256), Ni } -->
    #                   <-- { SA, KEr, Nr }
    p.pump()
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    fb, = failures(p, "b")
    assert fb.notify == "INVALID_KE_PAYLOAD" and "CURVE25519" in fb.reason and "ECP_256" in fb.reason
    assert failures(p, "a")[0].notify == "INVALID_KE_PAYLOAD"
    assert not any(f.fatal for f in failures(p, "a") + failures(p, "b"))  # recovered
    assert p.of("a", E.IkeSaUp)[0].dh == "ecp256"
    inits = [e for e in p.of("a", E.IkeMessageEvent) if e.direction == "out"
             and e.exchange == "IKE_SA_INIT"]
    assert len(inits) == 2 and all(e.msg_id == 0 for e in inits)
    assert_keys_agree(p)


def test_create_child_sa_refusal_names_the_child():
    # a second child B has no selectors for: CREATE_CHILD_SA (RFC 7296 §1.3.1) refused
    extra = {"local_ts": ["10.7.0.0/16"], "remote_ts": ["10.8.0.0/16"], "esp_proposals": ["aes128gcm16"]}
    p = Pair(*configs(a={"children": {"extra": extra}}))
    p.a.start(0.0)
    p.pump()
    p.a.initiate("site", 1.0, "extra")
    # CREATE_CHILD_SA { SA, Ni, TSi, TSr } -->
    #                    <-- { N(TS_UNACCEPTABLE) }
    p.pump()
    fa, = failures(p, "a")
    fb, = failures(p, "b")
    assert fa.notify == fb.notify == "TS_UNACCEPTABLE"
    assert fa.child == "extra" and not fa.sent_by_us and not fa.fatal
    assert fb.child == "net" and fb.sent_by_us  # B names the config of its that came closest
    assert "CHILD_SA 'extra'" in fa.reason and "CHILD_SA 'net'" in fb.reason


def test_refused_rekey_names_the_child():
    # A rekeys with PFS (x25519, RFC 7296 §1.3.3), B accepts only no-PFS proposals: the first
    # CHILD_SA came up in IKE_AUTH (no KE there, §1.2) but its rekey is NO_PROPOSAL_CHOSEN
    p = Pair(*configs(a={"children": {"net": {"esp_proposals": ["aes128gcm16-x25519"]}}}))
    p.a.start(0.0)
    p.pump()
    c, = [c for sa in p.a.ike_sas.values() for c in sa.children]
    p.a.rekey_child(c.spi_in, 1.0)
    # CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, KEi, TSi, TSr } -->
    #                    <-- { N(NO_PROPOSAL_CHOSEN) }
    p.pump()
    fa, = failures(p, "a")
    fb, = failures(p, "b")
    assert fa.notify == fb.notify == "NO_PROPOSAL_CHOSEN"
    assert fa.child == fb.child == "net"
    assert not fa.sent_by_us and fb.sent_by_us and not fa.fatal and not fb.fatal
    assert c.state == S.C_INSTALLED  # the old SA stays in use
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED


def test_invalid_syntax_answer():
    p = Pair(*configs())
    req = M.IkeMessage(b"\x11" * 8, bytes(8), M.IKE_SA_INIT, 0, True, False,
                       [M.Nonce(b"n" * 32)])
    p.b.receive_datagram(M.encode(req), (A_ADDR, 500), (B_ADDR, 500), 0.0)
    (data, src, dst), = p.b.datagrams_to_send(0.0)
    assert dst == (A_ADDR, 500)
    resp = M.decode(data)
    assert resp.response and resp.notify(M.INVALID_SYNTAX) is not None
    p._collect()
    fb, = failures(p, "b")
    assert fb.notify == "INVALID_SYNTAX" and "without SA, KE" in fb.reason


def test_garbage_is_counted_not_raised():
    p = Pair(*configs())
    p.b.receive_datagram(b"\x00" * 10, (A_ADDR, 500), (B_ADDR, 500), 0.0)
    p.b.receive_datagram(b"\x01" * 40, (A_ADDR, 500), (B_ADDR, 500), 0.0)
    p.b.receive_datagram(b"\x00\x00\x00\x00" + b"\x07" * 40, (A_ADDR, 4500), (B_ADDR, 4500), 0.0)
    assert sum(p.b.drops.values()) == 3
    assert not p.b.datagrams_to_send(0.0)


def _drop_nth(n: int, side: str):
    """A filter dropping the n-th datagram (1-based) sent by ``side``."""
    seen = {"a": 0, "b": 0}

    def f(name, data, src, dst):
        seen[name] += 1
        return [] if name == side and seen[name] == n else [data]
    return f


@pytest.mark.parametrize("side,n,what", [
    ("a", 1, "IKE_SA_INIT request"), ("b", 1, "IKE_SA_INIT response"),
    ("a", 2, "IKE_AUTH request"), ("b", 2, "IKE_AUTH response"),
])
def test_loss_of_each_message_is_recovered(side, n, what):
    p = Pair(*configs())
    p.filter = _drop_nth(n, side)
    p.a.start(0.0)
    p.pump()
    assert ike_state(p.a) != S.ESTABLISHED
    p.advance(4.0)  # first retransmission after 4 s
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED, what
    retrans = [e for e in p.of("a", E.IkeMessageEvent) if e.retransmit]
    assert len(retrans) == 1 and p.now == 4.0
    if side == "b":  # the responder saw the request twice and answered from its cache
        assert p.b.drops["retransmitted_request"] == 1
    assert len(p.a.ike_sas) == len(p.b.ike_sas) == 1
    assert_keys_agree(p)


def test_duplicates_get_the_cached_response():
    p = Pair(*configs())
    p.filter = lambda name, data, src, dst: [data, data]
    p.a.start(0.0)
    p.pump()
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    assert len(p.b.ike_sas) == 1 and p.b.drops["retransmitted_request"] == 2
    assert p.a.drops["unexpected_response"] >= 1  # the duplicate responses
    assert len(p.child_keys("a")) == len(p.child_keys("b")) == 1


def test_forged_response_is_dropped_then_retransmission_recovers():
    seen = []

    def corrupt(name, data, src, dst):
        if name == "b":
            seen.append(1)
            if len(seen) == 2:  # the IKE_AUTH response: flip a ciphertext byte
                data = data[:-20] + bytes([data[-20] ^ 1]) + data[-19:]
        return [data]

    p = Pair(*configs())
    p.filter = corrupt
    p.a.start(0.0)
    p.pump()
    assert p.a.drops["integrity"] == 1 and ike_state(p.a) == S.CONNECTING
    p.advance(4.0)
    assert ike_state(p.a) == S.ESTABLISHED


def test_retransmits_exhausted_fail_with_reason_on_schedule():
    p = Pair(*configs())
    p.filter = lambda name, data, src, dst: [] if name == "a" else [data]
    p.a.start(0.0)
    p.pump()
    p.advance(1000.0)
    fa, = failures(p, "a")
    assert fa.notify == "TIMEOUT"
    total = sum(4.0 * 1.8 ** k for k in range(6))  # 165.1 s: strongSwan's documented figure
    assert f"after 5 retransmissions over {total:.1f} s" in fa.reason
    sends = [e for e in p.of("a", E.IkeMessageEvent) if e.direction == "out"]
    assert [e.retransmit for e in sends] == [0, 1, 2, 3, 4, 5]
    assert not p.a.ike_sas and p.of("a", E.IkeSaDown)


def test_retransmit_times_follow_strongswan_schedule():
    p = Pair(*configs())
    p.filter = lambda name, data, src, dst: [] if name == "a" else [data]
    p.a.start(0.0)
    p.pump()
    expected, t = [], 0.0
    for k in range(5):
        t += 4.0 * 1.8 ** k
        expected.append(round(t, 6))
    seen = []
    while (t := p.a.get_timer()) is not None and len(seen) < 5:
        p.now = t
        p.a.handle_timer(t)
        if p.a.datagrams_to_send(t):
            seen.append(round(t, 6))
    assert seen == expected


def test_cookie_under_load():
    a, b = configs()
    from dataclasses import replace
    b = replace(b, cookie_threshold=0)
    p = Pair(a, b)
    p.a.start(0.0)
    # IKE_SA_INIT { SA, KEi, Ni } -->
    #                 <-- { N(COOKIE) }           (no state kept on B)
    p.step()
    assert not p.b.ike_sas
    # IKE_SA_INIT { N(COOKIE), SA, KEi, Ni } -->
    p.pump()
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    ins = [e.payloads for e in p.of("b", E.IkeMessageEvent) if e.direction == "in"]
    assert ins[0].startswith("IKE_SA_INIT request { N(COOKIE), SA")
    assert_keys_agree(p)


def test_nat_traversal_floats_to_4500_and_keeps_alive():
    p = Pair(*configs(b={"remote_addrs": []}), nat_a=("192.0.2.99", 7777))
    p.a.start(0.0)
    p.pump()
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    sa_a = next(iter(p.a.ike_sas.values()))
    sa_b = next(iter(p.b.ike_sas.values()))
    assert sa_a.nat_local and not sa_a.nat_remote and sa_b.nat_remote
    assert sa_a.local == (A_ADDR, 4500) and sa_b.remote == ("192.0.2.99", 7778)
    ka, kb = p.child_keys("a")[0], p.child_keys("b")[0]
    assert ka.encap == (4500, 4500) and kb.encap == (4500, 7778)
    auth = [e for e in p.of("a", E.IkeMessageEvent) if e.exchange == "IKE_AUTH"][0]
    assert auth.local == (A_ADDR, 4500)
    p.a.datagrams_to_send(p.now)
    p.now = 20.0
    p.a.handle_timer(20.0)
    out = p.a.datagrams_to_send(20.0)
    assert (b"\xff", (A_ADDR, 4500), (B_ADDR, 4500)) in out


@pytest.mark.parametrize("side", ["a", "b"])
def test_encap_yes_forces_udp_encapsulation_without_nat(side):
    # strongSwan's way: the side with encap=yes sends a bogus NATD_S_IP, so both see a "NAT"
    p = Pair(*configs(**{side: {"encap": True}}))
    p.a.start(0.0)
    p.pump()
    assert p.child_keys("a")[0].encap == (4500, 4500) == p.child_keys("b")[0].encap
    assert_keys_agree(p)


def test_ah_behind_nat_is_refused_with_a_reason():
    child = {"ah_proposals": ["sha256"]}
    p = Pair(*configs(a={"children": {"net": child}},
                      b={"remote_addrs": [], "children": {"net": child}}),
             nat_a=("192.0.2.99", 7777))
    p.a.start(0.0)
    p.pump()
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    fa, = failures(p, "a")
    assert fa.notify == "NO_PROPOSAL_CHOSEN" and "RFC 3948" in fa.reason and fa.child == "net"
    assert not p.of("a", E.ChildSaUp) and not p.of("b", E.ChildSaUp)


def test_mutated_messages_never_raise():
    """Bad input is counted, never raised: flip, truncate and extend every handshake message."""
    import random

    p = Pair(*configs())
    p.a.start(0.0)
    p.pump()
    msgs = list(p.wire)
    rnd = random.Random(7)
    for i in range(400):
        side, data = msgs[i % len(msgs)]
        d = bytearray(data)
        kind = i % 4
        if kind == 0:
            for _ in range(rnd.randint(1, 4)):
                d[rnd.randrange(len(d))] ^= 1 << rnd.randrange(8)
        elif kind == 1:
            d = d[:rnd.randrange(len(d))]
        elif kind == 2:
            d += bytes(rnd.randrange(1, 40))
        else:
            d[rnd.randrange(16, 28)] = rnd.randrange(256)  # header fields
        fresh = Pair(*configs())  # a responder in its initial state, too
        for ep in (p.a, p.b, fresh.b):
            src, dst = ((A_ADDR, 500), (B_ADDR, 500)) if ep is not p.a else \
                ((B_ADDR, 500), (A_ADDR, 500))
            ep.receive_datagram(bytes(d), src, dst, 1.0)
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    assert sum(p.a.drops.values()) + sum(p.b.drops.values()) > 300


def test_late_duplicate_ike_sa_init_does_not_open_a_second_sa():
    p = Pair(*configs())
    p.a.start(0.0)
    first, = p.a.datagrams_to_send(0.0)
    p.b.receive_datagram(*first, 0.0)
    p.pump()
    assert len(p.b.established()) == 1
    p.b.receive_datagram(*first, 3.0)  # the network delivers an old copy
    assert len(p.b.ike_sas) == 1 and p.b.drops["retransmitted_request"] == 1
    assert not p.b.datagrams_to_send(3.0)
