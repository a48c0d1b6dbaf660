"""IKE_SA reauthentication (swanctl.conf ``reauth_time``), ladder style.

Oracle: strongSwan 5.9 -- ``src/libcharon/sa/ikev2/tasks/ike_reauth.c`` (break-before-make:
DELETE the IKE_SA, then ``ike_sa.c`` ``reestablish()``), ``task_manager_v2.c``
``trigger_mbb_reauth()`` + ``ike_reauth_complete.c`` (make-before-break, strongswan.conf
``charon.make_before_break``), ``ike_sa.c`` ``set_state(IKE_ESTABLISHED)`` (reauth time with
jitter, hard end = earlier of rekey/reauth + over_time), ``inherit_post()`` (the reauth time
survives an IKE rekey) and ``vici_config.c`` (defaults of rekey/over/rand time).
"""

from __future__ import annotations

from ipsecsim.core.ike import events as E
from ipsecsim.core.ike import states as S
from ipsecsim.core.ike.config import IkeConfig
from tests.helpers.ike_pair import Pair, configs
from tests.ike.test_engine import assert_keys_agree
from tests.ike.test_lifecycle import up


def sent(p: Pair, side: str, after: int = 0) -> list[str]:
    """Exchange names of the requests ``side`` sent, from its ``after``-th event on."""
    return [e.exchange for e in p.events[side][after:]
            if isinstance(e, E.IkeMessageEvent) and e.direction == "out" and not e.response]


def order(p: Pair, side: str, after: int = 0) -> list[str]:
    """SA up/down events of ``side`` in the order they came."""
    kinds = (E.IkeSaUp, E.IkeSaDown, E.ChildSaUp, E.ChildSaDown)
    return [type(e).__name__ for e in p.events[side][after:] if isinstance(e, kinds)]


REAUTH = {"reauth_time": 100, "rand_time": 0}
TWO_CHILDREN = {"children": {"web": {"local_ts": ["10.1.8.0/24"], "remote_ts": ["10.2.8.0/24"],
                                     "esp_proposals": ["aes256gcm16"]}}}
TWO_CHILDREN_B = {"children": {"web": {"local_ts": ["10.2.8.0/24"], "remote_ts": ["10.1.8.0/24"],
                                       "esp_proposals": ["aes256gcm16"]}}}


def test_config_defaults_follow_vici_config():
    # vici_config.c: the 4 h rekey default applies only if neither rekey_time nor reauth_time
    # is set; over_time = 10 % of the longer; rand_time = min(over_time, shorter / 2)
    a, _ = configs(a={"reauth_time": "1h"})
    c = a.connection("site")
    assert (c.rekey_time, c.reauth_time, c.over_time, c.rand_time) == (0, 3600, 360, 360)
    assert c.make_before_break is False
    a, _ = configs(a={"reauth_time": "4h", "rekey_time": "20m"})
    c = a.connection("site")
    assert (c.rekey_time, c.reauth_time, c.over_time, c.rand_time) == (1200, 14400, 1440, 600)
    a, _ = configs(a={"make_before_break": "yes"})
    assert a.connection("site").make_before_break is True
    try:
        IkeConfig.from_dict({"connections": {"c": {"make_before_break": "maybe"}}})
    except Exception as exc:  # noqa: BLE001
        assert "connections.c.make_before_break" in str(exc)
    else:
        raise AssertionError("make_before_break: maybe was accepted")


