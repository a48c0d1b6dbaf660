"""``DIR/report.html`` in a real browser: Debian's headless Chromium renders it from a file.

The oracle is a browser nobody here wrote: the DOM it builds must hold the summary and the
packet table the page's script fills in (and, after a scripted click, a packet's layers),
its console must stay silent (an exception or a failed load would be logged there), and
its screenshot must not be blank. The page must fetch nothing: no URL leaves the file.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from ipsecsim.export.report import packet_rows, render_report
from ipsecsim.sim.output import write_all
from ipsecsim.sim.runner import Simulation
from tests.helpers.oracles import need_tool
from tests.helpers.paths import TOPOLOGIES

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         "--allow-file-access-from-files", "--virtual-time-budget=5000"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "nat"
    sim = Simulation.from_file(TOPOLOGIES / "nat-traversal.yaml").run()
    write_all(sim, out)
    return out


def test_every_run_writes_one_self_contained_report(run_dir: Path) -> None:
    text = (run_dir / "report.html").read_text(encoding="utf-8")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert text.startswith("<!DOCTYPE html>")
    # nothing fetched: no external URL in any src/href, no stylesheet or script link
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "<link" not in text and "@import" not in text
    # every figure run drew is inlined (reused from figures/, not drawn again)
    for png in (run_dir / "figures").glob("*.png"):
        import base64

        assert base64.b64encode(png.read_bytes()).decode()[:200] in text, png.name
    assert f"<b class=\"\">{summary['packets']['sent']}</b>packets sent" in text
    data = json.loads(re.search(r'id="packet-data">(.*?)</script>', text, re.S)
                      .group(1).replace("<\\/", "</"))
    assert len(data) == min(sum(s["packets"] for s in summary["links"].values()), 1500)


def test_packet_rows_say_what_is_encrypted() -> None:
    sim = Simulation.from_file(TOPOLOGIES / "site-to-site.yaml").run(2)
    rows = packet_rows(sim)
    esp = next(r for r in rows if r["kind"] == "ESP")
    classes = {layer[3] for layer in esp["layers"]}
    assert {"authenticated only", "encrypted + authenticated", "integrity check value"} <= \
        classes
    assert esp["layers"][-1][1] == esp["size"]  # layers cover the packet exactly
    assert any("PROTECT" in a for a in esp["actions"])
    html = render_report(sim, sim.summary(), Path("/nonexistent"))
    assert "(not drawn)" in html  # a missing figure is said, not a broken image


def _chromium(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = need_tool("chromium", "/usr/bin/chromium")
    return subprocess.run([exe, *FLAGS, *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, check=False)


@pytest.mark.oracle
def test_chromium_renders_the_report_without_console_errors(run_dir: Path) -> None:
    url = (run_dir / "report.html").as_uri()
    dom = _chromium(["--dump-dom", url + "#selftest"], run_dir)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [ln for ln in dom.stderr.splitlines() if ":CONSOLE" in ln]
    assert not console, console  # an exception, a blocked fetch, a failed parse
    html = dom.stdout
    assert "ipsecsim report: nat-traversal" in html and 'id="summary"' in html
    assert 'data-ready="yes"' in html           # the script ran to its end
    rows = re.findall(r'<tr class="pkt', html)
    assert len(rows) > 100                      # the packet table was filled in
    assert int(re.search(r'data-selftest="(\d+)"', html).group(1)) >= 3  # a click opens layers


@pytest.mark.oracle
def test_chromium_screenshot_is_not_blank(run_dir: Path, tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    shot = tmp_path / "shot.png"
    res = _chromium([f"--screenshot={shot}", "--window-size=1200,1400",
                     (run_dir / "report.html").as_uri()], tmp_path)
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    img = mpimg.imread(shot)
    assert img.shape[0] >= 1000 and img.shape[1] >= 1000
    grey = img[..., :3].mean(axis=2)
    assert grey.std() > 0.05          # text, tables and figures, not one flat colour
    assert (grey < 0.5).mean() > 0.01  # some dark pixels: text was drawn
