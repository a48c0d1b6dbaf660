"""INFORMATIONAL (RFC 7296 §1.4): DELETE of CHILD_SAs and the IKE_SA, liveness checks (DPD).

::

    INFORMATIONAL { D(ESP, SPI) } -->            <-- { D(ESP, SPI') }
    INFORMATIONAL { D(IKE) } -->                 <-- { }
    INFORMATIONAL { } -->                        <-- { }          (DPD, §2.4)

A liveness check is sent after ``dpd_delay`` seconds without hearing from the
peer: no IKE message and no inbound ESP/AH on its CHILD_SAs (reported by the shell
with ``IkeEndpoint.note_inbound``), as strongSwan's ``ike_sa.c`` ``send_dpd()`` does
with ``get_use_time()``; the retransmission schedule decides death (about 165 s with
strongSwan's defaults), after which each child's ``dpd_action`` applies. NAT keepalives
(one 0xFF byte on port 4500, RFC 3948 §2.3) are sent here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ... import algorithms as A
from ...natt import KEEPALIVE, NATT_PORT
from .. import events as E
from .. import message as M
from .. import states as S
from .. import taskmanager as tm
from ..ikesa import ChildSa, IkeSa
from .child_create import ChildCreate

if TYPE_CHECKING:
    from ..context import TaskContext
    from ..payloads import Payload

DELETE_REKEYED_DELAY = 5.0
"""strongSwan's ``delete_rekeyed_delay``: a rekeyed SA leaves the data plane 5 s after its
DELETE, so that packets still in flight on it decrypt (reordering, longer paths)."""
REDUNDANT = "redundant (rekey collision)"
REKEY_REASONS = frozenset({"rekeyed", REDUNDANT})
FAILED_REKEY = "deleted by peer: it could not use our rekey response"


Kind = Literal["dpd", "delete_child", "delete_ike"]
"""What an :class:`Informational` request does: a liveness check, or a DELETE."""


class Informational:
    """Initiator side: ``dpd``, ``delete_child`` or ``delete_ike``."""

    exchange = M.INFORMATIONAL

    def __init__(self, kind: Kind, child: ChildSa | None = None, reason: str = "") -> None:
        self.kind = kind
        self.child = child
        self.reason = reason

    def build(self, ep: TaskContext, sa: IkeSa, now: float) -> list[Payload] | None:
        if self.kind == "dpd":
            return [] if sa.state in (S.ESTABLISHED, S.REKEYING, S.REKEYED) else None
        if self.kind == "delete_ike":
            if sa.state == S.DESTROYED:
                return None
            if sa.state != S.DELETING:
                sa.move(ep, "close", now, self.reason)
            return [M.Delete(A.PROTO_IKE, [])]
        child = self.child
        assert child is not None
        if child.state == S.C_DELETED:
            return None
        if child.state != S.C_DELETING:
            child.move(ep, sa, "close", self.reason)
        return [M.Delete(M.PROTOCOL_IDS[child.cfg.protocol], [child.spi_in.to_bytes(4, "big")])]

    def timed_out(self, ep: TaskContext, sa: IkeSa, reason: str, now: float) -> bool:
        """An unanswered DELETE of the IKE_SA still ends it, quietly: we were leaving anyway
        (§1.4.1). Other kinds leave the failure to the task manager (a dead peer)."""
        if self.kind != "delete_ike":
            return False
        finish_ike(ep, sa, "deleted", f"deleted; {reason}", now)
        return True

    def process(self, ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> None:
        if self.kind == "delete_ike":
            finish_ike(ep, sa, "deleted", self.reason, now)
        elif self.kind == "delete_child":
            child = self.child
            assert child is not None
            if child.state != S.C_DELETED:
                child.move(ep, sa, "deleted", self.reason)
                delay = DELETE_REKEYED_DELAY if self.reason in REKEY_REASONS else 0.0
                ep.child_down(child, self.reason, now, delay)


def conclude_rekey(ep: TaskContext, old: ChildSa) -> None:
    """Move the traffic of rekeyed ``old`` to its successor if that waited for this moment
    (``ChildSaUp(outbound=False)``): the peer's DELETE of ``old`` shows it has the new SA.

    strongSwan 5.x ``child_delete.c`` ``destroy_and_reestablish()`` installs the outbound
    SA of a rekeyed CHILD_SA's successor (``install_outbound()``) when the DELETE arrives;
    6.0 calls ``child_rekey_conclude_rekeying()`` there, which also raises the child-rekey
    event only then -- our ``ChildSaRekeyed``.
    """
    new = old.rekeyed_by
    if new is None or not new.outbound_held:
        return
    new.outbound_held = False
    if old.keys is not None and new.keys is not None and new.state in (S.C_INSTALLED,
                                                                       S.C_REKEYING):
        ep.emit(E.ChildSaRekeyed(old.keys, new.keys))


def undo_failed_rekey(ep: TaskContext, sa: IkeSa, new: ChildSa, now: float) -> bool:
    """The peer deletes ``new``, which we made answering its rekey, before it deleted the old
    SA: it could not use our response (``child_create.DeleteFailed``). The old SA is no longer
    rekeyed -- back to INSTALLED, its outbound never moved -- so the next rekey is accepted.
    True if ``new`` was such an SA; a collision's pending decision forgets ``new`` instead
    (then ``new`` is redundant). strongSwan 5.x ``child_create.c`` ``delete_failed_sa()``
    sends this DELETE; the old SA is still usable there because ``child_delete.c`` installs
    a rekeyed SA's outbound successor only with the DELETE of the old SA
    (``install_outbound()``)."""
    if not new.outbound_held:
        return False
    for old in sa.children:
        if old.rekeyed_by is new and old.state == S.C_REKEYED:
            old.rekeyed_by = None
            old.move(ep, sa, "rekey_failed", f"peer deleted {new.spi_in:08x}, its rekey failed")
            if old.rekey_at is None and old.cfg.rekey_time:  # our own rekey came due meanwhile
                old.rekey_at = tm.retry_time(ep, now)
            return True
        if old.collision is not None and old.collision[2] is new and old.state == S.C_REKEYING:
            # crossing rekeys: the peer dropped the exchange we answered (it lost, or could
            # not use our response); our own rekey of ``old`` decides alone
            old.collision = None
            new.redundant = True
            return False
    return False


def finish_ike(ep: TaskContext, sa: IkeSa, event: Literal["deleted", "peer_delete"],
               reason: str, now: float) -> None:
    """The IKE_SA is gone by agreement: its remaining children go down with it."""
    for child in sa.children:
        if child.state != S.C_DELETED:
            child.move(ep, sa, "peer_delete" if event == "peer_delete" else "fail", reason)
            ep.child_down(child, reason)
    sa.move(ep, event, now, reason)
    sa.pending = None
    sa.tasks.clear()
    ep.forget(sa)
    ep.emit(E.IkeSaDown(sa.name, reason))


def delete_child(ep: TaskContext, sa: IkeSa, child: ChildSa, now: float, reason: str) -> None:
    tm.queue(ep, sa, Informational("delete_child", child, reason), now)


def delete_ike(ep: TaskContext, sa: IkeSa, now: float, reason: str) -> None:
    tm.queue(ep, sa, Informational("delete_ike", None, reason), now)


def respond(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> list[Payload]:
    """Responder: apply the peer's DELETEs and answer with ours; an empty request is DPD.

    N(AUTHENTICATION_FAILED) here is RFC 7296 §2.21.2: the initiator could not verify our
    IKE_AUTH response (an IDr it did not expect, a CA it does not trust) after we had
    counted the IKE_SA as up. The IKE_SA and its CHILD_SAs end with that sentence."""
    if msg.notify(M.AUTHENTICATION_FAILED) is not None:
        ep.fail(sa, "AUTHENTICATION_FAILED",
                "peer rejected our IKE_AUTH response: AUTHENTICATION_FAILED", False, now)
        return []
    out: list[Payload] = []
    for d in msg.find_all(M.Delete):
        if d.protocol == A.PROTO_IKE:
            finish_ike(ep, sa, "peer_delete", "deleted by peer", now)
            return []
        ours = []
        for spi in d.spis:
            child = sa.child_by_spi_out(int.from_bytes(spi, "big"))
            if child is None or child.state == S.C_DELETED:
                continue  # already gone (§1.4.1: ignore)
            if child.state == S.C_REKEYING and child.collision is not None:
                # crossing rekeys, and the peer concluded its own (it won, or never saw ours):
                # the SA we made answering it is the successor
                child.move(ep, sa, "rekeyed", "rekeyed by peer: its DELETE came before our "
                           "rekey's response")
                child.rekeyed_by = child.collision[2]
            failed = undo_failed_rekey(ep, sa, child, now)
            conclude_rekey(ep, child)
            answer = child.state != S.C_DELETING  # simultaneous delete: no answer needed
            reason = ("rekeyed" if child.state == S.C_REKEYED
                      else REDUNDANT if child.redundant
                      else FAILED_REKEY if failed else "deleted by peer")
            closing = child.state == S.C_INSTALLED and not child.redundant and not failed
            child.move(ep, sa, "peer_delete", reason)
            ep.child_down(child, reason, now,
                          DELETE_REKEYED_DELAY if reason in REKEY_REASONS else 0.0)
            if closing and child.cfg.close_action == "start":  # swanctl close_action
                tm.queue(ep, sa, ChildCreate(child.cfg), now)
            if answer:
                ours.append(child.spi_in.to_bytes(4, "big"))
        if ours:
            out.append(M.Delete(d.protocol, ours))
    return out


def schedule(ep: TaskContext, sa: IkeSa, now: float) -> None:
    """Arm DPD and NAT keepalives for a freshly established IKE_SA."""
    if sa.conn.dpd_delay:
        sa.dpd_at = now + sa.conn.dpd_delay
    if sa.nat_local and ep.config.nat_keepalive:
        sa.keepalive_at = now + ep.config.nat_keepalive


def timers(ep: TaskContext, sa: IkeSa, now: float) -> None:
    if sa.keepalive_at is not None and now >= sa.keepalive_at:
        ep.send_datagram(KEEPALIVE, (sa.local[0], NATT_PORT), sa.remote)
        sa.keepalive_at = now + ep.config.nat_keepalive
    if sa.dpd_at is not None and now >= sa.dpd_at:
        delay = sa.conn.dpd_delay
        # strongSwan ike_sa.c send_dpd(): probe only if nothing came in for dpd_delay, where
        # "came in" is the latest of an IKE message and the CHILD_SAs' inbound use time
        # (child_sa.c get_usestats(); the kernel's in/fwd policy use time)
        last = max(sa.last_heard, sa.last_esp_in)
        idle = now - last
        if idle >= delay and sa.pending is None and not sa.tasks and sa.state == S.ESTABLISHED:
            tm.queue(ep, sa, Informational("dpd"), now)
            sa.dpd_at = now + delay
        else:
            sa.dpd_at = max(last + delay, now + 0.001) if idle < delay else now + delay
