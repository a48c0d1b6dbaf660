"""IKE_SA reauthentication (swanctl.conf ``reauth_time``), strongSwan 5.9's way.

A reauthentication is not a rekey: a completely new IKE_SA is negotiated from
scratch (IKE_SA_INIT + IKE_AUTH, credentials checked again, new SPIs and keys not
derived from the old SK_d) and every CHILD_SA is created again over it; the old
IKE_SA is deleted. Either peer whose ``reauth_time`` expires does it, and becomes
the original initiator of the new IKE_SA (``ike_sa.c`` ``reauth()`` reauthenticates
"actively" as responder when no EAP/virtual IP is involved).

Break-before-make (default; ``ike_reauth.c``, ``ike_sa.c`` ``reestablish()``)::

    INFORMATIONAL { D(IKE) } -->              (old IKE_SA, its CHILD_SAs go with it)
                  <-- { }
    IKE_SA_INIT { SA, KEi, Ni } -->           (new IKE_SA, new SPIs)
    IKE_AUTH { IDi, AUTH, SA, TSi, TSr } -->  (first CHILD_SA; CREATE_CHILD_SA for the others)

Make-before-break (``make_before_break: yes``; strongswan.conf
``charon.make_before_break``, ``task_manager_v2.c`` ``trigger_mbb_reauth()`` and
``ike_reauth_complete.c``): the new IKE_SA and all its CHILD_SAs come up first, the
old IKE_SA is deleted last, so traffic never lacks an SA.

Timing (``ike_sa.c`` ``set_state(IKE_ESTABLISHED)``): reauth at ``reauth_time``
minus a random part of ``rand_time``; the hard end is the earlier of the rekey and
reauth times plus ``over_time``. The reauth time survives an IKE_SA rekey
(``ike_sa.c`` ``inherit_post()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ... import algorithms as A
from .. import message as M
from .. import states as S
from .. import taskmanager as tm
from ..config import ChildConfig
from ..ikesa import IkeSa
from . import ike_auth, ike_init, informational
from .child_create import ChildCreate

if TYPE_CHECKING:
    from ..context import Task, TaskContext
    from ..payloads import Payload

REASON = "reauthenticating"
"""Reason of the old IKE_SA's (and its CHILD_SAs') end in break-before-make."""
DONE = "reauthenticated"
"""Reason of the old IKE_SA's end once its make-before-break successor is up."""


def schedule(ep: TaskContext, sa: IkeSa, now: float) -> None:
    """Arm reauthentication for a freshly authenticated IKE_SA (call before ike_rekey.schedule,
    which bounds the hard end by it). No random draw when ``reauth_time`` is 0."""
    c = sa.conn
    sa.reauth_at = now + c.reauth_time - ep.rng.uniform(0, c.rand_time) if c.reauth_time else None


def timers(ep: TaskContext, sa: IkeSa, now: float) -> None:
    if sa.reauth_at is not None and now >= sa.reauth_at:
        start(ep, sa, now)


def start(ep: TaskContext, sa: IkeSa, now: float) -> None:
    """Reauthenticate ``sa`` now (its timer fired, or a caller asks)."""
    sa.reauth_at = None
    if sa.conn.make_before_break:
        if sa.state == S.ESTABLISHED:
            _make_before_break(ep, sa, now)
        elif sa.state == S.REKEYING:  # the rekey carries the retry time over to the new IKE_SA
            sa.reauth_at = tm.retry_time(ep, now)
    elif sa.state in (S.ESTABLISHED, S.REKEYING) and \
            not any(isinstance(t, IkeReauth) for t in sa.tasks):
        tm.queue(ep, sa, IkeReauth(), now)  # a rekey in flight hands it to the new IKE_SA


