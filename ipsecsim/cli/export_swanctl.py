"""``ipsecsim export-swanctl TOPOLOGY --out DIR``: every gateway's swanctl folder.

For each gateway of the topology, ``DIR/<node>/`` in swanctl's layout (see
:mod:`ipsecsim.swanctl.export`): ``swanctl.conf`` and the credentials it references, the
run's minted certificates and keys where the topology names none, so that
``SWANCTL_DIR=DIR/<node> swanctl --load-all`` loads the gateway's connections on a real
strongSwan host. What cannot be expressed is a warning on stderr; a bad topology is
``FILE:LINE: message`` and exit 2, as ``ipsecsim check``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(args: argparse.Namespace) -> int:
    from ..sim import topology as T
    from ..sim.runner import Simulation
    from ..sim.swanctl_nodes import base_dir
    from ..swanctl.export import export_node

    try:
        topo = T.load(args.topology)
    except T.TopologyError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        return 2
    sim = Simulation(topo, name=Path(args.topology).stem, seed=args.seed, source=args.topology)
    base = base_dir(args.topology)
    out = Path(args.out)
    for name, n in topo["nodes"].items():
        if n.get("role") != "gateway":
            continue
        folder = base / n["swanctl"] if n.get("swanctl") else None
        conf = base / n["strongswan_conf"] if n.get("strongswan_conf") else None
        try:
            notes = export_node(name, n.get("ipsec") or {}, out, sim.ca, base, folder, conf)
        except (OSError, ValueError) as exc:
            print(f"{args.topology}: {exc}", file=sys.stderr)
            return 2
        for note in notes:
            print(f"ipsecsim export-swanctl: warning: {note}", file=sys.stderr)
        print(f"{out / name}/")
    return 0
