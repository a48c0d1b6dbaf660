"""Overhead charts: bytes added and payload efficiency against packet size.

The IPsec numbers come from :func:`ipsecsim.core.overhead.overhead`, which
builds real packets with real SAs -- so a step in a curve is a padding step
the data plane actually took. The TLS/DTLS VPN numbers come from the record
formats modelled in :mod:`ipsecsim.viz.tlsvpn`.

A *config* is a dict: ``{"proto": "esp"|"ah", "mode": "tunnel"|"transport",
"proposal": "aes128gcm16", "nat_t": False}`` for IPsec, or ``{"proto":
"tls"}`` / ``{"proto": "dtls"}`` for a TLS VPN (other keys go to
:func:`~ipsecsim.viz.tlsvpn.tls_vpn_overhead`). An optional ``"label"`` names
the series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .palette import GREY, new_axes, series_colour
from .tlsvpn import tls_vpn_overhead

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
        from ..core.overhead import overhead as ipsec_fn
    return ipsec_fn(proto, cfg.get("mode", "tunnel"), cfg.get("proposal", "aes128gcm16"), size,
                    bool(cfg.get("nat_t", False)))


def overhead_frame(configs: Iterable[dict[str, Any]], sizes: Iterable[int],
                   ipsec_fn: Callable[..., dict[str, Any]] | None = None):  # -> pandas.DataFrame
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
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    if mtu and metric != "efficiency":
        ax.text(0.01, 0.98, f"| marks the first size whose packet exceeds a {mtu}-byte MTU",
                transform=ax.transAxes, fontsize=7.5, va="top", color="#444444")
    if title:
        ax.set_title(title)
    return ax


def draw_overhead_breakdown(configs: Iterable[dict[str, Any]], size: int, ax: Any = None, *,
                            ipsec_fn: Callable[..., dict[str, Any]] | None = None,
                            title: str | None = None) -> Any:
    """Stacked bars: where the added bytes go, per config, for one packet ``size``.

    Components come from each result's ``breakdown``; a remainder not itemised
    there is drawn as "other" so the bar always totals ``overhead_bytes``.
    """
    from .palette import OKABE_ITO

    configs = list(configs)
    results = [overhead_of(c, size, ipsec_fn) for c in configs]
    labels = [config_label(c) for c in configs]
    parts: list[str] = []
    for r in results:
        for k in _numeric_breakdown(r):
            if k not in parts:
                parts.append(k)
    ax = new_axes(ax, figsize=(9.5, 0.9 + 0.45 * len(configs)))
    colours = list(OKABE_ITO.values())[1:] + ["#999999", "#444444", "#DDDDDD", "#882255"]
    for row, r in enumerate(results):
        left = 0
        comp = _numeric_breakdown(r)
        for j, k in enumerate(parts):
            v = comp.get(k, 0)
            if v:
                ax.barh(row, v, left=left, color=colours[j % len(colours)], edgecolor="white",
                        label=k if row == next(i for i, rr in enumerate(results)
                                               if _numeric_breakdown(rr).get(k)) else None)
                if v >= 6:
                    ax.text(left + v / 2, row, str(v), ha="center", va="center", fontsize=7,
                            color="white" if j in (4, 1) else "black")
                left += v
        ax.text(left + 1, row, f"{r['overhead_bytes']} B  ({100 * size / r['wire_bytes']:.1f} %"
                f" efficient)", va="center", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    xmax = max(r["overhead_bytes"] for r in results)
    ax.set_xlim(0, xmax * 1.45)
    ax.set_xlabel(f"bytes added to a {size}-byte IPv4 packet")
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.25 if len(configs) > 4
              else -0.4), ncol=4, frameon=False)
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
