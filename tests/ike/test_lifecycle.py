"""SA lifecycle: CHILD_SA and IKE_SA rekeying, DELETE, DPD, lifetimes (RFC 7296 §1.3, §1.4, §2.4, §2.8).

strongSwan's tests/suites/test_child_rekey.c style: each message is an arrow
comment and the SA states are asserted after every step.
"""

from __future__ import annotations

import pytest

from ipsecsim.core.ike import events as E
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike import states as S
from ipsecsim.core.rng import Rng
from ipsecsim.core.stack import IPsecStack
from tests.helpers.ike_pair import Pair, configs
from tests.ike.test_engine import assert_keys_agree, udp_packet


def up(seed: int = 1, **kw) -> Pair:
    p = Pair(*configs(**kw), seed=seed)
    p.a.start(0.0)
    p.pump()
    assert len(p.a.established()) == len(p.b.established()) == 1
    return p


def child_states(ep) -> list[tuple[int, str]]:
    return [(c.spi_in, c.state) for sa in ep.ike_sas.values() for c in sa.children]


def installed(ep) -> list:
    return [c for sa in ep.ike_sas.values() for c in sa.children if c.state == S.C_INSTALLED]


def only_sa(ep):
    sas = [sa for sa in ep.ike_sas.values() if sa.state != S.DESTROYED]
    assert len(sas) == 1, [(s.name, s.state) for s in sas]
    return sas[0]


def test_child_rekey_ladder_make_before_break():
    p = up()
    old_a, = installed(p.a)
    old_b, = installed(p.b)
    stack_a, stack_b = IPsecStack(Rng(5), "a"), IPsecStack(Rng(6), "b")
    stack_a.install_child(old_a.keys)
    stack_b.install_child(old_b.keys)
    in_flight = stack_a.outbound(udp_packet("10.1.0.5", "10.2.0.7"))
    p.now = 1.0
    p.a.rekey_child(old_a.spi_in, 1.0)
    # CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, TSi, TSr } -->
    assert old_a.state == S.C_REKEYING
    p.deliver("a")
    #                     <-- { SA, Nr, TSi, TSr }
    assert old_b.state == S.C_REKEYED and len(installed(p.b)) == 1
    new_b, = installed(p.b)
    stack_b.install_child(new_b.keys)
    # A processes the response, installs the new pair, and:
    # INFORMATIONAL { D(old) } -->
    p.deliver("b")
    assert old_a.state == S.C_DELETING
    new_a, = installed(p.a)
    stack_a.install_child(new_a.keys)
    p.deliver("a")
    assert old_b.state == S.C_DELETED
    #                     <-- { D(old') }
    p.deliver("b")
    assert old_a.state == S.C_DELETED
    assert p.of("a", E.ChildSaRekeyed)[0].new.spi_in == new_a.spi_in
    # the old SA leaves the data plane 5 s after its DELETE (strongSwan's delete_rekeyed_delay)
    assert not p.of("a", E.ChildSaDown) and not p.of("b", E.ChildSaDown)
    p.advance(5.9)
    assert not p.of("a", E.ChildSaDown)
    p.advance(6.0)
    assert [e.keys.spi_in for e in p.of("a", E.ChildSaDown)] == [old_a.spi_in]
    assert [e.keys.spi_in for e in p.of("b", E.ChildSaDown)] == [old_b.spi_in]
    # the packet sent on the old SA before the switch still decrypts (old inbound kept)
    assert stack_b.inbound(in_flight) is not None
    assert_keys_agree(p)
    payloads = [e.payloads for e in p.of("a", E.IkeMessageEvent) if e.direction == "out"]
    assert payloads[2].startswith("CREATE_CHILD_SA request { N(REKEY_SA), SA, Ni, TSi, TSr }")
    assert payloads[3] == "INFORMATIONAL request { D }"


class Shell:
    """Applies an endpoint's CHILD_SA events to an IPsecStack the way both shells do
    (ipsecsim/sim/ikeevents.py, ipsecsim/peer/runner.py)."""

    def __init__(self, p: Pair, side: str, seed: int) -> None:
        self.p, self.side, self.seen = p, side, 0
        self.stack = IPsecStack(Rng(seed), side)

    def sync(self) -> None:
        events = self.p.events[self.side]
        for ev in events[self.seen:]:
            if isinstance(ev, E.ChildSaUp):
                keep = None if ev.outbound else self.stack.current_outbound(ev.keys.name)
                self.stack.install_child(ev.keys)
                if keep is not None:
                    self.stack.use_outbound(keep)
            elif isinstance(ev, E.ChildSaRekeyed):
                self.stack.use_outbound(ev.new)
            elif isinstance(ev, E.ChildSaDown):
                self.stack.remove_child(ev.keys)
        self.seen = len(events)

    def sends_on(self) -> int:
        self.sync()
        return self.stack.current_outbound("net").spi_out


