"""Figures drawn from the trace, from packets the data plane built and from the engine's tables.

Every ``draw_*`` function takes its data first and ``ax=None``, and returns the
matplotlib Axes it drew on, so a notebook cell is one line. Trace-driven
functions accept a ``Simulation``, a :class:`~ipsecsim.trace.Trace`, a
``trace.jsonl`` path or record dicts. Importing this package does not import
matplotlib; the names below are loaded on first use.

==========================  ===========================================  =====================
figure                      function                                     module
==========================  ===========================================  =====================
packet byte map             ``draw_packet_anatomy(build_views(...))``    :mod:`.anatomy`
overhead vs size            ``draw_overhead(overhead_frame(...))``       :mod:`.overhead`
where the bytes go          ``draw_overhead_breakdown(configs, size)``   :mod:`.overhead`
IKE ladder                  ``draw_ike_ladder(sim)``                     :mod:`.ladder`
SA lifecycle timeline       ``draw_sa_timeline(sim)``                    :mod:`.timeline`
state diagram               ``draw_state_diagram(IKE_TRANSITIONS)``      :mod:`.states`
topology                    ``draw_topology(sim)``                       :mod:`.topology`
goodput / latency / drops   ``draw_throughput``, ``throughput_figure``   :mod:`.throughput`
packet-flow animation       ``animate_packets(sim, window)``             :mod:`.animation`
step through a run          ``step_through(sim)`` (``RunSteps``)         :mod:`.stepper`
efficiency, one panel each  ``draw_efficiency_facets(overhead_frame())`` :mod:`.overhead`
==========================  ===========================================  =====================
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "draw_packet_anatomy": "anatomy",
    "build_views": "anatomy",
    "layout_packet": "anatomy",
    "draw_overhead": "overhead",
    "draw_overhead_breakdown": "overhead",
    "draw_efficiency_facets": "overhead",
    "overhead_frame": "overhead",
    "draw_ike_ladder": "ladder",
    "draw_sa_timeline": "timeline",
    "draw_state_diagram": "states",
    "draw_topology": "topology",
    "draw_throughput": "throughput",
    "draw_latency": "throughput",
    "draw_drops": "throughput",
    "throughput_figure": "throughput",
    "animate_packets": "animation",
    "run_figures": "report",
    "step_through": "stepper",
    "RunSteps": "stepper",
    "packet_hops": "walk",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:  # lazy re-exports, so `import ipsecsim.viz` stays cheap
    if name not in _WHERE:
        raise AttributeError(name)
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
