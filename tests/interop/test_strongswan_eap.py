"""EAP in IKE_AUTH (RFC 7296 §2.16) against strongSwan 5.9.8's eap-md5 and eap-mschapv2 plugins.

Both roles: charon as the EAP server (IKE responder, ``remote { auth = eap-... eap_id = %any }``)
with ``ipsecsim peer`` as the EAP client, and ``ipsecsim peer`` as the EAP server with charon as
the client. The responder authenticates itself with a PSK; the client's EAP password is an
``eap-carol`` secret on both sides. A wrong password and a method the server does not offer
must fail with a sentence on our side and no CHILD_SA on charon's.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.interop.charon import established_child
from tests.interop.fixtures import interop  # noqa: F401 - the fixture
from tests.interop.tunnel import CHARON_ID, PEER_ID, start_tunnel

PASSWORD = "tuxmux for interop"


def _eap(client: str, server_method: str, client_method: str, pw_server: str = PASSWORD):
    """edit_charon / edit_peer: ``client`` ('charon' or 'ipsecsim') asks for EAP."""
    def edit(side: str):
        def f(conf: dict[str, Any]) -> None:
            conn = conf["connections"]["interop"]
            me = PEER_ID if side == "ipsecsim" else CHARON_ID
            eap_user = PEER_ID if client == "ipsecsim" else CHARON_ID
            if side == client:
                conn["local"] = {"auth": client_method, "id": me}
            else:
                conn["remote"] = {"auth": server_method, "id": eap_user, "eap_id": "%any"}
            pw = PASSWORD if side == client else pw_server
            conf["secrets"]["eap-carol"] = {"id": eap_user, "secret": pw}
        return f
    return edit("charon"), edit("ipsecsim")


@pytest.mark.parametrize("method", ["eap-md5", "eap-mschapv2"])
@pytest.mark.parametrize("client", ["ipsecsim", "charon"])
def test_eap_with_charon_both_roles(interop, method, client) -> None:  # noqa: F811
    edit_charon, edit_peer = _eap(client, method, method)
    charon, peer = start_tunnel(interop, client, ["aes256-sha256-x25519"], ["aes256gcm16"],
                                edit_charon=edit_charon, edit_peer=edit_peer)
    sa = charon.wait_for(lambda sas: sas[0] if sas else None)
    assert sa["state"] == "ESTABLISHED"
    log = charon.log()
    name = method.upper().replace("-", "_")
    if client == "ipsecsim":  # charon is the EAP server
        assert f"initiating {name} method" in log
        assert f"EAP method {name} succeeded, {'no ' if method == 'eap-md5' else ''}MSK established" in log
        assert f"authentication of '{PEER_ID}' with EAP successful" in log
    else:
        assert f"server requested {name} authentication" in log
        assert f"authentication of '{PEER_ID}' with pre-shared key successful" in log
        assert f"authentication of '{CHARON_ID}' (myself) with EAP" in log
    sent, received, out = interop.left.ping(interop.right.inner[0], src=interop.left.inner[0])
    assert received == sent, out
    # differential: charon's EAP lines in its role = the console's for a simulated node in it
    charon_lines = _eap_lines(log, CHARON_ID, PEER_ID)
    assert len(charon_lines) >= 6 and charon_lines == _simulated_lines(method, client)


_EAP_PREFIXES = ("authentication of", "server requested", "EAP method", "initiating EAP",
                 "received EAP", "requesting", "EAP-MS-CHAPv2 succeeded")


def _eap_lines(log: str, me: str, other: str) -> list[str]:
    """charon's (or the console's) EAP lines, identities and EAP identifiers masked."""
    import re

    out = []
    for ln in log.splitlines():
        text = ln.split("[IKE] ", 1)[1] if "[IKE] " in ln else ln
        if text.startswith(_EAP_PREFIXES):
            text = re.sub(r"\(id 0x[0-9A-F]{2}\)", "(id 0x..)", text)
            out.append(text.replace(me, "<me>").replace(other, "<other>"))
    return out


def _simulated_lines(method: str, client: str) -> list[str]:
    """The same roles between two simulated endpoints (tests/eap/test_ike_eap.py's pair: B is
    the PSK + EAP server, A the client), rendered by the console's CharonLog."""
    from ipsecsim.console.charonlog import CharonLog
    from tests.eap.test_ike_eap import CAROL, MOON, pair, run

    p = run(pair({"local": {"auth": method}}, {"remote": {"auth": method, "eap_id": "%any"}}))
    side, ep = ("b", p.b) if client == "ipsecsim" else ("a", p.a)
    log = CharonLog(side, ep.config)
    for ev in p.events[side]:
        log.feed(ev, 1.0)
    me, other = (MOON, CAROL) if side == "b" else (CAROL, MOON)
    return _eap_lines("\n".join(log.messages()), me, other)


