"""A compiled check of a topology against ``schema.json``, to skip the slow walk when it passes.

jsonschema's validator walks the document through its ``referencing`` machinery: for a hub
with 10,000 spokes that is most of building the simulation. fastjsonschema compiles the
same schema to Python code once. It only answers valid / not valid: when it says not
valid (or is not installed), :func:`~.topology.schema_problems` asks jsonschema as before,
for the located messages. The schema uses only keywords whose meaning draft 7 and draft
2020-12 share (``$ref`` has no siblings, ``items`` is a single schema), so it is compiled
as draft 7, which fastjsonschema implements.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

_CHECK: list[Callable[[Any], Any] | None] = []


def _compile(schema: dict[str, Any]) -> Callable[[Any], Any] | None:
    try:
        import fastjsonschema  # type: ignore[import-untyped]
    except ImportError:
        return None
    s = copy.deepcopy(schema)
    s["$schema"] = "http://json-schema.org/draft-07/schema#"
    s.pop("$id", None)
    try:
        return fastjsonschema.compile(s)  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - a schema it cannot compile: the slow path decides
        return None


def valid(data: Any, schema: dict[str, Any]) -> bool:
    """True when ``data`` surely satisfies ``schema`` (False: ask jsonschema)."""
    if not _CHECK:
        _CHECK.append(_compile(schema))
    check = _CHECK[0]
    if check is None:
        return False
    try:
        check(data)
    except Exception:  # noqa: BLE001 - JsonSchemaException or a type it did not expect
        return False
    return True
