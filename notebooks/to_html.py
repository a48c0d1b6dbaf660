"""Execute the teaching notebooks and write them as HTML pages, for ``make docs``.

    python notebooks/to_html.py [OUT_DIR]      # default: build/notebooks/

Each ``NN-name.ipynb`` is run top to bottom in a fresh kernel (from ``notebooks/``, as
Jupyter would) and exported with nbconvert's HTML exporter, figures inlined, into
``OUT_DIR/NN-name.html``; ``OUT_DIR/index.html`` lists them. A reader then sees every
figure without installing or running anything. Widgets are not live in a static page
(the stepper's cells print their steps as text as well).
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build(out: Path, timeout: int = 600, notebooks: list[Path] | None = None) -> list[Path]:
    """Execute ``notebooks`` (default: every ``NN-*.ipynb``) and write their pages."""
    import nbclient
    import nbformat
    from nbconvert import HTMLExporter

    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter()
    pages = []
    for nb_path in notebooks or sorted(HERE.glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(HERE)}}).execute()
        body, _ = exporter.from_notebook_node(nb)
        page = out / f"{nb_path.stem}.html"
        page.write_text(body, encoding="utf-8")
        pages.append(page)
        print(f"wrote {page}", file=sys.stderr)
    items = "".join(f'<li><a href="{p.name}">{html.escape(p.stem)}</a></li>' for p in pages)
    (out / "index.html").write_text(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>ipsecsim notebooks"
        "</title></head><body><h1>ipsecsim: the teaching notebooks, executed</h1>"
        f"<ol>{items}</ol><p>Built by <code>make docs</code> from notebooks/.</p></body></html>\n",
        encoding="utf-8")
    return pages


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "build" / "notebooks")
