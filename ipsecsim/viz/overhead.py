"""Overhead charts: bytes added and payload efficiency against packet size.

The IPsec numbers come from :func:`ipsecsim.core.overhead.overhead`, which
builds real packets with real SAs -- so a step in a curve is a padding step
the data plane actually took. The TLS/DTLS VPN numbers come from the record
formats modelled in :mod:`ipsecsim.core.tlsvpn`.

A *config* is a dict: ``{"proto": "esp"|"ah", "mode": "tunnel"|"transport",
"proposal": "aes128gcm16", "nat_t": False}`` for IPsec, or ``{"proto":
"tls"}`` / ``{"proto": "dtls"}`` for a TLS VPN (other keys go to
:func:`~ipsecsim.core.tlsvpn.tls_vpn_overhead`). An optional ``"label"`` names
the series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..core.tlsvpn import tls_vpn_overhead
from .palette import GREY, LIGHT_GREY, LINE_SERIES, new_axes, series_colour

if TYPE_CHECKING:
    import pandas as pd

_TLS_KEYS = ("tcp_timestamps", "dtls_header", "cid_bytes", "vpn_header")


def config_label(cfg: dict[str, Any]) -> str:
    """A short series name: ``ESP tunnel aes128gcm16 +NAT-T``, ``TLS 1.3/TCP VPN``."""
    if "label" in cfg:
        return str(cfg["label"])
    if cfg["proto"] == "tls":
        return "TLS 1.3 / TCP VPN"
    if cfg["proto"] == "dtls":
        return "DTLS 1.3 / UDP VPN"
    text = f"{cfg['proto'].upper()} {cfg.get('mode', 'tunnel')} {cfg.get('proposal', '')}".strip()
    return text + (" +NAT-T" if cfg.get("nat_t") else "")


def overhead_of(cfg: dict[str, Any], size: int,
                ipsec_fn: Callable[..., dict[str, Any]] | None = None) -> dict[str, Any]:
    """One result dict (``wire_bytes``, ``overhead_bytes``, ``breakdown``) for ``cfg`` at ``size``."""
    proto = cfg["proto"]
    if proto in ("tls", "dtls"):
        kw = {k: cfg[k] for k in _TLS_KEYS if k in cfg}
        return tls_vpn_overhead(size, "tcp" if proto == "tls" else "udp", **kw)
    if ipsec_fn is None:
        from ..core.overhead import overhead

        ipsec_fn = overhead
    return ipsec_fn(proto, cfg.get("mode", "tunnel"), cfg.get("proposal", "aes128gcm16"), size,
                    bool(cfg.get("nat_t", False)))


def overhead_frame(configs: Iterable[dict[str, Any]], sizes: Iterable[int],
                   ipsec_fn: Callable[..., dict[str, Any]] | None = None) -> pd.DataFrame:
    """Rows ``label, proto, size, wire_bytes, overhead_bytes, efficiency`` for every config x size."""
    import pandas as pd

    sizes = list(sizes)
    rows = []
    for cfg in configs:
        label = config_label(cfg)
        for size in sizes:
            r = overhead_of(cfg, size, ipsec_fn)
            rows.append({
                "label": label, "proto": cfg["proto"], "mode": cfg.get("mode", ""),
                "proposal": cfg.get("proposal", ""), "nat_t": bool(cfg.get("nat_t", False)),
                "size": size, "wire_bytes": int(r["wire_bytes"]),
                "overhead_bytes": int(r["overhead_bytes"]),
                "efficiency": size / int(r["wire_bytes"]),
            })
    return pd.DataFrame(rows)


def draw_overhead(df: Any, ax: Any = None, *, metric: str = "overhead_bytes",
                  mtu: int | None = 1500, title: str | None = None) -> Any:
    """Overhead (bytes) or efficiency (payload / wire) against original packet size, one line per config.

    Lines are drawn as steps (``where="post"``) so padding steps show as steps.
    With ``mtu``, the original size above which the packet no longer fits
    that MTU is marked on each line.
    """
    if metric not in ("overhead_bytes", "efficiency", "wire_bytes"):
        raise ValueError("metric is overhead_bytes, efficiency or wire_bytes")
    ax = new_axes(ax, figsize=(9.0, 4.2))
    for i, (label, g) in enumerate(df.groupby("label", sort=False)):
        g = g.sort_values("size")
        y = g[metric] * (100 if metric == "efficiency" else 1)
        colour = series_colour(i)
        style = "--" if g["proto"].iloc[0] in ("tls", "dtls") else "-"
        ax.step(g["size"], y, where="post", color=colour, linestyle=style, linewidth=1.6,
                label=label)
        if mtu:
            over = g[g["wire_bytes"] > mtu]
            if len(over) and len(over) < len(g):
                first = over.iloc[0]
                yv = first[metric] * (100 if metric == "efficiency" else 1)
                ax.plot([first["size"]], [yv], marker="|", markersize=12, color=colour)
    ax.set_xlabel("original IPv4 packet size (bytes, header included)")
    ax.set_ylabel({"overhead_bytes": "bytes added on the wire",
                   "efficiency": "payload efficiency (%)",
                   "wire_bytes": "bytes on the wire"}[metric])
    ax.grid(True, color=GREY, linewidth=0.4, alpha=0.6)
    handles, names = ax.get_legend_handles_labels()
    if mtu and any(len(line.get_xdata()) == 1 for line in ax.get_lines()):
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="#444444", marker="|", markersize=10, linestyle=""))
        names.append(f"first size over a {mtu}-byte MTU")
    ax.legend(handles, names, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5),
              frameon=False)
    if title:
        ax.set_title(title)
    return ax


def draw_efficiency_facets(df: Any, *, ncols: int = 3, marks: tuple[int, ...] = (64, 1400),
                           title: str | None = None) -> Any:
    """Payload efficiency against packet size as small multiples: one panel per config,
    its line in colour over the other configs' lines in faint grey, the efficiency at the
    ``marks`` sizes written in the panel. Returns the Figure; each panel's title is its
    config's label.

    Nine lines that all climb to 95 % in one chart cannot be told apart; one panel each,
    on a shared log-size axis, shows where each one loses its bytes."""
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(df["label"]))
    nrows = -(-len(labels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 2.3 * nrows + 0.6),
                             sharex=True, sharey=True, layout="constrained", squeeze=False)
    groups = {lab: g.sort_values("size") for lab, g in df.groupby("label", sort=False)}
    for k, ax in enumerate(axes.flat):
        if k >= len(labels):
            ax.set_visible(False)
            continue
        lab = labels[k]
        for other, g in groups.items():
            if other != lab:
                ax.step(g["size"], g["efficiency"] * 100, where="post", color=LIGHT_GREY,
                        linewidth=1.0, zorder=1)
        g = groups[lab]
        colour = LINE_SERIES[k % len(LINE_SERIES)]
        dashed = g["proto"].iloc[0] in ("tls", "dtls")
        ax.step(g["size"], g["efficiency"] * 100, where="post", color=colour,
                linewidth=1.8, linestyle="--" if dashed else "-", zorder=2)
        notes = []
        for size in marks:
            row = g[g["size"] <= size].tail(1)
            if len(row):
                eff = 100 * float(row["efficiency"].iloc[0])
                notes.append(f"{int(row['size'].iloc[0])} B: {eff:.0f} %")
                ax.plot([row["size"].iloc[0]], [eff], marker="o", markersize=3.5,
                        color=colour, zorder=3)
        ax.text(0.97, 0.05, "\n".join(notes), transform=ax.transAxes, ha="right",
                va="bottom", fontsize=7.5)
        ax.set_title(lab, fontsize=8.5)
        ax.set_xscale("log")
        ax.grid(True, color=GREY, linewidth=0.4, alpha=0.6)
    for ax in axes[-1]:
        ax.set_xlabel("original packet size (B)", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("efficiency (%)", fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


#: breakdown component -> category drawn in one colour (matched by keyword, first match wins)
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("outer IP header", ("ipv4",)),
    ("UDP / TCP header", ("udp", "tcp")),
    ("ESP / AH / TLS header", ("esp header", "ah header", "record header", "unified header",
                               "vpn framing")),
    ("IV", ("iv",)),
    ("padding and trailer", ("padding", "pad length", "content type")),
    ("integrity tag (ICV)", ("icv", "tag")),
)


def category_of(component: str) -> str:
    """The colour category of a breakdown component name."""
    low = component.lower()
    for cat, words in CATEGORIES:
        if any(w == low or w in low.split() or (" " in w and w in low) for w in words):
            return cat
    return "other"


def draw_overhead_breakdown(configs: Iterable[dict[str, Any]], size: int, ax: Any = None, *,
                            ipsec_fn: Callable[..., dict[str, Any]] | None = None,
                            title: str | None = None) -> Any:
    """Stacked bars: where the added bytes go, per config, for one packet ``size``.

    Components come from each result's ``breakdown`` (one segment each, labelled
    with its bytes), coloured by :data:`CATEGORIES`; a remainder not itemised
    is drawn as "other" so every bar totals ``overhead_bytes``.
    """
    from matplotlib.patches import Patch

    from .palette import OKABE_ITO

    colours = dict(zip([c for c, _ in CATEGORIES] + ["other"],
                       [OKABE_ITO["black"], OKABE_ITO["sky"], OKABE_ITO["blue"],
                        OKABE_ITO["yellow"], OKABE_ITO["green"], OKABE_ITO["orange"], GREY],
                       strict=True))
    dark = {OKABE_ITO["black"], OKABE_ITO["blue"]}
    configs = list(configs)
    results = [overhead_of(c, size, ipsec_fn) for c in configs]
    labels = [config_label(c) for c in configs]
    ax = new_axes(ax, figsize=(9.5, 1.4 + 0.45 * len(configs)))
    used: list[str] = []
    for row, r in enumerate(results):
        left = 0
        for k, v in _numeric_breakdown(r).items():
            cat = category_of(k)
            if cat not in used:
                used.append(cat)
            col = colours[cat]
            ax.barh(row, v, left=left, color=col, edgecolor="white", linewidth=1.0)
            if v >= 5:
                ax.text(left + v / 2, row, str(v), ha="center", va="center", fontsize=7,
                        color="white" if col in dark else "black")
            left += v
        ax.text(left + 1, row, f"{r['overhead_bytes']} B  ({100 * size / r['wire_bytes']:.1f} %"
                f" efficient)", va="center", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    xmax = max(r["overhead_bytes"] for r in results)
    ax.set_xlim(0, xmax * 1.42)
    ax.set_xlabel(f"bytes added to a {size}-byte IPv4 packet")
    order = [c for c, _ in CATEGORIES] + ["other"]
    handles = [Patch(facecolor=colours[c], label=c) for c in order if c in used]
    ax.legend(handles=handles, fontsize=7.5, loc="center left", bbox_to_anchor=(1.0, 0.5),
              frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title)
    return ax


def _numeric_breakdown(r: dict[str, Any]) -> dict[str, int]:
    comp = {k: int(v) for k, v in (r.get("breakdown") or {}).items()
            if isinstance(v, int | float) and not isinstance(v, bool) and v}
    rest = int(r["overhead_bytes"]) - sum(comp.values())
    if rest:
        comp["other"] = rest
    return comp
