"""State diagrams of IKE_SA and CHILD_SA, drawn from the engine's transition tables.

The input is the table the engine runs on (``IKE_TRANSITIONS`` /
``CHILD_TRANSITIONS`` in :mod:`ipsecsim.core.ike.states`, ``state -> {event:
new state}``), so the picture cannot drift from the code (h11 draws its docs
the same way).

To stay readable, an event that leads to the same state from many states
(``fail`` from everywhere to DESTROYED) is not labelled on every arrow: those
arrows are drawn thin and grey and the events are listed once under the
diagram, with the states they apply from. The other transitions are drawn in
colour with their event names. States are placed by the longest path from
the initial state along the labelled transitions; states reached only by the
grey "from anywhere" events sit on a second row.
"""

from __future__ import annotations

from typing import Any

from .palette import GREY, OKABE_ITO, new_axes


def split_edges(table: dict[str, dict[str, str]], min_sources: int = 3
                ) -> tuple[dict[tuple[str, str], list[str]], dict[str, tuple[str, list[str]]]]:
    """Main edges ``{(src, dst): [events]}`` and summarised events
    ``{event: (dst, [sources])}``: an event is summarised when it leads to one
    state from at least ``min_sources`` states."""
    by_event: dict[str, dict[str, list[str]]] = {}
    for s, row in table.items():
        for e, t in row.items():
            by_event.setdefault(e, {}).setdefault(t, []).append(s)
    summary: dict[str, tuple[str, list[str]]] = {}
    for e, targets in by_event.items():
        if len(targets) == 1:
            (t, srcs), = targets.items()
            if len(srcs) >= min_sources:
                summary[e] = (t, srcs)
    main: dict[tuple[str, str], list[str]] = {}
    for s, row in table.items():
        for e, t in row.items():
            if e not in summary:
                main.setdefault((s, t), []).append(e)
    return main, summary


def _ranks(states: list[str], main: dict[tuple[str, str], list[str]]) -> dict[str, int]:
    """Longest-path layering from the first state, back edges (cycles) ignored."""
    succ: dict[str, list[str]] = {s: [] for s in states}
    for (s, t) in main:
        succ.setdefault(s, []).append(t)
    back: set[tuple[str, str]] = set()
    visiting: set[str] = set()
    done: set[str] = set()

    def dfs(u: str) -> None:
        visiting.add(u)
        for v in succ.get(u, []):
            if v in visiting:
                back.add((u, v))
            elif v not in done:
                dfs(v)
        visiting.discard(u)
        done.add(u)

    dfs(states[0])
    rank = {states[0]: 0}
    changed = True
    while changed:
        changed = False
        for (s, t) in main:
            if (s, t) in back or s not in rank:
                continue
            if rank.get(t, -1) < rank[s] + 1:
                rank[t] = rank[s] + 1
                changed = True
    return rank


def state_positions(table: dict[str, dict[str, str]], min_sources: int = 3
                    ) -> dict[str, tuple[float, float]]:
    """Deterministic (x, y) of every state of ``table``."""
    states = list(table)
    main, _ = split_edges(table, min_sources)
    rank = _ranks(states, main)
    pos: dict[str, tuple[float, float]] = {}
    per_rank: dict[int, int] = {}
    for s in states:
        if s in rank:
            i = per_rank.get(rank[s], 0)
            per_rank[rank[s]] = i + 1
            pos[s] = (_DX * rank[s], -1.3 * i)
    rest = [s for s in states if s not in pos]
    width = max((p[0] for p in pos.values()), default=0.0)
    low = min((p[1] for p in pos.values()), default=0.0) - 1.8
    for i, s in enumerate(rest):
        x = width / 2 + (i - (len(rest) - 1) / 2) * 2.0 * _DX
        pos[s] = (x, low)
    return pos


_DX = 1.45
"""Horizontal distance between ranks, in units of the vertical row distance."""