def _children(ep: TaskContext, sa: IkeSa) -> tuple[list[ChildConfig], list[ChildCreate]]:
    """Configs of the CHILD_SAs to create again (not those already rekeyed or deleted, as in
    ``trigger_mbb_reauth()``) and the queued CHILD_SA creations, taken off ``sa``."""
    cfgs = [c.cfg for c in sa.children if c.state in (S.C_INSTALLED, S.C_REKEYING)]
    cfgs = list({c.name: c for c in cfgs}.values())
    queued = [t for t in sa.tasks if isinstance(t, ChildCreate)]
    for t in queued:
        sa.tasks.remove(t)
    return cfgs, queued


def reestablish(ep: TaskContext, old: IkeSa, cfgs: list[ChildConfig], queued: list[ChildCreate],
                now: float, then: Task | None = None) -> IkeSa:
    """A new IKE_SA towards the same peer, we its original initiator: IKE_SA_INIT, IKE_AUTH
    with the first child, CREATE_CHILD_SA for the others, then ``then`` (a task) if given."""
    new = ep.new_sa(old.conn, True, ep.rng.bytes(8), bytes(8), old.local, old.remote)
    new.last_heard = now
    new.first_child = cfgs[0].name if cfgs else None
    new.tasks.append(ike_init.IkeInit())
    new.tasks.append(ike_auth.new_task(new))
    new.tasks.extend(ChildCreate(c) for c in cfgs[1:])
    new.tasks.extend(t for t in queued if not (cfgs and t.cfg.name == cfgs[0].name))
    if then is not None:
        new.tasks.append(then)
    tm.kick(ep, new, now)
    return new


def _make_before_break(ep: TaskContext, old: IkeSa, now: float) -> None:
    cfgs, queued = _children(ep, old)
    if not cfgs and not queued:  # strongSwan: "unable to reauthenticate IKE_SA, no CHILD_SA"
        ep.failure(old, "REAUTH", "make-before-break reauthentication needs a CHILD_SA to "
                   "recreate; the IKE_SA stays until its hard lifetime", True)
        return
    reestablish(ep, old, cfgs, queued, now, ReauthComplete(old))


class IkeReauth:
    """Break-before-make: DELETE the old IKE_SA, then establish a new one (``ike_reauth.c``)."""

    exchange = M.INFORMATIONAL

    def build(self, ep: TaskContext, sa: IkeSa, now: float) -> list[Payload] | None:
        if sa.state != S.ESTABLISHED:
            return None
        self.cfgs, self.queued = _children(ep, sa)
        sa.move(ep, "close", now, REASON)
        return [M.Delete(A.PROTO_IKE, [])]

    def process(self, ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> None:
        informational.finish_ike(ep, sa, "deleted", REASON, now)
        reestablish(ep, sa, self.cfgs, self.queued, now)

    def timed_out(self, ep: TaskContext, sa: IkeSa, reason: str, now: float) -> bool:
        """``ike_sa.c`` ``retransmit()``: "delete during reauthentication failed, trying to
        reestablish IKE_SA anyway"."""
        informational.finish_ike(ep, sa, "deleted", f"{REASON}; {reason}", now)
        reestablish(ep, sa, self.cfgs, self.queued, now)
        return True


class ReauthComplete:
    """Make-before-break, last task of the new IKE_SA (after its CHILD_SAs): delete the old
    one (``ike_reauth_complete.c``). It sends nothing on the new IKE_SA itself."""

    exchange = M.INFORMATIONAL

    def __init__(self, old: IkeSa) -> None:
        self.old = old

    def build(self, ep: TaskContext, sa: IkeSa, now: float) -> None:
        old = self.old
        while old.rekeyed_by is not None:  # rekeyed while we reauthenticated: delete the heir
            old = old.rekeyed_by
        if sa.state == S.ESTABLISHED and old.state in (S.ESTABLISHED, S.REKEYING, S.REKEYED):
            old.reauth_at = old.rekey_at = None
            informational.delete_ike(ep, old, now, DONE)
        return None

    def process(self, ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> None:
        """Never called: :meth:`build` sends no request."""
