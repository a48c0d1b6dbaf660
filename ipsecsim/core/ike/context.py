"""What a task may use of the endpoint, and what the task manager may use of a task.

The tasks (``tasks/*.py``), the task manager and the SA objects get the endpoint as
a :class:`TaskContext`, not as an :class:`~.endpoint.IkeEndpoint`: this Protocol lists
every member they may touch, typed, and mypy refuses anything else. The endpoint
implements it (structurally; it does not inherit from it), next to its shell-facing API
(``receive_datagram``, ``handle_timer``, ``next_event``, ...), which tasks do not use.
strongSwan's tasks likewise see the ``ike_sa_t`` interface, not the daemon.

Three kinds of members:

* what the endpoint was configured with: :attr:`~TaskContext.config`,
  :attr:`~TaskContext.rng`, and the IKE_SAs of a pair of identities
  (:meth:`~TaskContext.sas_with_ids`, strongSwan's ``connected_peers`` table, for
  INITIAL_CONTACT and ``unique``);
* making and ending IKE_SAs and CHILD_SAs: :meth:`~TaskContext.new_sa`,
  :meth:`~TaskContext.new_spi`, :meth:`~TaskContext.next_uid`,
  :meth:`~TaskContext.establish`, :meth:`~TaskContext.destroy`,
  :meth:`~TaskContext.forget`, :meth:`~TaskContext.child_down`, and the credentials
  (:meth:`~TaskContext.local_credential`, :meth:`~TaskContext.peer_credential`,
  :meth:`~TaskContext.certreq`, :meth:`~TaskContext.pick_conn_for_id`);
* output: :meth:`~TaskContext.transmit` (an IKE message's datagrams),
  :meth:`~TaskContext.send_datagram` (a NAT keepalive), :meth:`~TaskContext.emit` (an
  event for the shell), :meth:`~TaskContext.failure` / :meth:`~TaskContext.fail` (a
  failed exchange, the latter ending the IKE_SA).

This module imports nothing at run time but ``typing``: every module of the engine can
import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:

    from ..pools import Pools
    from ..rng import Rng
    from .auth import LocalCredential, PeerCredential
    from .config import ConnectionConfig, IkeConfig
    from .events import Event
    from .ids import Identity
    from .ikesa import ChildSa, IkeSa
    from .message import CertReq, IkeMessage
    from .payloads import Payload

Address = tuple[str, int]
"""(IP address, UDP port)."""


class TaskContext(Protocol):
    """The endpoint as the tasks, the task manager and the SA objects see it."""

    @property
    def config(self) -> IkeConfig:
        """The endpoint's configuration (connections, secrets, fragment size, keepalive)."""

    @property
    def pools(self) -> Pools:
        """The endpoint's virtual IP pools and their leases (``core/pools.py``)."""

    @property
    def rng(self) -> Rng:
        """The seeded source of SPIs, nonces, DH keys, IVs and timer jitter."""

    def sas_with_ids(self, local_id: Identity | None, peer_id: Identity | None) -> list[IkeSa]:
        """The IKE_SAs (of ``ike_sas``, in its order) with this pair of identities."""

    def new_spi(self) -> int:
        """A fresh inbound ESP/AH SPI, unique on this endpoint."""

    def next_uid(self) -> int:
        """The next CHILD_SA unique id (strongSwan's ``uniqueid``)."""

    def new_sa(self, conn: ConnectionConfig, initiator: bool, spi_i: bytes, spi_r: bytes,
               local: Address, remote: Address) -> IkeSa:
        """A new IKE_SA of ``conn``, named ``conn[n]`` and registered under our SPI."""

    def establish(self, sa: IkeSa, now: float) -> None:
        """IKE_AUTH is done: ``sa`` is ESTABLISHED, its timers armed, IkeSaUp emitted."""

    def destroy(self, sa: IkeSa, reason: str, now: float, dead: bool = False) -> None:
        """Tear ``sa`` and its children down without a message (``dead``: apply dpd_action)."""

    def forget(self, sa: IkeSa) -> None:
        """Drop every reference the endpoint holds to ``sa``, which is gone."""

    def child_down(self, child: ChildSa, reason: str, now: float | None = None,
                   delay: float = 0.0) -> None:
        """Tell the data plane to remove ``child`` (once), now or ``delay`` seconds later."""

    def local_credential(self, sa: IkeSa) -> LocalCredential:
        """Our PSK or key and certificate for ``sa``; raises ``AuthError`` when none fits."""

    def peer_credential(self, sa: IkeSa, peer_id: Identity) -> PeerCredential:
        """What the peer ``peer_id`` of ``sa`` must prove (its PSK, or a trusted CA)."""

    def certreq(self, conn: ConnectionConfig) -> CertReq | None:
        """A CERTREQ naming the CAs we trust for ``conn``'s peer, or None."""

    def pick_conn_for_id(self, sa: IkeSa, peer_id: Identity) -> None:
        """Responder: switch ``sa`` to a connection whose ``remote.id`` fits ``peer_id``."""

    def transmit(self, sa: IkeSa, datagrams: list[bytes], msg: IkeMessage | None,
                 summary: str, retransmit: int, exchange: int = 0, msg_id: int = 0) -> None:
        """Send the datagrams of one IKE message of ``sa`` and report it (IkeMessageEvent)."""

    def send_datagram(self, data: bytes, src: Address, dst: Address) -> None:
        """Send one UDP payload that is not an IKE message (a NAT keepalive)."""

    def emit(self, event: Event) -> None:
        """Hand an event to the shell (``IkeEndpoint.next_event``)."""

    def failure(self, sa: IkeSa, notify: str, reason: str, sent_by_us: bool,
                fatal: bool = False, child: str = "") -> None:
        """Report a failed exchange (IkeFailure); ``child`` names the CHILD_SA config refused."""

    def fail(self, sa: IkeSa, notify: str, reason: str, sent_by_us: bool, now: float) -> None:
        """Report a failed exchange that ends the IKE_SA, and destroy it."""


class Task(Protocol):
    """The initiator's side of one exchange, as the task manager drives it.

    Optionally also ``timed_out(ep, sa, reason, now) -> bool``: True when the task ended
    the IKE_SA its own way after the peer never answered (see ``taskmanager``).
    """

    @property
    def exchange(self) -> int:
        """The exchange type of the request (``message.IKE_AUTH``, ...)."""

    def build(self, ep: TaskContext, sa: IkeSa, now: float) -> list[Payload] | None:
        """The request's payloads, or None when the task is no longer needed."""

    def process(self, ep: TaskContext, sa: IkeSa, msg: IkeMessage, now: float) -> None:
        """Handle the response."""
