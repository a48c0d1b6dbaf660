"""What an :class:`~ipsecsim.core.node.IpsecNode` did, as events a shell pulls with ``next_event()``.

The node hands out the IKE endpoint's own events (:mod:`ipsecsim.core.ike.events`) after
it has acted on them (installed the SAs of a ``ChildSaUp``, removed those of a
``ChildSaDown``, ...), interleaved with these, in the order things happened. A shell only
records them: the simulator turns them into trace records, ``ipsecsim peer`` into log lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from .keys import ChildSaKeys
from .sa import SaLimitReached

__all__ = ["BlockAdded", "BlockLifted", "NodeEvent", "Note", "PacketDropped", "SaInstallFailed", "SaInstalled",
           "SaLimitReached", "SaRemoved"]


@dataclass(frozen=True, slots=True)
class SaInstalled:
    """Both SAs of a CHILD_SA are in the SAD and its policies in the SPD."""

    keys: ChildSaKeys


@dataclass(frozen=True, slots=True)
class SaInstallFailed:
    """The data plane refused a negotiated CHILD_SA (e.g. AH with UDP encapsulation); a
    DISCARD policy now covers its selectors, so its traffic is dropped, not sent in clear."""

    keys: ChildSaKeys
    reason: str
    """Why the stack refused it (a sentence)."""


@dataclass(frozen=True, slots=True)
class SaRemoved:
    """Both SAs of a CHILD_SA left the SAD (after a ``ChildSaDown``)."""

    keys: ChildSaKeys
    reason: str
    """The ``ChildSaDown`` reason (``expired`` ... for a hard lifetime)."""


@dataclass(frozen=True, slots=True)
class BlockAdded:
    """A blocking policy now covers a child's traffic while it has no SA: a trap
    (``protect`` without SA: packets are ``no_sa`` drops and start IKE) or a ``discard``."""

    child: str
    action: str
    """``protect`` (a trap) or ``discard``."""
    why: str
    """``trap`` (start_action), ``reauthentication`` (a break-before-make gap), or the
    refusal (``NOTIFY: sentence``) for a discard."""
    local_ts: tuple[str, ...]
    remote_ts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BlockLifted:
    """A CHILD_SA installed for the traffic a block stood in for; the block is gone."""

    child: str
    action: str
    why: str


@dataclass(frozen=True, slots=True)
class Note:
    """Anything else worth a line: a trap that could not be installed, a core error caught."""

    text: str


@dataclass(frozen=True, slots=True)
class PacketDropped:
    """A packet given to ``send_packet`` / ``receive_packet`` was refused (counted by reason).

    The per-packet methods ``protect`` / ``unprotect`` raise
    :class:`~ipsecsim.core.errors.PacketDrop` instead, so a caller that needs to know which
    packet it was (the simulator's packet ids) learns it at the call."""

    reason: str
    detail: str
    tag: object = None
    """Whatever the caller passed with the packet."""


NodeEvent = BlockAdded | BlockLifted | SaInstalled | SaInstallFailed | SaRemoved | SaLimitReached | Note | PacketDropped
"""The node's own events (the IKE endpoint's come through ``next_event`` as well)."""
