"""An IKE_AUTH response whose CHILD_SA the initiator cannot use: the IKE_SA stays, the SA goes.

Oracle: strongSwan 5.x ``src/libcharon/sa/ikev2/tasks/child_create.c``, ``process_i()``
for ``IKE_AUTH``: when ``select_and_install()`` refuses the responder's answer (no
acceptable proposal, selectors it cannot narrow to, ``check_mode()`` refusing a mode it
did not ask for) it calls ``handle_child_sa_failure()`` ("failed to establish CHILD_SA,
keeping IKE_SA", RFC 7296 §1.2: a failed first CHILD_SA does not fail the IKE_SA) and
then ``delete_failed_sa()``, whose ``build_i_delete()`` sends ``INFORMATIONAL { D(ESP,
my_spi) }`` -- the SPI the initiator allocated, i.e. the one it would see on inbound ESP
(RFC 7296 §1.4.1, §3.11), which the responder knows as its outbound SPI. A refusal by
notify (the responder made nothing) sends no DELETE. Without the DELETE the responder
keeps a CHILD_SA whose outbound traffic nobody decrypts.

The responses are spoiled at the responder after it installed its SA, the way a broken
peer would: TSi wider than proposed (§2.9: the responder may only narrow), a proposal the
initiator never offered (§2.7: the responder must pick one of the offered ones), or
``N(USE_TRANSPORT_MODE)`` the initiator did not ask for (§1.3.1).
"""

from __future__ import annotations

import pytest

from ipsecsim.core.ike import events as E
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike import states as S
from tests.helpers.ike_pair import Pair, configs
from tests.ike.test_engine import assert_keys_agree, ike_state
from tests.ike.test_failed_child_delete import Tamper, live, out_payloads
from tests.ike.test_lifecycle import Shell, installed, only_sa


def deletes(p: Pair, side: str, wire_index: int = -1) -> list[tuple[int, list[int]]]:
    """(protocol, SPIs) of each Delete payload in ``side``'s last delivered datagram,
    decrypted with the receiver's keys: what was really on the wire."""
    other = p.b if side == "a" else p.a
    data = [d for name, d in p.wire if name == side][wire_index]
    msg = M.decode(data, only_sa(other).sk_in)
    return [(d.protocol, [int.from_bytes(s, "big") for s in d.spis])
            for d in msg.find_all(M.Delete)]


CASES = {
    "ts": ("TS_UNACCEPTABLE", "10.0.0.0/8"),
    "proposal": ("NO_PROPOSAL_CHOSEN", "ENCR_AES_GCM_16_256"),
    "mode": ("NO_PROPOSAL_CHOSEN", "transport mode"),
}


def setup_refused(monkeypatch, how: str) -> tuple[Pair, object, Tamper]:
    """Run IKE_SA_INIT and IKE_AUTH step by step up to A's refusal; B's CHILD_SA."""
    p = Pair(*configs())
    tamper = Tamper(monkeypatch, how)
    p.a.start(0.0)
    # IKE_SA_INIT { SA, KEi, Ni, N(NATD_*) } -->
    p.deliver("a")
    #                   <-- { SA, KEr, Nr, N(NATD_*) }
    p.deliver("b")
    # IKE_AUTH { IDi, IDr, AUTH, SA, TSi, TSr } -->
    p.deliver("a")
    #                   <-- { IDr, AUTH, SA, TSi, TSr }   (spoiled, after B installed)
    assert tamper.done == 1
    child_b, = installed(p.b)
    assert p.of("b", E.ChildSaUp)[0].keys.spi_in == child_b.spi_in
    p.deliver("b")
    return p, child_b, tamper


