"""The compiled schema check (sim/schema_fast.py) never passes what jsonschema refuses.

Oracle: jsonschema's Draft 2020-12 validator over ``schema.json`` (what
``schema_problems`` reported before), on every shipped topology, a 1,000-spoke hub, and
random damage to them: wrong types, unknown keys, out-of-range numbers, missing keys.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ipsecsim.sim import schema_fast
from ipsecsim.sim import topology as T
from ipsecsim.sim.generate import hub_and_spoke

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "topologies").glob("*.yaml"))


def _slow_ok(data: Any) -> bool:
    return not any(True for _ in jsonschema.Draft202012Validator(T.schema()).iter_errors(data))


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain(v) for v in x]
    return x


def _spots(x: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(x, dict):
        for k, v in x.items():
            out += _spots(v, (*path, k))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            out += _spots(v, (*path, i))
    return out


def _damage(doc: Any, rng: random.Random) -> Any:
    doc = copy.deepcopy(doc)
    path = rng.choice(_spots(doc)[1:])
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    key = path[-1]
    how = rng.randrange(5)
    if how == 0:
        parent[key] = rng.choice([-1, 0, 1.5, "x", None, True, [], {}, 10**9])
    elif how == 1 and isinstance(parent, dict):
        del parent[key]
    elif how == 2 and isinstance(parent[key], dict):
        parent[key]["no_such_key"] = 1
    elif how == 3 and isinstance(parent[key], str):
        parent[key] = parent[key] + "!"
    else:
        parent[key] = -abs(parent[key]) - 1 if isinstance(parent[key], (int, float)) else 1
    return doc


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_topologies_pass_both(path: Path) -> None:
    doc = _plain(T.load(path))
    assert _slow_ok(doc)
    assert schema_fast.valid(doc, T.schema())


def test_damaged_documents_are_never_passed_by_the_fast_check_alone() -> None:
    rng = random.Random(11)
    docs = [_plain(T.load(p)) for p in SHIPPED] + [hub_and_spoke(5, auth="psk")]
    refused = 0
    for _ in range(400):
        bad = _damage(rng.choice(docs), rng)
        slow = _slow_ok(bad)
        fast = schema_fast.valid(bad, T.schema())
        assert not (fast and not slow), bad
        refused += not slow
    assert refused > 100


def test_a_big_hub_passes_the_fast_check() -> None:
    doc = hub_and_spoke(1000, auth="psk")
    assert schema_fast.valid(doc, T.schema())
    assert T.schema_problems(doc, "<dict>") == []
