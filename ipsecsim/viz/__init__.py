"""Figures drawn from the trace, from packets the data plane built and from the engine's tables.

Every ``draw_*`` function takes its data first and ``ax=None``, and returns the
matplotlib Axes it drew on, so a notebook cell is one line. Submodules import
matplotlib lazily where they can; importing this package does not.
"""

from __future__ import annotations

__all__ = [
    "draw_packet_anatomy",
    "draw_overhead",
    "draw_overhead_breakdown",
    "draw_ike_ladder",
    "draw_state_diagram",
]


def __getattr__(name: str):  # lazy re-exports, so `import ipsecsim.viz` stays cheap
    if name == "draw_packet_anatomy":
        from .anatomy import draw_packet_anatomy as f
    elif name == "draw_overhead":
        from .overhead import draw_overhead as f
    elif name == "draw_overhead_breakdown":
        from .overhead import draw_overhead_breakdown as f
    elif name == "draw_ike_ladder":
        from .ladder import draw_ike_ladder as f
    elif name == "draw_state_diagram":
        from .states import draw_state_diagram as f
    else:
        raise AttributeError(name)
    return f
