"""Times and rates as a topology file writes them (``20ms``, ``100Mbps``), in seconds and bits/s.

Shared by the topology loader (:mod:`ipsecsim.sim.topology`) and the figures that label a
run's links and planned lifetimes (:mod:`ipsecsim.viz`), which read the topology the trace
came with and must not import the simulator.
"""

from __future__ import annotations

import re
from typing import Any

_TIME = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "": 1.0}
_RATE = {"bps": 1, "kbps": 1e3, "Mbps": 1e6, "Gbps": 1e9, "bit/s": 1, "kbit/s": 1e3,
         "Mbit/s": 1e6, "Gbit/s": 1e9}


def parse_time(v: Any) -> float:
    """Seconds from a number or a string such as ``20ms``."""
    if isinstance(v, int | float):
        return float(v)
    m = re.fullmatch(r"\s*([0-9.]+)\s*(us|ms|s|m|h)?\s*", str(v))
    if not m:
        raise ValueError(f"{v!r} is not a time such as 20ms or 3s")
    return float(m.group(1)) * _TIME[m.group(2) or ""]


def parse_rate(v: Any) -> float:
    """Bits per second from a number or a string such as ``100Mbps``."""
    if isinstance(v, int | float):
        return float(v)
    m = re.fullmatch(r"\s*([0-9.]+)\s*([kMG]?bps|[kMG]?bit/s)\s*", str(v))
    if not m:
        raise ValueError(f"{v!r} is not a rate such as 100Mbps")
    return float(m.group(1)) * _RATE[m.group(2)]
