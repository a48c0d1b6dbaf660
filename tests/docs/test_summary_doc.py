"""Every key of a real ``summary.json`` is explained in docs/summary.md.

The shipped topologies are run and each key path of their summaries (names of flows,
links and drop reasons generalised to ``<flow>``, ``<link>``, ``<reason>``) must match a
row of the doc's table; keys under a row (``flows.<flow>.latency_ms.mean``) must be named
in that row's explanation.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from ipsecsim.sim.runner import Simulation
from tests.helpers.paths import TOPOLOGIES

DOC = TOPOLOGIES.parent / "docs" / "summary.md"
SHIPPED = sorted(p.stem for p in TOPOLOGIES.glob("*.yaml"))
#: dict keys whose children are names chosen by the topology or the run, not fixed keys
NAMED = {"packets.dropped": "<reason>", "drops_all": "<reason>", "flows": "<flow>",
         "links": "<link>", "pools": "<node>", "pools.<node>": "<pool>", "tlsvpn": "<node>",
         "dns": "<node>", "dns.<node>.resolvers": "<address>", "dns.<node>.answers": "<name>",
         "attacks": "<attacker>"}


def documented() -> list[tuple[str, str]]:
    """``(key path, explanation)`` per key of the table (``a.b`` / ``c`` means ``a.b``, ``a.c``)."""
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        keys = re.findall(r"`([^`]+)`", cells[0])
        prefix = keys[0].rsplit(".", 1)[0] + "." if "." in keys[0] else ""
        for k in keys:
            rows.append((k if "." in k or not prefix else prefix + k, cells[1]))
    return rows


def key_paths(d: Any, prefix: str = "") -> list[str]:
    out = []
    if isinstance(d, dict):
        for k, v in d.items():
            name = NAMED.get(prefix.rstrip("."), None) or str(k)
            path = prefix + name
            out.append(path)
            out += key_paths(v, path + ".")
    elif isinstance(d, list):
        for item in d:
            out += key_paths(item, prefix.rstrip(".") + "[].")
    return sorted(set(out))


def test_the_table_parses() -> None:
    keys = [k for k, _ in documented()]
    assert "packets.sent" in keys and "child_sas.expired" in keys and "ike.failures[]" in keys


def undocumented(summary: dict[str, Any]) -> list[str]:
    """Key paths of ``summary`` that no row of docs/summary.md explains."""
    rows = documented()
    missing = []
    for path in key_paths(summary):
        if any(k.startswith((path + ".", path + "[]", path + ".<")) for k, _ in rows):
            continue  # a section (``ike``, ``flows``) whose keys have rows of their own
        row = next(((k, text) for k, text in sorted(rows, key=lambda r: -len(r[0]))
                    if path == k or path.startswith(k + ".") or path.startswith(k + "[]")),
                   None)
        if row is None:
            missing.append(path)
            continue
        rest = path[len(row[0]):].lstrip(".").replace("[].", ".").replace("[]", "")
        named = set(re.findall(r"`([^`]+)`", row[1]))
        missing += [f"{path} ({part} not named in the row of {row[0]})"
                    for part in rest.split(".") if part and part not in named]
    return missing


def test_an_undocumented_key_is_caught() -> None:
    fake = {"packets": {"sent": 1, "teleported": 2},
            "flows": {"f": {"sent": 1, "jitter_ms": 3}}}
    assert undocumented(fake) == ["flows.<flow>.jitter_ms (jitter_ms not named in the row of "
                                  "flows.<flow>)", "packets.teleported"]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_summary_key_of_a_shipped_topology_is_documented(name: str) -> None:
    summary = Simulation.from_file(TOPOLOGIES / f"{name}.yaml").run().summary()
    assert not undocumented(summary)
