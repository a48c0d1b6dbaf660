"""``ipsecsim sweep SWEEP.yaml [--out DIR] [--workers N] [--scheduler ADDRESS] [--quiet]``.

Runs :func:`ipsecsim.sweep` (:mod:`ipsecsim.sweeps`) and writes ``DIR/results.csv``,
``DIR/results.parquet`` (with pyarrow) and ``DIR/figures/``; DIR defaults to
``out/<sweep file stem>/``. A bad sweep file, key path, value or point topology prints
``FILE:LINE: message`` lines on stderr and exits 2 before anything runs; a run that fails
exits 1 with the point it was.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(args: argparse.Namespace) -> int:
    from ..sweeps import SweepError, sweep
    from ..sweeps.output import parquet_available, write_results
    from ..sweeps.parallel import PointFailed

    out = Path(args.out) if args.out else Path("out") / Path(args.sweep).stem
    quiet = bool(args.quiet)
    t0 = time.perf_counter()
    try:
        df = sweep(args.sweep, workers=args.workers, scheduler=args.scheduler,
                   progress=not quiet)
    except SweepError as exc:
        for p in exc.problems:
            print(str(p), file=sys.stderr)
        return 2
    except PointFailed as exc:
        print(str(exc.problem or exc), file=sys.stderr)
        return 1
    except (OSError, TimeoutError) as exc:  # a scheduler that does not answer
        where = f"the Dask scheduler at {args.scheduler}" if args.scheduler else "a local Dask cluster"
        print(f"{args.sweep}:0: cannot run on {where}: {exc}", file=sys.stderr)
        return 1
    try:
        write_results(df, out)
    except OSError as exc:
        print(f"{args.sweep}:0: cannot write {out}/: {exc}", file=sys.stderr)
        return 1
    if not quiet:
        files = "results.csv" + (", results.parquet" if parquet_available() else
                                 " (no results.parquet: pip install pyarrow)")
        print(f"{args.sweep}: {len(df)} runs in {time.perf_counter() - t0:.1f} s -> {out}/ "
              f"({files}, figures/)", file=sys.stderr)
    return 0
