"""``ipsecsim check`` and ``ipsecsim run`` (dispatched from :mod:`ipsecsim.cli`).

A bad topology prints ``FILE:LINE: message`` lines on stderr and exits 2, never
a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..sim.topology import TopologyError, load, warnings


def _report(exc: TopologyError) -> int:
    for p in exc.problems:
        print(str(p), file=sys.stderr)
    return 2


def check(args: argparse.Namespace) -> int:
    """Validate a topology file: exit 0 when valid, 2 with ``FILE:LINE: message`` lines when not."""
    try:
        topo = load(args.topology)
    except TopologyError as exc:
        return _report(exc)
    for w in warnings(topo, str(args.topology)):
        print(f"warning: {w}", file=sys.stderr)
    n = topo["nodes"]
    print(f"{args.topology}: ok ({len(n)} nodes, {len(topo.get('links') or {})} links, "
          f"{len(topo.get('traffic') or {})} flows)")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run a topology and write summary.json, trace.jsonl, pcap/, wireshark/, figures/."""
    from ..core.errors import ConfigError
    from ..sim.output import write_all
    from ..sim.runner import Simulation

    try:
        sim = Simulation.from_file(args.topology, seed=getattr(args, "seed", None))
    except TopologyError as exc:
        return _report(exc)
    except (ConfigError, ValueError) as exc:  # what only building the network can find
        print(f"{args.topology}:0: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if getattr(args, "out", None) else Path("out") / sim.name
    quiet = bool(getattr(args, "quiet", False))
    for w in sim.warnings:  # what the configuration asks for that the run does not model
        print(f"warning: {w}", file=sys.stderr)
    sim.run(getattr(args, "until", None), progress=not quiet)
    summary = write_all(sim, out)
    for w in summary.get("warnings", [])[len(sim.warnings):]:  # what the run found
        print(f"warning: {w}", file=sys.stderr)
    if not quiet:
        p = summary["packets"]
        drops = ", ".join(f"{k} {v}" for k, v in p["dropped"].items()) or "none"
        print(f"{sim.name}: {p['sent']} sent, {p['delivered']} delivered, dropped: {drops}; "
              f"IKE up {summary['ike']['established']}, child SAs {summary['child_sas']['installed']}"
              f" -> {out}/", file=sys.stderr)
    return 0
