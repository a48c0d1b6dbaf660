"""What a gateway's :class:`~ipsecsim.core.node.IpsecNode` reports -> trace records and counters.

Recording only: the node has already acted on each event (installed, switched or
removed SAs, added traps and discards, told IKE of limits). Events are matched by
type; one the simulator has no record for becomes a ``note``, so nothing is lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.ike import events as E
from ..core.node_events import (
    BlockAdded,
    BlockLifted,
    Note,
    PacketDropped,
    SaInstalled,
    SaInstallFailed,
    SaRemoved,
)
from ..core.sa import SaLimitReached

if TYPE_CHECKING:
    from .gateway import Gateway

__all__ = ["record_event"]


def _hex(b: Any) -> str:
    return bytes(b).hex() if isinstance(b, bytes | bytearray) else str(b)


def record_event(gw: Gateway, ev: Any, now: float) -> None:
    """One ``IpsecNode.next_event()`` result, as trace records and summary counters."""
    net = gw.net
    tr = net.trace
    c = net.counters
    name = gw.name
    match ev:
        case E.IkeMessageEvent():
            tr.emit(now, "ike_msg", name, ev.direction, f"{ev.remote[0]}:{ev.remote[1]}",
                    ev.exchange, ev.msg_id, ev.response, ev.payloads, _hex(ev.ispi),
                    _hex(ev.rspi), ev.size, ev.retransmit)
            if ev.retransmit:
                c["ike_retransmits"] += 1
        case E.IkeStateChange():
            tr.emit(now, "ike_state", name, ev.ike_sa, ev.old, ev.new, ev.detail)
        case E.ChildStateChange():
            tr.emit(now, "child_state", name, ev.ike_sa, ev.child, ev.spi_in, ev.old, ev.new,
                    ev.detail)
        case E.IkeSaUp():
            net.ike_keys.append(ev)
            c["ike_established"] += 1
            net.unique.setdefault("ike_established", set()).add((ev.ispi, ev.rspi))
            tr.emit(now, "sa", name, "installed", "ike", _hex(ev.ispi) + "_" + _hex(ev.rspi),
                    "both", ev.remote[0], ev.connection, None,
                    f"{ev.encr}{'/' + ev.integ if ev.integ else ''}/{ev.prf}/{ev.dh}")
        case E.IkeSaRekeyed():
            net.ike_keys.append(ev.new)
            c["ike_rekeyed"] += 1
            net.unique.setdefault("ike_rekeyed", set()).add((ev.new.ispi, ev.new.rspi))
            tr.emit(now, "sa", name, "rekeyed", "ike",
                    _hex(ev.new.ispi) + "_" + _hex(ev.new.rspi), "both", ev.new.remote[0],
                    ev.new.connection, ev.old_ike_sa, "")
        case E.IkeSaDown():
            c["ike_down"] += 1
            tr.emit(now, "sa", name, "deleted", "ike", ev.ike_sa, "both", "", "", None, ev.reason)
        case E.IkeFailure():
            c["ike_failed"] += 1
            tr.emit(now, "ike_fail", name, ev.ike_sa, ev.notify, ev.reason, ev.child)
        case E.ChildSaUp():
            c["child_installed"] += 1
        case SaInstalled(keys=keys):
            net.child_keys.append(keys)
            for direction, spi in (("in", keys.spi_in), ("out", keys.spi_out)):
                tr.emit(now, "sa", name, "installed", keys.proto, spi, direction,
                        keys.remote_addr, keys.name, None,
                        f"{keys.mode} {keys.encr.name if keys.encr else ''}"
                        f"{'/' + keys.integ.name if keys.integ else ''}")
        case SaInstallFailed(keys=keys, reason=why):
            c["child_failed"] += 1
            net.unique.setdefault("child_failed", set()).add(frozenset((keys.spi_in, keys.spi_out)))
            tr.emit(now, "ike_fail", name, keys.ike_sa or keys.name, "INSTALL_FAILED",
                    f"child {keys.name}: {why}", keys.name)
        case E.ChildSaRekeyed():
            c["child_rekeyed"] += 1
            net.unique.setdefault("child_rekeyed", set()).add(
                frozenset((ev.new.spi_in, ev.new.spi_out)))
            tr.emit(now, "sa", name, "rekeyed", ev.new.proto, ev.new.spi_in, "in",
                    ev.new.remote_addr, ev.new.name, ev.old.spi_in, "")
        case E.ChildSaDown():
            what = "child_expired" if "expire" in str(ev.reason) else "child_deleted"
            c[what] += 1
            net.unique.setdefault(what, set()).add(frozenset((ev.keys.spi_in, ev.keys.spi_out)))
        case SaRemoved(keys=keys, reason=reason):
            event = "hard_expired" if "expire" in reason else "deleted"
            for direction, spi in (("in", keys.spi_in), ("out", keys.spi_out)):
                tr.emit(now, "sa", name, event, keys.proto, spi, direction, keys.remote_addr,
                        keys.name, None, reason)
        case SaLimitReached():
            tr.emit(now, "sa", name, "soft_expired" if ev.which == "soft" else "hard_expired",
                    ev.proto, ev.spi, "", "", "", None, f"{ev.which} {ev.kind} limit at {ev.value}")
        case E.IkeDrop():
            net.all_drops[f"ike_{ev.reason}"] += 1
            tr.emit(now, "drop", name, 0, f"ike_{ev.reason}", ev.detail)
        case Note(text=text):
            tr.emit(now, "note", name, text)
        case E.EapStep(step=st):  # EAP in IKE_AUTH (core/ike/eap/): one note per step
            tr.emit(now, "note", name, f"{ev.ike_sa}: EAP {st.kind} {st.method} "
                    f"{st.text or ev.identity}".rstrip())
        case BlockAdded() | BlockLifted():
            pass  # the trace shows a block by the drops it causes (no_sa, policy_discard)
        case PacketDropped():
            net.drop(now, name, 0, ev.reason, ev.detail)
        case _:
            tr.emit(now, "note", name, f"IKE event {type(ev).__name__}: {ev!r}")
