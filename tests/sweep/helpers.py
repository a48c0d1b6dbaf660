"""A small sweep over the shipped site-to-site topology, as a dict or written to a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers.paths import TOPOLOGIES

BASE = TOPOLOGIES / "site-to-site.yaml"


def small(seeds: list[Any] | None = None) -> dict[str, Any]:
    """4 points of a 3-second site-to-site: WAN loss x voice packet size (loss makes the seed
    matter, so a worker that seeded differently would show)."""
    return {"base": str(BASE), "set": {"duration": 3},
            "grid": {"links.wan-a.loss": [0, 0.05], "traffic.voice.size": [200, 1200]},
            "seeds": seeds or [3]}


def write(tmp: Path, text: str, name: str = "sweep.yaml") -> Path:
    """``text`` (with ``BASE`` for the base's path) as a sweep file in ``tmp``."""
    path = tmp / name
    path.write_text(text.replace("BASE", str(BASE)))
    return path
