"""The sans-IO core stays sans-IO: nothing under ipsecsim/core imports simpy, socket,
asyncio or matplotlib (STYLE.md §1; docs/contracts.md).

Two checks: no ``import``/``from`` statement in the core's source names those
modules, and importing every core module in a fresh interpreter loads none of
simpy, asyncio or matplotlib. ``socket`` is only checked at the source level:
``cryptography.x509`` imports ``email.utils``, which imports ``socket`` -- a
dependency's doing, not a use of the network by the core.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import ipsecsim.core

FORBIDDEN = ("simpy", "socket", "asyncio", "matplotlib")
CORE = Path(ipsecsim.core.__file__).parent


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_core_source_imports_io_or_plotting() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 30  # the walk found the core (ike and the data plane)
    offenders = {str(f.relative_to(CORE)): sorted(_imported_roots(f) & set(FORBIDDEN))
                 for f in files}
    assert {f: m for f, m in offenders.items() if m} == {}


def test_importing_the_core_loads_no_event_loop_simulator_or_plotting() -> None:
    code = (
        "import importlib, pkgutil, sys, ipsecsim.core as c\n"
        "names = [m.name for m in pkgutil.walk_packages(c.__path__, 'ipsecsim.core.')]\n"
        "for n in names: importlib.import_module(n)\n"
        "print(len(names), *sorted(m for m in ('simpy', 'asyncio', 'matplotlib') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert int(out[0]) > 30
    assert out[1:] == []