@pytest.mark.parametrize("client", ["ipsecsim", "charon"])
def test_wrong_eap_password_fails_with_a_sentence(interop, client) -> None:  # noqa: F811
    edit_charon, edit_peer = _eap(client, "eap-mschapv2", "eap-mschapv2", pw_server="not it")
    charon, peer = start_tunnel(interop, client, ["aes256-sha256-x25519"], ["aes256gcm16"],
                                edit_charon=edit_charon, edit_peer=edit_peer, expect_up=False)
    if client == "charon":
        charon.initiate("net", "interop", check=False, timeout=10)
    assert peer.wait_log("IkeFailure", timeout=15)
    log = peer.log()
    if client == "ipsecsim":  # charon refused our NT-Response
        assert "EAP" in log and "AUTHENTICATION_FAILED" in log
    else:
        assert "does not match its EAP secret (wrong password)" in log
    assert established_child(charon.list_sas(), "net") is None


def test_eap_method_the_server_does_not_offer(interop) -> None:  # noqa: F811
    """charon serves EAP-MD5; we insist on EAP-MSCHAPv2: our EAP-Nak, its EAP-Failure."""
    edit_charon, edit_peer = _eap("ipsecsim", "eap-md5", "eap-mschapv2")
    charon, peer = start_tunnel(interop, "ipsecsim", ["aes256-sha256-x25519"], ["aes256gcm16"],
                                edit_charon=edit_charon, edit_peer=edit_peer, expect_up=False)
    assert peer.wait_log("IkeFailure", timeout=15)
    assert "does not offer EAP_MSCHAPV2" in peer.log()
    assert "received EAP_NAK, sending EAP_FAILURE" in charon.log()


@pytest.mark.parametrize("client", ["ipsecsim", "charon"])
def test_eap_tls_with_charon(interop, client) -> None:  # noqa: F811
    """EAP-TLS (RFC 5216): TLS 1.2 from Python's ssl on memory BIOs against charon's libtls; the
    MSK from the TLS PRF keys both AUTH payloads, so charon accepting ours proves it."""
    from ipsecsim.core.ike.ca import CertificateAuthority, write_swanctl
    from ipsecsim.core.rng import Rng

    ca = CertificateAuthority(Rng(11, "interop-ca"), "ipsecsim interop CA", "ecdsa")
    creds = {}
    for who, ident, folder in (("charon", CHARON_ID, "charon"), ("peer", PEER_ID, "peer-creds")):
        paths = write_swanctl(os.path.join(interop.dir, folder), ca, ca.issue(ident, "ecdsa"), who)
        creds[who] = {k: str(v) for k, v in paths.items()}
    server_auth = "pubkey"

    def charon_auth(conf: dict[str, Any]) -> None:
        c = conf["connections"]["interop"]
        cert = {"certs": [os.path.basename(creds["charon"]["x509"])]}
        cas = {"cacerts": [os.path.basename(creds["charon"]["x509ca"])]}
        if client == "charon":
            c["local"] = {"auth": "eap-tls", "id": CHARON_ID, **cert}
            c["remote"] = {"auth": server_auth, "id": PEER_ID, **cas}
        else:
            c["local"] = {"auth": server_auth, "id": CHARON_ID, **cert}
            c["remote"] = {"auth": "eap-tls", "id": PEER_ID, **cas}
        c["send_cert"] = "always"
        conf["secrets"] = {}

    def peer_auth(conf: dict[str, Any]) -> None:
        c = conf["connections"]["interop"]
        mine = {"certs": [creds["peer"]["x509"]], "key": creds["peer"]["private"]}
        cas = {"cacerts": [creds["peer"]["x509ca"]]}
        if client == "ipsecsim":
            c["local"] = {"auth": "eap-tls", "id": PEER_ID, **mine}
            c["remote"] = {"auth": server_auth, "id": CHARON_ID, **cas}
        else:
            c["local"] = {"auth": server_auth, "id": PEER_ID, **mine}
            c["remote"] = {"auth": "eap-tls", "id": CHARON_ID, **cas}
        conf["secrets"] = {}

    charon, peer = start_tunnel(interop, client, ["aes128gcm16-prfsha256-x25519"], ["aes128gcm16"],
                                edit_charon=charon_auth, edit_peer=peer_auth)
    log = charon.log()
    assert "EAP method EAP_TLS succeeded, MSK established" in log
    who = PEER_ID if client == "ipsecsim" else CHARON_ID
    if client == "ipsecsim":
        assert f"authentication of '{who}' with EAP successful" in log
    sent, received, out = interop.left.ping(interop.right.inner[0], count=2, src=interop.left.inner[0])
    assert (sent, received) == (2, 2), out
