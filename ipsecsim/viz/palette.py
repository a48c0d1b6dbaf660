"""Colours and small drawing helpers shared by every figure.

Colours are the Okabe–Ito palette (Okabe & Ito, "Color Universal Design",
2008), distinguishable under the common forms of colour-vision deficiency.
Where two classes could still be confused (the byte map), hatching is added
so that the figure also reads in greyscale.
"""

from __future__ import annotations

from typing import Any

#: The eight Okabe–Ito colours.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}

GREY = "#BBBBBB"
LIGHT_GREY = "#E6E6E6"

#: A cycle for series (flows, algorithms, modes) in a fixed order.
SERIES: tuple[str, ...] = (
    OKABE_ITO["blue"],
    OKABE_ITO["orange"],
    OKABE_ITO["green"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["purple"],
    OKABE_ITO["sky"],
    OKABE_ITO["yellow"],
    OKABE_ITO["black"],
)

#: The series without yellow, for thin lines on white (where yellow is too faint to read).
LINE_SERIES: tuple[str, ...] = tuple(c for c in SERIES if c != OKABE_ITO["yellow"])

#: Protection classes of a byte range in the packet anatomy byte map.
CLEAR = "cleartext"
AUTH = "authenticated only"
ENC = "encrypted only"
ENC_AUTH = "encrypted + authenticated"
ICV = "integrity check value"
MUTABLE = "cleartext, excluded from ICV"

BYTE_CLASSES: tuple[str, ...] = (CLEAR, MUTABLE, AUTH, ENC, ENC_AUTH, ICV)

#: class -> (face colour, hatch, text colour)
BYTE_STYLE: dict[str, tuple[str, str, str]] = {
    CLEAR: (LIGHT_GREY, "", "black"),
    MUTABLE: ("white", "////", "black"),
    AUTH: (OKABE_ITO["sky"], "", "black"),
    ENC: (OKABE_ITO["yellow"], "xx", "black"),
    ENC_AUTH: (OKABE_ITO["blue"], "", "white"),
    ICV: (OKABE_ITO["orange"], "..", "black"),
}

#: Node roles in a topology.
ROLE_COLOURS: dict[str, str] = {
    "gateway": OKABE_ITO["blue"],
    "host": OKABE_ITO["green"],
    "router": GREY,
    "nat": OKABE_ITO["orange"],
    "server": OKABE_ITO["purple"],
    "client": OKABE_ITO["sky"],
}

#: SA lifecycle marks.
SA_COLOURS: dict[str, str] = {
    "in": OKABE_ITO["blue"],
    "out": OKABE_ITO["green"],
    "ike": OKABE_ITO["purple"],
    "soft": OKABE_ITO["orange"],
    "hard": OKABE_ITO["vermillion"],
    "rekey": OKABE_ITO["black"],
    "delete": OKABE_ITO["vermillion"],
    "dpd": OKABE_ITO["sky"],
}

#: IKE exchanges in the ladder.
EXCHANGE_COLOURS: dict[str, str] = {
    "IKE_SA_INIT": OKABE_ITO["blue"],
    "IKE_AUTH": OKABE_ITO["green"],
    "CREATE_CHILD_SA": OKABE_ITO["purple"],
    "INFORMATIONAL": OKABE_ITO["orange"],
}


def series_colour(i: int) -> str:
    """The ``i``-th series colour, cycling."""
    return SERIES[i % len(SERIES)]


def new_axes(ax: Any = None, figsize: tuple[float, float] = (9.0, 4.0)) -> Any:
    """``ax`` if given, else the Axes of a new figure of ``figsize`` inches."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def text_width_data(ax: Any, text: str, fontsize: float) -> float:
    """Width of ``text`` at ``fontsize`` in the x data units of ``ax`` (measured by the renderer)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    t = ax.text(0, 0, text, fontsize=fontsize)
    bbox = t.get_window_extent(renderer=renderer)
    t.remove()
    inv = ax.transData.inverted()
    x0 = inv.transform((0, 0))[0]
    x1 = inv.transform((bbox.width, 0))[0]
    return abs(x1 - x0)


def place_on_levels(intervals: list[tuple[float, float]], gap: float = 0.0) -> list[int]:
    """Greedy level assignment so that no two intervals on one level overlap.

    ``intervals`` are ``(start, end)`` pairs; returns a level (0, 1, ...) per
    interval, in input order. Used to stack labels that do not fit in place.
    """
    order = sorted(range(len(intervals)), key=lambda i: intervals[i][0])
    level_end: list[float] = []
    levels = [0] * len(intervals)
    for i in order:
        s, e = intervals[i]
        for lv, end in enumerate(level_end):
            if s >= end + gap:
                levels[i] = lv
                level_end[lv] = e
                break
        else:
            levels[i] = len(level_end)
            level_end.append(e)
    return levels
