"""Rekey and delete collisions (RFC 7296 §2.8.1, §2.8.2, §2.25), each a scenario, not luck.

Both gateways act at the same simulated instant; the datagrams cross on the wire.
"""

from __future__ import annotations

from ipsecsim.core.ike import events as E
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike import states as S
from tests.helpers.ike_pair import Pair
from tests.ike.test_engine import assert_keys_agree
from tests.ike.test_lifecycle import Shell, installed, only_sa, up


def crossing(p: Pair) -> None:
    """Deliver both sides' requests before either sees a response."""
    p.step()
    p.pump()


def test_simultaneous_child_rekeys_lowest_nonce_loses():
    for seed in range(1, 7):  # several seeds: each side wins sometimes
        p = up(seed=seed)
        ca, = installed(p.a)
        cb, = installed(p.b)
        # CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, TSi, TSr } -->   (both at t=1)
        #                <-- CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, TSi, TSr }
        p.a.rekey_child(ca.spi_in, 1.0)
        p.b.rekey_child(cb.spi_in, 1.0)
        crossing(p)
        p.advance(10.0)  # past delete_rekeyed_delay
        # exactly one surviving pair on both sides, and it is the same pair
        sa_, sb = installed(p.a), installed(p.b)
        assert len(sa_) == len(sb) == 1, seed
        assert (sa_[0].spi_in, sa_[0].spi_out) == (sb[0].spi_out, sb[0].spi_in)
        assert ca.state == cb.state == S.C_DELETED
        # the redundant SA (four SAs were made, one pair survives) was deleted on both sides
        assert len(p.of("a", E.ChildSaUp)) == len(p.of("b", E.ChildSaUp)) == 3
        assert len(p.of("a", E.ChildSaDown)) == len(p.of("b", E.ChildSaDown)) == 2
        assert_keys_agree(p, ka=sa_[0].keys, kb=sb[0].keys)
        assert p.of("a", E.ChildSaRekeyed)[0].new == sa_[0].keys


def test_simultaneous_child_rekeys_the_survivor_follows_the_nonces():
    """Recompute §2.8.1's rule from the wire: the exchange holding the lowest nonce loses."""
    winners = set()
    for seed in range(1, 7):
        p = up(seed=seed)
        ike_a, ike_b = only_sa(p.a), only_sa(p.b)
        ca, = installed(p.a)
        cb, = installed(p.b)
        start = len(p.wire)
        p.a.rekey_child(ca.spi_in, 1.0)
        p.b.rekey_child(cb.spi_in, 1.0)
        crossing(p)
        exchanges: dict[str, dict] = {"a": {}, "b": {}}  # keyed by the exchange's initiator
        for side, data in p.wire[start:]:
            sk = ike_b.sk_in if side == "a" else ike_a.sk_in
            msg = M.decode(data, sk)
            if msg.exchange != M.CREATE_CHILD_SA:
                continue
            initiator = ({"a": "b", "b": "a"}[side]) if msg.response else side
            spi = int.from_bytes(msg.find(M.SA).proposals[0].spi, "big")
            exchanges[initiator]["r" if msg.response else "i"] = (msg.find(M.Nonce).data, spi)
        lowest = {k: min(v["i"][0], v["r"][0]) for k, v in exchanges.items()}
        winner = max(lowest, key=lowest.get)
        survivor, = installed(p.a)
        spis = {exchanges[winner]["i"][1], exchanges[winner]["r"][1]}
        assert {survivor.spi_in, survivor.spi_out} == spis
        winners.add(winner)
    assert winners == {"a", "b"}  # the seeds exercise both outcomes


def test_simultaneous_ike_rekeys():
    for seed in range(1, 5):
        p = up(seed=seed)
        child, = installed(p.a)
        p.a.rekey_ike(only_sa(p.a).name, 1.0)
        p.b.rekey_ike(only_sa(p.b).name, 1.0)
        crossing(p)
        na, nb = only_sa(p.a), only_sa(p.b)
        assert na.state == nb.state == S.ESTABLISHED, seed
        assert (na.spi_i, na.spi_r) == (nb.spi_i, nb.spi_r)
        assert na.keys.sk_d == nb.keys.sk_d
        assert na.children == [child] and len(installed(p.b)) == 1
        # the survivor works
        p.a.rekey_child(child.spi_in, 2.0)
        p.pump()
        assert len(installed(p.a)) == len(installed(p.b)) == 1
        assert_keys_agree(p)


def test_delete_racing_a_rekey_child_sa_not_found():
    p = up()
    ca, = installed(p.a)
    cb, = installed(p.b)
    # CREATE_CHILD_SA { N(REKEY_SA), ... } -->
    #                <-- INFORMATIONAL { D(ESP) }
    p.a.rekey_child(ca.spi_in, 1.0)
    p.b.delete_child(cb.spi_in, 1.0)
    crossing(p)
    assert ca.state == cb.state == S.C_DELETED
    assert any(f.notify == "CHILD_SA_NOT_FOUND" for f in p.of("b", E.IkeFailure))
    assert any(f.notify == "CHILD_SA_NOT_FOUND" and not f.sent_by_us
               for f in p.of("a", E.IkeFailure))
    assert not installed(p.a) and not installed(p.b)


def test_ike_rekey_during_child_rekey_temporary_failure_then_retry():
    p = up()
    ca, = installed(p.a)
    p.a.rekey_child(ca.spi_in, 1.0)
    p.b.rekey_ike(only_sa(p.b).name, 1.0)
    crossing(p)
    tf = [f for f in p.of("b", E.IkeFailure) if f.notify == "TEMPORARY_FAILURE"]
    assert tf and not tf[0].sent_by_us
    assert len(installed(p.a)) == 1 and len(p.a.ike_sas) == 1
    p.advance(25.0)  # B retries after 10..20 s
    assert len(p.of("b", E.IkeSaRekeyed)) == 1
    na, nb = only_sa(p.a), only_sa(p.b)
    assert nb.initiator and (na.spi_i, na.spi_r) == (nb.spi_i, nb.spi_r)
    assert len(installed(p.a)) == len(installed(p.b)) == 1


