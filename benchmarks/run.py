#!/usr/bin/env python3
"""Run the benchmarks: ``python benchmarks/run.py [--json] [NAME ...]``.

Benchmarks live in ``benchmarks/bench_*.py`` and register themselves with
``registry.benchmark`` (see ``registry.py``). With ``--json`` each result is
one line ``{"name": ..., "value": ..., "unit": ...}``; otherwise a table.
Names given on the command line select benchmarks (substring match).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from registry import REGISTRY  # noqa: E402


def discover() -> None:
    """Import every ``bench_*.py`` next to this file (each registers its benchmarks)."""
    for path in sorted(HERE.glob("bench_*.py")):
        try:
            importlib.import_module(path.stem)
        except Exception as exc:  # one broken file must not hide the other benchmarks
            print(f"benchmarks: cannot load {path.name}: {exc!r}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="run only benchmarks whose name contains one of these")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = p.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    discover()
    chosen = [b for b in REGISTRY.values() if not args.names or any(n in b.name for n in args.names)]
    if args.list:
        for b in chosen:
            print(f"{b.name} [{b.unit}]")
        return 0
    for b in chosen:
        value = b.fn()
        if args.json:
            print(json.dumps({"name": b.name, "value": round(value, 4), "unit": b.unit}), flush=True)
        else:
            print(f"{b.name:<36} {value:>14.3f} {b.unit}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
