"""Topologies and runs the console tests share (site-to-site from the shipped file)."""

from __future__ import annotations

import copy
import re
from typing import Any

import yaml

from ipsecsim.sim import Simulation
from tests.helpers.paths import TOPOLOGIES

_S2S: dict[str, Any] | None = None


def site_to_site(**top: Any) -> dict[str, Any]:
    """topologies/site-to-site.yaml as a dict, without its traffic, with ``top`` keys set."""
    global _S2S
    if _S2S is None:
        _S2S = yaml.safe_load((TOPOLOGIES / "site-to-site.yaml").read_text())
    d = copy.deepcopy(_S2S)
    d["traffic"] = {}
    d.update(top)
    return d


def up(until: float = 1.0, **top: Any) -> Simulation:
    """site-to-site (IKE from t=0, no traffic) run to ``until``."""
    return Simulation.from_dict(site_to_site(**top)).run(until)


_LOG = re.compile(r"\[[A-Z]{3}\] \S.*")


def reply(out: str) -> str:
    """A control command's output without the charon log lines swanctl streams before its
    reply (``[IKE] ...``; present when the gateway keeps a charon log), checking their form."""
    lines = out.splitlines(keepends=True)
    k = 0
    while k < len(lines) and _LOG.fullmatch(lines[k].rstrip("\n")):
        k += 1
    return "".join(lines[k:])
