"""INITIAL_CONTACT (RFC 7296 §2.4) and swanctl's ``unique`` policy, ladder style.

A peer "restarts": a new endpoint object with the same config (and a fresh seed, as a
rebooted charon draws new SPIs) authenticates again while the other side still holds the
old IKE_SA and CHILD_SA.

Oracle: strongSwan 5.9 -- ``src/libcharon/sa/ikev2/tasks/ike_auth.c`` ``build_i()`` (sends
N(INITIAL_CONTACT) in the first IKE_AUTH if IDr is configured without wildcards, ``unique``
is not ``never`` and ``ike_sa_manager.c`` ``has_contact()`` finds no IKE_SA with the same
ids and address family), ``process_r()``/``build_r()`` (the responder calls
``check_uniqueness(force_replace=TRUE)`` for it, then ``check_uniqueness(FALSE)`` for every
new IKE_SA and answers AUTHENTICATION_FAILED when it says cancel), ``ike_sa_manager.c``
``check_uniqueness()`` (force_replace: ``checkin_and_destroy()`` of every duplicate, no
DELETE; ``replace``: ``enforce_replace()`` -> ``delete()``; ``keep``: cancel), and
``encoding/message.c`` ``ike_auth_i_order`` (INITIAL_CONTACT after IDi and CERT). The
installed charon 5.9.8 logs "destroying duplicate IKE_SA for peer '%Y', received
INITIAL_CONTACT" from that branch (strings of ``libcharon.so``).
"""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import ConfigError
from ipsecsim.core.ike import events as E
from ipsecsim.core.ike import states as S
from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.core.ike.endpoint import IkeEndpoint
from ipsecsim.core.ike.ids import Identity
from ipsecsim.core.ike.tasks.ike_auth import _wildcards
from ipsecsim.core.rng import Rng
from tests.helpers.ike_pair import A_ADDR, B_ADDR, Pair, configs, conn


def up(a: dict | None = None, b: dict | None = None) -> Pair:
    p = Pair(*configs(a=a, b=b))
    p.a.start(0.0)
    p.pump()
    assert len(p.a.established()) == len(p.b.established()) == 1
    return p


def restart_a(p: Pair, now: float = 10.0, a: dict | None = None) -> int:
    """A reboots: a new endpoint with A's config (or ``a`` merged in) starts over; returns
    the index of B's first event after the restart."""
    cfg_a = configs(a=a)[0] if a is not None else p.a.config
    p.now = now
    p.a = IkeEndpoint(cfg_a, Rng(99).child("a-rebooted"), "a")
    mark = len(p.events["b"])
    p.a.start(now)
    p.pump()
    return mark


def ike_auth_requests(p: Pair, side: str, after: int = 0) -> list[str]:
    return [e.payloads for e in p.events[side][after:] if isinstance(e, E.IkeMessageEvent)
            and e.direction == "out" and not e.response and e.exchange == "IKE_AUTH"]


def sent(p: Pair, side: str, after: int = 0) -> list[str]:
    return [e.payloads for e in p.events[side][after:]
            if isinstance(e, E.IkeMessageEvent) and e.direction == "out"]


def kinds(p: Pair, side: str, after: int = 0) -> list[str]:
    want = (E.IkeSaUp, E.IkeSaDown, E.ChildSaUp, E.ChildSaDown)
    return [type(e).__name__ for e in p.events[side][after:] if isinstance(e, want)]


def test_first_ike_auth_carries_initial_contact():
    p = up()
    # IKE_AUTH { IDi, N(INITIAL_CONTACT), IDr, AUTH, SA, TSi, TSr } -->  (ike_auth_i_order)
    assert ike_auth_requests(p, "a") == [
        "IKE_AUTH request { IDi, N(INITIAL_CONTACT), IDr, AUTH, SA, TSi, TSr }"]


