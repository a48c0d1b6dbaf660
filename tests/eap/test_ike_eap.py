"""EAP in IKE_AUTH between two IkeEndpoints (RFC 7296 §2.16; RFC 4739 rounds), in memory.

Gateway B (responder, PSK ``gw-b.example``) is the EAP server; A (``carol@strongswan.org``)
the client. Ladders as strongSwan's tests write them; the AUTH after EAP is checked against
RFC 7296 §2.16 computed here from the SA's keys: keyed with the MSK for EAP-MSCHAPv2, with
SK_pi/SK_pr for EAP-MD5 (no MSK; charon's keymat_v2.c ``get_psk_sig()``).
"""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import ConfigError
from ipsecsim.core.ike import events as E
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike import states as S
from ipsecsim.core.ike.auth import psk_auth, signed_octets
from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.core.ike.events import EapStep
from tests.helpers import ike_pair as H
from tests.helpers.ike_pair import Pair, _merge

CAROL, MOON = "carol@strongswan.org", "gw-b.example"
PW = "tuxmux"


def pair(a: dict | None = None, b: dict | None = None, pw_b: str = PW,
         a_rounds: dict | None = None, b_rounds: dict | None = None) -> Pair:
    ca = H.conn(H.A_ADDR, H.B_ADDR, CAROL, MOON, start=True)
    cb = H.conn(H.B_ADDR, H.A_ADDR, MOON, "%any", local_ts="10.2.0.0/16",
                remote_ts="10.1.0.0/16")
    _merge(ca, a or {})
    _merge(cb, b or {})
    ca.update(a_rounds or {})
    cb.update(b_rounds or {})
    psk = {"ike-1": {"id-1": MOON, "id-2": CAROL, "secret": "a long pre-shared key"}}
    sa = {**psk, "eap-carol": {"id": CAROL, "secret": PW}}
    sb = {**psk, "eap-carol": {"id": CAROL, "secret": pw_b}}
    return Pair(IkeConfig.from_dict({"connections": {"site": ca}, "secrets": sa}),
                IkeConfig.from_dict({"connections": {"site": cb}, "secrets": sb}))


def run(p: Pair) -> Pair:
    p.a.start(0.0)
    p.pump()
    return p


def ladder(p: Pair, side: str = "a") -> list[str]:
    return [f"{'-->' if e.direction == 'out' else '<--'} {e.payloads}"
            for e in p.of(side, E.IkeMessageEvent) if e.exchange == "IKE_AUTH"]


def steps(p: Pair, side: str) -> list[str]:
    return [e.step.kind for e in p.of(side, EapStep)]


def wire_auth_payloads(p: Pair) -> list[M.Auth]:
    """The AUTH payloads A sent, opened with B's keys."""
    sa_b = next(iter(p.b.ike_sas.values()))
    out = []
    for side, data in p.wire:
        if side == "a" and M.decode_header(data).exchange == M.IKE_AUTH:
            msg = M.decode(data, sa_b.sk_in)
            out += msg.find_all(M.Auth)
    return out


def expected_initiator_auth(p: Pair, key_of) -> bytes:
    sa = next(iter(p.a.ike_sas.values()))
    prf = sa.suite.prf
    octets = signed_octets(sa.init_request, sa.nr, prf, sa.keys.sk_pi, sa.local_id.body)
    return psk_auth(prf, key_of(sa), octets)


def test_eap_md5_with_eap_identity_and_sk_p_keyed_auth() -> None:
    p = run(pair({"local": {"auth": "eap-md5"}}, {"remote": {"auth": "eap-md5", "eap_id": "%any"}}))
    assert ladder(p) == [
        "--> IKE_AUTH request { IDi, N(INITIAL_CONTACT), IDr, SA, TSi, TSr }",
        "<-- IKE_AUTH response { IDr, AUTH, EAP/REQ/ID }",
        "--> IKE_AUTH request { EAP/RES/ID }",
        "<-- IKE_AUTH response { EAP/REQ/MD5 }",
        "--> IKE_AUTH request { EAP/RES/MD5 }",
        "<-- IKE_AUTH response { EAP/SUCC }",
        "--> IKE_AUTH request { AUTH }",
        "<-- IKE_AUTH response { AUTH, SA, TSi, TSr }",
    ]
    for ep in (p.a, p.b):
        assert [sa.state for sa in ep.ike_sas.values()] == [S.ESTABLISHED]
    assert len(p.of("a", E.ChildSaUp)) == len(p.of("b", E.ChildSaUp)) == 1
    # EAP-MD5 has no MSK: the initiator's AUTH is keyed with SK_pi (RFC 7296 §2.16, charon)
    auth, = wire_auth_payloads(p)
    assert auth.method == 2 and auth.data == expected_initiator_auth(p, lambda sa: sa.keys.sk_pi)
    assert steps(p, "b") == ["initiating", "self_authed", "identity_received", "initiating",
                             "server_succeeded", "auth_ok", "auth_self"]


