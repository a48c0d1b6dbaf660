"""ipsecsim against strongSwan: IKEv2 and ESP-in-UDP between ``ipsecsim peer`` and charon.

charon 5.9 (Debian) runs in one network namespace with its userland ESP
(``kernel-libipsec``: ESP always in UDP 4500), ``ipsecsim peer`` in the other.
Nobody on this project wrote charon: when its pings come back through the
CHILD_SA, ipsecsim's IKE (RFC 7296), key derivation (§2.14, §2.17), NAT-T port
float (RFC 3948) and ESP (RFC 4303/4106/3602/4868) are right on the wire.

Layout (see interop.fixtures): left namespace = charon, 10.99.x.1, inner 192.168.10.1;
right namespace = ipsecsim peer, 10.99.x.2, inner 192.168.20.1.
"""

from __future__ import annotations

import re

import pytest

from tests.interop.charon import established_child
from tests.interop.fixtures import interop  # noqa: F401 - the fixture
from tests.interop.logs import child_keys, ike_keys
from tests.interop.peerlog import events
from tests.interop.tunnel import start_tunnel

pytestmark = pytest.mark.oracle

SUITES = [
    # (IKE proposal, ESP proposal, charon's names for IKE encr / dh)
    ("aes256gcm16-prfsha384-ecp384", "aes128gcm16", "AES_GCM_16", "ECP_384"),
    ("aes128-sha256-x25519", "aes256-sha256", "AES_CBC", "CURVE_25519"),
    ("aes256-sha512-modp2048", "aes128gcm16", "AES_CBC", "MODP_2048"),
    ("chacha20poly1305-prfsha256-ecp256", "chacha20poly1305", "CHACHA20_POLY1305", "ECP_256"),
    ("aes192gcm16-prfsha512-ecp521", "aes192-sha384", "AES_GCM_16", "ECP_521"),
    # both sides' defaults: charon's (Debian 5.9.8) against ipsecsim's subset of them
    ("default", "default", "AES_CBC", "CURVE_25519"),
]


@pytest.mark.parametrize("initiator", ["charon", "ipsecsim"])
@pytest.mark.parametrize("ike, esp, encr, dh", SUITES, ids=[s[0] for s in SUITES])
def test_tunnel_up_pings_answered_keys_agree(interop, initiator, ike, esp, encr, dh) -> None:  # noqa: F811
    env = interop
    charon, peer = start_tunnel(env, initiator, [ike], [esp])
    sas = charon.list_sas()
    assert sas[0]["encr-alg"] == encr and sas[0]["dh-group"] == dh
    assert (sas[0].get("initiator") == "yes") == (initiator == "charon")

    # 5 pings from charon's side to the peer's inner address, through the CHILD_SA
    sent, received, out = env.left.ping(env.right.inner[0], count=5, src=env.left.inner[0])
    assert (sent, received) == (5, 5), out
    child = established_child(charon.list_sas(), "net")
    assert int(child["packets-out"]) >= 5 and int(child["packets-in"]) >= 5

    # the IKE keys ipsecsim derived are the ones charon logged (RFC 7296 §2.14)
    theirs = ike_keys(charon.log())[-1]
    ours = events(peer.log(), "IkeSaUp")[-1]
    for k in ("SK_ei", "SK_er", "SK_ai", "SK_ar"):
        assert ours[k.lower()] == theirs.get(k, b"").hex(), k
    # and so are the ESP keys (§2.17): the initiator's key protects initiator -> responder
    ck = child_keys(charon.log())[-1]
    up = events(peer.log(), "ChildSaUp")[-1]
    key_in, key_out = ("encr_i", "encr_r") if initiator == "charon" else ("encr_r", "encr_i")
    assert up["keys.key_in_encr"] == ck[key_in].hex()
    assert up["keys.key_out_encr"] == ck[key_out].hex()
    if "integ_i" in ck:
        i_in, i_out = ("integ_i", "integ_r") if initiator == "charon" else ("integ_r", "integ_i")
        assert (up["keys.key_in_integ"], up["keys.key_out_integ"]) == (ck[i_in].hex(), ck[i_out].hex())
    # SPIs: what charon sends with is what ipsecsim receives with
    assert int(up["keys.spi_in"], 16) == int(child["spi-out"], 16)
    assert int(up["keys.spi_out"], 16) == int(child["spi-in"], 16)