def test_restarted_peer_replaces_old_sas_silently():
    p = up()
    old_ike = p.b.established()[0]
    old_child = p.b.children()[0]
    mark = restart_a(p)
    # A (rebooted, no IKE_SA):  IKE_SA_INIT -->, IKE_AUTH { ..., N(INITIAL_CONTACT), ... } -->
    assert "N(INITIAL_CONTACT)" in ike_auth_requests(p, "a")[-1]
    # B destroys the old IKE_SA and CHILD_SA before it installs the new ones, and sends the
    # old incarnation nothing: only its two responses go out
    assert [s.split(" {")[0] for s in sent(p, "b", mark)] == ["IKE_SA_INIT response",
                                                               "IKE_AUTH response"]
    assert kinds(p, "b", mark) == ["ChildSaDown", "IkeSaDown", "IkeSaUp", "ChildSaUp"]
    downs = [e for e in p.events["b"][mark:] if isinstance(e, E.ChildSaDown | E.IkeSaDown)]
    assert downs[0].keys.spi_in == old_child.spi_in
    assert downs[1].ike_sa == old_ike.name
    assert all("INITIAL_CONTACT" in e.reason for e in downs)
    assert old_ike.state == S.DESTROYED
    # exactly one IKE_SA and one CHILD_SA pair left on B: the new ones, matching A's
    assert len(p.b.ike_sas) == 1 and p.b.established()[0] is not old_ike
    (new_b,), (new_a,) = p.b.children(), p.a.children()
    assert new_b.spi_in != old_child.spi_in
    assert (new_b.spi_in, new_b.spi_out) == (new_a.spi_out, new_a.spi_in)
    assert not p.a.drops  # nothing for the old incarnation reached the new one


def test_unique_never_ignores_initial_contact_and_does_not_send_it():
    p = up(b={"unique": "never"})
    mark = restart_a(p)
    # ike_sa_manager.c check_uniqueness(): UNIQUE_NEVER returns before looking
    assert "N(INITIAL_CONTACT)" in ike_auth_requests(p, "a")[-1]
    assert kinds(p, "b", mark) == ["IkeSaUp", "ChildSaUp"]
    assert len(p.b.established()) == 2 and len(p.b.children()) == 2
    # ike_auth.c build_i(): no INITIAL_CONTACT with unique = never
    q = up(a={"unique": "never"})
    assert "INITIAL_CONTACT" not in ike_auth_requests(q, "a")[0]


def test_unique_replace_deletes_the_old_ike_sa_with_a_delete():
    # the rebooted A sends no INITIAL_CONTACT (unique = never on its side): only B's policy
    # acts, enforce_replace() -> delete(): INFORMATIONAL { D(IKE) } to the old incarnation
    p = up(b={"unique": "replace"})
    old_ike = p.b.established()[0]
    mark = restart_a(p, a={"unique": "never"})
    assert "INITIAL_CONTACT" not in ike_auth_requests(p, "a")[-1]
    assert [s for s in sent(p, "b", mark) if s.startswith("INFORMATIONAL")] == [
        "INFORMATIONAL request { D }"]
    assert old_ike.state == S.DELETING
    assert p.a.drops["unknown_ike_spi"] == 1  # the new A does not know that IKE_SA
    # nobody answers: the DELETE times out (§1.4.1) and the old SAs go
    p.advance(400.0)
    assert old_ike.state == S.DESTROYED
    assert kinds(p, "b", mark) == ["IkeSaUp", "ChildSaUp", "ChildSaDown", "IkeSaDown"]
    assert len(p.b.ike_sas) == 1 and len(p.b.children()) == 1


def test_unique_replace_with_initial_contact_destroys_without_delete():
    p = up(b={"unique": "replace"})
    mark = restart_a(p)
    # force_replace runs first and leaves no duplicate for the replace policy
    assert not [s for s in sent(p, "b", mark) if s.startswith("INFORMATIONAL")]
    assert kinds(p, "b", mark) == ["ChildSaDown", "IkeSaDown", "IkeSaUp", "ChildSaUp"]


