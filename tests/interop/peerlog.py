"""Events out of ``ipsecsim peer``'s log (one ``EventName field=value ...`` line each).

Nested fields read as ``keys.key_in_encr=...``; values with spaces are quoted (Python repr).
"""

from __future__ import annotations

import ast
import re

_TOKEN = re.compile(r"""([\w.]+)=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\S*)""")


def events(log: str, name: str) -> list[dict[str, str]]:
    """The fields of every ``name`` event in the log, in order."""
    out = []
    for line in log.splitlines():
        parts = line.split(None, 2)  # "<seconds> <EventName> fields"
        if len(parts) < 2 or parts[1] != name:
            continue
        fields = {}
        for k, v in _TOKEN.findall(parts[2] if len(parts) > 2 else ""):
            if v[:1] in "'\"":
                v = ast.literal_eval(v)
            fields[k] = v
        out.append(fields)
    return out
