"""CHILD_SA rekeying (RFC 7296 §1.3.3, §2.8) with make-before-break and collisions (§2.8.1).

::

    CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, [KEi], TSi, TSr } -->
                    <-- { SA, Nr, [KEr], TSi, TSr }
    INFORMATIONAL { D(old SPI) } -->
                  <-- { D(old SPI') }

The new SA is installed as soon as the exchange completes; the old one stays
installed (inbound keeps decrypting packets in flight) until its DELETE is
answered. When both ends rekey the same CHILD_SA at once, the exchange with
the lowest of the four nonces made a redundant SA, which its initiator deletes;
the other initiator deletes the old SA.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import events as E
from .. import message as M
from .. import states as S
from .. import taskmanager as tm
from ..dh import KeyExchange
from ..ikesa import ChildSa, IkeError, IkeSa
from ..negotiate import NegotiationError
from . import child_create as CC
from .informational import REDUNDANT, Informational

if TYPE_CHECKING:
    from ..endpoint import IkeEndpoint


class ChildRekey:
    """Initiator side of a CHILD_SA rekey."""

    exchange = M.CREATE_CHILD_SA

    def __init__(self, old: ChildSa) -> None:
        self.old = old
        self.child: ChildSa | None = None
        self.ni = b""
        self.kx: KeyExchange | None = None

    def build(self, ep: IkeEndpoint, sa: IkeSa, now: float) -> list | None:
        old = self.old
        if old.state != S.C_INSTALLED:
            return None
        if sa.state != S.ESTABLISHED:  # the IKE_SA is being rekeyed or deleted: later
            old.rekey_at = now + 1.0
            return None
        old.move(ep, sa, "rekey")
        child = self.child = CC.new_child(ep, sa, old.cfg)
        child.local_ts, child.remote_ts = old.local_ts, old.remote_ts
        return CC.offer(child, False, CC.request_keys(self, ep, old.cfg), rekey_spi=old.spi_in)

    def process(self, ep: IkeEndpoint, sa: IkeSa, msg: M.IkeMessage, now: float) -> None:
        old, child = self.old, self.child
        assert child is not None
        refused = CC.peer_refusal(child, msg)
        if refused:
            ep._failure(sa, refused[0], refused[1], False)
            if old.state == S.C_REKEYING:
                old.move(ep, sa, "rekey_failed", refused[0])
                if refused[0] == "TEMPORARY_FAILURE":
                    old.rekey_at = tm.retry_time(ep, now)
            return
        try:
            suite, lts, rts, transport = CC.accept_response(ep, sa, child, msg, False)
            nr, shared = CC.response_keys(self, msg, "rekey response")
        except NegotiationError as exc:
            ep._failure(sa, exc.notify, exc.sentence, True)
            if old.state == S.C_REKEYING:
                old.move(ep, sa, "rekey_failed", exc.sentence)
            return
        CC.complete(ep, sa, child, suite, lts, rts, self.ni, nr, shared, True, transport, now)
        if old.state in (S.C_DELETED, S.C_DELETING):
            # hard-expired or deleted while the rekey was in flight: the new SA stands alone
            return
        if old.collision is not None:
            peer_ni, our_nr, peer_child = old.collision
            ours = min(self.ni, nr)
            theirs = min(peer_ni, our_nr)
            if ours < theirs:  # our exchange made the redundant SA: delete it, keep the peer's
                old.move(ep, sa, "rekeyed", "collision lost: peer's SA survives")
                old.rekeyed_by = peer_child
                ep._emit(E.ChildSaRekeyed(old.keys, peer_child.keys))
                tm.queue(ep, sa, Informational("delete_child", child, REDUNDANT), now)
                return
            detail = "collision won: peer deletes its redundant SA"
            peer_child.redundant = True
        else:
            detail = f"rekeyed to {child.spi_in:08x}/{child.spi_out:08x}"
        old.move(ep, sa, "rekeyed", detail)
        old.rekeyed_by = child
        ep._emit(E.ChildSaRekeyed(old.keys, child.keys))
        tm.queue(ep, sa, Informational("delete_child", old, "rekeyed"), now)


def respond(ep: IkeEndpoint, sa: IkeSa, msg: M.IkeMessage, now: float) -> list:
    """Responder side: the peer rekeys the CHILD_SA named by N(REKEY_SA)."""
    n = msg.notify(M.REKEY_SA)
    assert n is not None
    old = sa.child_by_spi_out(int.from_bytes(n.spi, "big")) if len(n.spi) == 4 else None
    if old is None or old.state in (S.C_DELETED, S.C_DELETING):
        raise IkeError(M.CHILD_SA_NOT_FOUND,
                       f"peer rekeys CHILD_SA {n.spi.hex()}, which we do not have (any more)",
                       fatal=False)
    if old.state == S.C_REKEYED:
        raise IkeError(M.TEMPORARY_FAILURE,
                       f"CHILD_SA {old.name!r} {old.spi_in:08x} is already rekeyed", fatal=False)
    child, ni, nr, out = CC.install_requested(ep, sa, msg, now, "rekey request", (old.cfg,))
    if old.state == S.C_REKEYING:
        old.collision = (ni, nr, child)  # decided when our own rekey completes
    else:
        old.move(ep, sa, "rekeyed", f"rekeyed by peer to {child.spi_in:08x}/{child.spi_out:08x}")
        old.rekeyed_by = child
        ep._emit(E.ChildSaRekeyed(old.keys, child.keys))
    return out


def start(ep: IkeEndpoint, sa: IkeSa, child: ChildSa, now: float) -> None:
    """Begin rekeying ``child`` (soft lifetime reached, or asked to)."""
    child.rekey_at = None
    if child.state != S.C_INSTALLED:
        return
    if sa.state != S.ESTABLISHED:
        child.rekey_at = now + 1.0  # the IKE_SA is busy (rekeying): try again shortly
        return
    if any(isinstance(t, ChildRekey) and t.old is child for t in sa.tasks):
        return
    tm.queue(ep, sa, ChildRekey(child), now)


def expire(ep: IkeEndpoint, sa: IkeSa, child: ChildSa, now: float, reason: str) -> None:
    """Hard lifetime: the SA is unusable now; tell the data plane and the peer."""
    child.expire_at = None
    child.rekey_at = None
    if child.state in (S.C_DELETED, S.C_DELETING):
        return
    ep._child_down(child, f"hard expired: {reason}")
    task = Informational("delete_child", child, f"hard expired: {reason}")
    child.move(ep, sa, "close", f"hard expired: {reason}")
    tm.queue(ep, sa, task, now)


def timers(ep: IkeEndpoint, sa: IkeSa, now: float) -> None:
    for child in list(sa.children):
        if child.state == S.C_DELETED:
            if child.down_at is not None and now >= child.down_at:
                ep._child_down(child, child.down_reason)
            if child.down:
                sa.children.remove(child)  # gone from the data plane: forget it
            continue
        if child.expire_at is not None and now >= child.expire_at:
            expire(ep, sa, child, now, f"life_time {child.cfg.life_time:g} s")
        elif child.rekey_at is not None and now >= child.rekey_at:
            start(ep, sa, child, now)