def test_rekey_responder_sends_on_the_old_sa_until_the_delete():
    """The responder installs the new SA when it answers but moves its outbound traffic only
    when the initiator's DELETE of the old SA arrives; the initiator moves at the response.
    Oracle: strongSwan 5.x child_create.c select_and_install() ("as responder during a
    rekeying we only install the inbound SA now, the outbound SA and policies are installed
    when we receive the delete for the old SA", child_delete.c install_outbound()); 6.0
    child_rekey.c child_rekey_conclude_rekeying() also raises the rekey event only then."""
    p = up()
    old_a, = installed(p.a)
    old_b, = installed(p.b)
    a, b = Shell(p, "a", 5), Shell(p, "b", 6)
    assert a.sends_on() == old_a.spi_out and b.sends_on() == old_b.spi_out
    p.now = 1.0
    p.a.rekey_child(old_a.spi_in, 1.0)
    # CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, TSi, TSr } -->
    p.deliver("a")
    #                     <-- { SA, Nr, TSi, TSr }   (sent, not yet delivered)
    new_b, = installed(p.b)
    up_b = p.of("b", E.ChildSaUp)[-1]
    assert up_b.keys.spi_in == new_b.spi_in and up_b.outbound is False
    assert old_b.state == S.C_REKEYED and not p.of("b", E.ChildSaRekeyed)
    assert b.sends_on() == old_b.spi_out  # installed, but B still sends on the old SA
    assert b.stack.sad.outbound.get(new_b.spi_out) is not None
    # the response arrives: A installs the new pair and sends on it at once
    p.deliver("b")
    new_a, = installed(p.a)
    assert p.of("a", E.ChildSaUp)[-1].outbound is True
    assert a.sends_on() == new_a.spi_out == new_b.spi_in
    # INFORMATIONAL { D(old) } -->   B switches now
    p.deliver("a")
    assert [(e.old.spi_in, e.new.spi_in) for e in p.of("b", E.ChildSaRekeyed)] == [
        (old_b.spi_in, new_b.spi_in)]
    assert b.sends_on() == new_b.spi_out == new_a.spi_in
    #                     <-- { D(old') }
    p.deliver("b")
    assert old_a.state == old_b.state == S.C_DELETED
    p.advance(10.0)  # the old SAs leave 5 s later; traffic stays on the new pair
    assert a.sends_on() == new_a.spi_out and b.sends_on() == new_b.spi_out
    assert_keys_agree(p, ka=new_a.keys, kb=new_b.keys)


def test_lost_rekey_response_keeps_the_responder_on_the_old_sa():
    """The response is lost: A retransmits (RFC 7296 §2.1), B answers from its cache, and B
    sends on the old SA -- which A still decrypts -- until A's DELETE arrives."""
    p = up()
    old_a, = installed(p.a)
    old_b, = installed(p.b)
    b = Shell(p, "b", 6)
    lost = []

    def drop_rekey_response(side, data, src, dst):
        hdr = data[4:] if data[:4] == bytes(4) else data  # RFC 7296 §3.1 (marker on 4500)
        if side == "b" and not lost and hdr[18] == M.CREATE_CHILD_SA and hdr[19] & 0x20:
            lost.append(data)
            return []
        return [data]

    p.filter = drop_rekey_response
    p.a.rekey_child(old_a.spi_in, 1.0)
    p.pump()
    # CREATE_CHILD_SA -->   X-- { SA, Nr, ... }
    assert lost and old_a.state == S.C_REKEYING and old_b.state == S.C_REKEYED
    assert b.sends_on() == old_b.spi_out and not p.of("b", E.ChildSaRekeyed)
    p.advance(3.9)
    assert b.sends_on() == old_b.spi_out
    p.advance(10.0)  # retransmission after 4 s, then DELETE
    new_a, = installed(p.a)
    new_b, = installed(p.b)
    assert any(e.retransmit for e in p.of("a", E.IkeMessageEvent))
    assert len(p.of("b", E.ChildSaUp)) == 2  # the retransmission got the cached answer
    assert b.sends_on() == new_b.spi_out == new_a.spi_in
    assert len(p.of("b", E.ChildSaRekeyed)) == 1


