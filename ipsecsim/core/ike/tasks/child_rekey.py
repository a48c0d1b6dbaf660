"""CHILD_SA rekeying (RFC 7296 §1.3.3, §2.8) with make-before-break and collisions (§2.8.1).

::

    CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, [KEi], TSi, TSr } -->
                    <-- { SA, Nr, [KEr], TSi, TSr }
    INFORMATIONAL { D(old SPI) } -->
                  <-- { D(old SPI') }

The new SA is installed as soon as the exchange completes; the old one stays
installed (inbound keeps decrypting packets in flight) until its DELETE is
answered. The initiator sends on the new SA once it has the response. The
responder installs it when it answers but keeps *sending* on the old one until
the initiator's DELETE of the old SA arrives (``ChildSaUp(outbound=False)``,
then ``ChildSaRekeyed``): if the response is lost, the initiator does not have
the new SA yet. strongSwan does the same -- 5.x ``child_create.c``
``select_and_install()``: "as responder during a rekeying we only install the
inbound SA now, the outbound SA and policies are installed when we receive the
delete for the old SA", done by ``child_delete.c`` ``install_outbound()``; 6.0
moved it to ``child_rekey.c`` ``child_rekey_conclude_rekeying()``.

When both ends rekey the same CHILD_SA at once, the exchange with the lowest
of the four nonces made a redundant SA, which its initiator deletes (and never
sends on); the other initiator deletes the old SA, and the loser moves its
traffic to the winner's SA when that DELETE arrives (strongSwan 6.0
``child_rekey.c`` ``process_i()``: a loser concludes "when the peer deletes
the old SA").
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
from .informational import REDUNDANT, Informational, conclude_rekey

if TYPE_CHECKING:
    from ..context import TaskContext
    from ..payloads import Payload


class ChildRekey:
    """Initiator side of a CHILD_SA rekey."""

    exchange = M.CREATE_CHILD_SA

    def __init__(self, old: ChildSa) -> None:
        self.old = old
        self.child: ChildSa | None = None
        self.ni = b""
        self.kx: KeyExchange | None = None

    def build(self, ep: TaskContext, sa: IkeSa, now: float) -> list[Payload] | None:
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

    def process(self, ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> None:
        old, child = self.old, self.child
        assert child is not None
        refused = CC.peer_refusal(child, msg)
        if refused:
            ep.failure(sa, refused[0], refused[1], False, child=old.name)
            if old.state == S.C_REKEYING and old.collision is not None:
                _peer_rekeyed(ep, sa, old, f"our rekey refused ({refused[0]}), the peer's stands")
            elif old.state == S.C_REKEYING:
                old.move(ep, sa, "rekey_failed", refused[0])
                if refused[0] == "TEMPORARY_FAILURE":
                    old.rekey_at = tm.retry_time(ep, now)
            return
        try:
            suite, lts, rts, transport = CC.accept_response(ep, sa, child, msg, False)
            nr, shared = CC.response_keys(self, msg, "rekey response")
        except NegotiationError as exc:
            ep.failure(sa, exc.notify, exc.sentence, True, child=old.name)
            if old.state == S.C_REKEYING and old.collision is not None:
                _peer_rekeyed(ep, sa, old, "our rekey failed, the peer's stands")
            elif old.state == S.C_REKEYING:
                old.move(ep, sa, "rekey_failed", exc.sentence)
            # the responder installed the new SA and holds the old one REKEYED: delete ours so
            # it returns the old one to normal (informational.respond, undo_failed_rekey)
            CC.delete_failed_sa(ep, sa, child, msg, exc.sentence, now)
            return
        lost = False
        if old.state == S.C_REKEYING and old.collision is not None:
            peer_ni, our_nr, peer_child = old.collision
            lost = min(self.ni, nr) < min(peer_ni, our_nr)  # ours made the redundant SA
        # the peer's DELETE of the old SA came first: its own rekey of it stands, ours is redundant
        overtaken = old.state in (S.C_DELETED, S.C_DELETING) and old.rekeyed_by is not None
        CC.complete(ep, sa, child, suite, lts, rts, self.ni, nr, shared, True, transport, now,
                    outbound=not (lost or overtaken))
        if old.state in (S.C_DELETED, S.C_DELETING):
            if overtaken:
                tm.queue(ep, sa, Informational("delete_child", child, REDUNDANT), now)
            # else hard-expired or deleted while the rekey was in flight: the new SA stands alone
            return
        if old.collision is not None:
            peer_ni, our_nr, peer_child = old.collision
            if lost:  # delete our SA, keep the peer's; traffic moves at the peer's DELETE of old
                old.move(ep, sa, "rekeyed", "collision lost: peer's SA survives")
                old.rekeyed_by = peer_child
                tm.queue(ep, sa, Informational("delete_child", child, REDUNDANT), now)
                return
            detail = "collision won: peer deletes its redundant SA"
            peer_child.redundant = True
        else:
            detail = f"rekeyed to {child.spi_in:08x}/{child.spi_out:08x}"
        old.move(ep, sa, "rekeyed", detail)
        old.rekeyed_by = child
        old.outbound_held = False  # if its own predecessor's DELETE is still due: skip ahead
        assert old.keys is not None and child.keys is not None  # both installed
        ep.emit(E.ChildSaRekeyed(old.keys, child.keys))
        tm.queue(ep, sa, Informational("delete_child", old, "rekeyed"), now)


def _peer_rekeyed(ep: TaskContext, sa: IkeSa, old: ChildSa, detail: str) -> None:
    """Our rekey of ``old`` failed but the peer's, answered by us meanwhile, stands: its SA
    is the successor, and the peer deletes ``old`` (strongSwan 6.0 ``child_rekey.c``
    ``ignore_child_sa_failure()``: "the peer successfully rekeyed it", waiting for delete)."""
    assert old.collision is not None
    old.move(ep, sa, "rekeyed", detail)
    old.rekeyed_by = old.collision[2]


def respond(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> list[Payload]:
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
                       f"CHILD_SA {old.name!r} {old.spi_in:08x} is already rekeyed", fatal=False,
                       child=old.name)
    # inbound and outbound are installed, but we keep sending on the old SA until the peer's
    # DELETE of it shows the peer got this response (informational.conclude_rekey)
    child, ni, nr, out = CC.install_requested(ep, sa, msg, now, "rekey request", (old.cfg,),
                                              outbound=False)
    if old.state == S.C_REKEYING:
        old.collision = (ni, nr, child)  # decided when our own rekey completes
    else:
        old.move(ep, sa, "rekeyed", f"rekeyed by peer to {child.spi_in:08x}/{child.spi_out:08x}"
                 "; outbound moves at its DELETE of this SA")
        old.rekeyed_by = child
    return out


def start(ep: TaskContext, sa: IkeSa, child: ChildSa, now: float) -> None:
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


def expire(ep: TaskContext, sa: IkeSa, child: ChildSa, now: float, reason: str) -> None:
    """Hard lifetime: the SA is unusable now; tell the data plane and the peer."""
    child.expire_at = None
    child.rekey_at = None
    if child.state in (S.C_DELETED, S.C_DELETING):
        return
    conclude_rekey(ep, child)  # its successor's outbound waited for a DELETE that did not come
    ep.child_down(child, f"hard expired: {reason}")
    task = Informational("delete_child", child, f"hard expired: {reason}")
    child.move(ep, sa, "close", f"hard expired: {reason}")
    tm.queue(ep, sa, task, now)


def timers(ep: TaskContext, sa: IkeSa, now: float) -> None:
    for child in list(sa.children):
        if child.state == S.C_DELETED:
            if child.down_at is not None and now >= child.down_at:
                ep.child_down(child, child.down_reason)
            if child.down:
                sa.children.remove(child)  # gone from the data plane: forget it
            continue
        if child.expire_at is not None and now >= child.expire_at:
            expire(ep, sa, child, now, f"life_time {child.cfg.life_time:g} s")
        elif child.rekey_at is not None and now >= child.rekey_at:
            start(ep, sa, child, now)