def _bezier_mid(p0: tuple[float, float], p1: tuple[float, float], rad: float
                ) -> tuple[float, float]:
    # matplotlib's arc3: control point at the chord midpoint, offset by rad * (dy, -dx)
    mx, my = (p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    cx, cy = mx + rad * dy, my - rad * dx
    return (0.25 * p0[0] + 0.5 * cx + 0.25 * p1[0], 0.25 * p0[1] + 0.5 * cy + 0.25 * p1[1])


def draw_state_diagram(table: dict[str, dict[str, str]], ax: Any = None, *,
                       title: str | None = None, min_sources: int = 3,
                       initial: str | None = None) -> Any:
    """Draw a transition table as a state diagram. Returns the Axes.

    ``ax.texts`` holds one label per main edge (events joined by `` / ``)
    and the summary of the grey events; tests read them back.
    """
    from matplotlib.patches import FancyArrowPatch

    states = list(table)
    initial = initial or states[0]
    main, summary = split_edges(table, min_sources)
    pos = state_positions(table, min_sources)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax = new_axes(ax, figsize=(1.0 + 1.2 * (max(xs) - min(xs) + 1),
                               1.2 + 1.1 * (max(ys) - min(ys) + 1) + 0.2 * len(summary)))
    ax.set_xlim(min(xs) - 0.75, max(xs) + 0.75)
    ax.set_ylim(min(ys) - 0.6 - 0.22 * (len(summary) + 1), max(ys) + 0.7)
    ax.set_aspect("auto")
    ax.axis("off")
    # states first: their bbox patches clip the arrows (patchA/patchB), whatever the scale
    terminal = {s for s, row in table.items() if not row}
    boxes: dict[str, Any] = {}
    for s, (x, y) in pos.items():
        face = OKABE_ITO["sky"] if s not in terminal else "#F2F2F2"
        t = ax.text(x, y, s, ha="center", va="center", fontsize=9, fontweight="bold", zorder=4,
                    bbox={"boxstyle": "round,pad=0.45", "facecolor": face,
                          "edgecolor": "black", "linewidth": 2.2 if s in terminal else 1.0})
        boxes[s] = t.get_bbox_patch()

    def arrow(s: str, t: str, rad: float, **kw: Any) -> None:
        ax.add_patch(FancyArrowPatch(pos[s], pos[t], patchA=boxes[s], patchB=boxes[t],
                                     arrowstyle="-|>", connectionstyle=f"arc3,rad={rad}",
                                     shrinkA=2, shrinkB=2, **kw))

    # grey "from anywhere" arrows (underneath)
    grey_pairs: set[tuple[str, str]] = set()
    for _e, (t, srcs) in summary.items():
        for s in srcs:
            grey_pairs.add((s, t))
    for s, t in sorted(grey_pairs):
        if s != t:
            arrow(s, t, 0.08 if (s, t) not in main else -0.25, mutation_scale=9, color=GREY,
                  linewidth=0.8, zorder=1)
    # main arrows with labels; pairs in both directions bend apart, rank-skipping ones bend more
    for (s, t), events in main.items():
        label = " / ".join(events)
        p0, p1 = pos[s], pos[t]
        span = abs(p1[0] - p0[0])
        rad = 0.0
        if (t, s) in main:
            rad = 0.35
        elif span > _DX * 1.01 and p0[1] == p1[1]:
            rad = -0.35
        backwards = p1[0] < p0[0]
        colour = OKABE_ITO["vermillion"] if backwards else OKABE_ITO["blue"]
        arrow(s, t, rad, mutation_scale=13, color=colour, linewidth=1.4, zorder=2)
        mx, my = _bezier_mid(p0, p1, rad)
        if rad == 0 and p0[1] == p1[1]:
            # straight horizontal: label above the arrow, which is short; keep text small
            ax.text(mx, my + 0.09, label.replace(" / ", "\n"), ha="center", va="bottom",
                    fontsize=7.5, linespacing=1.1)
        elif rad == 0:
            ax.text(mx + 0.05, my, label, ha="left", va="center", fontsize=7.5)
        else:
            above = my > (p0[1] + p1[1]) / 2
            ax.text(mx, my + (0.05 if above else -0.05), label, ha="center",
                    va="bottom" if above else "top", fontsize=7.5,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.9})
    x0, y0 = pos[initial]
    ax.plot([x0 - 0.62], [y0], marker="o", color="black", markersize=7)
    ax.add_patch(FancyArrowPatch((x0 - 0.6, y0), pos[initial], patchB=boxes[initial],
                                 arrowstyle="-|>", mutation_scale=11, color="black"))
    lines = []
    for e, (t, srcs) in summary.items():
        every = len(srcs) == len([s for s in states if table[s]])
        where = "every state" if every else ", ".join(srcs)
        lines.append(f"{e}: from {where} to {t}")
    if lines:
        ax.text(min(xs) - 0.7, min(ys) - 0.4, "grey arrows, unlabelled:\n" + "\n".join(lines),
                ha="left", va="top", fontsize=8, color="#333333", linespacing=1.4)
    if title:
        ax.set_title(title)
    return ax
