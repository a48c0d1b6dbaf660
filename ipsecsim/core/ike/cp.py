"""Configuration payloads in IKE_AUTH: virtual IPs from pools (RFC 7296 §2.19, §3.15).

strongSwan 5.9 ``sa/ikev2/tasks/ike_config.c``, which runs in IKE_AUTH before the first
CHILD_SA is made::

    IKE_AUTH { IDi, AUTH, CP(CFG_REQUEST: ADDR, DNS), SA, TSi=0.0.0.0/0, TSr } -->
             <-- { IDr, AUTH, CP(CFG_REPLY: ADDR=10.3.0.1, DNS=...), SA, TSi=10.3.0.1/32, TSr }

- A client whose connection has ``vips`` (``0.0.0.0``: any address, or the address it
  wants) sends CFG_REQUEST with INTERNAL_IP4_ADDRESS (empty for any) and an empty
  INTERNAL_IP4_DNS (charon's resolve plugin asks for one DNS server per family); its TSi
  ``dynamic`` is 0.0.0.0/0 until the reply comes, then the virtual IP (:func:`local_ts`).
- A gateway whose connection has ``pools`` answers with the address :class:`~..pools.Pools`
  leases to the peer's identity, plus the attributes of that pool (``dns = ...``); its
  remote ``dynamic`` selector is the leased address (:func:`remote_ts`). No address for a
  request: ``no virtual IP found for %any requested by 'carol'``, N(INTERNAL_ADDRESS_FAILURE)
  and no CHILD_SA. Pools but no request: N(FAILED_CP_REQUIRED) (§3.10.1, 37) and no CHILD_SA.
  The IKE_SA stays up in both cases, as with charon.
- Unknown attributes are ignored (§3.15.1), and so are CFG_SET/CFG_ACK payloads (charon:
  ``ignoring CFG_SET config payload``); attributes of a wrong length are skipped.

The lease belongs to the identity :func:`lease_identity` names; the IKE_SA returns it
(online -> offline) when destroyed (:func:`release`), and an IKE_SA rekey moves it to the
new IKE_SA (:func:`migrate`).

Extension points: EAP sets ``IkeSa.eap_identity`` and leases follow it; a DNS model reads
``VirtualIpInstalled.dns``; MOBIKE keeps ``IkeSa.local_vips`` across address changes.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from ..selectors import TrafficSelector
from . import constants as C
from .cp_codec import (  # noqa: F401 -- re-exported
    ATTR_SHORT,
    address_attr,
    addresses,
    attr_text,
    servers,
    summary,
    value_attr,
    well_formed,
)
from .cp_events import (
    VirtualIpAssigned,
    VirtualIpInstalled,
    VirtualIpRefused,
    VirtualIpReleased,
    VirtualIpRemoved,
    VirtualIpRequested,
)
from .ikesa import id_text
from .negotiate import resolve_ts
from .payloads import CP, Notify

if TYPE_CHECKING:
    from .context import TaskContext
    from .ikesa import IkeSa
    from .message import IkeMessage
    from .payloads import Payload

def _find(msg: IkeMessage, cfg_type: int) -> CP | None:
    for p in msg.payloads:
        if isinstance(p, CP) and p.cfg_type == cfg_type:
            return p
    return None


# --------------------------------------------------------------------------- selectors


def requesting(sa: IkeSa) -> bool:
    """Whether ``sa``'s connection asks for a virtual IP it does not have yet."""
    return bool(sa.conn.vips) and not sa.local_vips


def local_ts(sa: IkeSa, items: tuple[str, ...]) -> tuple[TrafficSelector, ...]:
    """Our selectors: ``dynamic`` is our virtual IP once we have one, 0.0.0.0/0 while we
    ask for one (charon: the ``%any`` host), else our address (``child_create.c``)."""
    v4 = [v for v in sa.local_vips if ":" not in v]  # IPv6 selectors: the ipv6 work's
    if v4:
        return tuple(t for v in v4 for t in resolve_ts(items, v))
    if sa.conn.vips and any(i.lower() == "dynamic" for i in items):
        return tuple(TrafficSelector.parse("0.0.0.0/0") if i.lower() == "dynamic"
                     else TrafficSelector.parse(i) for i in items)
    return tuple(resolve_ts(items, sa.local[0]))


def remote_ts(sa: IkeSa, items: tuple[str, ...]) -> list[TrafficSelector]:
    """The peer's selectors: ``dynamic`` is the virtual IP we leased it, else its address."""
    if sa.remote_vips:
        return [t for v in sa.remote_vips if ":" not in v for t in resolve_ts(items, v)]
    return resolve_ts(items, sa.remote[0])


# --------------------------------------------------------------------------- client


def request(sa: IkeSa) -> list[Payload]:
    """The CFG_REQUEST of our first IKE_AUTH (``ike_config.c`` ``build_i()``), or []."""
    vips = sa.local_vips or list(sa.conn.vips)
    if not vips:
        return []
    attrs = [address_attr(v) for v in vips]
    for family in dict.fromkeys(ipaddress.ip_address(v).version for v in vips):
        attrs.append((C.INTERNAL_IP4_DNS if family == 4 else C.INTERNAL_IP6_DNS, b""))
    return [CP(C.CFG_REQUEST, attrs)]


