"""IKEv2 exchanges as tasks, one module each (strongSwan's ``sa/ikev2/tasks/``).

Each module has the initiator's task class (``build``/``process``) and the
responder's ``respond(ep, sa, msg, now) -> payloads``; :func:`respond` picks the
responder for a request, as strongSwan's task manager does for an incoming one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import message as M
from .. import states as S
from ..ikesa import IkeError, IkeSa
from . import child_create, child_rekey, ike_auth, ike_rekey, informational

if TYPE_CHECKING:
    from ..context import TaskContext
    from ..payloads import Payload


def respond(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> list[Payload]:
    """The responder task for a request, by exchange (and, for CREATE_CHILD_SA, by what the
    SA payload and REKEY_SA say: an IKE_SA rekey, a CHILD_SA rekey or a new CHILD_SA)."""
    ex = msg.exchange
    if ex == M.IKE_AUTH:
        return ike_auth.respond(ep, sa, msg, now)
    if ex == M.INFORMATIONAL:
        return informational.respond(ep, sa, msg, now)
    if ex != M.CREATE_CHILD_SA:
        raise IkeError(M.INVALID_SYNTAX, f"unexpected exchange type {ex} in a request")
    if sa.state not in (S.ESTABLISHED, S.REKEYING):
        raise IkeError(M.TEMPORARY_FAILURE, f"CREATE_CHILD_SA refused: the IKE_SA is {sa.state}",
                       fatal=False)
    sa_p = msg.find(M.SA)
    if sa_p is not None and sa_p.proposals and sa_p.proposals[0].protocol == M.PROTOCOL_IDS["ike"]:
        return ike_rekey.respond(ep, sa, msg, now)
    if msg.notify(M.REKEY_SA) is not None:
        return child_rekey.respond(ep, sa, msg, now)
    return child_create.respond(ep, sa, msg, now)


__all__ = ["child_create", "child_rekey", "ike_auth", "ike_rekey", "informational", "respond"]