def test_eap_mschapv2_auth_is_keyed_with_the_msk() -> None:
    p = run(pair({"local": {"auth": "eap-mschapv2"}}, {"remote": {"auth": "eap-mschapv2"}}))
    assert ladder(p)[1:4] == [  # no eap_id: no EAP-Identity, the IKE identity is the EAP one
        "<-- IKE_AUTH response { IDr, AUTH, EAP/REQ/MSCHAPV2 }",
        "--> IKE_AUTH request { EAP/RES/MSCHAPV2 }",
        "<-- IKE_AUTH response { EAP/REQ/MSCHAPV2 }",   # Success request, S=...
    ]
    sa_a, sa_b = (next(iter(ep.ike_sas.values())) for ep in (p.a, p.b))
    msk = sa_a.auth_rounds.msk
    assert msk is not None and len(msk) == 64 and msk == sa_b.auth_rounds.msk
    auth, = wire_auth_payloads(p)
    assert auth.data == expected_initiator_auth(p, lambda sa: msk)
    assert auth.data != expected_initiator_auth(p, lambda sa: sa.keys.sk_pi)
    assert sa_b.state == S.ESTABLISHED


def test_certificate_or_psk_round_then_eap_rfc4739() -> None:
    """swanctl ``local-1 {auth = psk} local-2 {auth = eap-md5}``: N(MULTIPLE_AUTH_SUPPORTED) in
    IKE_SA_INIT both ways, N(ANOTHER_AUTH_FOLLOWS) with the first AUTH, then IDi alone."""
    p = run(pair({"local": {"auth": "psk", "id": "gw-a.example"}},
                 {"remote": {"auth": "psk", "id": "gw-a.example"}},
                 a_rounds={"local-2": {"auth": "eap-md5", "id": CAROL}},
                 b_rounds={"remote-2": {"auth": "eap-md5"}}))
    init = [e.payloads for e in p.of("a", E.IkeMessageEvent) if e.exchange == "IKE_SA_INIT"]
    assert all("N(MULTIPLE_AUTH_SUPPORTED)" in s for s in init)
    assert ladder(p) == [
        "--> IKE_AUTH request { IDi, N(INITIAL_CONTACT), IDr, AUTH, SA, TSi, TSr, "
        "N(MULTIPLE_AUTH_SUPPORTED), N(ANOTHER_AUTH_FOLLOWS) }",
        "<-- IKE_AUTH response { IDr, AUTH, N(MULTIPLE_AUTH_SUPPORTED) }",
        "--> IKE_AUTH request { IDi }",
        "<-- IKE_AUTH response { EAP/REQ/MD5 }",
        "--> IKE_AUTH request { EAP/RES/MD5 }",
        "<-- IKE_AUTH response { EAP/SUCC }",
        "--> IKE_AUTH request { AUTH }",
        "<-- IKE_AUTH response { AUTH, SA, TSi, TSr }",
    ]
    assert len(p.of("b", E.ChildSaUp)) == 1
    assert [e.reason for e in p.of("b", E.IkeFailure)] == []


def test_one_round_handshakes_keep_their_bytes() -> None:
    """No EAP, no rounds: no MULTIPLE_AUTH_SUPPORTED, the classic two-message IKE_AUTH."""
    p = run(Pair(*H.configs()))
    assert ladder(p) == ["--> IKE_AUTH request { IDi, N(INITIAL_CONTACT), IDr, AUTH, SA, TSi, TSr }",
                         "<-- IKE_AUTH response { IDr, AUTH, SA, TSi, TSr }"]


def _failure(p: Pair, side: str) -> E.IkeFailure:
    f, = p.of(side, E.IkeFailure)
    assert f.notify == "AUTHENTICATION_FAILED" and f.fatal
    return f


