"""A CREATE_CHILD_SA response the initiator cannot use: it deletes the SA the responder made.

Oracle: strongSwan 5.x ``src/libcharon/sa/ikev2/tasks/child_create.c``: when ``process_i()``
cannot install the CHILD_SA (``dh_failed``, ``select_and_install()`` failing on the
proposal or selectors, ...) it calls ``delete_failed_sa()``, which turns the task into
``build_i_delete()``: ``INFORMATIONAL { D(ESP, my_spi) }`` -- the SPI it allocated, which the
peer knows as its outbound SPI (RFC 7296 §3.11). An error notify in the response (the peer
made nothing) returns before that and sends no DELETE. Without the DELETE the rekey
responder keeps the old SA REKEYED and refuses the next rekey with TEMPORARY_FAILURE.

The responses are made unacceptable at the responder, after it installed its SA, the way
a broken peer would: a low-order X25519 KEr (RFC 7748 §6.1, an all-zero shared secret,
refused per RFC 8031 §4) or a TSi wider than the one proposed (RFC 7296 §2.9: the
responder may only narrow).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from ipsecsim.core.ike import events as E
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike import states as S
from ipsecsim.core.ike.tasks import child_create as CC
from ipsecsim.core.ike.tasks.informational import FAILED_REKEY
from ipsecsim.core.selectors import TrafficSelector
from tests.ike.test_engine import assert_keys_agree
from tests.ike.test_lifecycle import Shell, installed, up

ENCR = 1  # IANA transform type 1 (RFC 7296 §3.3.2)
PFS = {"esp": ["aes128gcm16-x25519"]}
EXTRA = {"children": {"extra": {"local_ts": ["10.1.1.0/24"], "remote_ts": ["10.2.1.0/24"],
                                "esp_proposals": ["aes128gcm16"], "start_action": "none"}}}
EXTRA_B = {"children": {"extra": {"local_ts": ["10.2.1.0/24"], "remote_ts": ["10.1.1.0/24"],
                                  "esp_proposals": ["aes128gcm16"]}}}


class Tamper:
    """Wraps the responder's ``child_create.answer`` (the SA, KEr and TS it sends back after
    installing its SA; in IKE_AUTH the SA, TSi and TSr) to spoil it once: ``"ke"`` sends a
    low-order X25519 point, ``"ts"`` a TSi wider than the initiator proposed, ``"proposal"``
    a key size it never offered, ``"mode"`` transport mode it did not ask for."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
        self.how, self.armed, self.done = how, True, 0
        real = CC.answer

        def answer(child, suite, middle, tsi, tsr, transport):
            if self.armed:
                self.armed = False
                self.done += 1
                if self.how == "ke":
                    middle = [replace(p, data=bytes(32)) if isinstance(p, M.KE) else p
                              for p in middle]
                elif self.how == "ts":
                    tsi = [TrafficSelector.parse("10.0.0.0/8")]
                elif self.how == "proposal":  # AES-GCM-16 with 256-bit keys: A offered 128
                    suite = replace(suite, transforms=tuple(
                        (t, i, 256 if t == ENCR else b) for t, i, b in suite.transforms))
                else:  # "mode": N(USE_TRANSPORT_MODE) the initiator did not ask for
                    transport = True
            return real(child, suite, middle, tsi, tsr, transport)

        monkeypatch.setattr(CC, "answer", answer)


def out_payloads(p, side: str) -> list[str]:
    return [e.payloads for e in p.of(side, E.IkeMessageEvent) if e.direction == "out"]


def live(ep) -> list:
    return [c for sa in ep.ike_sas.values() for c in sa.children if c.state != S.C_DELETED]


