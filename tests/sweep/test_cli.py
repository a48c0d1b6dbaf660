"""``ipsecsim sweep`` writes results.csv (one row per run, grid columns, seed, figures),
results.parquet with pyarrow, figures/; the CSV is the same bytes with 0 or 2 workers."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ipsecsim.cli import main
from tests.sweep.helpers import small, write


def small_file(tmp_path: Path) -> Path:
    return write(tmp_path, json.dumps(small()), "small.yaml")  # JSON is YAML


def test_the_cli_writes_results_csv_into_out_stem_by_default(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    f = small_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", str(f), "--workers", "0", "--quiet"]) == 0
    out = tmp_path / "out" / "small"
    df = pd.read_csv(out / "results.csv")
    cols = list(df.columns)
    assert cols[:3] == ["links.wan-a.loss", "traffic.voice.size", "seed"]
    assert cols[3:7] == ["time", "packets.sent", "packets.delivered", "packets.dropped.link_loss"]
    for c in ("ike.established", "child_sas.installed", "flows.voice.throughput_bps",
              "links.wan-a.bytes", "drops_all.link_loss"):
        assert c in cols
    assert "topology" not in cols and "flows.voice.type" not in cols  # text is not a figure
    assert len(df) == 4 and list(df["seed"]) == [3] * 4
    # a drop reason only the lossy runs have is 0 in the others, not missing
    assert list(df["packets.dropped.link_loss"] > 0) == [False, False, True, True]
    assert (df["ike.established"] == 1).all()
    assert (df["packets.sent"] == df["packets.delivered"] + df["packets.dropped.link_loss"]
            + df["packets.in_flight"]).all()
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "delivered.png", "goodput.png", "overhead.png"]
    assert (out / "results.parquet").exists() == (importlib.util.find_spec("pyarrow") is not None)
    if (out / "results.parquet").exists():  # the same table, with its types
        pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), df)


def test_the_csv_is_the_same_bytes_with_a_local_cluster_of_two_workers(tmp_path: Path) -> None:
    f = small_file(tmp_path)
    assert main(["sweep", str(f), "--workers", "0", "--quiet", "--out", str(tmp_path / "w0")]) == 0
    assert main(["sweep", str(f), "--workers", "2", "--quiet", "--out", str(tmp_path / "w2")]) == 0
    assert (tmp_path / "w2" / "results.csv").read_bytes() == (tmp_path / "w0" / "results.csv").read_bytes()


def test_ipsecsim_sweep_is_the_function_and_importing_ipsecsim_loads_no_dask_or_pandas() -> None:
    code = ("import sys, ipsecsim\n"
            "print(*sorted(m for m in ('pandas', 'dask', 'distributed') if m in sys.modules))\n"
            "import ipsecsim.sweeps.table, ipsecsim.sweeps.parallel\n"
            "print(ipsecsim.sweep.__module__, ipsecsim.sweep.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["", "ipsecsim.sweeps sweep"]