def test_child_rekey_with_pfs_carries_ke():
    p = up(esp=["aes128gcm16-x25519"])
    old, = installed(p.a)
    p.a.rekey_child(old.spi_in, 1.0)
    p.pump()
    req = [e.payloads for e in p.of("a", E.IkeMessageEvent) if e.exchange == "CREATE_CHILD_SA"]
    assert "KE" in req[0] and "KE" in req[1]
    assert len(installed(p.a)) == len(installed(p.b)) == 1
    assert_keys_agree(p)


def test_child_rekey_by_responder():
    p = up()
    old, = installed(p.b)
    p.b.rekey_child(old.spi_in, 1.0)
    p.pump()
    new_a, = installed(p.a)
    new_b, = installed(p.b)
    assert new_b.spi_in != old.spi_in and new_a.spi_out == new_b.spi_in
    assert_keys_agree(p)


def test_soft_lifetime_rekeys_with_jitter_hard_lifetime_expires():
    child = {"rekey_time": 30, "life_time": 40}  # rand_time = 10: rekey in [20, 30]
    p = up(child=child)
    first, = installed(p.a)
    p.advance(31.0)
    rekeys = p.of("a", E.ChildSaRekeyed) + p.of("b", E.ChildSaRekeyed)
    assert rekeys, "a soft lifetime must start a rekey"
    assert first.state == S.C_DELETED and len(installed(p.a)) == len(installed(p.b)) == 1
    assert_keys_agree(p)


def test_hard_lifetime_without_rekey_deletes():
    p = up(child={"rekey_time": 0, "life_time": 100})
    c, = installed(p.a)
    p.advance(99.0)
    assert c.state == S.C_INSTALLED
    p.advance(100.0)
    assert c.state == S.C_DELETED and not installed(p.b)
    down = p.of("a", E.ChildSaDown)
    assert len(down) == 1 and "hard expired" in down[0].reason


def test_rekey_jitter_is_seeded():
    def rekey_time(seed: int) -> float:
        p = up(seed=seed, child={"rekey_time": 30, "life_time": 60})
        return installed(p.a)[0].rekey_at

    assert rekey_time(3) == rekey_time(3)
    assert 0 <= rekey_time(3) <= 30 and rekey_time(3) != rekey_time(4)


@pytest.mark.parametrize("kind", ["soft", "hard"])
def test_byte_limits_from_the_data_plane(kind):
    p = up(child={"rekey_bytes": 1000})
    c, = installed(p.a)
    assert c.keys.lifetime["soft_bytes"] == 1000 and c.keys.lifetime["hard_bytes"] == 1100
    p.a.sa_limit_reached(c.spi_in, kind, 5.0)
    p.pump()
    assert c.state == S.C_DELETED
    if kind == "soft":
        assert len(installed(p.a)) == 1 and p.of("a", E.ChildSaRekeyed)
    else:
        assert not installed(p.a) and not installed(p.b)


def test_ike_rekey_moves_children_and_deletes_old():
    p = up()
    old_a, old_b = only_sa(p.a), only_sa(p.b)
    child, = installed(p.a)
    p.a.rekey_ike(old_a.name, 1.0)
    # CREATE_CHILD_SA { SA(IKE), Ni, KEi } -->
    assert old_a.state == S.REKEYING
    p.deliver("a")
    #                   <-- { SA(IKE), Nr, KEr }
    assert old_b.state == S.REKEYED
    p.deliver("b")
    # INFORMATIONAL { D(IKE) } -->  (on the old IKE_SA)
    assert old_a.state == S.DELETING
    p.deliver("a")
    assert old_b.state == S.DESTROYED
    p.deliver("b")
    #                   <-- { }
    assert old_a.state == S.DESTROYED
    new_a, new_b = only_sa(p.a), only_sa(p.b)
    assert new_a.state == new_b.state == S.ESTABLISHED
    assert (new_a.spi_i, new_a.spi_r) == (new_b.spi_i, new_b.spi_r) != (old_a.spi_i, old_a.spi_r)
    assert new_a.initiator and not new_b.initiator
    assert new_a.children == [child] and child.state == S.C_INSTALLED
    assert new_a.keys.sk_d == new_b.keys.sk_d != old_a.keys.sk_d
    rk, = p.of("a", E.IkeSaRekeyed)
    assert rk.old_ike_sa == old_a.name and rk.new.ispi == new_a.spi_i
    assert not p.of("a", E.ChildSaDown)
    # the new IKE_SA works: a CHILD_SA rekey over it derives from the new SK_d
    p.a.rekey_child(child.spi_in, 2.0)
    p.pump()
    assert_keys_agree(p)


