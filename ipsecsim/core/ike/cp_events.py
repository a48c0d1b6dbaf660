"""Events of configuration payloads and virtual IPs (RFC 7296 §3.15, ``cp.py``).

Part of :data:`~ipsecsim.core.ike.events.Event`: the endpoint emits them, the node
acts on :class:`VirtualIpInstalled` (the client's new address), the console words
them as charon's log does, the summary counts leases.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class VirtualIpRequested:
    """Gateway: the peer's CFG_REQUEST asked for ``requested`` (``0.0.0.0``: any)."""

    ike_sa: str
    peer_id: str
    """The identity leases are kept by (``ike_sa_t.get_other_eap_id()``)."""
    requested: str


@dataclass(frozen=True, slots=True)
class VirtualIpAssigned:
    """Gateway: ``address`` from ``pool`` went to the peer in a CFG_REPLY."""

    ike_sa: str
    peer_id: str
    address: str
    pool: str
    how: str
    """``new``, ``online``, ``offline`` or ``reassigned`` (``pools.Acquired.how``)."""
    previous: str = ""
    """For ``reassigned``: whose offline lease it was."""


@dataclass(frozen=True, slots=True)
class VirtualIpRefused:
    """Gateway: no virtual IP for the request (every pool full, or none configured)."""

    ike_sa: str
    peer_id: str
    requested: str
    full: tuple[str, ...]
    """The pools that were full (empty: the connection has none)."""


@dataclass(frozen=True, slots=True)
class VirtualIpReleased:
    """Gateway: the IKE_SA holding a lease is gone; ``offline`` when nobody holds it now."""

    ike_sa: str
    peer_id: str
    address: str
    pool: str
    offline: bool


@dataclass(frozen=True, slots=True)
class VirtualIpInstalled:
    """Client: the CFG_REPLY gave us ``address``; our traffic in the tunnel comes from it."""

    ike_sa: str
    address: str
    dns: tuple[str, ...] = ()
    """INTERNAL_IP4_DNS / INTERNAL_IP6_DNS servers of the reply (for a resolver model)."""


@dataclass(frozen=True, slots=True)
class VirtualIpRemoved:
    """Client: the IKE_SA that gave us ``address`` is gone (charon removes the address)."""

    ike_sa: str
    address: str


CpEvent = (VirtualIpRequested | VirtualIpAssigned | VirtualIpRefused | VirtualIpReleased
           | VirtualIpInstalled | VirtualIpRemoved)
