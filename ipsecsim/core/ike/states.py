"""IKE_SA and CHILD_SA states and their transitions, as tables (h11's ``_state.py`` style).

``IKE_TRANSITIONS[state][event] -> new state`` and ``CHILD_TRANSITIONS`` likewise.
The engine moves an SA only through :func:`ike_next` / :func:`child_next`; an
event the table does not list for the current state is a bug in the engine and
raises :class:`TransitionError`. The tables are also what the visualisation
draws (:func:`edges`) and what the tests assert against.

State names follow strongSwan's (``ike_sa_state_t``, ``child_sa_state_t``). The states
are :class:`IkeState` / :class:`ChildState` (``StrEnum``: each value is its name, so
traces, logs and figures print what they printed when states were plain strings); the
events are the literals :data:`IkeEvent` / :data:`ChildEvent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Literal, TypeVar

from ..errors import IpsecSimError


class IkeState(StrEnum):
    """IKE_SA states (strongSwan's ``ike_sa_state_t``). A ``str``: the value is the name that
    traces, logs and figures print, and it compares equal to that string."""

    CREATED = "CREATED"
    CONNECTING = "CONNECTING"
    ESTABLISHED = "ESTABLISHED"
    REKEYING = "REKEYING"
    REKEYED = "REKEYED"
    DELETING = "DELETING"
    DESTROYED = "DESTROYED"


class ChildState(StrEnum):
    """CHILD_SA states (strongSwan's ``child_sa_state_t``), a ``str`` like :class:`IkeState`."""

    CREATED = "CREATED"
    INSTALLED = "INSTALLED"
    REKEYING = "REKEYING"
    REKEYED = "REKEYED"
    DELETING = "DELETING"
    DELETED = "DELETED"


IkeEvent = Literal["send_init", "recv_init", "adopt", "authenticated", "rekey", "rekeyed",
                   "rekey_failed", "close", "deleted", "peer_delete", "fail"]
"""What moves an IKE_SA: the events of :data:`IKE_TRANSITIONS`."""
ChildEvent = Literal["install", "rekey", "rekeyed", "rekey_failed", "close", "deleted",
                     "peer_delete", "expire", "fail"]
"""What moves a CHILD_SA: the events of :data:`CHILD_TRANSITIONS`."""

# IKE_SA states, by their short names (the engine and the tests use these)
CREATED = IkeState.CREATED
CONNECTING = IkeState.CONNECTING
ESTABLISHED = IkeState.ESTABLISHED
REKEYING = IkeState.REKEYING
REKEYED = IkeState.REKEYED
DELETING = IkeState.DELETING
DESTROYED = IkeState.DESTROYED

IKE_STATES: tuple[IkeState, ...] = tuple(IkeState)

#: IKE_SA: state -> {event: new state}
IKE_TRANSITIONS: dict[IkeState, dict[IkeEvent, IkeState]] = {
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

# CHILD_SA states (``C_`` where an IKE_SA state has the same name)
C_CREATED = ChildState.CREATED
C_INSTALLED = ChildState.INSTALLED
C_REKEYING = ChildState.REKEYING
C_REKEYED = ChildState.REKEYED
C_DELETING = ChildState.DELETING
C_DELETED = ChildState.DELETED

CHILD_STATES: tuple[ChildState, ...] = tuple(ChildState)

#: CHILD_SA: state -> {event: new state}
CHILD_TRANSITIONS: dict[ChildState, dict[ChildEvent, ChildState]] = {
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


def ike_next(state: IkeState, event: IkeEvent) -> IkeState:
    """The IKE_SA state after ``event``; raises :class:`TransitionError` if not allowed."""
    try:
        return IKE_TRANSITIONS[state][event]
    except KeyError:
        raise TransitionError(f"IKE_SA: no transition from {state} on {event!r}") from None


def child_next(state: ChildState, event: ChildEvent) -> ChildState:
    """The CHILD_SA state after ``event``; raises :class:`TransitionError` if not allowed."""
    try:
        return CHILD_TRANSITIONS[state][event]
    except KeyError:
        raise TransitionError(f"CHILD_SA: no transition from {state} on {event!r}") from None


_S = TypeVar("_S", bound=str)
_E = TypeVar("_E", bound=str)


def edges(table: Mapping[_S, Mapping[_E, _S]]) -> list[tuple[_S, _E, _S]]:
    """(from, event, to) triples of a table, for drawing."""
    return [(s, e, t) for s, row in table.items() for e, t in row.items()]


def format_table(table: Mapping[_S, Mapping[_E, _S]]) -> str:
    """A printable listing, one transition per line."""
    return "\n".join(f"{s:<12} --{e}--> {t}" for s, e, t in edges(table))