@pytest.mark.parametrize("how", list(CASES))
def test_refused_ike_auth_child_is_deleted_at_the_responder(monkeypatch, how):
    p, child_b, _ = setup_refused(monkeypatch, how)
    notify, says = CASES[how]
    # A: the IKE_SA is up (RFC 7296 §1.2), the CHILD_SA is refused with a reason
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    assert len(p.of("a", E.IkeSaUp)) == 1
    fail, = p.of("a", E.IkeFailure)
    assert fail.notify == notify and fail.sent_by_us and not fail.fatal and fail.child == "net"
    assert says in fail.reason, fail.reason
    assert not p.of("a", E.ChildSaUp) and not live(p.a)
    # INFORMATIONAL { D(ESP, A's SPI) } -->   naming the SPI B sends to (its outbound)
    assert out_payloads(p, "a")[-1] == "INFORMATIONAL request { D }"
    p.deliver("a")
    assert deletes(p, "a") == [(M.PROTOCOL_IDS["esp"], [child_b.spi_out])]
    assert child_b.state == S.C_DELETED
    down, = p.of("b", E.ChildSaDown)
    assert down.keys.spi_in == child_b.spi_in and down.reason == "deleted by peer"
    assert not p.of("b", E.IkeFailure)
    #                   <-- { D(ESP, B's SPI) }   (A never installed that half: ignored)
    assert out_payloads(p, "b")[-1] == "INFORMATIONAL response { D }"
    p.deliver("b")
    assert deletes(p, "b") == [(M.PROTOCOL_IDS["esp"], [child_b.spi_in])]
    p.advance(10.0)
    # no CHILD_SA left on either side, nothing in B's data plane, the IKE_SA still up
    assert not live(p.a) and not live(p.b)
    b = Shell(p, "b", 6)
    b.sync()
    assert b.stack.sad.outbound.get(child_b.spi_out) is None
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    assert not p.of("a", E.IkeSaDown) and not p.of("b", E.IkeSaDown)
    assert len(p.of("a", E.IkeFailure)) == 1


def test_the_child_can_be_created_afterwards(monkeypatch):
    p, child_b, _ = setup_refused(monkeypatch, "ts")
    p.pump()
    assert child_b.state == S.C_DELETED
    p.now = 1.0
    p.a.initiate("site", 1.0, "net")
    # CREATE_CHILD_SA { SA, Ni, TSi, TSr } -->       <-- { SA, Nr, TSi, TSr }
    p.pump()
    na, = live(p.a)
    nb, = live(p.b)
    assert (na.spi_in, na.spi_out) == (nb.spi_out, nb.spi_in)
    assert na.spi_out != child_b.spi_in
    a, b = Shell(p, "a", 5), Shell(p, "b", 6)
    assert a.sends_on() == na.spi_out and b.sends_on() == nb.spi_out
    assert out_payloads(p, "a")[-1].startswith("CREATE_CHILD_SA request")
    assert len(p.of("a", E.IkeFailure)) == 1 and not p.of("b", E.IkeFailure)
    assert_keys_agree(p, ka=na.keys, kb=nb.keys)


@pytest.mark.parametrize("lost", ["request", "response"])
def test_lost_delete_is_retransmitted(monkeypatch, lost):
    """The DELETE is an ordinary request: lost, it is sent again after 4 s (strongSwan's
    retransmit_timeout); its lost answer makes B answer the repeat from its cache."""
    side = "a" if lost == "request" else "b"
    n = {"a": 0, "b": 0}

    def drop_third(name, data, src, dst):  # third datagram: the DELETE or its answer
        n[name] += 1
        return [] if name == side and n[name] == 3 else [data]

    p = Pair(*configs())
    Tamper(monkeypatch, "ts")
    p.filter = drop_third
    p.a.start(0.0)
    p.pump()
    child_b, = [c for sa in p.b.ike_sas.values() for c in sa.children]
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED
    assert (child_b.state == S.C_INSTALLED) == (lost == "request")
    p.advance(3.9)
    assert not [e for e in p.of("a", E.IkeMessageEvent) if e.retransmit]
    p.advance(4.0)
    retrans = [e for e in p.of("a", E.IkeMessageEvent) if e.retransmit]
    assert [(e.exchange, e.retransmit) for e in retrans] == [("INFORMATIONAL", 1)]
    assert child_b.state == S.C_DELETED and len(p.of("b", E.ChildSaDown)) == 1
    assert p.b.drops["retransmitted_request"] == (1 if lost == "response" else 0)
    assert only_sa(p.a).pending is None and not live(p.a) and not live(p.b)
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED


def test_refusal_by_notify_in_ike_auth_sends_no_delete():
    """B refuses the first CHILD_SA (TS_UNACCEPTABLE): it made no SA, so A deletes nothing
    (strongSwan process_i() returns on CHILD_SA error notifies before delete_failed_sa())."""
    p = Pair(*configs(a={"children": {"net": {"local_ts": ["10.9.0.0/16"]}}}))
    p.a.start(0.0)
    p.pump()
    fa, = p.of("a", E.IkeFailure)
    assert fa.notify == "TS_UNACCEPTABLE" and not fa.sent_by_us and fa.child == "net"
    assert not any(s.startswith("INFORMATIONAL") for s in out_payloads(p, "a"))
    assert ike_state(p.a) == ike_state(p.b) == S.ESTABLISHED

