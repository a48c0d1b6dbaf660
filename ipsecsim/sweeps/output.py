"""What a sweep writes: ``results.csv``, ``results.parquet`` (with pyarrow), ``figures/*.png``.

The CSV is the contract (shared INTERFACES.md, "Sweeps"): one row per run in grid order, the
same bytes whatever the number of workers. The Parquet file holds the same table with its
types; it is written when pyarrow is installed (``pip install 'ipsecsim[parquet]'``).

The figures (matplotlib, Agg) show three derived figures per grid key, each bar the mean over
the other keys' values and the seeds, its whisker the range:

* ``delivered.png`` -- the share of the traffic generators' packets delivered end to end;
* ``goodput.png`` -- the flows' throughputs added up (bit/s at the receivers);
* ``overhead.png`` -- bytes on the busiest link beyond the bytes delivered to applications,
  per application byte (%): headers, padding, ICVs, fragments, IKE; empty where nothing was
  delivered.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes


def parquet_available() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


def grid_keys(df: pd.DataFrame) -> list[str]:
    """The grid keys of a results table: its columns before ``seed``."""
    return [str(c) for c in df.columns[:list(df.columns).index("seed")]]


def write_results(df: pd.DataFrame, out: str | Path, figures: bool = True) -> list[Path]:
    """Write the table and its figures into ``out``; return the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "results.csv"]
    df.to_csv(written[0], index=False, lineterminator="\n")
    if parquet_available():
        written.append(out / "results.parquet")
        df.to_parquet(written[-1], index=False)
    if figures:
        written += write_figures(df, out / "figures", grid_keys(df))
    return written


def delivered_ratio(df: pd.DataFrame) -> pd.Series:
    """Packets delivered / packets sent by the traffic generators (NaN where none was sent)."""
    sent = df["packets.sent"].where(df["packets.sent"] > 0)
    return df["packets.delivered"] / sent


def goodput_bps(df: pd.DataFrame) -> pd.Series:
    """The flows' ``throughput_bps`` added up (a flow without one counts 0)."""
    cols = [c for c in df.columns if c.startswith("flows.") and c.endswith(".throughput_bps")]
    return df[cols].fillna(0).sum(axis=1) if cols else df["packets.sent"] * math.nan


def overhead_pct(df: pd.DataFrame) -> pd.Series:
    """100 x (bytes on the busiest link - application bytes delivered) / application bytes."""
    links = [c for c in df.columns if c.startswith("links.") and c.endswith(".bytes")]
    app = [c for c in df.columns if c.startswith("flows.") and c.endswith(".bytes_delivered")]
    if not links or not app:
        return df["packets.sent"] * math.nan
    delivered = df[app].fillna(0).sum(axis=1)
    delivered = delivered.where(delivered > 0)
    return 100 * (df[links].max(axis=1) - delivered) / delivered


METRICS: dict[str, tuple[Callable[[Any], Any], str, str]] = {
    "delivered": (delivered_ratio, "delivered / sent",
                  "share of the traffic generators' packets delivered"),
    "goodput": (goodput_bps, "goodput, bit/s", "goodput: the flows' throughputs added up"),
    "overhead": (overhead_pct, "overhead, %",
                 "overhead: bytes on the busiest link beyond those delivered, % of delivered"),
}
"""The figures drawn: file stem -> (function of the table, axis label, title)."""


def plot_by(df: pd.DataFrame, key: str, metric: str, ax: Axes | None = None) -> Axes:
    """One bar per value of grid key ``key``: the mean of ``metric`` over the rest, range as
    whisker."""
    import matplotlib.pyplot as plt
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    fn, ylabel, _ = METRICS[metric]
    y = fn(df)
    labels = list(dict.fromkeys(df[key].tolist()))
    means, lows, highs = [], [], []
    for v in labels:
        sel = y[df[key] == v].dropna()
        m = float(sel.mean()) if len(sel) else math.nan
        means.append(m)
        lows.append(m - float(sel.min()) if len(sel) else 0.0)
        highs.append(float(sel.max()) - m if len(sel) else 0.0)
    x = np.arange(len(labels))
    ax.bar(x, means, yerr=[lows, highs], capsize=3, color="#4c72b0")
    for xi, m in zip(x, means, strict=True):
        if math.isnan(m):
            ax.text(float(xi), 0, "n/a", ha="center", va="bottom", fontsize=7, color="gray")
    ax.set_xticks(x, [str(v) for v in labels], rotation=20 if len(labels) > 4 else 0)
    ax.set_xlabel(key, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    return ax


def write_figures(df: pd.DataFrame, folder: str | Path, keys: list[str]) -> list[Path]:
    """``folder/<metric>.png``: a panel per grid key for each of :data:`METRICS`."""
    from matplotlib.figure import Figure  # no pyplot: a notebook's backend stays as it was

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for metric in METRICS:
        fig = Figure(figsize=(4.2 * len(keys), 3.4))
        axes = fig.subplots(1, len(keys), squeeze=False)
        for k, (ax, key) in enumerate(zip(axes[0], keys, strict=True)):
            plot_by(df, key, metric, ax=ax)
            if k:
                ax.set_ylabel("")
        fig.suptitle(f"{METRICS[metric][2]}; by grid value (bar: mean over the other values "
                     "and seeds; whisker: range)", fontsize=9)
        fig.tight_layout()
        paths.append(folder / f"{metric}.png")
        fig.savefig(paths[-1], dpi=110, metadata={"Software": None})
    return paths
