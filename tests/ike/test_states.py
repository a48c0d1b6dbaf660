"""The IKE_SA / CHILD_SA transition tables: closed, printable, enforced."""

from __future__ import annotations

import pytest

from ipsecsim.core.ike import events as E
from ipsecsim.core.ike import states as S
from tests.helpers.ike_pair import A_ADDR, B_ADDR, Pair, configs


@pytest.mark.parametrize("table,states,final", [
    (S.IKE_TRANSITIONS, S.IKE_STATES, S.DESTROYED),
    (S.CHILD_TRANSITIONS, S.CHILD_STATES, S.C_DELETED),
])
def test_tables_are_closed_and_end_in_one_final_state(table, states, final):
    assert set(table) == set(states)
    assert all(t in states for _, _, t in S.edges(table))
    assert table[final] == {}
    # every state can reach the final one
    for s in states:
        seen, todo = {s}, [s]
        while todo:
            for t in table[todo.pop()].values():
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        assert final in seen, s


def test_printable_and_enforced():
    text = S.format_table(S.IKE_TRANSITIONS)
    assert "CONNECTING   --authenticated--> ESTABLISHED" in text
    assert S.ike_next(S.ESTABLISHED, "rekey") == S.REKEYING
    with pytest.raises(S.TransitionError, match="no transition from DESTROYED on 'rekey'"):
        S.ike_next(S.DESTROYED, "rekey")
    with pytest.raises(S.TransitionError):
        S.child_next(S.C_CREATED, "rekey")


def test_handshake_walks_the_table_and_events_follow_it():
    p = Pair(*configs())
    p.a.start(0.0)
    p.pump()
    for side in "ab":
        for ev in p.of(side, E.IkeStateChange):
            assert S.IKE_TRANSITIONS[ev.old] and ev.new in S.IKE_TRANSITIONS[ev.old].values()
        walk = [(e.old, e.new) for e in p.of(side, E.IkeStateChange)]
        assert walk == [(S.CREATED, S.CONNECTING), (S.CONNECTING, S.ESTABLISHED)]
        cw = [(e.old, e.new) for e in p.of(side, E.ChildStateChange)]
        assert cw == [(S.C_CREATED, S.C_INSTALLED)]


def test_half_open_responder_sa_times_out():
    p = Pair(*configs())
    p.a.start(0.0)
    p.step()  # IKE_SA_INIT answered; A's IKE_AUTH is lost from here on
    p.filter = lambda name, data, src, dst: []
    p.pump()
    assert len(p.b.ike_sas) == 1 and p.b._half_open
    p.advance(30.0)
    assert not p.b.ike_sas and not p.b._half_open
    assert any(f.reason == "half-open IKE_SA timed out" for f in p.of("b", E.IkeFailure))


def test_trap_policy_acquire_initiates():
    p = Pair(*configs(a={"children": {"net": {"start_action": "trap"}}}))
    p.a.start(0.0)
    assert not p.a.datagrams_to_send(0.0)
    p.a.acquire("net", 1.0)
    p.a.acquire("net", 1.0)  # a second acquire while connecting does not start another SA
    p.now = 1.0
    p.pump()
    assert len(p.a.ike_sas) == 1 and len(p.child_keys("a")) == 1
    assert (A_ADDR, B_ADDR) == (p.child_keys("a")[0].local_addr, p.child_keys("a")[0].remote_addr)


def test_responder_accepts_remote_addrs_as_prefix():
    p = Pair(*configs(b={"remote_addrs": ["198.51.100.0/24"]}))
    p.a.start(0.0)
    p.pump()
    assert len(p.b.established()) == 1
    q = Pair(*configs(b={"remote_addrs": ["192.0.2.0/24"]}))
    q.a.start(0.0)
    q.pump()
    assert not q.b.ike_sas and q.of("b", E.IkeFailure)[0].notify == "NO_PROPOSAL_CHOSEN"
    assert "no connection accepts 198.51.100.1 -> 203.0.113.1" in q.of("b", E.IkeFailure)[0].reason


def test_repeated_acquire_for_a_deleted_child_creates_one():
    p = Pair(*configs())
    p.a.start(0.0)
    p.pump()
    c = p.a.children()[0]
    p.a.delete_child(c.spi_in, 1.0)
    p.pump()
    for _ in range(3):  # the data plane keeps hitting the trap while CREATE_CHILD_SA runs
        p.a.acquire("net", 2.0)
    p.pump()
    assert len(p.a.children()) == len(p.b.children()) == 1
