"""charon's log lines for configuration payloads and pools, in strongSwan 5.9's wording
(``sa/ikev2/tasks/ike_config.c``, ``attributes/mem_pool.c``, ``sa/ike_sa.c``).

Gateway, for ``vips = 0.0.0.0`` from carol and ``pools = rw_pool``::

    09[IKE] peer requested virtual IP %any
    05[CFG] assigning new lease to 'carol@strongswan.org'
    09[IKE] assigning virtual IP 10.3.0.1 to peer 'carol@strongswan.org'
    ...
    05[CFG] lease 10.3.0.1 by 'carol@strongswan.org' went offline

Client: ``installing new virtual IP 10.3.0.1``. A full pool: ``pool 'rw_pool' is full,
unable to assign address``, ``no virtual IP found for %any requested by 'dave'``, ``no
virtual IP found, sending INTERNAL_ADDRESS_FAILURE``; a gateway with pools and no request:
``expected a virtual IP request, sending FAILED_CP_REQUIRED``.
"""

from __future__ import annotations

import ipaddress

from ..core.ike import cp_events as V
from ..core.ike.events import IkeFailure

CP_EVENTS = (V.VirtualIpRequested, V.VirtualIpAssigned, V.VirtualIpRefused,
             V.VirtualIpReleased, V.VirtualIpInstalled, V.VirtualIpRemoved)

_HOW = {"new": "assigning new lease to '{id}'",
        "online": "reassigning online lease to '{id}'",
        "offline": "reassigning offline lease to '{id}'",
        "reassigned": "reassigning existing offline lease by '{prev}' to '{id}'"}


def _host(addr: str) -> str:
    """charon's ``%H`` of a requested address: ``%any`` / ``%any6`` for the unspecified one."""
    ip = ipaddress.ip_address(addr)
    if ip.is_unspecified:
        return "%any" if ip.version == 4 else "%any6"
    return addr


def is_cp_failure(ev: object) -> bool:
    """An IKE failure this module words: the gateway refusing a virtual IP, or a client
    that asked for one and got none without a notify."""
    return (isinstance(ev, IkeFailure) and not ev.child
            and ev.notify in ("INTERNAL_ADDRESS_FAILURE", "FAILED_CP_REQUIRED"))


def cp_lines(ev: object) -> list[tuple[str, str]]:
    """(group, text) lines for one event of ``cp_events`` or a CP failure."""
    match ev:
        case V.VirtualIpRequested(requested=req):
            return [("IKE", f"peer requested virtual IP {_host(req)}")]
        case V.VirtualIpAssigned(peer_id=who, address=addr, how=how, previous=prev):
            return [("CFG", _HOW[how].format(id=who, prev=prev)),
                    ("IKE", f"assigning virtual IP {addr} to peer '{who}'")]
        case V.VirtualIpRefused(peer_id=who, requested=req, full=full):
            return [*[("CFG", f"pool '{p}' is full, unable to assign address") for p in full],
                    ("IKE", f"no virtual IP found for {_host(req)} requested by '{who}'")]
        case V.VirtualIpReleased(peer_id=who, address=addr, offline=offline):
            return [("CFG", f"lease {addr} by '{who}' went offline")] if offline else []
        case V.VirtualIpInstalled(address=addr):
            return [("IKE", f"installing new virtual IP {addr}")]
        case V.VirtualIpRemoved():
            return []
        case IkeFailure(notify=notify, sent_by_us=True):
            if notify == "FAILED_CP_REQUIRED":
                return [("IKE", "expected a virtual IP request, sending FAILED_CP_REQUIRED"),
                        ("IKE", "configuration payload negotiation failed, no CHILD_SA built")]
            return [("IKE", "no virtual IP found, sending INTERNAL_ADDRESS_FAILURE"),
                    ("IKE", "configuration payload negotiation failed, no CHILD_SA built")]
    return []