def test_unique_keep_refuses_the_new_ike_sa():
    p = up(b={"unique": "keep"})
    old_ike = p.b.established()[0]
    mark_a = len(p.events["a"])
    mark = restart_a(p, a={"unique": "never"})
    # build_r(): check_uniqueness(FALSE) says cancel -> <-- IKE_AUTH { N(AUTHENTICATION_FAILED) }
    assert sent(p, "b", mark)[-1] == "IKE_AUTH response { N(AUTHENTICATION_FAILED) }"
    assert kinds(p, "b", mark) == []
    assert p.b.established() == [old_ike] and len(p.b.children()) == 1
    fails = [e for e in p.events["a"][mark_a:] if isinstance(e, E.IkeFailure)]
    assert [f.notify for f in fails] == ["AUTHENTICATION_FAILED"] and fails[0].fatal
    assert not p.a.established()


def test_unique_keep_yields_to_initial_contact():
    # strongSwan calls check_uniqueness(force_replace=TRUE) first: the old SA is gone, so
    # keep finds no duplicate and the new IKE_SA is accepted
    p = up(b={"unique": "keep"})
    old_ike = p.b.established()[0]
    mark = restart_a(p)
    assert kinds(p, "b", mark) == ["ChildSaDown", "IkeSaDown", "IkeSaUp", "ChildSaUp"]
    assert old_ike.state == S.DESTROYED and len(p.b.established()) == 1


def test_no_initial_contact_when_another_ike_sa_with_the_peer_exists():
    # two connections to the same peer identities: the second IKE_SA finds a contact
    ca = conn(A_ADDR, B_ADDR, "gw-a.example", "gw-b.example", start=True)
    ca2 = conn(A_ADDR, B_ADDR, "gw-a.example", "gw-b.example", local_ts="10.1.9.0/24",
               remote_ts="10.2.9.0/24")
    cb = conn(B_ADDR, A_ADDR, "gw-b.example", "gw-a.example", local_ts="10.2.0.0/16",
              remote_ts="10.1.0.0/16")
    secrets = {"ike-1": {"id-1": "gw-a.example", "id-2": "gw-b.example", "secret": "k" * 20}}
    p = Pair(IkeConfig.from_dict({"connections": {"site": ca, "second": ca2},
                                  "secrets": secrets}),
             IkeConfig.from_dict({"connections": {"site": cb}, "secrets": secrets}))
    p.a.start(0.0)
    p.pump()
    mark_a, mark_b = len(p.events["a"]), len(p.events["b"])
    p.a.initiate("second", 1.0, "net")
    p.pump()
    assert "INITIAL_CONTACT" not in ike_auth_requests(p, "a", mark_a)[0]
    assert kinds(p, "b", mark_b) == ["IkeSaUp", "ChildSaUp"]  # nothing replaced
    assert len(p.a.established()) == len(p.b.established()) == 2


def test_no_initial_contact_without_a_fixed_remote_id():
    p = up(a={"remote": {"id": "%any"}})
    assert "INITIAL_CONTACT" not in ike_auth_requests(p, "a")[-1]
    # identification.c contains_wildcards(): %any, '*' in FQDN/e-mail, a DN with CN=*
    assert _wildcards(Identity.parse("%any"))
    assert _wildcards(Identity.parse("*.example"))
    assert _wildcards(Identity.parse("C=CH, O=ipsecsim, CN=*"))
    assert not _wildcards(Identity.parse("C=CH, O=ipsecsim, CN=gw-b"))
    assert not _wildcards(Identity.parse("gw-b.example"))


def test_unique_config_values():
    a, _ = configs()
    assert a.connection("site").unique == "no"  # swanctl.conf(5) default
    for value in ("no", "never", "keep", "replace"):
        assert configs(a={"unique": value})[0].connection("site").unique == value
    with pytest.raises(ConfigError, match=r"connections\.site\.unique"):
        configs(a={"unique": "sometimes"})
