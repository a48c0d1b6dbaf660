#!/usr/bin/env python3
"""Instructions per packet on the ESP path, counted by callgrind: ``python benchmarks/instructions.py``.

Wall-clock figures on a shared virtual machine move by tens of per cent from one run to the
next; the number of instructions a run executes does not (same code, same seed, same count
every time). This counts, with valgrind's callgrind, the user-space instructions of
``Simulation.run()`` on the ``esp_path`` topology (``bench_sim.esp_path_topology``, tracing on)
and of the naive pipeline (``bench_sim.naive_run``), only while they run -- a small C helper
switches callgrind's instrumentation on and off around the run (``CALLGRIND_START_INSTRUMENTATION``
from ``valgrind/callgrind.h``), so imports and topology building are not counted.

What it does not see: time the kernel spends on page faults for new memory, cache misses and
branch mispredictions. It is the CPU-work half of ``esp_path_speedup``, measured exactly.

Needs valgrind, gcc and valgrind's headers (Debian: valgrind). Each count takes about 30 s
(callgrind runs the interpreter some 50 times slower); the two run in parallel. Output as
``run.py --json``: one ``{"name", "value", "unit"}`` object per line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOGGLE_C = """#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void cg_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; CALLGRIND_DUMP_STATS; }
"""
RUN = """
import ctypes, sys
sys.path[:0] = [{here!r}, {root!r}]
import bench_sim
from ipsecsim.sim.runner import Simulation
cg = ctypes.CDLL({lib!r})
n = {n}
if {which!r} == "naive":
    cg.cg_start(); bench_sim.naive_run(n); cg.cg_stop()
else:
    sim = Simulation.from_dict(bench_sim.esp_path_topology(n))
    # run() pauses the cyclic GC and resumes it on return; the collection that follows (over
    # the whole trace, once) is outside the wall-clock benchmark's timing, so keep it out here
    import gc; gc.disable()
    cg.cg_start(); sim.run(); cg.cg_stop()
    assert sim.summary()["packets"]["delivered"] == n
"""


def count(which: str, n: int, lib: Path, tmp: Path) -> int:
    """Instructions executed by ``which`` (``sim`` or ``naive``) for ``n`` packets."""
    out = tmp / which
    out.mkdir()
    code = RUN.format(here=str(HERE), root=str(HERE.parent), lib=str(lib), n=n, which=which)
    subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                    f"--callgrind-out-file={out}/cg.%p", sys.executable, "-c", code],
                   check=True, capture_output=True, text=True)
    total = 0
    for f in out.iterdir():  # the dump at cg_stop, and the (empty) one at exit
        for line in f.read_text().splitlines():
            if line.startswith("totals:"):
                total += int(line.split()[1])
    if not total:
        raise RuntimeError(f"callgrind counted nothing for {which}")
    return total


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=2000, help="packets per run (default 2000)")
    args = p.parse_args(argv)
    missing = [t for t in ("valgrind", "gcc") if shutil.which(t) is None]
    if missing or not Path("/usr/include/valgrind/callgrind.h").exists():
        print(f"instructions.py needs valgrind, gcc and valgrind's headers (missing: "
              f"{', '.join(missing) or 'valgrind/callgrind.h'})", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "toggle.c").write_text(TOGGLE_C)
        lib = tmp / "libtoggle.so"
        subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(lib), str(tmp / "toggle.c")], check=True)
        with ThreadPoolExecutor(2) as pool:
            sim, naive = pool.map(lambda w: count(w, args.n, lib, tmp), ("sim", "naive"))
    for name, value, unit in (("esp_path_instructions_per_packet", sim / args.n, "instr"),
                              ("esp_path_naive_instructions_per_packet", naive / args.n, "instr"),
                              ("esp_path_instruction_ratio", naive / sim, "x")):
        print(json.dumps({"name": name, "value": round(value, 2), "unit": unit}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
