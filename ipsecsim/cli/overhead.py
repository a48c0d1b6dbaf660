"""``ipsecsim overhead``: bytes on the wire for one IPv4 or IPv6 packet through ESP or AH.

Backed by :func:`ipsecsim.core.overhead.overhead`, which builds the packet.
Exit status 2 with a one-line message for a size below the header (20, or 40 for IPv6),
a bad proposal, NAT-T over IPv6, or transport mode with ``--inner`` unlike ``--ip``.
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
    if "ip" in r:
        title += f" (IPv{r['inner']} in IPv{r['ip']})" if r["mode"] == "tunnel" else " (IPv6)"
    lines = [title, f"  {'original IPv' + str(r.get('inner', 4)) + ' packet':<28}{r['size']:>6} B"]
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
        r = overhead(args.proto, args.mode, args.proposal, args.size, bool(args.nat_t),
                     ip=getattr(args, "ip", 4), inner=getattr(args, "inner", None))
    except ConfigError as exc:
        print(f"ipsecsim overhead: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(r))
    else:
        print(format_table(r))
    return 0
