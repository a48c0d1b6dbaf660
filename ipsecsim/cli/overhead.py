"""``ipsecsim overhead``: bytes on the wire for one IPv4 packet through ESP or AH.

Backed by :func:`ipsecsim.core.overhead.overhead`, which builds the packet.
Exit status 2 with a one-line message for a size below 20 or a bad proposal.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..core.errors import ConfigError
from ..core.overhead import overhead


def format_table(r: dict[str, Any]) -> str:
    """The human-readable table printed without ``--json``."""
    title = f"{r['proto'].upper()} {r['mode']} {r['algorithms']}" + (" + NAT-T" if r["nat_t"] else "")
    lines = [title, f"  {'original IPv4 packet':<28}{r['size']:>6} B"]
    for name, n in r["breakdown"].items():
        lines.append(f"  + {name:<26}{n:>6} B")
    lines.append(f"  {'= on the wire':<28}{r['wire_bytes']:>6} B")
    pct = 100.0 * r["overhead_bytes"] / r["size"]
    eff = 100.0 * r["size"] / r["wire_bytes"]
    lines.append(f"  {'overhead':<28}{r['overhead_bytes']:>6} B  (+{pct:.1f} % on top of the "
                 f"original; payload efficiency {eff:.1f} %)")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    try:
        r = overhead(args.proto, args.mode, args.proposal, args.size, bool(args.nat_t))
    except ConfigError as exc:
        print(f"ipsecsim overhead: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(r))
    else:
        print(format_table(r))
    return 0
