"""The teaching notebooks run top to bottom in a fresh kernel, and match their source script."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.helpers.paths import NOTEBOOKS as NB_DIR

nbformat = pytest.importorskip("nbformat", reason="the dev extra (nbformat, nbclient) is needed")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]-*.ipynb"))


def test_there_are_six_notebooks_and_they_are_built_from_build_py() -> None:
    assert len(NOTEBOOKS) >= 6, [p.name for p in NOTEBOOKS]
    # loaded under its own name: a module called "build" may already be imported
    spec = importlib.util.spec_from_file_location("ipsecsim_notebook_build", NB_DIR / "build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    for module, fname in build.NOTEBOOKS.items():
        path = NB_DIR / fname
        assert path.exists(), fname
        assert path.read_text(encoding="utf-8") == build.render(module), (
            f"{fname} is out of date: run python notebooks/build.py")


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    first, last = nb.cells[0], nb.cells[-1]
    assert first.cell_type == "markdown" and "What you will learn" in first.source
    assert last.cell_type == "markdown" and "Exercises" in last.source
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(NB_DIR)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                 if "image/png" in o.get("data", {}) or "text/html" in o.get("data", {}))
    assert images >= 1, f"{path.name} shows no figure"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
