"""Moves messages for one IKE_SA: queued tasks, the request window, retransmission, responses.

strongSwan's ``task_manager_v2.c`` in small: we have at most one request in
flight (window 1, RFC 7296 §2.3); queued tasks wait their turn. A request is
retransmitted after ``timeout × base^n`` seconds (strongSwan's schedule: 4 s,
×1.8, 5 retransmissions, then the IKE_SA fails). A request the peer repeats
gets our cached response; a response we did not ask for is dropped and counted.

A task (``context.Task``) is an object with ``exchange`` (int), ``build(ep, sa,
now) -> list | None`` (the request payloads, or None when it is no longer needed),
``process(ep, sa, msg, now)`` (the response) and, optionally, ``timed_out(ep,
sa, reason, now) -> bool`` (True: the task ended the IKE_SA its own way when
the peer never answered). Responder sides are functions ``respond(ep, sa, msg,
now) -> list`` in the ``tasks`` modules; the endpoint picks one per request.
``ep`` is the endpoint as a ``context.TaskContext``: tasks and this module use
nothing of it but what that Protocol lists. This module imports no task, so
every task can import it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import fragments
from . import message as M
from . import states as S
from .ikesa import IkeError, IkeSa, Pending

if TYPE_CHECKING:
    from .context import Task, TaskContext
    from .payloads import Payload


RETRY_DELAY = 10.0
"""Seconds before a rekey the peer refused is tried again (times 1 to 2, seeded jitter)."""


def retry_time(ep: TaskContext, now: float) -> float:
    """When to try a refused rekey again: ``now`` + :data:`RETRY_DELAY` × (1 + jitter)."""
    return now + RETRY_DELAY * (1 + ep.rng.random())


def queue(ep: TaskContext, sa: IkeSa, task: Task, now: float, front: bool = False) -> None:
    """Add a task and start it if the window is free."""
    if front:
        sa.tasks.appendleft(task)
    else:
        sa.tasks.append(task)
    kick(ep, sa, now)


def kick(ep: TaskContext, sa: IkeSa, now: float) -> None:
    """Send the next queued request if none is outstanding."""
    while sa.pending is None and sa.tasks and sa.state != S.DESTROYED:
        task = sa.tasks.popleft()
        payloads = task.build(ep, sa, now)
        if payloads is None:
            continue
        send_request(ep, sa, task, payloads, now)


def _timeout(ep: TaskContext, sa: IkeSa, tries: int) -> float:
    """strongSwan's ``retransmission_timeout()``: ``min(timeout × base^tries, limit)``, less a
    random part of at most ``retransmit_jitter`` percent of it (the first wait too)."""
    conn = sa.conn
    t = conn.retransmit_timeout * conn.retransmit_base ** tries
    if conn.retransmit_limit and t > conn.retransmit_limit:
        t = conn.retransmit_limit
    if conn.retransmit_jitter:
        t -= t * conn.retransmit_jitter / 100 * ep.rng.random()
    return t


def send_request(ep: TaskContext, sa: IkeSa, task: Task, payloads: list[Payload],
                 now: float) -> None:
    ex = task.exchange
    msg = M.IkeMessage(sa.spi_i, sa.spi_r, ex, sa.next_send_mid, sa.initiator, False, payloads)
    if ex == M.IKE_SA_INIT:
        data = M.encode(msg)
        sa.init_request = data
        datagrams = [fragments.marked(sa, data)]
    else:
        datagrams = fragments.encode(ep, sa, msg)  # RFC 7383: several when too big
    summary = msg.summary()
    sa.pending = Pending(sa.next_send_mid, ex, datagrams, summary, task, now,
                         now + _timeout(ep, sa, 0))
    sa.next_send_mid += 1
    ep.transmit(sa, sa.pending.datagrams, msg, summary, 0)


def handle_response(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, raw: bytes, now: float) -> None:
    pending = sa.pending
    assert pending is not None
    sa.pending = None
    if msg.exchange == M.IKE_SA_INIT:
        sa.init_response = raw
    pending.task.process(ep, sa, msg, now)
    kick(ep, sa, now)


Responder = Callable[["TaskContext", IkeSa, M.IkeMessage, float], "list[Payload]"]
"""``respond(ep, sa, msg, now) -> payloads``; raises :class:`IkeError` to refuse."""


def handle_request(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, raw: bytes, now: float,
                   respond: Responder) -> None:
    """Answer the peer's request (message ID already checked) and cache the answer."""
    fatal = None
    try:
        payloads = respond(ep, sa, msg, now)
    except IkeError as err:
        payloads = getattr(err, "payloads", None) or [M.Notify(err.notify, data=err.data)]
        ep.failure(sa, M.NOTIFY_NAMES.get(err.notify, str(err.notify)), err.sentence, True,
                   fatal=err.fatal, child=err.child)
        if err.fatal:
            fatal = err
    send_response(ep, sa, msg, payloads, raw, now)
    if fatal is not None and sa.state != S.DESTROYED:
        ep.destroy(sa, f"{M.NOTIFY_NAMES.get(fatal.notify)}: {fatal.sentence}", now)
    kick(ep, sa, now)


def send_response(ep: TaskContext, sa: IkeSa, req: M.IkeMessage, payloads: list[Payload],
                  raw: bytes, now: float) -> None:
    msg = M.IkeMessage(sa.spi_i, sa.spi_r, req.exchange, req.msg_id, sa.initiator, True, payloads)
    sa.last_request = raw
    sa.last_response = fragments.encode(ep, sa, msg)  # all fragments are resent (RFC 7383 §2.6.1)
    sa.next_recv_mid = req.msg_id + 1
    ep.transmit(sa, sa.last_response, msg, msg.summary(), 0)


def check_retransmit(ep: TaskContext, sa: IkeSa, now: float) -> None:
    """Retransmit the outstanding request if its time has come, or give up."""
    p = sa.pending
    if p is None or now < p.deadline:
        return
    if p.tries >= sa.conn.retransmit_tries:
        total = now - p.sent_at
        name = M.EXCHANGE_NAMES.get(p.exchange, str(p.exchange))
        reason = (f"no response to {name} (message ID {p.msg_id}) after {p.tries} "
                  f"retransmissions over {total:.1f} s")
        sa.pending = None
        timed_out = getattr(p.task, "timed_out", None)
        if timed_out is not None and timed_out(ep, sa, reason, now):
            return
        ep.failure(sa, "TIMEOUT", reason, False, fatal=True)
        ep.destroy(sa, reason, now, dead=True)
        return
    p.tries += 1
    p.deadline = now + _timeout(ep, sa, p.tries)
    ep.transmit(sa, p.datagrams, None, p.summary, p.tries, exchange=p.exchange, msg_id=p.msg_id)
