"""Virtual IPs over IKE_AUTH between two endpoints (RFC 7296 §2.19, §3.15; strongSwan 5.9
``ike_config.c``, ``mem_pool.c``), wired back to back as in tests/helpers/ike_pair.py.

    IKE_AUTH { IDi, AUTH, CP(CFG_REQUEST: ADDR, DNS), SA, TSi=0.0.0.0/0, TSr } -->
             <-- { IDr, AUTH, CP(CFG_REPLY: ADDR, DNS), SA, TSi=10.3.0.1/32, TSr }
"""

from __future__ import annotations

from ipsecsim.core.ike import cp_events as V
from ipsecsim.core.ike import events as E
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.core.ike.payloads import CP
from tests.helpers.ike_pair import A_ADDR, B_ADDR, PSK, Pair, conn

POOLS = {"rw": {"addrs": "10.3.0.0/28", "dns": ["10.1.0.53"]}}


def _configs(client: dict | None = None, gw: dict | None = None, pools: dict | None = None,
             lid: str = "carol@strongswan.org") -> tuple[IkeConfig, IkeConfig]:
    c = conn(A_ADDR, B_ADDR, lid, "moon.strongswan.org", local_ts="dynamic",
             remote_ts="10.1.0.0/16", start=True, vips=["0.0.0.0"])
    g = conn(B_ADDR, A_ADDR, "moon.strongswan.org", "%any", local_ts="10.1.0.0/16",
             remote_ts="dynamic", pools=["rw"])
    g["remote_addrs"] = []
    c.update(client or {})
    g.update(gw or {})
    secrets = {"ike-1": {"secret": PSK}}
    return (IkeConfig.from_dict({"connections": {"home": c}, "secrets": secrets}),
            IkeConfig.from_dict({"connections": {"rw": g}, "secrets": secrets,
                                 "pools": POOLS if pools is None else pools}))



def test_client_gets_first_address_and_tsi_narrows_to_it() -> None:
    pair = Pair(*_configs())
    pair.a.start(0.0)
    pair.pump()
    (up,) = pair.of("a", E.ChildSaUp)
    (inst,) = pair.of("a", V.VirtualIpInstalled)
    # mem_pool.c: a /28 serves .1 .. .14 (network and broadcast skipped), first lease .1
    assert inst.address == "10.3.0.1"
    assert inst.dns == ("10.1.0.53",)
    assert [str(t) for t in up.keys.local_ts] == ["10.3.0.1/32"]
    (gw_up,) = pair.of("b", E.ChildSaUp)
    assert [str(t) for t in gw_up.keys.remote_ts] == ["10.3.0.1/32"]
    (assigned,) = pair.of("b", V.VirtualIpAssigned)
    assert (assigned.address, assigned.pool, assigned.how, assigned.peer_id) == \
        ("10.3.0.1", "rw", "new", "carol@strongswan.org")
    (req,) = pair.of("b", V.VirtualIpRequested)
    assert req.requested == "0.0.0.0"
    auth = [ev for ev in pair.of("a", E.IkeMessageEvent) if ev.exchange == "IKE_AUTH"]
    assert "CP" in auth[0].payloads and "CP" in auth[1].payloads


def test_reconnect_gets_same_address_lease_goes_offline_and_back() -> None:
    pair = Pair(*_configs())
    pair.a.start(0.0)
    pair.pump()
    pool = pair.b.pools.by_name["rw"]
    assert (pool.online, pool.offline) == (1, 0)
    (sa,) = pair.a.established()
    pair.a.delete_ike(sa.name, 1.0)
    pair.pump()
    (rel,) = pair.of("b", V.VirtualIpReleased)
    assert rel.offline and rel.address == "10.3.0.1"
    assert (pool.online, pool.offline) == (0, 1)
    assert [(le.address, le.identity, le.online) for le in pool.leases()] == \
        [("10.3.0.1", "carol@strongswan.org", False)]
    pair.a.initiate("home", 2.0, "net")
    pair.pump()
    second = pair.of("b", V.VirtualIpAssigned)[-1]
    assert (second.address, second.how) == ("10.3.0.1", "offline")
    assert (pool.online, pool.offline) == (1, 0)


def test_exhausted_pool_refuses_with_internal_address_failure() -> None:
    one = {"rw": {"addrs": "10.3.0.5-10.3.0.5"}}
    pair = Pair(*_configs(pools=one))
    pair.a.start(0.0)
    pair.pump()
    assert pair.of("b", V.VirtualIpAssigned)[0].address == "10.3.0.5"
    # a second client (another identity) from the same endpoint config, new IKE_SA
    cfg_a2, _ = _configs(lid="dave@strongswan.org")
    pair2 = Pair(cfg_a2, pair.b.config, seed=2)
    pair2.b = pair.b
    pair2.a.start(3.0)
    pair2.pump()
    (refused,) = [e for e in pair2.events["b"] if isinstance(e, V.VirtualIpRefused)]
    assert refused.peer_id == "dave@strongswan.org" and refused.full == ("rw",)
    fails = [e for e in pair2.events["b"] if isinstance(e, E.IkeFailure)]
    assert fails[0].notify == "INTERNAL_ADDRESS_FAILURE"
    assert "pool 'rw' is full" in fails[0].reason
    assert not [e for e in pair2.events["b"] if isinstance(e, E.ChildSaUp)][1:]
    client_fail = [e for e in pair2.events["a"] if isinstance(e, E.IkeFailure)]
    assert client_fail and client_fail[0].notify == "INTERNAL_ADDRESS_FAILURE"
    assert not [e for e in pair2.events["a"] if isinstance(e, E.ChildSaUp)]
    assert pair2.a.established(), "the IKE_SA stays up (charon: no CHILD_SA built)"


