"""IKE endpoint and IPsec stack events -> trace records, SAD changes and summary counters.

Events are matched by class name so the simulation keeps running (and records
what it saw) whatever subset of the engine's events exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.stack import child_key

if TYPE_CHECKING:
    from .gateway import Gateway


def _hex(b: Any) -> str:
    return bytes(b).hex() if isinstance(b, bytes | bytearray) else str(b)


def handle_event(gw: Gateway, ev: Any, now: float) -> None:
    """One ``IkeEndpoint.next_event()`` result."""
    net = gw.net
    tr = net.trace
    c = net.counters
    kind = type(ev).__name__
    if kind == "IkeMessageEvent":
        tr.emit(now, "ike_msg", gw.name, ev.direction, f"{ev.remote[0]}:{ev.remote[1]}", ev.exchange,
                ev.msg_id, ev.response, ev.payloads, _hex(ev.ispi), _hex(ev.rspi), ev.size,
                ev.retransmit)
        if ev.retransmit:
            c["ike_retransmits"] += 1
    elif kind == "IkeStateChange":
        tr.emit(now, "ike_state", gw.name, ev.ike_sa, ev.old, ev.new, ev.detail)
    elif kind == "ChildStateChange":
        tr.emit(now, "child_state", gw.name, ev.ike_sa, ev.child, ev.spi_in, ev.old, ev.new, ev.detail)
    elif kind == "IkeSaUp":
        net.ike_keys.append(ev)
        c["ike_established"] += 1
        net.unique.setdefault("ike_established", set()).add((ev.ispi, ev.rspi))
        tr.emit(now, "sa", gw.name, "installed", "ike", _hex(ev.ispi) + "_" + _hex(ev.rspi), "both",
                ev.remote[0], ev.connection, None,
                f"{ev.encr}{'/' + ev.integ if ev.integ else ''}/{ev.prf}/{ev.dh}")
    elif kind == "IkeSaRekeyed":
        net.ike_keys.append(ev.new)
        c["ike_rekeyed"] += 1
        net.unique.setdefault("ike_rekeyed", set()).add((ev.new.ispi, ev.new.rspi))
        tr.emit(now, "sa", gw.name, "rekeyed", "ike",
                _hex(ev.new.ispi) + "_" + _hex(ev.new.rspi), "both", ev.new.remote[0],
                ev.new.connection, ev.old_ike_sa, "")
    elif kind == "IkeSaDown":
        c["ike_down"] += 1
        tr.emit(now, "sa", gw.name, "deleted", "ike", ev.ike_sa, "both", "", "", None, ev.reason)
    elif kind == "IkeFailure":
        c["ike_failed"] += 1
        tr.emit(now, "ike_fail", gw.name, ev.ike_sa, ev.notify, ev.reason, ev.child)
        child = ev.child
        # ChildSaKeys.ike_sa names the IKE_SA that made the child; an IKE_SA rekey moves it to
        # a new one (RFC 7296 §2.18), so ask which CHILD_SAs the failing IKE_SA holds now
        held = {c.spi_in for sa in (gw.ike.ike_sas.values() if gw.ike else ()) if sa.name == ev.ike_sa
                for c in sa.children}
        if child and not any(k.name == child and k.spi_in in held for k in gw.children.values()):
            # the child was refused (not a rekey of one this IKE_SA still has): its traffic is
            # dropped with this reason, not sent in the clear -- unless the connection serves
            # %any peers, whose config selectors also cover the other peers' CHILD_SAs
            gw.block_child(child, "discard", f"{ev.notify}: {ev.reason}")
    elif kind == "ChildSaUp":
        c["child_installed"] += 1
        # outbound=False (a rekey responder): traffic stays on the current SA until ChildSaRekeyed
        keep = None if getattr(ev, "outbound", True) else gw.stack.current_outbound(ev.keys)
        gw._install(ev.keys, now)
        if keep is not None:
            gw.stack.use_outbound(keep)
    elif kind == "ChildSaRekeyed":
        c["child_rekeyed"] += 1
        gw.stack.use_outbound(ev.new)  # the successor, also when a rekey collision was lost
        net.unique.setdefault("child_rekeyed", set()).add(frozenset((ev.new.spi_in, ev.new.spi_out)))
        tr.emit(now, "sa", gw.name, "rekeyed", ev.new.proto, ev.new.spi_in, "in", ev.new.remote_addr,
                ev.new.name, ev.old.spi_in, "")
    elif kind == "ChildSaDown":
        reason = str(ev.reason)
        what = "child_expired" if "expire" in reason else "child_deleted"
        c[what] += 1
        gw.children.pop((ev.keys.name, ev.keys.unique_id), None)  # live children only
        net.unique.setdefault(what, set()).add(frozenset((ev.keys.spi_in, ev.keys.spi_out)))
        try:
            gw.stack.remove_child(ev.keys)
        except Exception as exc:  # noqa: BLE001 - a missing SA must not end the run
            tr.emit(now, "note", gw.name, f"remove_child {ev.keys.name} failed: {exc!r}")
        for direction, spi in (("in", ev.keys.spi_in), ("out", ev.keys.spi_out)):
            tr.emit(now, "sa", gw.name, "hard_expired" if "expire" in reason else "deleted",
                    ev.keys.proto, spi, direction, ev.keys.remote_addr, ev.keys.name, None, reason)
        if reason.startswith("reauthenticating"):
            key = child_key(ev.keys)
            if not any(child_key(k) == key for k in gw.children.values()):
                # break-before-make reauthentication: until the new IKE_SA brings this CHILD_SA
                # back, its traffic is dropped (no_sa) rather than sent in the clear; the trap
                # covers its own selectors only (a hub's other peers keep their SAs)
                gw.block_child(ev.keys.name, "protect", "reauthentication", keys=ev.keys)
    elif kind == "IkeDrop":
        net.all_drops[f"ike_{ev.reason}"] += 1
        tr.emit(now, "drop", gw.name, 0, f"ike_{ev.reason}", ev.detail)
    else:
        tr.emit(now, "note", gw.name, f"IKE event {kind}: {ev!r}")


def handle_stack_event(gw: Gateway, ev: Any, now: float) -> None:
    """One ``IPsecStack.next_event()`` result (an SA crossed a soft/hard byte or packet limit):
    trace it and tell IKE, which rekeys (soft) or expires (hard) the child."""
    which = getattr(ev, "which", "soft")
    spi = getattr(ev, "spi", 0)
    gw.net.trace.emit(now, "sa", gw.name, "soft_expired" if which == "soft" else "hard_expired",
                      getattr(ev, "proto", "esp"), spi, "", "", "", None,
                      f"{which} {getattr(ev, 'kind', '')} limit at {getattr(ev, 'value', '')}")
    ike = gw.ike
    # the engine names a child by our inbound SPI; an outbound SA's limit maps to its pair
    spi = next((k.spi_in for k in gw.children.values() if k.spi_out == spi), spi)
    if ike is not None and hasattr(ike, "sa_limit_reached"):
        try:
            ike.sa_limit_reached(spi, which, now)
        except Exception as exc:  # noqa: BLE001 - recorded, never ends the run
            gw.net.trace.emit(now, "note", gw.name, f"sa_limit_reached failed: {exc!r}")
