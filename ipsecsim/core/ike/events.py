"""Events an :class:`~ipsecsim.core.ike.endpoint.IkeEndpoint` hands out via ``next_event()``.

Frozen values, one per thing a shell or the trace wants to know. ``IkeMessageEvent``
is emitted once per message sent or received (once for all the SKF fragments of an RFC 7383
fragmented one) and feeds the ladder diagram.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..keys import ChildSaKeys
from .cp_events import CpEvent
from .eap.conversation import Step
from .states import ChildState, IkeState


@dataclass(frozen=True, slots=True)
class IkeMessageEvent:
    """One IKE message sent or received (all its datagrams when fragmented)."""

    direction: Literal["out", "in"]
    """``out`` or ``in``."""
    local: tuple[str, int]
    """Our address and port."""
    remote: tuple[str, int]
    """The peer's address and port."""
    exchange: str
    """Exchange name, e.g. ``IKE_SA_INIT``."""
    msg_id: int
    """Message ID from the IKE header."""
    response: bool
    """Whether the message is a response."""
    payloads: str
    """Summary of the (decrypted) payloads, e.g. ``SA KE No N(NATD_S_IP) N(NATD_D_IP)``."""
    ispi: bytes
    """Initiator's IKE SPI."""
    rspi: bytes
    """Responder's IKE SPI (zero in the first IKE_SA_INIT request)."""
    size: int
    """UDP payload bytes (including a non-ESP marker), summed over a message's fragments."""
    retransmit: int = 0
    """0 for the first transmission, n for the n-th retransmission."""


@dataclass(frozen=True, slots=True)
class IkeStateChange:
    """An IKE_SA moved from one state to another (see ``states.IKE_TRANSITIONS``)."""

    ike_sa: str
    """Name of the IKE_SA, e.g. ``office-link[1]``."""
    old: IkeState
    """State before."""
    new: IkeState
    """State after."""
    detail: str = ""
    """Why, in a few words (algorithms, identities, the reason of a failure)."""


@dataclass(frozen=True, slots=True)
class ChildStateChange:
    """A CHILD_SA moved from one state to another (see ``states.CHILD_TRANSITIONS``)."""

    ike_sa: str
    """Name of the IKE_SA the CHILD_SA belongs to."""
    child: str
    """Child config name."""
    spi_in: int
    """Our inbound SPI of this CHILD_SA (identifies the generation)."""
    old: ChildState
    """State before."""
    new: ChildState
    """State after."""
    detail: str = ""
    """Why, in a few words (suite and SPIs on install, the reason of a delete)."""


@dataclass(frozen=True, slots=True)
class IkeSaUp:
    """An IKE_SA is established; carries its keys for the Wireshark export."""

    ike_sa: str
    """Name of the IKE_SA."""
    connection: str
    """The connection it belongs to."""
    local: tuple[str, int]
    """Our address and port (4500 after a NAT-T float)."""
    remote: tuple[str, int]
    """The peer's address and port."""
    ispi: bytes
    """Initiator's IKE SPI."""
    rspi: bytes
    """Responder's IKE SPI."""
    initiator: bool
    """Whether we initiated this IKE_SA."""
    encr: str
    """strongSwan name of the negotiated cipher (e.g. ``aes128gcm16``)."""
    integ: str
    """Integrity name, empty for AEAD."""
    prf: str
    """PRF name."""
    dh: str
    """Diffie-Hellman group name."""
    sk_ei: bytes
    """Encryption key, initiator to responder (RFC 7296 §2.14)."""
    sk_er: bytes
    """Encryption key, responder to initiator."""
    sk_ai: bytes
    """Integrity key, initiator to responder (empty for AEAD)."""
    sk_ar: bytes
    """Integrity key, responder to initiator (empty for AEAD)."""


@dataclass(frozen=True, slots=True)
class IkeSaDown:
    """An IKE_SA is gone (deleted, rekeyed away, failed, dead peer)."""

    ike_sa: str
    """Name of the IKE_SA."""
    reason: str
    """Why it went down."""