def test_gateway_with_pools_requires_a_cp() -> None:
    pair = Pair(*_configs(client={"vips": []}))
    pair.a.start(0.0)
    pair.pump()
    (fail,) = [e for e in pair.of("b", E.IkeFailure)]
    assert fail.notify == "FAILED_CP_REQUIRED" and "sent no configuration payload" in fail.reason
    (cfail,) = pair.of("a", E.IkeFailure)
    assert cfail.notify == "FAILED_CP_REQUIRED" and "vips = 0.0.0.0" in cfail.reason
    assert not pair.of("a", E.ChildSaUp) and not pair.of("b", E.ChildSaUp)


def test_no_pools_answers_internal_address_failure() -> None:
    pair = Pair(*_configs(gw={"pools": []}, pools={}))
    pair.a.start(0.0)
    pair.pump()
    (refused,) = pair.of("b", V.VirtualIpRefused)
    assert refused.full == ()
    assert pair.of("b", E.IkeFailure)[0].notify == "INTERNAL_ADDRESS_FAILURE"


def test_ike_rekey_keeps_the_lease_online() -> None:
    pair = Pair(*_configs())
    pair.a.start(0.0)
    pair.pump()
    (sa,) = pair.a.established()
    pair.a.rekey_ike(sa.name, 1.0)
    pair.pump()
    pair.advance(5.0)
    pool = pair.b.pools.by_name["rw"]
    assert (pool.online, pool.offline) == (1, 0)
    assert not pair.of("b", V.VirtualIpReleased)
    (new,) = pair.b.established()
    assert new.remote_vips == ["10.3.0.1"]


def test_cfg_request_payload_on_the_wire() -> None:
    """The request carries INTERNAL_IP4_ADDRESS and INTERNAL_IP4_DNS, both empty (§3.15.1:
    a zero-length value asks for one), as charon's CPRQ(ADDR DNS)."""
    from ipsecsim.core.ike import cp
    cfg_a, _ = _configs()
    from ipsecsim.core.ike.ikesa import IkeSa
    sa = IkeSa("home[1]", cfg_a.connections[0], True, b"\1" * 8, b"\0" * 8,
               (A_ADDR, 500), (B_ADDR, 500))
    (req,) = cp.request(sa)
    assert isinstance(req, CP) and req.cfg_type == M.CFG_REQUEST
    assert req.attributes == [(M.INTERNAL_IP4_ADDRESS, b""), (M.INTERNAL_IP4_DNS, b"")]
    assert cp.summary(req) == "CPRQ(ADDR DNS)"


def _reauth(make_before_break: bool) -> Pair:
    pair = Pair(*_configs(client={"reauth_time": 100, "rand_time": 0,
                                  "make_before_break": make_before_break}))
    pair.a.start(0.0)
    pair.pump()
    pair.advance(130.0)
    return pair


def test_reauthentication_gets_the_same_address() -> None:
    """Break-before-make (strongSwan ``ike_reauth.c``): the old IKE_SA goes first, its lease
    goes offline, the new IKE_SA gets the same address back (``reassigning offline lease``)."""
    pair = _reauth(False)
    assigned = pair.of("b", V.VirtualIpAssigned)
    assert [(a.address, a.how) for a in assigned] == [("10.3.0.1", "new"), ("10.3.0.1", "offline")]
    (sa,) = pair.a.established()
    assert sa.local_vips == ["10.3.0.1"]
    pool = pair.b.pools.by_name["rw"]
    assert (pool.online, pool.offline) == (1, 0)


def test_make_before_break_reassigns_the_online_lease() -> None:
    """Make-before-break: the new IKE_SA comes up while the old one holds the lease (same
    peer address): ``reassigning online lease``; the old one's end leaves the lease online."""
    pair = _reauth(True)
    assigned = pair.of("b", V.VirtualIpAssigned)
    assert [(a.address, a.how) for a in assigned] == [("10.3.0.1", "new"), ("10.3.0.1", "online")]
    released = pair.of("b", V.VirtualIpReleased)
    assert released and not released[-1].offline
    pool = pair.b.pools.by_name["rw"]
    assert (pool.online, pool.offline) == (1, 0)
    (sa,) = pair.a.established()
    assert sa.local_vips == ["10.3.0.1"]
