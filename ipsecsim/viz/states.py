"""State diagrams of IKE_SA and CHILD_SA, drawn from the engine's transition tables.

The input is the table the engine runs on (``IKE_TRANSITIONS`` /
``CHILD_TRANSITIONS`` in :mod:`ipsecsim.core.ike.states`, ``state -> {event:
new state}``), so the picture cannot drift from the code (h11 draws its docs
the same way).

To stay readable, an event that leads to the same state from many states
(``fail`` from everywhere to DESTROYED) is drawn once, as a labelled bus under
the states it applies from, instead of one arrow per state. The other
transitions are arrows labelled with their event names. States are placed by
the longest path from the initial state along those transitions; states
reached only by the bus events sit on a row below the buses.
"""

from __future__ import annotations

from typing import Any

from .palette import OKABE_ITO, new_axes


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


def bus_groups(summary: dict[str, tuple[str, list[str]]]) -> list[tuple[list[str], str, list[str]]]:
    """Summarised events grouped by (target, sources): ``[(events, target, sources)]``, so
    that ``expire`` and ``peer_delete`` from the same states share one labelled bus."""
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for e, (t, srcs) in summary.items():
        groups.setdefault((t, tuple(srcs)), []).append(e)
    return [(evs, t, list(srcs)) for (t, srcs), evs in groups.items()]


def state_positions(table: dict[str, dict[str, str]], min_sources: int = 3
                    ) -> dict[str, tuple[float, float]]:
    """Deterministic (x, y) of every state of ``table``: the states reached along labelled
    transitions on one row by rank, the others on a row below, under the buses."""
    states = list(table)
    main, summary = split_edges(table, min_sources)
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
    low = min((p[1] for p in pos.values()), default=0.0) - _BUS0 - _BUS_DY * len(
        bus_groups(summary)) - 0.35
    for i, s in enumerate(rest):
        x = width / 2 + (i - (len(rest) - 1) / 2) * 2.0 * _DX
        pos[s] = (x, low)
    return pos


_DX = 1.45
"""Horizontal distance between ranks, in units of the vertical row distance."""
_BUS0 = 0.75
"""Depth of the first bus under the main row."""
_BUS_DY = 0.3
"""Distance between buses."""


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

    Every arrow is labelled with its events. The happy path runs left to right on one
    row (straight arrows, label above); a transition that skips a state arcs below, one
    that goes back arcs above. An event that leads to one state from many (``fail``,
    ``expire``) is one labelled *bus*: a line under the states it applies from, with a
    short stub up to each of them, and one arrow into its target. Each bus line's gid is
    ``bus:EVENTS`` and each stub's ``stub:EVENTS:STATE``; tests read them back.
    """
    from matplotlib.patches import FancyArrowPatch

    states = list(table)
    initial = initial or states[0]
    main, summary = split_edges(table, min_sources)
    groups = bus_groups(summary)
    pos = state_positions(table, min_sources)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax = new_axes(ax, figsize=(1.4 + 1.25 * (max(xs) - min(xs) + 1),
                               1.0 + 1.25 * (max(ys) - min(ys) + 1)))
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.75)
    ax.set_ylim(min(ys) - 0.45, max(ys) + 0.75)
    ax.set_aspect("auto")
    ax.axis("off")
    terminal = {s for s, row in table.items() if not row}
    boxes: dict[str, Any] = {}
    for s, (x, y) in pos.items():
        face = OKABE_ITO["sky"] if s not in terminal else "#F2F2F2"
        t = ax.text(x, y, s, ha="center", va="center", fontsize=9, fontweight="bold", zorder=4,
                    bbox={"boxstyle": "round,pad=0.45", "facecolor": face,
                          "edgecolor": "black", "linewidth": 2.2 if s in terminal else 1.0})
        boxes[s] = t.get_bbox_patch()

    def arrow(a: Any, b: Any, rad: float, pa: Any = None, pb: Any = None, **kw: Any) -> None:
        ax.add_patch(FancyArrowPatch(a, b, patchA=pa, patchB=pb, arrowstyle="-|>",
                                     connectionstyle=f"arc3,rad={rad}", shrinkA=2, shrinkB=2,
                                     **kw))

    main_y = max(ys)
    for (s, t), events in main.items():
        label = " / ".join(events)
        p0, p1 = pos[s], pos[t]
        span = abs(p1[0] - p0[0])
        backwards = p1[0] < p0[0]
        rad = 0.0
        if p0[1] == p1[1] and (backwards or span > _DX * 1.01):
            rad = 0.45 if span <= _DX * 1.01 else 0.3  # back: above; skipping: below
        colour = OKABE_ITO["vermillion"] if backwards else OKABE_ITO["blue"]
        arrow(p0, p1, rad, boxes[s], boxes[t], mutation_scale=13, color=colour,
              linewidth=1.4, zorder=2)
        mx, my = _bezier_mid(p0, p1, rad)
        if rad == 0 and p0[1] == p1[1]:
            ax.text(mx, my + 0.07, label.replace(" / ", "\n"), ha="center", va="bottom",
                    fontsize=7.5, linespacing=1.1)
        elif rad == 0:
            ax.text(mx + 0.05, my, label, ha="left", va="center", fontsize=7.5)
        else:
            above = my > (p0[1] + p1[1]) / 2
            ax.text(mx, my + (0.03 if above else -0.03), label, ha="center",
                    va="bottom" if above else "top", fontsize=7.5, color=colour,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.9})
    # buses: one per group of "from many states" events
    bus_colours = [OKABE_ITO["purple"], OKABE_ITO["green"], OKABE_ITO["orange"], "#555555"]
    for k, (events, t, srcs) in enumerate(groups):
        col = bus_colours[k % len(bus_colours)]
        yb = main_y - _BUS0 - _BUS_DY * k
        name = " / ".join(events)
        xs_b = [pos[s][0] for s in srcs] + [pos[t][0]]
        ax.plot([min(xs_b) - 0.05, max(xs_b) + 0.05], [yb, yb], color=col, linewidth=1.3,
                zorder=1, gid=f"bus:{name}")
        dx = 0.07 * (k - (len(groups) - 1) / 2)  # the stubs of one state side by side
        for s in srcs:
            x, y = pos[s]
            ax.plot([x + dx, x + dx], [y, yb], color=col, linewidth=1.0, zorder=1,
                    gid=f"stub:{name}:{s}")
        arrow((pos[t][0] + dx, yb), pos[t], 0.0, None, boxes[t], mutation_scale=12,
              color=col, linewidth=1.3, zorder=2)
        every = len(srcs) == len([s for s in states if table[s]])
        where = "any state" if every else "any of " + ", ".join(srcs)
        ax.text(min(xs_b) - 0.05, yb + 0.02, f"{name}  (from {where})", ha="left", va="bottom",
                fontsize=7.2, color=col, zorder=3,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.3, "alpha": 0.9})
    x0, y0 = pos[initial]
    ax.plot([x0 - 0.62], [y0], marker="o", color="black", markersize=7)
    ax.add_patch(FancyArrowPatch((x0 - 0.6, y0), pos[initial], patchB=boxes[initial],
                                 arrowstyle="-|>", mutation_scale=11, color="black"))
    if title:
        ax.set_title(title)
    return ax