def test_break_before_make_ladder():
    p = up(a=dict(REAUTH, **TWO_CHILDREN), b=TWO_CHILDREN_B)
    p.a.initiate("site", 1.0, "web")
    p.pump()
    old_a, old_b = p.a.established()[0], p.b.established()[0]
    assert len(old_a.live_children()) == 2
    assert old_a.reauth_at == 100.0 and old_a.rekey_at is None  # rekey_time 0: only reauth
    assert old_a.expire_at == 110.0  # reauth + over_time (10 % of 100)
    mark_a, mark_b = len(p.events["a"]), len(p.events["b"])
    p.advance(99.9)
    assert old_a.state == S.ESTABLISHED and not sent(p, "a", mark_a)
    p.now = 100.0
    p.a.handle_timer(100.0)
    p._collect()
    # INFORMATIONAL { D(IKE) } -->          (old IKE_SA; nothing new yet)
    assert old_a.state == S.DELETING and sent(p, "a", mark_a) == ["INFORMATIONAL"]
    assert all(c.state == S.C_INSTALLED for c in old_a.children)  # still up until the answer
    p.deliver("a")
    #                  <-- { }
    assert old_b.state == S.DESTROYED and all(c.state == S.C_DELETED for c in old_b.children)
    assert order(p, "b", mark_b) == ["ChildSaDown", "ChildSaDown", "IkeSaDown"]
    p.deliver("b")
    assert old_a.state == S.DESTROYED and all(c.state == S.C_DELETED for c in old_a.children)
    new_a = next(sa for sa in p.a.ike_sas.values() if sa is not old_a)
    # IKE_SA_INIT { SA, KEi, Ni } -->  on a new IKE_SA, we its original initiator
    assert new_a.state == S.CONNECTING and new_a.initiator
    assert [e.reason for e in p.of("a", E.ChildSaDown)] == ["reauthenticating"] * 2
    p.pump()
    # IKE_AUTH { IDi, AUTH, SA, TSi, TSr } -->  then CREATE_CHILD_SA for the second child
    assert sent(p, "a", mark_a) == ["INFORMATIONAL", "IKE_SA_INIT", "IKE_AUTH", "CREATE_CHILD_SA"]
    assert order(p, "a", mark_a) == ["ChildSaDown", "ChildSaDown", "IkeSaDown", "IkeSaUp",
                                     "ChildSaUp", "ChildSaUp"]
    assert order(p, "b", mark_b)[3:] == ["IkeSaUp", "ChildSaUp", "ChildSaUp"]
    new_b, = p.b.established()
    assert p.a.established() == [new_a]
    assert {c.name for c in new_a.live_children()} == {"net", "web"}
    # a new IKE_SA: new SPIs, fresh keys (not derived from the old SK_d)
    assert {new_a.spi_i, new_a.spi_r}.isdisjoint({old_a.spi_i, old_a.spi_r})
    assert (new_a.spi_i, new_a.spi_r) == (new_b.spi_i, new_b.spi_r)
    assert new_a.keys.sk_d != old_a.keys.sk_d and new_a.keys.sk_ei == new_b.keys.sk_ei
    old_spis = {c.spi_in for c in old_a.children}
    assert not old_spis & {c.spi_in for c in new_a.live_children()}
    assert_keys_agree(p)
    assert_keys_agree(p, -2)
    # the next reauthentication is armed on the new IKE_SA
    assert new_a.reauth_at == 200.0


def test_make_before_break_ladder():
    p = up(a=dict(REAUTH, make_before_break=True))
    old_a, old_b = p.a.established()[0], p.b.established()[0]
    mark_a, mark_b = len(p.events["a"]), len(p.events["b"])
    p.advance(100.0)
    # IKE_SA_INIT --> / IKE_AUTH --> on the new IKE_SA, then INFORMATIONAL { D(IKE) } --> on
    # the old one: the new CHILD_SA is up before the old goes, on both sides
    assert sent(p, "a", mark_a) == ["IKE_SA_INIT", "IKE_AUTH", "INFORMATIONAL"]
    assert order(p, "a", mark_a) == ["IkeSaUp", "ChildSaUp", "ChildSaDown", "IkeSaDown"]
    assert order(p, "b", mark_b) == ["IkeSaUp", "ChildSaUp", "ChildSaDown", "IkeSaDown"]
    assert all(e.outbound for e in p.of("a", E.ChildSaUp) + p.of("b", E.ChildSaUp))
    assert old_a.state == old_b.state == S.DESTROYED
    assert [e.reason for e in p.of("a", E.IkeSaDown)] == ["reauthenticated"]
    new_a, = p.a.established()
    new_b, = p.b.established()
    assert new_a.initiator and (new_a.spi_i, new_a.spi_r) == (new_b.spi_i, new_b.spi_r)
    assert new_a.spi_i != old_a.spi_i and new_a.keys.sk_d != old_a.keys.sk_d
    assert len(p.of("a", E.IkeSaUp)) == 2 and len(p.of("a", E.ChildSaUp)) == 2
    assert_keys_agree(p)