def test_method_the_server_does_not_offer_is_a_nak_then_failure() -> None:
    p = run(pair({"local": {"auth": "eap-md5"}}, {"remote": {"auth": "eap-mschapv2"}}))
    assert ladder(p)[1:] == ["<-- IKE_AUTH response { IDr, AUTH, EAP/REQ/MSCHAPV2 }",
                             "--> IKE_AUTH request { EAP/RES/NAK }",
                             "<-- IKE_AUTH response { EAP/FAIL }"]
    assert _failure(p, "b").reason == (
        f"EAP authentication of '{CAROL}' failed: the peer does not offer EAP_MSCHAPV2: it "
        "answered with EAP_NAK asking for EAP_MD5")
    assert _failure(p, "a").reason == ("the EAP server does not offer EAP_MD5: it asked for "
                                       "EAP_MSCHAPV2, we answered EAP_NAK, it ended with "
                                       "EAP_FAILURE")
    assert not p.a.ike_sas and not p.b.ike_sas


@pytest.mark.parametrize("method, why", [
    ("eap-md5", "EAP-MD5 verification failed: the response of 'carol@strongswan.org' does not "
                "match its EAP secret (wrong password)"),
    ("eap-mschapv2", "EAP-MS-CHAPv2 verification failed: the NT-Response of "
                     "'carol@strongswan.org' does not match its EAP secret (wrong password)"),
])
def test_wrong_eap_password(method: str, why: str) -> None:
    p = run(pair({"local": {"auth": method}}, {"remote": {"auth": method}}, pw_b="not tuxmux"))
    assert ladder(p)[-1] == "<-- IKE_AUTH response { EAP/FAIL }"  # no notify, as charon
    assert _failure(p, "b").reason == f"EAP authentication of '{CAROL}' failed: {why}"
    fa = _failure(p, "a")
    assert "EAP_FAILURE" in fa.reason and not fa.sent_by_us
    assert not p.of("a", E.ChildSaUp) and not p.b.ike_sas


@pytest.mark.parametrize("a, b, why", [
    ({"local": {"auth": "eap-md5"}}, {},
     "the peer asked for EAP, but connection 'site' wants remote auth = psk"),
    ({}, {"remote": {"auth": "eap-md5"}},
     "connection 'site' requires eap-md5 authentication of the peer, which sent an AUTH "
     "payload instead of asking for EAP"),
    ({"local": {"auth": "eap-md5"}}, {"remote": {"auth": "eap"}},
     "connection 'site': remote auth = eap names no EAP method to ask the peer for (give "
     "eap-md5, eap-mschapv2 or eap-tls)"),
])
def test_mismatched_authentication_is_refused_with_a_sentence(a, b, why) -> None:
    if not a:
        a = {"local": {"id": CAROL}}
    p = run(pair(a, b))
    assert _failure(p, "b").reason == why


def test_a_missing_second_round_is_refused() -> None:
    p = run(pair({"local": {"auth": "psk"}}, {"remote": {"auth": "psk", "id": CAROL}},
                 b_rounds={"remote-2": {"auth": "eap-md5"}}))
    assert _failure(p, "b").reason == (
        "connection 'site' requires 2 authentication rounds (RFC 4739), the peer "
        "authenticated once without N(ANOTHER_AUTH_FOLLOWS)")


def test_config_errors_name_the_key_with_did_you_mean() -> None:
    base = H.conn(H.A_ADDR, H.B_ADDR, CAROL, MOON)
    with pytest.raises(ConfigError) as err:
        IkeConfig.from_dict({"connections": {"c": {**base, "local": {"auth": "eap-mschapv3"}}}})
    assert str(err.value).startswith("connections.c.local.auth: 'eap-mschapv3' is not one of psk")
    assert "did you mean 'eap-mschapv2'" in str(err.value)
    with pytest.raises(ConfigError) as err:
        IkeConfig.from_dict({"connections": {"c": {**base, "local-2": {"auth": "pubkey"}}}})
    assert str(err.value).startswith("connections.c.local-2.auth: a further authentication "
                                     "round must be EAP")
    base.pop("local")
    cfg = IkeConfig.from_dict({"connections": {"c": {
        **base, "local-b": {"auth": "eap-md5", "round": 2}, "local-a": {"auth": "psk", "round": 1}}},
        "secrets": {"eap-x": {"id": "carol", "secret": "pw"}, "ike-x": {"secret": "psk"}}})
    c = cfg.connections[0]
    assert c.local.auth == "psk" and [r.auth for r in c.local_rounds] == ["eap-md5"]
    assert cfg.eap_secret("carol") == b"pw" and cfg.psk("carol") == b"psk"