def test_ike_rekey_by_responder_and_lifetime():
    p = up(a={"rekey_time": 100, "rand_time": 0}, b={"rekey_time": 0})
    old = only_sa(p.a)
    p.advance(101.0)
    new = only_sa(p.a)
    assert new is not old and old.state == S.DESTROYED
    assert len(p.of("b", E.IkeSaRekeyed)) == 1
    p.b.rekey_ike(only_sa(p.b).name, 102.0)
    p.pump()
    assert only_sa(p.b).initiator and not only_sa(p.a).initiator
    assert len(installed(p.a)) == 1


def test_delete_child_and_ike():
    p = up()
    c, = installed(p.a)
    p.a.delete_child(c.spi_in, 1.0)
    # INFORMATIONAL { D(ESP, spi) } -->      <-- { D(ESP, spi') }
    p.pump()
    assert not installed(p.a) and not installed(p.b)
    assert len(p.of("a", E.ChildSaDown)) == len(p.of("b", E.ChildSaDown)) == 1
    p.a.close(2.0)
    # INFORMATIONAL { D(IKE) } -->      <-- { }
    p.pump()
    assert not p.a.ike_sas and not p.b.ike_sas
    assert p.of("b", E.IkeSaDown)[0].reason == "deleted by peer"


def test_dpd_alive_peer_answers():
    p = up(a={"dpd_delay": 30})
    p.advance(31.0)
    dpd = [e for e in p.of("a", E.IkeMessageEvent) if e.exchange == "INFORMATIONAL"]
    assert dpd[0].payloads == "INFORMATIONAL request { }" and dpd[0].direction == "out"
    assert only_sa(p.a).state == S.ESTABLISHED


@pytest.mark.parametrize("action", ["clear", "restart"])
def test_dpd_dead_peer_torn_down_on_schedule(action):
    p = up(a={"dpd_delay": 30, "children": {"net": {"dpd_action": action}}})
    p.filter = lambda name, data, src, dst: [] if name == "b" else [data]  # B went silent
    p.advance(30.0 + 165.0)
    assert only_sa(p.a).state == S.ESTABLISHED  # not yet: 165.06 s of retransmissions
    p.advance(30.0 + 165.1)
    down, = p.of("a", E.IkeSaDown)
    assert "INFORMATIONAL" in down.reason and "5 retransmissions" in down.reason
    assert len(p.of("a", E.ChildSaDown)) == 1
    if action == "restart":
        assert len(p.a.ike_sas) == 1 and only_sa(p.a).state == S.CONNECTING
    else:
        assert not p.a.ike_sas


@pytest.mark.parametrize("lost", ["request", "response"])
def test_child_rekey_survives_loss(lost):
    p = up()
    c, = installed(p.a)
    count = {"n": 0}

    def f(name, data, src, dst):
        if (name == "a") == (lost == "request"):
            count["n"] += 1
            if count["n"] == 1:
                return []
        return [data]

    p.filter = f
    p.a.rekey_child(c.spi_in, 1.0)
    p.pump()
    p.advance(10.0)
    assert len(installed(p.a)) == len(installed(p.b)) == 1 and c.state == S.C_DELETED
    assert_keys_agree(p)


def test_delete_survives_loss_of_its_response():
    p = up()
    c, = installed(p.a)
    n = {"b": 0}

    def f(name, data, src, dst):
        if name == "b":
            n["b"] += 1
            if n["b"] == 1:
                return []
        return [data]

    p.filter = f
    p.a.delete_child(c.spi_in, 1.0)
    p.pump()
    assert c.state == S.C_DELETING
    p.advance(6.0)
    assert c.state == S.C_DELETED and p.b.drops["retransmitted_request"] == 1


