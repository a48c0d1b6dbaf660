"""Throughput, latency and drops over time from the trace, with rekeys marked.

Goodput is what the traffic generators' receivers got (``app_deliver``
records: bytes per time bin, per flow); latency is each delivered packet's
one-way delay; drops are ``drop`` records per bin and reason. Vertical
dashed lines mark CHILD_SA rekeys (``sa`` records with event ``rekeyed``),
so a dip or a latency spike can be read against them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .data import end_time, records
from .palette import GREY, OKABE_ITO, new_axes, series_colour

if TYPE_CHECKING:
    import pandas as pd


def rekey_times(data: Any, min_gap: float = 0.5) -> list[float]:
    """Times of CHILD_SA and IKE_SA rekeys; events closer than ``min_gap`` (both ends of one
    rekey) count once."""
    out: list[float] = []
    for r in records(data, "sa"):
        if r.get("event") == "rekeyed":
            t = float(r["t"])
            if not out or t - out[-1] >= min_gap:
                out.append(t)
    return out


def _flows(data: Any, flows: list[str] | None) -> list[str]:
    names = list(dict.fromkeys(str(r.get("flow")) for r in records(data, "app_send")))
    names = [n for n in names if not n.endswith(".ack")] or names
    return [n for n in names if flows is None or n in flows]


def goodput_frame(data: Any, bin_s: float = 1.0) -> pd.DataFrame:
    """Delivered bits per second, per flow and time bin: columns ``flow, t, mbps, packets``."""
    import pandas as pd

    rows = [(str(r["flow"]), float(r["t"]), int(r["size"])) for r in records(data, "app_deliver")]
    df = pd.DataFrame(rows, columns=["flow", "t", "size"])
    if df.empty:
        return pd.DataFrame(columns=["flow", "t", "mbps", "packets"])
    df["bin"] = (df["t"] // bin_s) * bin_s
    g = df.groupby(["flow", "bin"]).agg(bytes=("size", "sum"), packets=("size", "count"))
    g = g.reset_index().rename(columns={"bin": "t"})
    g["mbps"] = g["bytes"] * 8 / bin_s / 1e6
    return g[["flow", "t", "mbps", "packets"]]


def _mark_rekeys(ax: Any, data: Any, label: bool) -> None:
    for i, t in enumerate(rekey_times(data)):
        ax.axvline(t, color=OKABE_ITO["black"], linestyle="--", linewidth=0.9, alpha=0.7,
                   label="rekey" if label and i == 0 else None)


def draw_throughput(data: Any, ax: Any = None, *, bin_s: float = 1.0,
                    flows: list[str] | None = None, mark_rekeys: bool = True,
                    title: str | None = None) -> Any:
    """Goodput per flow (Mbit/s per ``bin_s`` bin) over time, rekeys dashed. Returns the Axes."""
    ax = new_axes(ax, figsize=(9.0, 3.2))
    df = goodput_frame(data, bin_s)
    end = end_time(data) or 1.0
    series = []
    for f in _flows(data, flows):
        g = df[df["flow"] == f].set_index("t")
        bins = [k * bin_s for k in range(int(end // bin_s) + 1)]
        series.append((f, bins, [float(g["mbps"].get(b, 0.0)) for b in bins]))
    top = max((max(ys, default=0.0) for _, _, ys in series), default=0.0)
    for i, (f, bins, ys) in enumerate(series):
        peak = max(ys, default=0.0)
        # a flow too small to see beside the others (a ping beside a bulk transfer) gets
        # its peak in the legend and markers on its bins, drawn over the others
        small = top > 0 and peak < 0.03 * top
        label = f"{f} (peak {_kbps(peak)}, too small to see here)" if small else f
        ax.step(bins, ys, where="post", color=series_colour(i), linewidth=1.5, label=label,
                marker="." if small else None, markersize=5, zorder=3 if small else 2,
                clip_on=False)
    if mark_rekeys:
        _mark_rekeys(ax, data, True)
    ax.set_ylabel(f"goodput (Mbit/s, {bin_s:g} s bins)")
    ax.set_xlabel("simulated time (s)")
    # a little room under zero, so a line at zero is not hidden by the axis
    ax.set_ylim(bottom=-0.03 * top if top > 0 else 0)
    ax.grid(True, color=GREY, linewidth=0.4, alpha=0.6)
    _legend_or_note(ax, "no packet delivered")
    if title:
        ax.set_title(title)
    return ax


def _kbps(mbps: float) -> str:
    return f"{mbps * 1e3:.3g} kbit/s"


def draw_latency(data: Any, ax: Any = None, *, flows: list[str] | None = None,
                 mark_rekeys: bool = True, max_points: int = 20000,
                 title: str | None = None) -> Any:
    """Latency of every delivered packet (ms), per flow, rekeys dashed: one way, or round trip
    for flows delivered back at their sender (ping), which the legend says."""
    ax = new_axes(ax, figsize=(9.0, 3.0))
    recs = records(data, "app_deliver")
    # a flow delivered back at the node that sent it (ping: the echo reply) measures a round trip
    senders = {str(r["flow"]): r["node"] for r in records(data, "app_send")}
    for i, f in enumerate(_flows(data, flows)):
        mine = [r for r in recs if str(r["flow"]) == f]
        stride = max(1, len(mine) // max_points)  # long runs: every n-th packet is enough
        pts = [(float(r["t"]), float(r["latency"]) * 1e3) for r in mine[::stride]]
        rtt = bool(mine) and all(r["node"] == senders.get(f) for r in mine)
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=6, color=series_colour(i),
                       label=f + (" (round trip)" if rtt else ""), alpha=0.7, linewidths=0)
    if mark_rekeys:
        _mark_rekeys(ax, data, True)
    ax.set_ylabel("latency (ms)")
    ax.set_xlabel("simulated time (s)")
    ax.set_ylim(bottom=0)
    ax.grid(True, color=GREY, linewidth=0.4, alpha=0.6)
    _legend_or_note(ax, "no packet delivered", markerscale=2)
    if title:
        ax.set_title(title)
    return ax


def draw_drops(data: Any, ax: Any = None, *, bin_s: float = 1.0, mark_rekeys: bool = True,
               title: str | None = None) -> Any:
    """Dropped packets per time bin, stacked by reason."""
    import pandas as pd

    ax = new_axes(ax, figsize=(9.0, 2.6))
    rows = [(float(r["t"]), str(r.get("reason"))) for r in records(data, "drop")]
    df = pd.DataFrame(rows, columns=["t", "reason"])
    if not df.empty:
        df["bin"] = (df["t"] // bin_s) * bin_s
        tab = df.groupby(["bin", "reason"]).size().unstack(fill_value=0)
        bottom = None
        for i, reason in enumerate(tab.columns):
            ax.bar(tab.index, tab[reason], width=bin_s * 0.9, align="edge", bottom=bottom,
                   color=series_colour(i + 3), label=reason)
            bottom = tab[reason] if bottom is None else bottom + tab[reason]
    else:
        ax.text(0.5, 0.5, "no drops", transform=ax.transAxes, ha="center", va="center",
                color="#666666")
    if mark_rekeys:
        _mark_rekeys(ax, data, False)
    ax.set_ylabel("drops per bin")
    ax.set_xlabel("simulated time (s)")
    if not df.empty:
        _legend_or_note(ax, "no drop")
    if title:
        ax.set_title(title)
    return ax


def throughput_figure(data: Any, *, bin_s: float = 1.0, flows: list[str] | None = None,
                      title: str | None = None) -> Any:
    """Goodput, latency and drops stacked on one time axis; returns the Figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(9.5, 7.0), sharex=True, layout="constrained",
                             height_ratios=[3, 3, 2])
    draw_throughput(data, axes[0], bin_s=bin_s, flows=flows)
    draw_latency(data, axes[1], flows=flows)
    draw_drops(data, axes[2], bin_s=bin_s)
    for a in axes[:2]:
        a.set_xlabel("")
    if title:
        fig.suptitle(title)
    return fig


def _legend_or_note(ax: Any, empty: str, **kw: Any) -> None:
    """A legend of the labelled series, or ``empty`` written in the axes when there are none
    (matplotlib would warn "No artists with labels found" to the user instead)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, **kw)
    else:
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", color=GREY)