def test_charon_log_lines_of_both_sides() -> None:
    """What the console's daemon.log says (wording: eap_authenticator.c, as charon 5.9.8 logged
    it in tests/interop/test_strongswan_eap.py)."""
    from ipsecsim.console.charonlog import CharonLog
    p = run(pair({"local": {"auth": "eap-md5"}}, {"remote": {"auth": "eap-md5", "eap_id": "%any"}}))
    ident = next(e.step.ident for e in p.of("a", EapStep) if e.step.kind == "method_requested")
    logs = {}
    for side, ep in (("a", p.a), ("b", p.b)):
        log = CharonLog(side, ep.config)
        for ev in p.events[side]:
            log.feed(ev, 1.0)
        logs[side] = [m for m in log.messages() if m.startswith(
            ("authentication", "server requested", "EAP method", "initiating EAP", "received EAP"))]
    assert logs["a"] == [
        f"authentication of '{MOON}' with pre-shared key successful",
        f"server requested EAP_IDENTITY (id 0x00), sending '{CAROL}'",
        f"server requested EAP_MD5 authentication (id 0x{ident:02X})",
        "EAP method EAP_MD5 succeeded, no MSK established",
        f"authentication of '{CAROL}' (myself) with EAP",
        f"authentication of '{MOON}' with EAP successful",
    ]
    assert logs["b"] == [
        "initiating EAP_IDENTITY method (id 0x00)",
        f"authentication of '{MOON}' (myself) with pre-shared key",
        f"received EAP identity '{CAROL}'",
        f"initiating EAP_MD5 method (id 0x{ident:02X})",
        "EAP method EAP_MD5 succeeded, no MSK established",
        f"authentication of '{CAROL}' with EAP successful",
        f"authentication of '{MOON}' (myself) with EAP",
    ]


def test_eap_tls_between_two_endpoints_with_the_run_ca() -> None:
    """EAP-TLS (RFC 5216) with certificates from one CA: both ends derive the same 64-octet MSK
    (§2.3) and key their AUTH with it (tests/interop: charon accepts it both ways)."""
    from ipsecsim.core.ike.ca import CertificateAuthority
    from ipsecsim.core.rng import Rng

    p0 = pair({"local": {"auth": "eap-tls"}, "remote": {"auth": "pubkey"}},
              {"local": {"auth": "pubkey"}, "remote": {"auth": "eap-tls", "id": CAROL}})
    p = run(Pair(p0.a.config, p0.b.config, ca=CertificateAuthority(Rng(7))))
    lad = ladder(p)
    assert lad[1] == "<-- IKE_AUTH response { IDr, CERT, AUTH, EAP/REQ/TLS }"
    assert lad[-3:] == ["<-- IKE_AUTH response { EAP/SUCC }", "--> IKE_AUTH request { AUTH }",
                        "<-- IKE_AUTH response { AUTH, SA, TSi, TSr }"]
    sa_a, sa_b = (next(iter(ep.ike_sas.values())) for ep in (p.a, p.b))
    assert sa_a.state == sa_b.state == S.ESTABLISHED
    assert len(sa_a.auth_rounds.msk) == 64 and sa_a.auth_rounds.msk == sa_b.auth_rounds.msk
    auth, = wire_auth_payloads(p)
    assert auth.data == expected_initiator_auth(p, lambda sa: sa_a.auth_rounds.msk)


def test_eap_tls_server_refuses_a_client_certificate_from_another_ca() -> None:
    """The TLS handshake itself fails (the peer's certificate chain does not verify): an
    EapError with OpenSSL's reason, which the authenticator answers with EAP-Failure."""
    from ipsecsim.core.ike.ca import CertificateAuthority
    from ipsecsim.core.ike.eap import packet as P
    from ipsecsim.core.ike.eap.tls import TlsPeer, TlsServer, ca_pem, pem_chain
    from ipsecsim.core.rng import Rng

    ours, theirs = CertificateAuthority(Rng(7)), CertificateAuthority(Rng(8), "another CA")
    srv_cert, cli_cert = ours.issue("moon.example", "ecdsa"), theirs.issue("carol", "ecdsa")
    server = TlsServer(pem_chain((srv_cert.cert_der,), srv_cert.key), ca_pem((ours.cert_der,)),
                       Rng(1).bytes)
    peer = TlsPeer(pem_chain((cli_cert.cert_der,), cli_cert.key),
                   ca_pem((ours.cert_der, theirs.cert_der)))
    msg = server.initiate()
    with pytest.raises(P.EapError, match="EAP-TLS handshake failed: .*CERTIFICATE"):
        for _ in range(10):
            out = server.process(peer.process(msg))
            assert out is not None
            msg = out
