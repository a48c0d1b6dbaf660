"""A bad sweep is a located error (``FILE:LINE: message``, exit 2) before anything runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ipsecsim.cli import main
from ipsecsim.sweeps import SweepError, grid, parallel, spec, sweep
from tests.sweep.helpers import write


def problems(path: Path) -> list[str]:
    """The problems of the sweep at ``path`` (loading, then checking every point)."""
    with pytest.raises(SweepError) as info:
        grid.check(spec.load(path))
    return [str(p) for p in info.value.problems]


def test_a_bad_key_path_is_located_with_a_did_you_mean(tmp_path: Path) -> None:
    f = write(tmp_path, "base: BASE\n"
                        "grid:\n"
                        "  links.wan-a.loss: [0, 0.01]\n"
                        "  links.wan-a.los: [0, 0.01]\n"
                        "  nodes.gw-b.ipsec.connections.office-link.childs.lan-lan.mode: [tunnel]\n")
    assert problems(f) == [
        f"{f}:4: grid: links.wan-a: no key 'los' (did you mean 'loss'?); links.wan-a takes: "
        "a, b, bandwidth, delay, mtu, jitter, loss, gilbert, queue, down",
        f"{f}:5: grid: nodes.gw-b.ipsec.connections.office-link: no key 'childs' (did you mean "
        "'children'?); nodes.gw-b.ipsec.connections.office-link has: local_addrs, remote_addrs, "
        "proposals, local, remote, children",
    ]


def test_an_empty_grid_is_located(tmp_path: Path) -> None:
    f = write(tmp_path, "# nothing to sweep\nbase: BASE\ngrid: {}\nseeds: [1]\n")
    assert problems(f) == [f"{f}:3: grid: empty: give at least one key path with a list of "
                           "values, e.g. links.wan-a.loss: [0, 0.01]"]


def test_a_value_that_is_not_a_list_an_empty_list_and_bad_seeds_are_located(tmp_path: Path) -> None:
    f = write(tmp_path, "base: BASE\ngrid:\n  links.wan-a.loss: 0.01\n  traffic.voice.size: []\n"
                        "seeds: [1, 1]\n")
    assert problems(f) == [
        f"{f}:3: grid: links.wan-a.loss: a list of values, not 0.01 (write [0.01] for a single value)",
        f"{f}:4: grid: traffic.voice.size: an empty list of values (no runs)",
        f"{f}:5: seeds: 1 is given twice",
    ]


def test_a_base_that_is_missing_or_does_not_validate_is_located_in_the_sweep(tmp_path: Path) -> None:
    f = write(tmp_path, "grid:\n  duration: [1]\nbase: nothere.yaml\n")
    assert problems(f) == [f"{f}:3: base: no topology file '{tmp_path / 'nothere.yaml'}'"]
    (tmp_path / "bad.yaml").write_text("nodes:\n  a: {role: host, addresses: [10.0.0.1/24]}\n"
                                       "links:\n  l: {a: a, b: z}\n")
    f = write(tmp_path, "base: bad.yaml\ngrid:\n  duration: [1]\n")
    (msg,) = problems(f)
    bad = tmp_path / "bad.yaml"
    assert msg == (f"{f}:1: base: {bad} does not validate (1 problem: run ipsecsim check {bad}): "
                   f"{bad}:4: links.l.b: no node named 'z'")


def test_a_value_that_makes_an_invalid_topology_is_located_at_its_line(tmp_path: Path) -> None:
    f = write(tmp_path, "base: BASE\n"
                        "grid:\n"
                        "  links.wan-a.loss:\n"
                        "    - 0\n"
                        "    - 1.5\n"
                        "  nodes.gw-a.ipsec.connections.office-link.children.lan-lan.esp_proposals:"
                        " [[aes128gmc16]]\n"
                        "  traffic.voice.stop: [0.5, 9]\n")
    got = problems(f)
    assert got[0] == (f"{f}:5: grid: links.wan-a.loss = 1.5: links.wan-a.loss: 1.5 is greater "
                      "than the maximum of 1")
    assert got[1].startswith(f"{f}:6: grid: nodes.gw-a.ipsec.connections.office-link.children."
                             "lan-lan.esp_proposals = aes128gmc16: ")
    assert "did you mean 'aes128gcm16'" in got[1]
    assert got[2] == (f"{f}:7: grid: traffic.voice.stop = 0.5: traffic.voice: stop (0.5) is not "
                      "after start (1.0)")
    assert len(got) == 3  # combinations with a bad value are not reported again


def test_a_combination_that_is_invalid_only_together_is_located_at_the_grid(tmp_path: Path) -> None:
    f = write(tmp_path, "base: BASE\ngrid:\n  traffic.voice.start: [1, 5]\n"
                        "  traffic.voice.stop: [3, 9]\n")
    assert problems(f) == [f"{f}:2: grid: combination 2 (traffic.voice.start=5, "
                           "traffic.voice.stop=3): traffic.voice: stop (3) is not after start (5.0)"]


def test_unknown_keys_and_yaml_errors_are_located(tmp_path: Path) -> None:
    f = write(tmp_path, "base: BASE\ngrd:\n  duration: [1]\n")
    assert problems(f) == [f"{f}:1: grid: missing (a sweep needs base: and grid:)",
                           f"{f}:2: unknown key 'grd' (did you mean 'grid'?); a sweep takes: "
                           "base, grid, seeds, set, name, description"]
    f = write(tmp_path, "base: BASE\ngrid: [\n")
    assert problems(f) == [f"{f}:3: YAML: expected the node content, but found '<stream end>'"]


def test_the_cli_prints_the_problems_and_exits_2_without_a_traceback(tmp_path: Path) -> None:
    f = write(tmp_path, "base: BASE\ngrid: {}\n")
    r = subprocess.run([sys.executable, "-m", "ipsecsim", "sweep", str(f), "--quiet"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [f"{f}:2: grid: empty: give at least one key path with a "
                                     "list of values, e.g. links.wan-a.loss: [0, 0.01]"]
    assert not (tmp_path / "out").exists()  # nothing ran, nothing written


def test_a_run_that_raises_names_its_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    def boom(topo: dict, seed: int) -> dict:
        if topo["links"]["wan-a"].get("loss"):
            raise ValueError("no luck")
        return {}

    monkeypatch.setattr(parallel, "run_point", boom)
    f = write(tmp_path, "base: BASE\ngrid:\n  links.wan-a.loss: [0, 0.1]\nseeds: [4]\n")
    with pytest.raises(parallel.PointFailed) as info:
        sweep(f, workers=0)
    assert info.value.index == 1
    assert str(info.value.problem) == (f"{f}:2: run 1 (links.wan-a.loss=0.1, seed=4) failed: "
                                       "ValueError: no luck")
    assert main(["sweep", str(f), "--workers", "0", "--quiet", "--out", str(tmp_path / "o")]) == 1
    assert capsys.readouterr().err.splitlines() == [str(info.value.problem)]