@dataclass(frozen=True, slots=True)
class IkeSaRekeyed:
    """An IKE_SA was replaced by a new one (children moved over)."""

    old_ike_sa: str
    """Name of the IKE_SA that was replaced."""
    new: IkeSaUp
    """The new IKE_SA, with its keys."""


@dataclass(frozen=True, slots=True)
class IkeFailure:
    """An exchange failed: the notify involved and the sentence saying why."""

    ike_sa: str
    """Name of the IKE_SA (empty for a stateless IKE_SA_INIT answer)."""
    connection: str
    """The connection concerned (may be empty when none matched)."""
    notify: str
    """e.g. ``NO_PROPOSAL_CHOSEN``, ``AUTHENTICATION_FAILED``, ``TIMEOUT``."""
    reason: str
    """The sentence saying why."""
    sent_by_us: bool
    """True if we sent the notify (we refused), False if the peer refused us."""
    fatal: bool = False
    """Whether the IKE_SA (or its setup) ended with it; False for a refused CHILD_SA or
    rekey, or a step that was retried (INVALID_KE_PAYLOAD, TEMPORARY_FAILURE)."""
    child: str = ""
    """Config name of the CHILD_SA refused or failed (creation, IKE_AUTH's first child, a
    rekey); empty when no child is concerned (IKE_SA_INIT, AUTH, IKE rekey, timeouts)."""


@dataclass(frozen=True, slots=True)
class ChildSaUp:
    """A CHILD_SA is negotiated: install both directions into the data plane."""

    keys: ChildSaKeys
    """SPIs, algorithms and keys of both directions."""
    outbound: bool = True
    """Whether the child's traffic moves to this SA's outbound half now. False for the
    responder of a CHILD_SA rekey (and for an SA a rekey collision made redundant): install
    both halves, but keep sending on the SA being replaced until ``ChildSaRekeyed`` names
    this one as ``new`` -- the peer may not have the new SA yet if our response was lost
    (strongSwan installs the responder's outbound SA when the DELETE of the old one arrives)."""


@dataclass(frozen=True, slots=True)
class ChildSaRekeyed:
    """A CHILD_SA was replaced: from now on send on ``new`` (already installed by ``ChildSaUp``).

    The initiator of a rekey gets it with the response; the responder (and the loser of a
    rekey collision) when the peer's DELETE of ``old`` arrives, or when ``old`` hard-expires
    first."""

    old: ChildSaKeys
    """The replaced CHILD_SA."""
    new: ChildSaKeys
    """Its successor: the shell points the child's outbound traffic at it."""


@dataclass(frozen=True, slots=True)
class ChildSaDown:
    """A CHILD_SA is gone: remove it from the data plane."""

    keys: ChildSaKeys
    """The CHILD_SA to remove."""
    reason: str
    """Why (deleted, rekeyed, hard expired, ...)."""


@dataclass(frozen=True, slots=True)
class IkeDrop:
    """A datagram was dropped without being processed (malformed, forged, late, unknown SPI)."""

    reason: str
    """A short counter name, e.g. ``malformed``, ``unknown_ike_spi``."""
    detail: str = ""
    """The sentence saying what was wrong."""


@dataclass(frozen=True, slots=True)
class EapStep:
    """A step of EAP in IKE_AUTH (``eap/ikeauth.py``), said as charon logs it by
    ``console/charoneap.py``."""

    ike_sa: str
    """Name of the IKE_SA."""
    step: Step
    """What happened (``eap.conversation.Step``)."""
    identity: str = ""
    """The IKE identity concerned (AUTH lines: ours or the peer's)."""


Event = (IkeMessageEvent | IkeStateChange | ChildStateChange | IkeSaUp | IkeSaDown | IkeSaRekeyed | IkeFailure
         | ChildSaUp | ChildSaRekeyed | ChildSaDown | IkeDrop | EapStep | CpEvent)
