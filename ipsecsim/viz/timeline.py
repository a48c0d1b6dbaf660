"""SA lifecycle timeline from the trace's ``sa`` and ``ike_msg`` records.

One bar per SA and direction (``node``, protocol, SPI, direction), from the
moment it was installed to its delete or hard expiry (or the end of the
trace). Marks on a bar: soft expiry (orange tick), rekey (black diamond, with
an arrow to the successor), delete (black cross) and hard expiry (red cross).
The part of an old SA that lives on after its successor was installed is
hatched: that is the make-before-break overlap during which packets still in
flight under the old SPI are accepted.

When the data is a ``Simulation``, each child's configured ``rekey_time`` and
``life_time`` are taken from its topology and drawn as thin dotted ticks at
install + rekey_time (soft) and install + life_time (hard). IKE SAs get a row
per node too, with DPD probes (INFORMATIONAL requests without payloads) as
small diamonds on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .data import end_time, is_send, payload_list, records
from .palette import GREY, SA_COLOURS, new_axes


@dataclass
class SaBar:
    """One SA (one direction) as the timeline shows it."""

    node: str
    proto: str
    spi: str
    direction: str
    child: str
    start: float
    end: float | None = None
    end_event: str = ""
    """``deleted`` or ``hard_expired`` (empty while alive at the end)."""
    soft: list[float] = field(default_factory=list)
    rekeyed_at: float | None = None
    """When a successor replaced it."""
    successor: str | None = None
    detail: str = ""
    partner: str | None = None
    """SPI of the other direction installed in the same step (in <-> out of one CHILD_SA)."""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.node, self.proto, self.spi, self.direction)


def _spi_text(proto: str, spi: Any) -> str:
    s = str(spi)
    if proto != "ike" and s.isdigit():
        return f"0x{int(s):08x}"
    return s.split("_")[0][:8] + "…" if "_" in s else s


def build_bars(data: Any, node: str | None = None) -> tuple[list[SaBar], float]:
    """SA bars (in install order) and the end time of the trace."""
    recs = records(data, "sa")
    end = end_time(data)
    if hasattr(data, "now"):
        end = max(end, float(data.now))
    bars: dict[tuple, SaBar] = {}
    order: list[tuple] = []
    last_in: SaBar | None = None

    def bar_for(r: dict[str, Any], create: bool) -> SaBar | None:
        key = (r["node"], str(r.get("proto")), str(r.get("spi")), str(r.get("direction")))
        b = bars.get(key)
        if b is None and create:
            b = SaBar(r["node"], str(r.get("proto")), str(r.get("spi")), str(r.get("direction")),
                      str(r.get("child") or ""), float(r["t"]), detail=str(r.get("detail") or ""))
            bars[key] = b
            order.append(key)
        return b

    for r in recs:
        if node is not None and r["node"] != node:
            continue
        ev = r.get("event")
        t = float(r["t"])
        if ev != "installed":
            last_in = None
        if ev == "installed":
            b = bar_for(r, True)
            # the gateway installs a CHILD_SA's inbound and outbound halves as adjacent records
            if (b is not None and last_in is not None and b.direction == "out"
                    and last_in.node == b.node and last_in.child == b.child
                    and last_in.start == b.start and last_in.partner is None):
                last_in.partner, b.partner = b.spi, last_in.spi
            last_in = b if b is not None and b.direction == "in" else None
            continue
        elif ev == "rekeyed":
            new = bar_for(r, True)
            old_spi = r.get("old_spi")
            if old_spi not in (None, ""):
                for b in bars.values():
                    if (b.node == r["node"] and b.spi == str(old_spi) and b is not new
                            and b.rekeyed_at is None):
                        b.rekeyed_at = t
                        b.successor = new.spi if new else None
            # the outbound half of the same rekey: the partners of the old and new inbound SAs
            old_in = next((b for b in bars.values() if b.node == r["node"]
                           and b.spi == str(old_spi)), None)
            if new is not None and old_in is not None and new.partner and old_in.partner:
                old_out = next((b for b in bars.values() if b.node == r["node"]
                                and b.spi == old_in.partner and b.direction == "out"), None)
                if old_out is not None and old_out.rekeyed_at is None:
                    old_out.rekeyed_at, old_out.successor = t, new.partner
        elif ev == "soft_expired":
            b = bar_for(r, False) or _by_spi(bars, r)
            if b is not None:
                b.soft.append(t)
        elif ev in ("deleted", "hard_expired"):
            b = bar_for(r, False) or _by_spi(bars, r)
            if b is not None and b.end is None:
                b.end, b.end_event = t, ev
    return [bars[k] for k in order], end


def _by_spi(bars: dict[tuple, SaBar], r: dict[str, Any]) -> SaBar | None:
    """A bar of the same node and SPI whatever the direction/proto field says (stack events)."""
    for b in bars.values():
        if b.node == r["node"] and b.spi == str(r.get("spi")) and b.end is None:
            return b
    for b in bars.values():  # IKE SAs are deleted by name, not SPI: match the node's open IKE bar
        if (b.node == r["node"] and b.proto == "ike" == str(r.get("proto")) and b.end is None):
            return b
    return None


def _planned(sim: Any) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    """(node, child or connection) -> (rekey_time, life_time) from a Simulation's topology."""
    topo = getattr(sim, "topo", None)
    if not isinstance(topo, dict):
        return {}
    from ..core.units import parse_time

    out: dict[tuple[str, str], tuple[float | None, float | None]] = {}
    for name, n in (topo.get("nodes") or {}).items():
        for cname, conn in ((n.get("ipsec") or {}).get("connections") or {}).items():
            rk = conn.get("rekey_time")
            out[(name, cname)] = (parse_time(rk) if rk not in (None, 0, "0") else None, None)
            for chname, ch in (conn.get("children") or {}).items():
                rk, lt = ch.get("rekey_time"), ch.get("life_time")
                out[(name, chname)] = (parse_time(rk) if rk not in (None, 0, "0") else None,
                                       parse_time(lt) if lt not in (None, 0, "0") else None)
    return out


