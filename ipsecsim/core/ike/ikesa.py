"""The state one IKE_SA and its CHILD_SAs hold (strongSwan's ``ike_sa_t`` / ``child_sa_t``).

Plain mutable objects: the tasks (``tasks/``) fill them in, the task manager
moves messages, the endpoint owns them. State changes go only through
:meth:`IkeSa.move` / :meth:`ChildSa.move`, which consult ``states.py``'s tables.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..errors import IpsecSimError
from ..keys import ChildSaKeys
from ..selectors import TrafficSelector
from . import states as S
from .config import ChildConfig, ConnectionConfig
from .events import ChildStateChange, IkeStateChange
from .ids import Identity
from .negotiate import Suite
from .saindex import WatchedChild, WatchedIkeSa, watch

if TYPE_CHECKING:
    from cryptography import x509

    from .context import Task, TaskContext
    from .fragments import Reassembly
    from .kdf import IkeKeys
    from .sk import SkCipher


ident = lru_cache(maxsize=512)(Identity.parse)
"""``Identity.parse`` with a cache (identities are immutable; parsing them is not free)."""
id_text = lru_cache(maxsize=512)(Identity.__str__)
"""``str(identity)`` with a cache."""


class IkeError(IpsecSimError):
    """A request we refuse: the notify to answer with and the sentence saying why."""

    def __init__(self, notify: int, sentence: str, data: bytes = b"", fatal: bool = True,
                 child: str = "") -> None:
        super().__init__(sentence)
        self.notify = notify
        self.sentence = sentence
        self.data = data
        self.fatal = fatal
        """Whether the IKE_SA dies with this error (False: only a CHILD_SA failed)."""
        self.child = child
        """Config name of the CHILD_SA refused (empty when none is concerned)."""


@dataclass
class Pending:
    """Our outstanding request (window of one, RFC 7296 §2.3)."""

    msg_id: int
    exchange: int
    datagrams: list[bytes]
    """Encoded UDP payloads (with non-ESP marker when on port 4500)."""
    summary: str
    task: Task
    sent_at: float
    deadline: float
    tries: int = 0
    """Retransmissions done so far."""


@dataclass
class ChildSa(WatchedChild):
    """One CHILD_SA (a pair of ESP/AH SAs) as IKE sees it (its timers, state and SPI are
    watched by the endpoint's index: :mod:`.saindex`)."""

    cfg: ChildConfig
    state: S.ChildState = S.C_CREATED
    spi_in: int = 0
    spi_out: int = 0
    keys: ChildSaKeys | None = None
    suite: Suite | None = None
    local_ts: tuple[TrafficSelector, ...] = ()
    remote_ts: tuple[TrafficSelector, ...] = ()
    installed_at: float = 0.0
    rekey_at: float | None = None
    soft_at: float | None = None
    """When the soft lifetime set at installation falls due; unlike the ``rekey_at`` timer it
    stays once the rekey started (charon lists it as ``rekey-time`` of a rekeyed CHILD_SA)."""
    expire_at: float | None = None
    unique_id: int = 0
    rekeyed_by: ChildSa | None = None
    """Successor once a rekey completed."""
    down: bool = False
    """Whether ChildSaDown was emitted (the data plane removed it)."""
    down_at: float | None = None
    """When ChildSaDown is due for an SA replaced by a rekey (strongSwan's delete_rekeyed_delay)."""
    down_reason: str = ""
    redundant: bool = False
    """Made by the losing exchange of a rekey collision; its DELETE is expected."""
    collision: tuple[bytes, bytes, ChildSa] | None = None
    """(peer's Ni, our Nr, SA we created as responder) if the peer rekeyed us while we rekeyed."""
    outbound_held: bool = False
    """Announced with ``ChildSaUp(outbound=False)``: traffic stays on the SA this one replaces
    until ``ChildSaRekeyed`` switches it (the peer's DELETE of that SA)."""

    @property
    def name(self) -> str:
        return self.cfg.name

    def move(self, ep: TaskContext, ike: IkeSa, event: S.ChildEvent, detail: str = "") -> None:
        old = self.state
        self.state = new = S.child_next(old, event)
        ep.emit(ChildStateChange(ike.name, self.cfg.name, self.spi_in, old, new, detail))


@dataclass
class IkeSa(WatchedIkeSa):
    """One IKE_SA with its keys, message IDs and children (its timers, identities and
    children are watched by the endpoint's index: :mod:`.saindex`)."""

    name: str
    conn: ConnectionConfig
    initiator: bool
    """Whether we are the original initiator of *this* IKE_SA (§2.2)."""
    spi_i: bytes
    spi_r: bytes
    local: tuple[str, int]
    remote: tuple[str, int]
    state: S.IkeState = S.CREATED
    suite: Suite | None = None
    keys: IkeKeys | None = None
    """SKEYSEED's keys, once IKE_SA_INIT is done (with ``suite``, ``sk_in``, ``sk_out``)."""
    sk_in: SkCipher | None = None
    """Opens the peer's SK payloads."""
    sk_out: SkCipher | None = None
    """Seals ours."""
    ni: bytes = b""
    nr: bytes = b""
    init_request: bytes = b""
    """Raw IKE_SA_INIT request (without marker): the initiator signs it (§2.15)."""
    init_response: bytes = b""
    local_id: Identity | None = None
    """Our identity, once IKE_AUTH chose the credential."""
    peer_id: Identity | None = None
    """The peer's identity from its ID payload."""
    nat_local: bool = False
    """We are behind a NAT (our NATD_D_IP did not match)."""
    nat_remote: bool = False
    """The peer is behind a NAT."""
    next_send_mid: int = 0
    next_recv_mid: int = 0
    pending: Pending | None = None
    last_request: bytes = b""
    """Bytes of the last request we answered (duplicate detection)."""
    last_response: list[bytes] = field(default_factory=list)
    tasks: deque[Task] = field(default_factory=deque)
    """Requests waiting for the window (``taskmanager``)."""
    children: list[ChildSa] = field(default_factory=list)
    established_at: float = 0.0
    last_heard: float = 0.0
    """When the peer's last IKE message arrived."""
    last_esp_in: float = 0.0
    """Latest inbound ESP/AH traffic on our CHILD_SAs, as the shell reported it
    (:meth:`IkeEndpoint.note_inbound`); DPD counts it as a sign of life too."""
    rekey_at: float | None = None
    expire_at: float | None = None
    keepalive_at: float | None = None
    dpd_at: float | None = None
    reauth_at: float | None = None
    """When reauthentication is due (``reauth_time`` minus jitter; survives a rekey)."""
    rekeyed_by: IkeSa | None = None
    collision: tuple[bytes, bytes, IkeSa] | None = None
    """(peer's Ni, our Nr, IKE_SA we created as responder) if the peer rekeyed this IKE_SA
    while we were rekeying it too."""
    first_child: str | None = None
    """Child to create in IKE_AUTH (initiator)."""
    down_reason: str = ""
    peer_hashes: set[int] = field(default_factory=set)
    """Hash algorithms the peer announced (RFC 7427 SIGNATURE_HASH_ALGORITHMS)."""
    peer_certreq: bool = False
    peer_cert: x509.Certificate | None = None
    """The certificate that authenticated the peer (pubkey)."""
    peer_fragmentation: bool = False
    """The peer announced IKEV2_FRAGMENTATION_SUPPORTED in IKE_SA_INIT (RFC 7383 §2.3)."""
    reassembly: dict[bool, Reassembly] = field(default_factory=dict)
    """Response flag -> ``fragments.Reassembly``: the message being reassembled each way."""
    auth_rounds: Any = None
    """The IKE_AUTH conversation when EAP or several rounds are involved (``eap.ikeauth.Rounds``)."""
    local_vips: list[str] = field(default_factory=list)
    """Virtual IPs the peer assigned us in a CFG_REPLY (``cp.py``)."""
    remote_vips: list[str] = field(default_factory=list)
    """Virtual IPs we leased the peer from our pools (``cp.py``)."""

    @property
    def our_spi(self) -> bytes:
        return self.spi_i if self.initiator else self.spi_r

    @property
    def encap(self) -> bool:
        return self.local[1] == 4500 or self.remote[1] == 4500

    def move(self, ep: TaskContext, event: S.IkeEvent, now: float, detail: str = "") -> None:
        old = self.state
        self.state = new = S.ike_next(old, event)
        ep.emit(IkeStateChange(self.name, old, new, detail))

    def child_by_spi_in(self, spi: int) -> ChildSa | None:
        return next((c for c in self.children if c.spi_in == spi), None)

    def child_by_spi_out(self, spi: int) -> ChildSa | None:
        return next((c for c in self.children if c.spi_out == spi), None)

    def live_children(self) -> list[ChildSa]:
        return [c for c in self.children if c.state != S.C_DELETED]


watch(IkeSa, ChildSa)
