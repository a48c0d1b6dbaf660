"""Attacks on IKE: a downgrade of IKE_SA_INIT and floods of it from spoofed sources.

Downgrade: IKE_SA_INIT travels without integrity protection, but each side's AUTH signs the
first message as *it* saw it (RFC 7296 §2.15, InitiatorSignedOctets = RealMessage1 | NonceRData
| MACedIDForI): the responder's check of the initiator's AUTH fails on the altered message and
IKE_AUTH ends in AUTHENTICATION_FAILED (§2.21.2), with no CHILD_SA.

Flood: past ``cookie_threshold`` half-open IKE_SAs the responder answers statelessly with a
COOKIE (§2.6) -- spoofed sources never come back; an attacker on the path that echoes the
cookies is bounded by ``init_limit_half_open`` (strongSwan receiver.c ``drop_ike_sa_init``).
"""

from __future__ import annotations

from tests.attacks.topos import attack_records, ike_s2s, mallory, run
from tests.helpers.sim_topos import assert_conserved


def _init_answers(sim, node="gw-b"):
    """gw-b's IKE_SA_INIT responses: (with an SA: a half-open IKE_SA made, COOKIE)."""
    out = [r for r in sim.trace.of("ike_msg") if r[3] == node and r[4] == "out"
           and r[6] == "IKE_SA_INIT" and r[8]]
    return ([r for r in out if "SA," in r[9]], [r for r in out if "N(COOKIE)" in r[9]])


def test_downgrade_is_caught_at_ike_auth_and_no_child_sa_comes_up():
    sim = run(ike_s2s({"type": "downgrade", "count": 1}, duration=3))
    s = sim.summary()
    assert s["ike"]["established"] == 0 and s["child_sas"]["installed"] == 0
    fails = {f["node"]: f for f in s["ike"]["failures"]}
    assert fails["gw-b"]["notify"] == "AUTHENTICATION_FAILED"
    assert "did not verify" in fails["gw-b"]["reason"]
    assert fails["gw-a"]["notify"] == "AUTHENTICATION_FAILED"
    # the responder did pick the weak suite the attacker left
    (resp,) = [r for r in sim.trace.of("ike_msg") if r[3] == "gw-b" and r[6] == "IKE_SA_INIT"
               and r[4] == "out"]
    m = mallory(sim)
    assert m["acted_on"]["downgraded"] == 1
    assert m["attacks"][0]["stripped"] == ["ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_384/CURVE25519"]
    (rec,) = attack_records(sim, "downgrade")
    assert "ENCR_AES_CBC_128" in rec[8] and resp[1] > rec[1]
    assert_conserved(sim)


def test_without_the_downgrade_the_strong_suite_is_chosen():
    sim = run(ike_s2s({"type": "eavesdrop"}, duration=2))
    s = sim.summary()
    assert s["ike"]["established"] == 1 and s["ike"]["failures"] == []
    assert "chosen ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_384/CURVE25519" in \
        mallory(sim)["learned"]["ike_suites"]


def test_downgrade_then_a_second_initiation_comes_up_with_the_strong_suite():
    sim = run(ike_s2s({"type": "downgrade", "count": 1}, {"type": "eavesdrop"}, duration=3,
                      script=True))
    s = sim.summary()
    assert s["ike"]["failed"] == 2 and s["ike"]["established"] == 1
    suites = mallory(sim)["learned"]["ike_suites"]
    assert "chosen ENCR_AES_CBC_128/AUTH_HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE25519" in suites
    assert "chosen ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_384/CURVE25519" in suites


def test_a_single_proposal_leaves_nothing_to_strip():
    topo = ike_s2s({"type": "downgrade"}, duration=2)
    topo["nodes"]["gw-a"]["ipsec"]["connections"]["office-link"]["proposals"] = \
        ["aes256gcm16-prfsha384-x25519"]
    sim = run(topo)
    assert sim.summary()["ike"]["established"] == 1
    assert mallory(sim)["acted_on"]["downgraded"] == 0


def test_spoofed_flood_gets_cookies_and_makes_no_more_half_open_sas_than_the_threshold():
    sim = run(ike_s2s({"type": "flood", "start": 2, "count": 200, "rate": 400,
                       "to": "203.0.113.1", "spoof": "198.51.100.128/25"},
                      duration=4, cookie_threshold=5))
    with_sa, cookies = _init_answers(sim)
    assert len(with_sa) == 1 + 5  # gw-a's own, then the first 5 of the flood
    assert len(cookies) == 195
    m = mallory(sim)
    assert m["sent_by_kind"]["flood"] == 200 and m["sent_by_kind"]["cookie_echo"] == 0
    assert m["attacks"][0]["cookies"] == 195 and m["attacks"][0]["half_open_answers"] == 5
    assert m["acted_on"]["absorbed"] == 200  # each answer went to a spoofed source
    s = sim.summary()
    assert "ike_half_open_limit" not in s["drops_all"]
    assert s["packets"]["dropped"] == {} and s["ike"]["established"] == 1  # the tunnel is fine
    assert_conserved(sim)


def test_cookie_echo_is_bounded_by_init_limit_half_open():
    sim = run(ike_s2s({"type": "flood", "start": 2, "count": 200, "rate": 400,
                       "to": "203.0.113.1", "spoof": "198.51.100.128/25", "cookie_echo": True},
                      duration=4, cookie_threshold=5, init_limit_half_open=30))
    with_sa, cookies = _init_answers(sim)
    m = mallory(sim)
    flood, echo = m["sent_by_kind"]["flood"], m["sent_by_kind"]["cookie_echo"]
    assert flood == 200 and echo == len(cookies) == 195
    assert len(with_sa) - 1 == m["attacks"][0]["half_open_answers"] == 30
    limited = sim.summary()["drops_all"]["ike_half_open_limit"]
    # every request the attacker sent has one fate at gw-b: a COOKIE, a half-open SA, refused
    assert len(cookies) + 30 + limited == flood + echo
    s = sim.summary()
    assert s["packets"]["dropped"] == {} and s["ike"]["established"] == 1
    assert_conserved(sim)


def test_cookie_echo_without_a_half_open_limit_makes_a_dh_per_request():
    # init_limit_half_open 0 (strongSwan's default): the cookie alone does not stop an
    # attacker who sees the answers; each echoed request costs a DH and a half-open IKE_SA
    sim = run(ike_s2s({"type": "flood", "start": 2, "count": 100, "rate": 400,
                       "to": "203.0.113.1", "spoof": "198.51.100.128/25", "cookie_echo": True},
                      duration=3, cookie_threshold=5, init_limit_half_open=0))
    m = mallory(sim)
    assert m["attacks"][0]["half_open_answers"] == 100
    assert "ike_half_open_limit" not in sim.summary()["drops_all"]
