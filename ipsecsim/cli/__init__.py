"""The ``ipsecsim`` command line (see README.md and shared INTERFACES.md).

This file only parses arguments and dispatches, importing lazily so ``ipsecsim
overhead`` does not pay for SimPy or matplotlib. Each subcommand has its module:

* :mod:`.run` -- ``ipsecsim run`` and ``ipsecsim check`` (the SimPy shell, :mod:`ipsecsim.sim`);
* :mod:`.overhead` -- ``ipsecsim overhead`` (:mod:`ipsecsim.core.overhead`);
* :mod:`.sweep` -- ``ipsecsim sweep`` (:mod:`ipsecsim.sweeps`, on Dask);
* :mod:`.export_swanctl` -- ``ipsecsim export-swanctl`` (:mod:`ipsecsim.swanctl.export`);
* :mod:`.peer` -- ``ipsecsim peer`` (the socket shell, :mod:`ipsecsim.peer`);
* :mod:`.demo_dataplane` -- ``python -m ipsecsim.cli.demo_dataplane``, the data plane shown
  packet by packet.
"""

from __future__ import annotations

import argparse
import sys


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ipsecsim",
        description="Discrete-event simulator and teaching visualiser for IPsec (ESP, AH, IKEv2).",
    )
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a simulation of a topology file")
    run.add_argument("topology")
    run.add_argument("--out", help="output folder (default out/<topology name>/)")
    run.add_argument("--seed", type=int, help="override the topology's seed")
    run.add_argument("--until", type=float, help="simulated seconds to run (default: the topology's duration)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    check = sub.add_parser("check", help="validate a topology file")
    check.add_argument("topology")

    ov = sub.add_parser("overhead", help="bytes on the wire for an IPv4 (or IPv6) packet of N bytes")
    ov.add_argument("--proto", choices=["esp", "ah"], default="esp")
    ov.add_argument("--mode", choices=["tunnel", "transport"], default="tunnel")
    ov.add_argument("--proposal", default="aes128gcm16",
                    help="strongSwan ESP/AH proposal, e.g. aes128gcm16 or aes256-sha256 or sha256 (AH)")
    ov.add_argument("--size", type=int, required=True, help="original IPv4 packet size, header included")
    ov.add_argument("--nat-t", action="store_true", help="ESP in UDP (RFC 3948): adds 8 bytes")
    ov.add_argument("--ip", type=int, choices=[4, 6], default=4, help="outer IP family (default 4)")
    ov.add_argument("--inner", type=int, choices=[4, 6],
                    help="family of the original packet, tunnel mode (default: as --ip): 4in6, 6in4")
    ov.add_argument("--json", action="store_true")

    sw = sub.add_parser("sweep", help="run a topology over a grid of parameters and seeds (Dask)")
    sw.add_argument("sweep", help="sweep file: base topology, grid of key paths -> values, seeds")
    sw.add_argument("--out", help="output folder (default out/<sweep file stem>/)")
    sw.add_argument("--workers", type=int, metavar="N",
                    help="local Dask worker processes (default: the cores; 0: no Dask, serial)")
    sw.add_argument("--scheduler", metavar="ADDRESS",
                    help="run on the Dask cluster of this scheduler (tcp://HOST:8786)")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")

    ex = sub.add_parser("export-swanctl", help="write every gateway's swanctl folder for real strongSwan")
    ex.add_argument("topology")
    ex.add_argument("--out", required=True, help="folder: DIR/<node>/ per gateway")
    ex.add_argument("--seed", type=int, help="override the topology's seed (it picks the minted keys)")

    peer = sub.add_parser("peer", help="one IPsec endpoint on real UDP sockets")
    peer.add_argument("config")
    peer.add_argument("--verbose", "-v", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.command == "overhead":
        from .overhead import main as cmd
    elif args.command == "check":
        from .run import check as cmd
    elif args.command == "run":
        from .run import run as cmd
    elif args.command == "sweep":
        from .sweep import main as cmd
    elif args.command == "export-swanctl":
        from .export_swanctl import main as cmd
    else:
        from .peer import main as cmd
    return int(cmd(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