def draw_sa_timeline(data: Any, ax: Any = None, *, node: str | None = None,
                     window: tuple[float, float] | None = None, max_rows: int = 40,
                     show_dpd: bool = True, title: str | None = None) -> Any:
    """Draw the SA lifecycle timeline (see module docstring). Returns the Axes."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, Patch

    bars, end = build_bars(data, node)
    t0, t1 = window if window is not None else (0.0, end if end > 0 else 1.0)
    bars = [b for b in bars if b.start <= t1 and (b.end is None or b.end >= t0)]
    # rows grouped by node, then IKE first, then children in install order
    bars.sort(key=lambda b: (b.node, b.proto != "ike", b.child, b.start, b.direction))
    shown = bars[:max_rows]
    planned = _planned(data)
    ax = new_axes(ax, figsize=(10.0, 1.4 + 0.32 * max(len(shown), 2)))
    row_of = {b.key: i for i, b in enumerate(shown)}
    span = t1 - t0
    h = 0.62
    planned_drawn = 0
    for i, b in enumerate(shown):
        colour = SA_COLOURS["ike"] if b.proto == "ike" else SA_COLOURS.get(b.direction, GREY)
        stop = b.end if b.end is not None else t1
        live_end = b.rekeyed_at if b.rekeyed_at is not None else stop
        ax.barh(i, max(live_end - b.start, span * 0.002), left=b.start, height=h, color=colour,
                edgecolor="black", linewidth=0.4)
        if b.rekeyed_at is not None and stop > b.rekeyed_at:
            ax.barh(i, stop - b.rekeyed_at, left=b.rekeyed_at, height=h, color="white",
                    edgecolor=colour, hatch="////", linewidth=0.6)
        if b.end is None and stop >= t1:
            ax.plot([t1], [i], marker=">", color=colour, markersize=5, clip_on=False)
        for ts in b.soft:
            ax.plot([ts, ts], [i - h / 2 - 0.08, i + h / 2 + 0.08], color=SA_COLOURS["soft"],
                    linewidth=2.2)
        if b.rekeyed_at is not None:
            ax.plot([b.rekeyed_at], [i], marker="D", color=SA_COLOURS["rekey"], markersize=5)
        if b.end_event:
            ax.plot([b.end], [i], marker="X", markersize=8, markeredgecolor="white",
                    color=SA_COLOURS["hard"] if b.end_event == "hard_expired" else "black")
        rk, lt = planned.get((b.node, b.child), (None, None))
        for dt, col in ((rk, SA_COLOURS["soft"]), (lt, SA_COLOURS["hard"])):
            if dt is not None and t0 <= b.start + dt <= t1:
                planned_drawn += 1
                ax.plot([b.start + dt] * 2, [i - h / 2 - 0.15, i + h / 2 + 0.15], color=col,
                        linewidth=1.0, linestyle=":")
    # successor arrows
    for b in shown:
        if b.successor is None or b.rekeyed_at is None:
            continue
        tgt = next((c for c in shown if c.node == b.node and c.spi == b.successor), None)
        if tgt is None:
            continue
        ax.add_patch(FancyArrowPatch((b.rekeyed_at, row_of[b.key]), (tgt.start, row_of[tgt.key]),
                                     arrowstyle="-|>", mutation_scale=9, color="#333333",
                                     connectionstyle="arc3,rad=0.3", linewidth=0.8))
    dpd_drawn = _draw_dpd(ax, data, shown, row_of, (t0, t1), node) if show_dpd else 0
    ax.set_yticks(range(len(shown)),
                  [f"{b.node}  {b.child or b.proto}  {b.proto.upper() if b.proto != 'ike' else 'IKE'}"
                   f" {b.direction if b.proto != 'ike' else ''} {_spi_text(b.proto, b.spi)}"
                   for b in shown], fontsize=7.5)
    ax.set_ylim(len(shown) - 0.4, -0.6)
    ax.set_xlim(t0, t1 + span * 0.01)
    ax.set_xlabel("simulated time (s)")
    ax.grid(True, axis="x", color=GREY, linewidth=0.4, alpha=0.6)
    present = {b.direction if b.proto != "ike" else "ike" for b in shown}
    has = {
        "overlap": any(b.rekeyed_at is not None and (b.end or t1) > b.rekeyed_at for b in shown),
        "soft": any(b.soft for b in shown),
        "rekey": any(b.rekeyed_at is not None for b in shown),
        "deleted": any(b.end_event == "deleted" for b in shown),
        "hard": any(b.end_event == "hard_expired" for b in shown),
    }
    handles: list[Any] = [h for key, h in (
        ("in", Patch(facecolor=SA_COLOURS["in"], label="inbound SA")),
        ("out", Patch(facecolor=SA_COLOURS["out"], label="outbound SA")),
        ("ike", Patch(facecolor=SA_COLOURS["ike"], label="IKE SA"))) if key in present]
    handles += [h for key, h in (
        ("overlap", Patch(facecolor="white", edgecolor="#333333", hatch="////",
                          label="after rekey (overlap)")),
        ("soft", Line2D([], [], color=SA_COLOURS["soft"], linewidth=2.2, label="soft expiry")),
        ("rekey", Line2D([], [], marker="D", color="black", linestyle="", label="rekeyed")),
        ("deleted", Line2D([], [], marker="X", color="black", linestyle="", label="deleted")),
        ("hard", Line2D([], [], marker="X", color=SA_COLOURS["hard"], linestyle="",
                        label="hard expiry"))) if has[key]]
    if planned_drawn:
        handles.append(Line2D([], [], color=GREY, linestyle=":", label="configured rekey / life"))
    if show_dpd and dpd_drawn:
        handles.append(Line2D([], [], marker="d", color=SA_COLOURS["dpd"], linestyle="",
                              label="DPD / empty INFORMATIONAL"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False)
    if len(bars) > max_rows:
        ax.text(1.0, -0.02, f"{len(bars) - max_rows} more SAs not shown", transform=ax.transAxes,
                ha="right", va="top", fontsize=7, color="#666666")
    if title:
        ax.set_title(title)
    return ax


def _draw_dpd(ax: Any, data: Any, shown: list[SaBar], row_of: dict, window: tuple[float, float],
              node: str | None) -> int:
    """Mark empty INFORMATIONAL requests (DPD) on the IKE rows; returns how many."""
    n = 0
    ike_row = {b.node: row_of[b.key] for b in shown if b.proto == "ike"}
    for r in records(data, "ike_msg"):
        if r.get("exchange") != "INFORMATIONAL" or r.get("response") or payload_list(
                r.get("payloads")):
            continue
        if not is_send(r.get("direction")) or (node is not None and r["node"] != node):
            continue
        t = float(r["t"])
        if r["node"] in ike_row and window[0] <= t <= window[1]:
            ax.plot([t], [ike_row[r["node"]]], marker="d", color=SA_COLOURS["dpd"],
                    markeredgecolor="black", markeredgewidth=0.4, markersize=6, zorder=4)
            n += 1
    return n
