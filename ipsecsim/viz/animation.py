"""Packet-flow animation over the topology for a short window of a run.

Every hop a packet makes is a ``link_tx`` record: when it started onto the
link, from which node to which, and ``arrive``, when it reached the far end
(None if it did not; traces written before ``arrive`` existed have a
``link_rx`` record of the same link and packet id instead, read the same
way). Between the two the packet is drawn as a dot
moving along the link; a packet that never arrived (lost on the link) is a
red cross at the point where the animation loses it. Dots are coloured by
what the packet is, read from its bytes when the trace kept them: IKE (UDP
500/4500 with a zero non-ESP marker or port 500), ESP (IP protocol 50 or ESP
in UDP), AH (51), or plain.

``animate_packets(sim, window)`` returns a ``matplotlib.animation.FuncAnimation``;
in Jupyter, ``HTML(anim.to_jshtml())`` shows it with play controls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.ip import IPPROTO_AH, IPPROTO_ESP, IPPROTO_UDP
from ..core.natt import IKE_PORT, NATT_PORT, NON_ESP_MARKER
from .data import records
from .palette import OKABE_ITO

KIND_COLOURS = {
    "IKE": OKABE_ITO["purple"],
    "ESP": OKABE_ITO["blue"],
    "ESP in UDP": OKABE_ITO["sky"],
    "AH": OKABE_ITO["orange"],
    "plain": OKABE_ITO["green"],
}


@dataclass(frozen=True, slots=True)
class Hop:
    """One packet on one link."""

    t_tx: float
    t_rx: float | None
    """Arrival time; None if it never arrived (lost, or after the trace ended)."""
    src: str
    dst: str
    link: str
    kind: str
    size: int


def classify(data: Any) -> str:
    """What an IPv4 packet is, from its bytes (``plain`` when unknown)."""
    if not data:
        return "plain"
    b = bytes.fromhex(data) if isinstance(data, str) else bytes(data)
    if len(b) < 20:
        return "plain"
    proto = b[9]
    ihl = (b[0] & 0x0F) * 4
    if proto == IPPROTO_ESP:
        return "ESP"
    if proto == IPPROTO_AH:
        return "AH"
    if proto == IPPROTO_UDP and len(b) >= ihl + 8:
        sport = int.from_bytes(b[ihl:ihl + 2], "big")
        dport = int.from_bytes(b[ihl + 2:ihl + 4], "big")
        if IKE_PORT in (sport, dport):
            return "IKE"
        if NATT_PORT in (sport, dport):
            return "IKE" if b[ihl + 8:ihl + 12] == NON_ESP_MARKER else "ESP in UDP"
    return "plain"


def hops(data: Any, window: tuple[float, float]) -> list[Hop]:
    """Hops that are on a link at some moment of ``window``."""
    t0, t1 = window
    rx: dict[tuple[str, Any], list[float]] = {}
    for r in records(data, "link_rx"):
        rx.setdefault((str(r["link"]), r["pkt_id"]), []).append(float(r["t"]))
    out = []
    for r in records(data, "link_tx"):
        t = float(r["t"])
        if t > t1:
            continue
        if "arrive" in r:
            t_rx = None if r["arrive"] is None else float(r["arrive"])
        else:  # an older trace: the link_rx record of the same link and packet
            arrivals = [a for a in rx.get((str(r["link"]), r["pkt_id"]), []) if a >= t]
            t_rx = min(arrivals) if arrivals else None
            if t_rx is not None:
                rx[(str(r["link"]), r["pkt_id"])].remove(t_rx)
        if (t_rx if t_rx is not None else t + (t1 - t0)) < t0:
            continue
        out.append(Hop(t, t_rx, str(r["src_node"]), str(r["dst_node"]), str(r["link"]),
                       classify(r.get("data")), int(r.get("size") or 0)))
    return out


def animate_packets(sim: Any, window: tuple[float, float], *, frames: int = 40,
                    interval: int = 120, topo: dict[str, Any] | None = None,
                    title: str | None = None) -> Any:
    """An animation of the packets on the links during ``window`` (simulated seconds)."""
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation
    from matplotlib.lines import Line2D

    from .topology import draw_topology, layout

    topo = topo if topo is not None else getattr(sim, "topo", None)
    if topo is None:
        raise ValueError("animate_packets needs a Simulation or topo=")
    t0, t1 = window
    hs = hops(sim, window)
    pos = layout(topo)
    ax = draw_topology(sim, topo=topo, show_flows=False, show_load=False)
    fig = ax.figure
    fig.set_dpi(72)  # every frame becomes a PNG in to_jshtml(): keep them light
    dots = ax.scatter([], [], s=70, zorder=10, edgecolor="black", linewidths=0.5)
    lost = ax.scatter([], [], s=60, marker="X", color=OKABE_ITO["vermillion"], zorder=11)
    clock = ax.text(0.01, 0.98, "", transform=ax.transAxes, ha="left", va="top", fontsize=9,
                    family="monospace")
    kinds = [k for k in KIND_COLOURS if any(h.kind == k for h in hs)]
    handles = [Line2D([], [], marker="o", linestyle="", color=KIND_COLOURS[k], label=k)
               for k in kinds]
    if any(h.t_rx is None for h in hs):
        handles.append(Line2D([], [], marker="X", linestyle="", color=OKABE_ITO["vermillion"],
                              label="lost"))
    if handles:
        ax.add_artist(ax.get_legend()) if ax.get_legend() else None
        ax.legend(handles=handles, loc="upper right", fontsize=7.5, title="packets",
                  title_fontsize=8, frameon=True)
    if title:
        ax.set_title(title)

    def frame(k: int) -> tuple[Any, ...]:
        t = t0 + (t1 - t0) * k / max(frames - 1, 1)
        xy, cols, gone = [], [], []
        for h in hs:
            (x0, y0), (x1, y1) = pos[h.src], pos[h.dst]
            if h.t_rx is None:
                if h.t_tx <= t:
                    gone.append(((x0 + x1) / 2, (y0 + y1) / 2))
                continue
            if h.t_tx <= t <= h.t_rx:
                f = (t - h.t_tx) / (h.t_rx - h.t_tx) if h.t_rx > h.t_tx else 1.0
                xy.append((x0 + (x1 - x0) * f, y0 + (y1 - y0) * f))
                cols.append(KIND_COLOURS[h.kind])
        dots.set_offsets(xy if xy else [[float("nan"), float("nan")]])
        if cols:
            dots.set_facecolor(cols)
        lost.set_offsets(gone if gone else [[float("nan"), float("nan")]])
        clock.set_text(f"t = {t:8.4f} s   packets on links: {len(xy)}")
        return dots, lost, clock

    anim = FuncAnimation(fig, frame, frames=frames, interval=interval, blit=False)
    plt.close(fig)  # the notebook shows the animation, not the last still
    return anim