@pytest.mark.parametrize("side,n", [("a", 1), ("b", 1), ("a", 2), ("b", 2)])
def test_ike_rekey_survives_the_loss_of_any_message(side, n):
    # CREATE_CHILD_SA { SA(IKE), Ni, KEi } -->  (a1)      <-- { SA, Nr, KEr }  (b1)
    # INFORMATIONAL { D(IKE) } -->            (a2)      <-- { }              (b2)
    p = up()
    child, = installed(p.a)
    seen = {"a": 0, "b": 0}

    def f(name, data, src, dst):
        seen[name] += 1
        return [] if name == side and seen[name] == n else [data]

    p.filter = f
    p.a.rekey_ike(only_sa(p.a).name, 1.0)
    p.pump()
    p.advance(200.0)  # a lost DELETE response: the old SA goes after the retransmissions
    na, nb = only_sa(p.a), only_sa(p.b)
    assert na.state == nb.state == S.ESTABLISHED
    assert (na.spi_i, na.spi_r) == (nb.spi_i, nb.spi_r) and na.children == [child]
    assert len(installed(p.b)) == 1


def test_ike_hard_lifetime_when_rekey_cannot_happen():
    p = up(a={"rekey_time": 100, "rand_time": 0, "over_time": 10}, b={"rekey_time": 0})
    p.filter = lambda name, data, src, dst: [] if name == "a" else [data]  # A's requests lost
    p.advance(109.0)
    assert only_sa(p.a).state == S.REKEYING
    p.advance(110.0)
    down, = p.of("a", E.IkeSaDown)
    assert "hard lifetime" in down.reason and not p.a.ike_sas
    assert len(p.of("a", E.ChildSaDown)) == 1


def test_close_action_start_recreates_a_child_the_peer_deleted():
    p = up(b={"children": {"net": {"close_action": "start"}}})
    c, = installed(p.a)
    p.a.delete_child(c.spi_in, 1.0)
    p.pump()
    assert len(installed(p.a)) == len(installed(p.b)) == 1
    assert installed(p.b)[0].spi_in != c.spi_out
    assert_keys_agree(p)


def test_child_rekey_queued_behind_an_ike_rekey_still_happens():
    p = up()
    c, = installed(p.a)
    p.a.rekey_ike(only_sa(p.a).name, 1.0)  # in flight: the child rekey waits behind it
    p.a.rekey_child(c.spi_in, 1.0)
    p.pump()
    p.advance(5.0)
    assert c.state == S.C_DELETED and len(installed(p.a)) == len(installed(p.b)) == 1
    assert len(p.of("a", E.IkeSaRekeyed)) == 1 and len(p.of("a", E.ChildSaRekeyed)) == 1
    assert_keys_agree(p)


def test_packet_limits_reach_the_data_plane_keys():
    p = up(child={"rekey_packets": 8, "life_packets": 1000})
    c, = installed(p.a)
    assert c.keys.lifetime == {"soft_bytes": 0, "hard_bytes": 0, "soft_packets": 8,
                               "hard_packets": 1000}
    p.b.sa_limit_reached(installed(p.b)[0].spi_in, "soft", 3.0)  # the responder rekeys too
    p.pump()
    assert c.state == S.C_DELETED and len(installed(p.a)) == 1
    assert installed(p.a)[0].keys.lifetime["soft_packets"] == 8


def test_same_seed_same_lifecycle_bytes():
    """Jitter, SPIs, nonces and DH keys all come from the seed: the wire repeats exactly."""
    def run(seed: int) -> list[bytes]:
        p = up(seed=seed, a={"rekey_time": 100}, child={"rekey_time": 30, "life_time": 40})
        p.advance(200.0)
        assert p.of("a", E.IkeSaRekeyed) and len(p.of("a", E.ChildSaRekeyed)) >= 5
        return [d for _, d in p.wire]

    assert run(9) == run(9) != run(10)


def test_soft_and_hard_limit_at_once_leave_one_fresh_child():
    # The data plane reports soft and hard in the same instant (rekey_packets 8, life_packets
    # int(8 * 1.1) == 8): the old SA is deleted at once, and the rekey in flight
    #   CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, TSi, TSr } -->
    #                   <-- { SA, Nr, TSi, TSr }
    # completes with a successor that stands alone instead of a transition error.
    p = up()
    c, = installed(p.a)
    p.a.sa_limit_reached(c.spi_in, "soft", 5.0)
    p.a.sa_limit_reached(c.spi_in, "hard", 5.0)
    p.pump()
    assert c.state == S.C_DELETED
    fresh, = installed(p.a)
    assert fresh.spi_in != c.spi_in
    assert [x.spi_in for x in installed(p.b)] == [fresh.spi_out]
