"""A responder under a cookie-echoing IKE_SA_INIT flood (issue 15, finding 4).

5,000 clients at one address each answer the COOKIE they are asked for, as a real client
can, then walk away half-open. Before ``block_threshold`` each cost the responder a DH and
a half-open IKE_SA (10,147 of them took its RSS from 36 to 136 MB in 25 s); now the
responder holds at most ``block_threshold`` (5) of them. The figures: Python heap the
responder holds at the peak (tracemalloc) and its half-open IKE_SAs at the end.
"""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

from registry import benchmark

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ike.test_half_open_limits import flood, half_open, responder  # noqa: E402

CLIENTS = 5000


def _run() -> tuple[float, int]:
    tracemalloc.start()
    gw = responder(cookie_threshold=10)
    flood(gw, CLIENTS)
    _size, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6, half_open(gw)


@benchmark("ike_cookie_flood_peak_mb", "MB")
def cookie_flood_peak_mb() -> float:
    """Peak traced memory while 5,000 cookie-echoing clients at one address knock."""
    return round(_run()[0], 1)


@benchmark("ike_cookie_flood_half_open", "SAs")
def cookie_flood_half_open() -> float:
    """Half-open IKE_SAs the responder holds after the 5,000."""
    return float(_run()[1])
