"""Which package may import which: the layout is the architecture (STYLE.md §1, §4; issue 11).

* ``ipsecsim.core`` -- the sans-IO protocol core -- imports nothing of the shells or the
  outputs (``ipsecsim.sim``, ``.peer``, ``.viz``, ``.cli``, ``.export``), and no event loop,
  simulator, socket or plotting library (``simpy``, ``asyncio``, ``socket``, ``matplotlib``).
* ``ipsecsim.viz`` draws what the trace recorded: of ipsecsim it imports only
  ``ipsecsim.trace``, ``ipsecsim.core`` and itself -- never the simulator that wrote the trace.

Checked twice. Statically: every ``import``/``from`` statement of every module, relative ones
resolved to absolute names, including those inside functions (the lazy imports a run-time
check would miss). At run time: importing every core module in a fresh interpreter loads none
of simpy, asyncio or matplotlib. ``socket`` is only checked statically: ``cryptography.x509``
imports ``email.utils``, which imports ``socket`` -- a dependency's doing, not a use of the
network by the core.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import ipsecsim

PACKAGE = Path(ipsecsim.__file__).parent

CORE_FORBIDDEN = ("simpy", "socket", "asyncio", "matplotlib",
                  "ipsecsim.sim", "ipsecsim.peer", "ipsecsim.viz", "ipsecsim.cli", "ipsecsim.export")
"""What no module under ipsecsim/core may import (a name or anything below it)."""
VIZ_ALLOWED = ("ipsecsim.trace", "ipsecsim.core", "ipsecsim.viz")
"""The only parts of ipsecsim a module under ipsecsim/viz may import."""


def module_name(path: Path) -> str:
    """``ipsecsim/core/ike/sk.py`` -> ``ipsecsim.core.ike.sk``; a package's ``__init__`` -> the package."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path) -> set[str]:
    """Every module name an import statement anywhere in ``path`` names, made absolute.

    ``from X import y`` yields ``X`` and ``X.y`` (``y`` may be a submodule), so ``from .. import
    sim`` inside ipsecsim/viz is seen as ``ipsecsim.sim``.
    """
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names |= {f"{module}.{a.name}" for a in node.names if a.name != "*"}
    return names


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_core_and_viz_import_only_what_the_layout_allows() -> None:
    core = sorted((PACKAGE / "core").rglob("*.py"))
    viz = sorted((PACKAGE / "viz").rglob("*.py"))
    assert len(core) > 30 and len(viz) > 10  # the walk found the core (ike, data plane) and viz
    # the walk sees relative imports and the ones inside functions
    assert "ipsecsim.trace" in imported_names(PACKAGE / "viz" / "data.py")
    assert "ipsecsim.core.units" in imported_names(PACKAGE / "viz" / "timeline.py")

    offenders = {}
    for f in core:
        bad = sorted(n for n in imported_names(f) if _under(n, CORE_FORBIDDEN))
        if bad:
            offenders[module_name(f)] = bad
    for f in viz:
        bad = sorted(n for n in imported_names(f)  # ("ipsecsim" alone: the version string)
                     if _under(n, ("ipsecsim",)) and n != "ipsecsim" and not _under(n, VIZ_ALLOWED))
        if bad:
            offenders[module_name(f)] = bad
    assert offenders == {}


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
