"""Figures for single lessons: the anti-replay window and what shares UDP port 4500.

* :func:`draw_replay_window` -- RFC 4303 §3.4.3's sliding window as a row of boxes, one per
  sequence number the window covers, filled where a packet was received, with the verdicts
  of a few arriving sequence numbers marked (left of the window, duplicate, new).
* :func:`draw_port_4500` -- the first bytes of UDP datagrams on port 4500 side by side: an
  IKE message behind its four-byte non-ESP marker, an ESP packet whose SPI sits in those
  bytes, and a NAT keepalive (RFC 3948 §2.1-2.3), classified by :func:`ipsecsim.core.natt.classify`.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import PacketDrop
from ..core.natt import classify
from ..core.replay import ReplayWindow


def replay_verdicts(window: ReplayWindow, seqs: list[int]) -> list[tuple[int, str]]:
    """Feed ``seqs`` to ``window`` as authenticated packets would arrive (check, then
    accept); each sequence number with what happened to it."""
    out = []
    for s in seqs:
        try:
            window.accept(window.check(s))
            out.append((s, "accepted"))
        except PacketDrop as exc:
            out.append((s, "dropped: " + exc.detail))
    return out


def draw_replay_window(window: ReplayWindow, marks: list[tuple[int, str]] | None = None,
                       ax: Any = None, title: str = "") -> Any:
    """The window of ``window`` (its ``size`` sequence numbers up to ``top``), received ones
    filled; ``marks`` are (sequence number, verdict) arrows under the row."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    size, top = window.size, window.top
    left = top - size + 1
    lo = min([left - 8] + [s - 2 for s, _ in marks or []])
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 2.6))
    for seq in range(max(lo, 1), top + 4):
        inside = left <= seq <= top
        seen = inside and (window.bitmap >> (top - seq)) & 1
        face = "#4c72b0" if seen else ("white" if inside else "#eeeeee")
        ax.add_patch(Rectangle((seq - 0.5, 0), 1, 1, facecolor=face, edgecolor="#888888", lw=0.4))
    ax.add_patch(Rectangle((left - 0.5, -0.08), size, 1.16, fill=False, edgecolor="#dd8452", lw=2))
    ax.annotate(f"window: {size} sequence numbers, {left}..{top}", (left + size / 2, 1.12),
                ha="center", va="bottom", fontsize=9, color="#dd8452")
    colours = {"accepted": "#55a868", "dropped": "#c44e52"}
    for i, (seq, verdict) in enumerate(marks or []):
        c = colours["accepted" if verdict == "accepted" else "dropped"]
        short = ("dropped: left of the window" if "left of" in verdict else
                 "dropped: a replay" if "already" in verdict else verdict)
        nth = sum(1 for s, _ in (marks or [])[:i] if s == seq)
        label = f"{seq}{' again' if nth else ''}: {short}"
        y = -0.45 - 0.4 * (i % 3)
        ax.annotate(label, (seq, 0), (seq + 6 * nth, y), ha="center", va="top", fontsize=8,
                    color=c, arrowprops={"arrowstyle": "->", "color": c})
    step = 10 if top - lo > 40 else 5
    ax.set_xticks([s for s in range(max(lo, 1), top + 4) if s % step == 0])
    ax.set_xlim(max(lo, 1) - 1, top + 4)
    ax.set_ylim(-1.6, 1.6)
    ax.set_yticks([])
    ax.set_xlabel("sequence number (filled: received)")
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title(title or f"Anti-replay window (RFC 4303 §3.4.3), highest received {top}")
    return ax


def _fields(payload: bytes) -> list[tuple[int, str]]:
    kind = classify(payload)
    if kind == "keepalive":
        return [(3, "one byte: 0xFF")]
    if kind == "ike":
        return [(4, "non-ESP marker\n00 00 00 00"), (8, "IKE SPIi"), (8, "IKE SPIr"),
                (4, "next/ver/\nexch/flags")]
    return [(4, "ESP SPI\n(never 0)"), (4, "ESP sequence\nnumber"), (16, "IV + ciphertext ...")]


def draw_port_4500(datagrams: list[tuple[str, bytes]], ax: Any = None, title: str = "") -> Any:
    """Each (label, UDP payload) as a row of its first bytes in hex, grouped by field, with
    the kind the receiver's demultiplexer gives it (RFC 3948 §2.2)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if ax is None:
        _, ax = plt.subplots(figsize=(12, 0.9 + 0.8 * len(datagrams)))
    width = 28
    for row, (label, payload) in enumerate(datagrams):
        y = len(datagrams) - 1 - row
        x = 0
        for n, name in _fields(payload):
            n = min(n, width - x)
            if n <= 0:
                break
            marker = name.startswith("non-ESP") or name.startswith("ESP SPI")
            ax.add_patch(Rectangle((x, y + 0.1), n, 0.8, facecolor="#f2c14e" if marker else "#dde6f0",
                                   edgecolor="#555555", lw=0.6))
            ax.text(x + n / 2, y + 0.72, name, ha="center", va="center", fontsize=7)
            hexes = " ".join(f"{b:02x}" for b in payload[x:x + n])
            ax.text(x + n / 2, y + 0.3, hexes, ha="center", va="center", fontsize=6,
                    family="monospace")
            x += n
        ax.text(-0.5, y + 0.5, f"{label}\n-> {classify(payload)}", ha="right", va="center",
                fontsize=8)
    ax.set_xlim(-9, width)
    ax.set_ylim(0, len(datagrams))
    ax.axis("off")
    ax.set_title(title or "What arrives on UDP port 4500: the first four bytes decide")
    return ax