def test_udp_echo_through_the_tunnel(interop) -> None:  # noqa: F811
    env = interop
    start_tunnel(env, "charon", ["aes128gcm16-prfsha256-x25519"], ["aes128gcm16"])
    answers = env.left.udp_echo(env.left.inner[0], env.right.inner[0], port=7, payloads=3)
    assert answers == [b"echo %d through the tunnel" % i for i in range(3)]


@pytest.mark.parametrize("initiator", ["charon", "ipsecsim"])
def test_nothing_in_common_is_no_proposal_chosen_on_both_sides(interop, initiator) -> None:  # noqa: F811
    env = interop
    charon, peer = start_tunnel(env, initiator, ["aes256gcm16-prfsha384-ecp384"], ["aes128gcm16"],
                                peer_ike=["aes128-sha256-modp2048"], expect_up=False)
    assert peer.wait_log("NO_PROPOSAL_CHOSEN", timeout=10), "ipsecsim logged no NO_PROPOSAL_CHOSEN"
    fail = [e for e in events(peer.log(), "IkeFailure") if e.get("notify") == "NO_PROPOSAL_CHOSEN"]
    assert fail and fail[-1]["reason"], "the failure must say why"
    log = charon.log()
    if initiator == "charon":
        assert "received NO_PROPOSAL_CHOSEN notify error" in log
        assert fail[-1]["sent_by_us"] == "True"
    else:
        assert "received proposals unacceptable" in log and "N(NO_PROP)" in log
        assert fail[-1]["sent_by_us"] == "False"
    assert established_child(charon.list_sas(), "net") is None


def test_sigterm_deletes_the_ike_sa_at_charon_and_exits_0(interop) -> None:  # noqa: F811
    env = interop
    charon, peer = start_tunnel(env, "charon", ["aes128-sha256-x25519"], ["aes128gcm16"])
    assert peer.stop() == 0
    assert "stopped;" in peer.log()
    assert charon.wait_for(lambda sas: sas == [], timeout=5), "charon still has the IKE_SA"
    assert "received DELETE for IKE_SA" in charon.log()


@pytest.mark.parametrize("initiator", ["charon", "ipsecsim"])
def test_child_sa_refusals_keep_the_ike_sa_and_say_why(interop, initiator) -> None:  # noqa: F811
    """ESP proposals that share nothing: NO_PROPOSAL_CHOSEN inside IKE_AUTH (RFC 7296 §1.2:
    the IKE_SA is still set up, only the CHILD_SA fails); charon and ipsecsim both say so."""
    env = interop
    charon, peer = start_tunnel(env, initiator, ["aes128gcm16-prfsha256-x25519"], ["aes256gcm16"],
                                peer_esp=["aes128-sha256"], expect_up=False)
    assert peer.wait_log("NO_PROPOSAL_CHOSEN", timeout=10), "ipsecsim logged no NO_PROPOSAL_CHOSEN"
    fail = [e for e in events(peer.log(), "IkeFailure") if e.get("notify") == "NO_PROPOSAL_CHOSEN"][-1]
    assert fail["reason"] and fail["sent_by_us"] == str(initiator == "charon")
    log = charon.log()
    if initiator == "charon":
        assert "received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built" in log
    else:
        assert "no acceptable proposal found" in log and "N(NO_PROP)" in log
    assert events(peer.log(), "IkeSaUp"), "the IKE_SA itself must have been set up"
    assert not events(peer.log(), "ChildSaUp")


@pytest.mark.parametrize("initiator", ["charon", "ipsecsim"])
def test_disjoint_traffic_selectors_are_ts_unacceptable(interop, initiator) -> None:  # noqa: F811
    env = interop

    def elsewhere(conf: dict) -> None:  # charon wants a network ipsecsim does not serve
        conf["connections"]["interop"]["children"]["net"]["remote_ts"] = ["192.168.30.0/24"]

    charon, peer = start_tunnel(env, initiator, ["aes128gcm16-prfsha256-x25519"], ["aes128gcm16"],
                                edit_charon=elsewhere, expect_up=False)
    assert peer.wait_log("TS_UNACCEPTABLE", timeout=10), "ipsecsim logged no TS_UNACCEPTABLE"
    fail = [e for e in events(peer.log(), "IkeFailure") if e.get("notify") == "TS_UNACCEPTABLE"][-1]
    assert fail["reason"] and fail["sent_by_us"] == str(initiator == "charon")
    log = charon.log()
    if initiator == "charon":
        assert "received TS_UNACCEPTABLE notify, no CHILD_SA built" in log
    else:
        assert "N(TS_UNACCEPT)" in log



