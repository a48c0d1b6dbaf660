"""``make docs``: a notebook executed and written as an HTML page a reader opens without
running anything (notebooks/to_html.py, nbconvert's HTML exporter)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.helpers.paths import NOTEBOOKS as NB_DIR

pytest.importorskip("nbconvert", reason="the docs extra (nbconvert) is needed")


@pytest.mark.notebook
def test_a_notebook_becomes_a_page_with_its_figures(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("ipsecsim_notebook_html", NB_DIR / "to_html.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    nb = next(NB_DIR.glob("01-*.ipynb"))
    pages = mod.build(tmp_path, notebooks=[nb])
    assert [p.name for p in pages] == [nb.stem + ".html"]
    text = pages[0].read_text(encoding="utf-8")
    assert "data:image/png;base64," in text          # the figures, executed and inlined
    assert "What you will learn" in text
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert f'href="{nb.stem}.html"' in index
