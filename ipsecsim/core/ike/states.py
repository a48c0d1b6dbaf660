"""IKE_SA and CHILD_SA states and their transitions, as tables (h11's ``_state.py`` style).

``IKE_TRANSITIONS[state][event] -> new state`` and ``CHILD_TRANSITIONS`` likewise.
The engine moves an SA only through :func:`ike_next` / :func:`child_next`; an
event the table does not list for the current state is a bug in the engine and
raises :class:`TransitionError`. The tables are also what the visualisation
draws (:func:`edges`) and what the tests assert against.

State names follow strongSwan's (``ike_sa_state_t``, ``child_sa_state_t``).
"""

from __future__ import annotations

from ..errors import IpsecSimError

# IKE_SA states
CREATED = "CREATED"
CONNECTING = "CONNECTING"
ESTABLISHED = "ESTABLISHED"
REKEYING = "REKEYING"
REKEYED = "REKEYED"
DELETING = "DELETING"
DESTROYED = "DESTROYED"

IKE_STATES = (CREATED, CONNECTING, ESTABLISHED, REKEYING, REKEYED, DELETING, DESTROYED)

#: IKE_SA: state -> {event: new state}
IKE_TRANSITIONS: dict[str, dict[str, str]] = {
    CREATED: {
        "send_init": CONNECTING,  # initiator sent IKE_SA_INIT
        "recv_init": CONNECTING,  # responder answered IKE_SA_INIT
        "adopt": ESTABLISHED,  # born from an IKE_SA rekey (CREATE_CHILD_SA)
        "peer_delete": DESTROYED,  # a redundant SA of a rekey collision, deleted by the peer
        "fail": DESTROYED,
    },
    CONNECTING: {
        "authenticated": ESTABLISHED,  # IKE_AUTH done
        "fail": DESTROYED,  # error notify, auth failure, retransmits exhausted
        "close": DELETING,
    },
    ESTABLISHED: {
        "rekey": REKEYING,  # we sent CREATE_CHILD_SA for the IKE_SA
        "rekeyed": REKEYED,  # a new IKE_SA took over (we were the responder)
        "close": DELETING,  # we sent DELETE
        "peer_delete": DESTROYED,  # peer's DELETE answered
        "fail": DESTROYED,  # dead peer, hard lifetime
    },
    REKEYING: {
        "rekeyed": REKEYED,
        "rekey_failed": ESTABLISHED,
        "close": DELETING,
        "peer_delete": DESTROYED,
        "fail": DESTROYED,
    },
    REKEYED: {
        "close": DELETING,
        "peer_delete": DESTROYED,
        "fail": DESTROYED,
    },
    DELETING: {
        "deleted": DESTROYED,
        "peer_delete": DESTROYED,
        "fail": DESTROYED,
    },
    DESTROYED: {},
}

# CHILD_SA states
C_CREATED = "CREATED"
C_INSTALLED = "INSTALLED"
C_REKEYING = "REKEYING"
C_REKEYED = "REKEYED"
C_DELETING = "DELETING"
C_DELETED = "DELETED"

CHILD_STATES = (C_CREATED, C_INSTALLED, C_REKEYING, C_REKEYED, C_DELETING, C_DELETED)

#: CHILD_SA: state -> {event: new state}
CHILD_TRANSITIONS: dict[str, dict[str, str]] = {
    C_CREATED: {
        "install": C_INSTALLED,
        "fail": C_DELETED,
    },
    C_INSTALLED: {
        "rekey": C_REKEYING,  # we sent CREATE_CHILD_SA with REKEY_SA
        "rekeyed": C_REKEYED,  # a successor is installed (either side rekeyed)
        "close": C_DELETING,  # we sent DELETE
        "peer_delete": C_DELETED,
        "expire": C_DELETED,  # hard lifetime
        "fail": C_DELETED,
    },
    C_REKEYING: {
        "rekeyed": C_REKEYED,
        "rekey_failed": C_INSTALLED,
        "close": C_DELETING,
        "peer_delete": C_DELETED,
        "expire": C_DELETED,
        "fail": C_DELETED,
    },
    C_REKEYED: {
        "rekey_failed": C_INSTALLED,  # the peer deleted the successor it could not use
        "close": C_DELETING,
        "peer_delete": C_DELETED,
        "expire": C_DELETED,
        "fail": C_DELETED,
    },
    C_DELETING: {
        "deleted": C_DELETED,
        "peer_delete": C_DELETED,
        "expire": C_DELETED,
        "fail": C_DELETED,
    },
    C_DELETED: {},
}


class TransitionError(IpsecSimError, RuntimeError):
    """The engine tried a transition the table does not allow: a bug, not a peer's fault."""


def ike_next(state: str, event: str) -> str:
    """The IKE_SA state after ``event``; raises :class:`TransitionError` if not allowed."""
    try:
        return IKE_TRANSITIONS[state][event]
    except KeyError:
        raise TransitionError(f"IKE_SA: no transition from {state} on {event!r}") from None


def child_next(state: str, event: str) -> str:
    """The CHILD_SA state after ``event``; raises :class:`TransitionError` if not allowed."""
    try:
        return CHILD_TRANSITIONS[state][event]
    except KeyError:
        raise TransitionError(f"CHILD_SA: no transition from {state} on {event!r}") from None


def edges(table: dict[str, dict[str, str]]) -> list[tuple[str, str, str]]:
    """(from, event, to) triples of a table, for drawing."""
    return [(s, e, t) for s, row in table.items() for e, t in row.items()]


def format_table(table: dict[str, dict[str, str]]) -> str:
    """A printable listing, one transition per line."""
    return "\n".join(f"{s:<12} --{e}--> {t}" for s, e, t in edges(table))