def test_second_child_by_create_child_sa(interop) -> None:  # noqa: F811
    """A second CHILD_SA on the same IKE_SA (CREATE_CHILD_SA without REKEY_SA, RFC 7296 §1.3.1),
    for another inner address: both tunnels carry their own pings."""
    env = interop
    second = "192.168.20.2"

    def add_child(conf: dict, local: list[str], remote: list[str]) -> None:
        children = conf["connections"]["interop"]["children"]
        children["net2"] = {**children["net"], "local_ts": local, "remote_ts": remote}

    charon, peer = start_tunnel(
        env, "charon", ["aes128gcm16-prfsha256-x25519"], ["aes128gcm16"],
        edit_charon=lambda c: add_child(c, [f"{env.left.inner[0]}/32"], [f"{second}/32"]),
        edit_peer=lambda c: (add_child(c, [f"{second}/32"], [f"{env.left.inner[0]}/32"]),
                             c["inner_addrs"].append(second)))
    charon.initiate("net2", "interop")
    sas = charon.list_sas()
    assert len(sas) == 1 and {c["name"] for c in sas[0]["child-sas"].values()} == {"net", "net2"}
    for dst in (env.right.inner[0], second):
        sent, received, out = env.left.ping(dst, count=3, src=env.left.inner[0])
        assert (sent, received) == (3, 3), out
    counts = {c["name"]: int(c["packets-in"]) for c in charon.list_sas()[0]["child-sas"].values()}
    assert counts == {"net": 3, "net2": 3}, "each address's replies must come through its own child"
    ups = events(peer.log(), "ChildSaUp")
    assert {u["keys.name"] for u in ups} == {"net", "net2"}
    assert "parsed CREATE_CHILD_SA response" in charon.log()


@pytest.mark.parametrize("initiator", ["charon", "ipsecsim"])
def test_invalid_ke_payload_retry_on_the_group_the_responder_wants(interop, initiator) -> None:  # noqa: F811
    """The initiator's KE is x25519, the responder accepts only ECP-384: INVALID_KE_PAYLOAD
    naming group 20 (RFC 7296 §1.2, §3.10.1), then IKE_SA_INIT again with an ECP-384 KE."""
    env = interop
    both = ["aes128gcm16-prfsha256-x25519-ecp384"]
    only384 = ["aes128gcm16-prfsha256-ecp384"]
    charon_ike, peer_ike = (both, only384) if initiator == "charon" else (only384, both)
    charon, peer = start_tunnel(env, initiator, charon_ike, ["aes128gcm16"], peer_ike=peer_ike)
    assert charon.list_sas()[0]["dh-group"] == "ECP_384"
    log = charon.log()
    if initiator == "charon":
        assert "peer didn't accept DH group CURVE_25519, it requested ECP_384" in log
    else:
        assert re.search(r"generating IKE_SA_INIT response 0 \[ N\(INVAL_KE\) \]", log)
    sent, received, out = env.left.ping(env.right.inner[0], count=2, src=env.left.inner[0])
    assert (sent, received) == (2, 2), out


def test_cookie_demanded_by_ipsecsim_is_returned_by_charon(interop) -> None:  # noqa: F811
    """With ``cookie_threshold: 0`` ipsecsim answers every IKE_SA_INIT with a COOKIE
    (RFC 7296 §2.6); charon repeats its request with the cookie and the SA comes up."""
    env = interop
    charon, peer = start_tunnel(env, "charon", ["aes128gcm16-prfsha256-x25519"], ["aes128gcm16"],
                                peer_extra={"cookie_threshold": 0})
    log = charon.log()
    assert re.search(r"parsed IKE_SA_INIT response 0 \[ N\(COOKIE\) \]", log)
    assert re.search(r"generating IKE_SA_INIT request 0 \[ N\(COOKIE\) SA KE No", log)
    sent, received, out = env.left.ping(env.right.inner[0], count=2, src=env.left.inner[0])
    assert (sent, received) == (2, 2), out


def test_peer_refuses_ports_a_charon_already_holds(interop) -> None:  # noqa: F811
    """Two IKE daemons on one address would split the traffic: the peer exits 1 and says why."""
    env = interop
    env.charon(env.right, "squatter")  # charon binds UDP 500 and 4500 on every address
    conf = {"connections": {}, "secrets": {}, "listen": env.right.addr, "inner_addrs": []}
    peer = env.peer(env.right, conf)
    assert peer.proc.wait(timeout=15) == 1
    assert f"cannot bind UDP 500/4500 on {env.right.addr}" in peer.log()