def test_make_before_break_overlap_states():
    """Between IKE_AUTH and the DELETE both IKE_SAs and both CHILD_SAs exist (overlap)."""
    p = up(a=dict(REAUTH, make_before_break=True))
    old_a = p.a.established()[0]
    p.now = 100.0
    p.a.handle_timer(100.0)
    p.deliver("a")  # IKE_SA_INIT -->
    p.deliver("b")  # <-- IKE_SA_INIT;  IKE_AUTH -->
    p.deliver("a")
    assert len(p.b.established()) == 2  # the old one and the new one
    p.deliver("b")  # <-- IKE_AUTH: A has its new child; the DELETE of the old IKE_SA leaves
    assert len(p.a.established()) == 1 and old_a.state == S.DELETING
    assert [c.state for sa in p.a.ike_sas.values() for c in sa.children] == [S.C_INSTALLED] * 2
    p.pump()
    assert old_a.state == S.DESTROYED


def test_reauth_timer_jitter_is_seeded():
    cfg = {"reauth_time": 100, "rand_time": 20, "over_time": 10}
    times = [up(seed=s, a=cfg).a.established()[0].reauth_at for s in (7, 7, 8)]
    assert times[0] == times[1]  # same seed, same schedule
    assert times[0] != times[2]
    assert all(80.0 <= t <= 100.0 for t in times)
    sa = up(seed=7, a=cfg).a.established()[0]
    assert sa.expire_at == sa.reauth_at + 10  # ike_sa.c: STAT_DELETE = STAT_REAUTH + over_time
    p = up(seed=7, a=cfg)
    p.advance(times[0] - 0.01)
    assert len(p.of("a", E.IkeSaUp)) == 1
    p.advance(times[0])
    assert len(p.of("a", E.IkeSaUp)) == 2


def test_rekey_and_reauth_keep_their_own_schedules():
    p = up(a={"rekey_time": 40, "reauth_time": 100, "rand_time": 0}, b={"rekey_time": 0})
    first = p.a.established()[0]
    assert (first.rekey_at, first.reauth_at, first.expire_at) == (40.0, 100.0, 50.0)
    p.advance(40.0)
    assert len(p.of("a", E.IkeSaRekeyed)) == 1
    second, = p.a.established()
    # the reauth time survives the rekey (ike_sa.c inherit_post()); the rekey restarts
    assert (second.rekey_at, second.reauth_at, second.expire_at) == (80.0, 100.0, 90.0)
    p.advance(80.0)
    assert len(p.of("a", E.IkeSaRekeyed)) == 2
    p.advance(100.0)
    assert len(p.of("a", E.IkeSaUp)) == 2 and len(p.of("a", E.IkeSaRekeyed)) == 2
    new, = p.a.established()
    assert new.reauth_at == 200.0 and new.rekey_at == 140.0
    assert_keys_agree(p)


def test_responder_reauthenticates_actively():
    # ike_sa.c reauth(): "reauthenticating IKE_SA actively" when not the original initiator
    p = up(a={"rekey_time": 0}, b=REAUTH)
    old_b = p.b.established()[0]
    assert not old_b.initiator
    p.advance(100.0)
    new_b, = p.b.established()
    new_a, = p.a.established()
    assert new_b.initiator and not new_a.initiator
    assert old_b.state == S.DESTROYED and len(new_b.live_children()) == 1
    assert_keys_agree(p)


def test_reauth_checks_credentials_again():
    """A reauthentication is a full IKE_AUTH: a PSK changed meanwhile ends the connection."""
    p = up(a=REAUTH)
    p.b.config.secrets[0].__dict__["secret"] = b"another key"  # frozen dataclass: test only
    p.advance(100.0)
    assert not p.a.established() and not p.b.established()
    assert any(e.notify == "AUTHENTICATION_FAILED" for e in p.of("a", E.IkeFailure))