def process_reply(ep: TaskContext, sa: IkeSa, msg: IkeMessage, now: float) -> None:
    """Install the virtual IPs of the CFG_REPLY (``process_i()``); say why when we asked
    and got none."""
    if not sa.conn.vips:
        return
    reply = _find(msg, C.CFG_REPLY)
    got = [a for a in addresses(reply) if not ipaddress.ip_address(a).is_unspecified] \
        if reply is not None else []
    sa.local_vips = got
    if not got:
        if msg.error_notify() is None:  # else the refused CHILD_SA reports the notify
            ep.failure(sa, "INTERNAL_ADDRESS_FAILURE", "we asked for a virtual IP (vips = "
                       f"{', '.join(sa.conn.vips)}) and the peer's IKE_AUTH response "
                       "assigned none", False)
        return
    assert reply is not None
    dns = tuple(servers(reply, C.INTERNAL_IP4_DNS) + servers(reply, C.INTERNAL_IP6_DNS))
    for addr in got:
        ep.emit(VirtualIpInstalled(sa.name, addr, dns))


def refusal_why(notify: int, child: str) -> str:
    """The sentence for a CHILD_SA the peer refused over the configuration payload."""
    if notify == C.FAILED_CP_REQUIRED:
        return ("the peer hands out virtual IPs and requires a configuration payload; "
                "set vips = 0.0.0.0 to ask for one")
    return "the peer found no virtual IP for us (its pool is full or it has none)"


# --------------------------------------------------------------------------- gateway


def lease_identity(sa: IkeSa) -> str:
    """Whose lease it is: the EAP identity when EAP set one (``get_other_eap_id()``),
    else the peer's IKE identity."""
    eap = getattr(sa, "eap_identity", None)
    return str(eap) if eap else id_text(sa.peer_id)


def respond(ep: TaskContext, sa: IkeSa, msg: IkeMessage) -> tuple[list[Payload], bool]:
    """Gateway side (``build_r()``): (payloads for the IKE_AUTH response, whether a CHILD_SA
    may still be made). Called once the peer is authenticated."""
    req = _find(msg, C.CFG_REQUEST)
    wanted = addresses(req) if req is not None else []
    pools = sa.conn.pools
    who = lease_identity(sa)
    sa.remote_vips = []
    got: list[str] = []
    for want in wanted:
        ep.emit(VirtualIpRequested(sa.name, who, want))
        lease = ep.pools.acquire(pools, who, want, f"{sa.remote[0]}[{sa.remote[1]}]")
        if lease is None:
            full = tuple(n for n in pools if n in ep.pools.by_name)
            ep.emit(VirtualIpRefused(sa.name, who, want, full))
            continue
        ep.emit(VirtualIpAssigned(sa.name, who, lease.address, lease.pool, lease.how,
                                  lease.previous))
        got.append(lease.address)
    if wanted and not got:
        why = (f"pool {', '.join(repr(p) for p in pools)} is full: every address is leased "
               "to another identity that is online" if pools
               else f"connection {sa.conn.name!r} has no pools")
        ep.failure(sa, "INTERNAL_ADDRESS_FAILURE", f"no virtual IP for {who!r}: {why}", True)
        return [Notify(C.INTERNAL_ADDRESS_FAILURE)], False
    if pools and not wanted:
        ep.failure(sa, "FAILED_CP_REQUIRED", f"connection {sa.conn.name!r} hands out virtual "
                   f"IPs (pools = {', '.join(pools)}) but {who!r} sent no configuration "
                   "payload asking for one", True)
        return [Notify(C.FAILED_CP_REQUIRED)], False
    sa.remote_vips = got
    if not got:
        return [], True
    attrs = [address_attr(a) for a in got]
    for key, value in ep.pools.attributes(pools, got):
        attrs.append(value_attr(key, value))
    return [CP(C.CFG_REPLY, attrs)], True


def release(ep: TaskContext, sa: IkeSa) -> None:
    """The IKE_SA is gone: its leases go back (``ike_sa.c`` ``destroy()``), and a client
    drops its virtual IPs."""
    if sa.remote_vips:
        who = lease_identity(sa)
        for addr in sa.remote_vips:
            got = ep.pools.release(sa.conn.pools, addr, who)
            if got is not None:
                ep.emit(VirtualIpReleased(sa.name, who, addr, got[0], got[1]))
        sa.remote_vips = []
    for addr in sa.local_vips:
        ep.emit(VirtualIpRemoved(sa.name, addr))
    sa.local_vips = []


def migrate(old: IkeSa, new: IkeSa) -> None:
    """An IKE_SA rekey: the virtual IPs and leases move to the new IKE_SA (RFC 7296 §2.18)."""
    new.local_vips, new.remote_vips = old.local_vips, old.remote_vips
    old.local_vips, old.remote_vips = [], []