def test_ike_delete_racing_an_ike_rekey():
    p = up()
    # CREATE_CHILD_SA { SA(IKE), Ni, KEi } -->
    #                <-- INFORMATIONAL { D(IKE) }
    p.a.rekey_ike(only_sa(p.a).name, 1.0)
    p.b.delete_ike(only_sa(p.b).name, 1.0)
    crossing(p)
    assert not p.a.ike_sas and not p.b.ike_sas
    assert any(f.notify == "TEMPORARY_FAILURE" for f in p.of("b", E.IkeFailure))
    assert len(p.of("a", E.ChildSaDown)) == len(p.of("b", E.ChildSaDown)) == 1


def test_simultaneous_delete_of_the_same_child():
    p = up()
    ca, = installed(p.a)
    cb, = installed(p.b)
    # INFORMATIONAL { D(ESP, a) } -->   <-- INFORMATIONAL { D(ESP, b) }
    p.a.delete_child(ca.spi_in, 1.0)
    p.b.delete_child(cb.spi_in, 1.0)
    crossing(p)
    assert ca.state == cb.state == S.C_DELETED
    assert len(p.of("a", E.ChildSaDown)) == len(p.of("b", E.ChildSaDown)) == 1
    assert only_sa(p.a).state == only_sa(p.b).state == S.ESTABLISHED


def test_simultaneous_child_rekeys_never_send_on_an_sa_the_peer_lacks():
    """Crossing rekeys, each gateway's data plane driven by its events like the shells: after
    every round of datagrams, the SA each side sends on is installed inbound at the other.
    The loser never sends on its redundant SA and moves to the winner's when the winner's
    DELETE of the old SA arrives (strongSwan 6.0 child_rekey.c process_i(): a loser
    concludes "when the peer deletes the old SA"; the redundant SA's outbound is removed)."""
    for seed in range(1, 7):
        p = up(seed=seed)
        ca, = installed(p.a)
        cb, = installed(p.b)
        a, b = Shell(p, "a", 5), Shell(p, "b", 6)
        p.a.rekey_child(ca.spi_in, 1.0)
        p.b.rekey_child(cb.spi_in, 1.0)
        while p.step():
            for me, peer in ((a, b), (b, a)):
                spi = me.sends_on()
                peer.sync()
                assert peer.stack.sad.inbound.get(spi) is not None, (seed, me.side, hex(spi))
        p.advance(10.0)
        sa_, sb = installed(p.a), installed(p.b)
        assert len(sa_) == len(sb) == 1
        assert a.sends_on() == sa_[0].spi_out == sb[0].spi_in
        assert b.sends_on() == sb[0].spi_out == sa_[0].spi_in
        # the loser announced its own (redundant) SA without moving traffic to it
        loser = "a" if any(str(e.detail).startswith("collision lost") for e in p.events["a"]
                           if isinstance(e, E.ChildStateChange)) else "b"
        ups = p.of(loser, E.ChildSaUp)[1:]
        assert [u.outbound for u in ups] == [False, False], seed
        rekeyed = p.of(loser, E.ChildSaRekeyed)
        assert len(rekeyed) == 1 and rekeyed[0].new == (sa_ if loser == "a" else sb)[0].keys


def test_crossing_rekeys_with_a_lost_response_end_with_one_pair():
    """Crossing rekeys where one answer is lost: the winner's DELETE of the old SA can reach
    the loser before the loser's own rekey completes. The loser then takes the winner's SA as
    successor at that DELETE and deletes its own SA when its retransmitted request is answered
    (strongSwan 6.0 child_rekey.c: CHILD_REKEY_OLD_SA_DELETED, "abort active rekeying ...
    because it was successfully rekeyed by the peer"). No side ever sends on an SA the
    other lacks, and one pair survives."""
    early_delete = 0
    for seed in range(1, 7):
        for hold in "ab":
            p = up(seed=seed)
            ca, = installed(p.a)
            cb, = installed(p.b)
            a, b = Shell(p, "a", 5), Shell(p, "b", 6)
            p.a.rekey_child(ca.spi_in, 1.0)
            p.b.rekey_child(cb.spi_in, 1.0)
            p.step()  # both requests cross
            held: list[bytes] = []

            def lose_answer(side, data, src, dst, hold=hold, held=held):
                hdr = data[4:] if data[:4] == bytes(4) else data
                if side == hold and not held and hdr[18] == M.CREATE_CHILD_SA and hdr[19] & 0x20:
                    held.append(data)
                    return []
                return [data]

            p.filter = lose_answer
            while p.step():
                for me, peer in ((a, b), (b, a)):
                    spi = me.sends_on()
                    peer.sync()
                    assert peer.stack.sad.inbound.get(spi) is not None, (seed, hold, me.side)
            p.advance(20.0)  # retransmission, redundant SA deleted, old SAs gone
            sa_, sb = installed(p.a), installed(p.b)
            assert len(sa_) == len(sb) == 1, (seed, hold)
            assert a.sends_on() == sa_[0].spi_out == sb[0].spi_in
            assert b.sends_on() == sb[0].spi_out == sa_[0].spi_in
            early_delete += any(isinstance(e, E.ChildStateChange) and "its DELETE came before"
                                in e.detail for e in p.events["a"] + p.events["b"])
    assert early_delete  # the seeds exercise the DELETE-first order
