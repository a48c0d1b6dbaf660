"""``ipsecsim peer CONFIG [-v]``: one IPsec endpoint on real UDP sockets, until interrupted.

CONFIG is read by :func:`ipsecsim.peer.config.load` (swanctl's tree plus ``listen``,
``inner_addrs`` and an optional ``wireshark: DIR``, for ``WIRESHARK_CONFIG_DIR=DIR tshark -r
capture.pcap``) and :func:`~ipsecsim.peer.config.make_node` makes the node; this module
puts the node on a socket loop.

Key material comes from the operating system's random source (a real endpoint must
not be predictable); the log prints the derived keys so Wireshark can decrypt a capture.
"""

from __future__ import annotations

import argparse
import sys

from ..core.errors import ConfigError
from ..peer.config import PEER_ONLY_KEYS, load, make_node


def main(args: argparse.Namespace) -> int:
    from ..core.ike.config import IkeConfig
    from ..swanctl.unmodelled import modelled

    try:
        d, listen, inner = load(args.config)
        wireshark_dir = d.get("wireshark")
        config = IkeConfig.from_dict(modelled({k: v for k, v in d.items() if k not in PEER_ONLY_KEYS}),
                                     source=args.config)
    except ConfigError as exc:
        print(f"ipsecsim peer: {exc}", file=sys.stderr)
        return 2
    from ..swanctl.unmodelled import unmodelled

    for path, why in unmodelled(d):  # as run and check warn for a topology's ipsec: block
        print(f"ipsecsim peer: warning: {args.config}: {'.'.join(path)}: not modelled "
              f"(ignored): {why}", file=sys.stderr)

    from ..peer.runner import PeerRunner

    node = make_node(config, listen)
    try:
        runner = PeerRunner(node, listen, inner, verbose=bool(getattr(args, "verbose", False)),
                            wireshark_dir=str(wireshark_dir) if wireshark_dir else None,
                            daemon_log=str(d["daemon_log"]) if d.get("daemon_log") else None)
    except OSError as exc:
        print(f"ipsecsim peer: cannot bind UDP 500/4500 on {listen}: {exc.strerror}", file=sys.stderr)
        return 1
    return runner.run()