def test_rejected_rekey_response_deletes_the_responders_new_sa(monkeypatch):
    p = up(**PFS)
    old_a, = installed(p.a)
    old_b, = installed(p.b)
    a, b = Shell(p, "a", 5), Shell(p, "b", 6)
    tamper = Tamper(monkeypatch, "ke")
    p.now = 1.0
    p.a.rekey_child(old_a.spi_in, 1.0)
    # CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, KEi, TSi, TSr } -->
    p.deliver("a")
    #                   <-- { SA, Nr, KEr(low-order point), TSi, TSr }
    assert tamper.done == 1
    new_b = next(c for c in installed(p.b) if c is not old_b)
    assert old_b.state == S.C_REKEYED and old_b.rekeyed_by is new_b and new_b.outbound_held
    assert b.sends_on() == old_b.spi_out
    p.deliver("b")
    # A refuses it (its g^ir is all zero) and keeps the old SA ...
    fail, = [f for f in p.of("a", E.IkeFailure)]
    assert fail.sent_by_us and not fail.fatal and fail.child == "net"
    assert "invalid KE" in fail.reason and "all zero" in fail.reason
    assert old_a.state == S.C_INSTALLED and not p.of("a", E.ChildSaRekeyed)
    assert [c.spi_in for c in live(p.a)] == [old_a.spi_in]
    # ... and deletes the SA B made: INFORMATIONAL { D(ESP, A's SPI of it) } -->
    assert out_payloads(p, "a")[-1] == "INFORMATIONAL request { D }"
    p.deliver("a")
    assert new_b.state == S.C_DELETED
    down, = p.of("b", E.ChildSaDown)
    assert down.keys.spi_in == new_b.spi_in and down.reason == FAILED_REKEY
    # B's old SA is no longer rekeyed and never stopped carrying B's traffic
    assert old_b.state == S.C_INSTALLED and old_b.rekeyed_by is None
    assert not p.of("b", E.ChildSaRekeyed)
    changes = [(e.old, e.new) for e in p.of("b", E.ChildStateChange) if e.spi_in == old_b.spi_in]
    assert changes[-2:] == [(S.C_INSTALLED, S.C_REKEYED), (S.C_REKEYED, S.C_INSTALLED)]
    #                   <-- { D(ESP, B's SPI) }   (A never installed that half: ignored)
    p.deliver("b")
    p.advance(10.0)
    # exactly one SA pair on each side, the old one, and both send on it
    assert [c.spi_in for c in live(p.a)] == [old_a.spi_in]
    assert [c.spi_in for c in live(p.b)] == [old_b.spi_in]
    assert a.sends_on() == old_a.spi_out == old_b.spi_in
    assert b.sends_on() == old_b.spi_out == old_a.spi_in
    assert b.stack.sad.outbound.get(new_b.spi_out) is None
    assert_keys_agree(p, ka=old_a.keys, kb=old_b.keys)
    # the next rekey is accepted (before the fix: TEMPORARY_FAILURE, "already rekeyed")
    p.now = 11.0
    p.a.rekey_child(old_a.spi_in, 11.0)
    p.pump()
    assert len(p.of("a", E.IkeFailure)) == 1 and not p.of("b", E.IkeFailure)
    assert old_a.state == old_b.state == S.C_DELETED
    na, = live(p.a)
    nb, = live(p.b)
    assert (na.spi_in, na.spi_out) == (nb.spi_out, nb.spi_in)
    assert a.sends_on() == na.spi_out and b.sends_on() == nb.spi_out
    assert_keys_agree(p, ka=na.keys, kb=nb.keys)


def test_rejected_create_child_sa_response_deletes_the_responders_sa(monkeypatch):
    p = up(a=EXTRA, b=EXTRA_B)
    net_a, = installed(p.a)
    net_b, = installed(p.b)
    a, b = Shell(p, "a", 5), Shell(p, "b", 6)
    tamper = Tamper(monkeypatch, "ts")
    p.now = 1.0
    p.a.initiate("site", 1.0, "extra")
    # CREATE_CHILD_SA { SA, Ni, TSi(10.1.1.0/24), TSr } -->
    p.deliver("a")
    #                   <-- { SA, Nr, TSi(10.0.0.0/8), TSr }
    assert tamper.done == 1
    extra_b, = [c for c in installed(p.b) if c.name == "extra"]
    assert [e.outbound for e in p.of("b", E.ChildSaUp)][-1] is True
    p.deliver("b")
    fail, = p.of("a", E.IkeFailure)
    assert fail.notify == "TS_UNACCEPTABLE" and fail.sent_by_us and fail.child == "extra"
    assert "10.0.0.0/8" in fail.reason
    assert [c.name for c in live(p.a)] == ["net"]
    # INFORMATIONAL { D(ESP, A's SPI of 'extra') } -->
    assert out_payloads(p, "a")[-1] == "INFORMATIONAL request { D }"
    p.deliver("a")
    assert extra_b.state == S.C_DELETED
    assert [e.keys.spi_in for e in p.of("b", E.ChildSaDown)] == [extra_b.spi_in]
    #                   <-- { D(ESP, B's SPI) }
    p.deliver("b")
    p.advance(10.0)
    assert [c.spi_in for c in live(p.a)] == [net_a.spi_in]
    assert [c.spi_in for c in live(p.b)] == [net_b.spi_in]
    assert a.sends_on() == net_a.spi_out and b.sends_on() == net_b.spi_out
    assert b.stack.sad.outbound.get(extra_b.spi_out) is None
    # the child can be created afterwards, and the remaining pair still rekeys
    p.now = 11.0
    p.a.initiate("site", 11.0, "extra")
    p.pump()
    assert sorted(c.name for c in live(p.a)) == sorted(c.name for c in live(p.b)) == [
        "extra", "net"]
    p.a.rekey_child(net_a.spi_in, 12.0)
    p.pump()
    assert net_a.state == net_b.state == S.C_DELETED
    assert len(p.of("a", E.IkeFailure)) == 1 and not p.of("b", E.IkeFailure)
    assert_keys_agree(p)


def test_refusal_by_notify_sends_no_delete():
    """The peer refused (NO_PROPOSAL_CHOSEN): it made no SA, so there is nothing to delete
    (strongSwan process_i() returns on CHILD_SA error notifies before delete_failed_sa())."""
    p = up(a={"children": {"net": {"esp_proposals": ["aes128gcm16-x25519"]}}})
    c, = installed(p.a)
    p.a.rekey_child(c.spi_in, 1.0)
    p.pump()
    assert p.of("a", E.IkeFailure)[0].notify == "NO_PROPOSAL_CHOSEN"
    assert not any(s.startswith("INFORMATIONAL") for s in out_payloads(p, "a"))
    assert c.state == S.C_INSTALLED
