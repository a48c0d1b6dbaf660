"""Build the teaching notebooks (``NN-name.ipynb``) from the cell lists in ``nbNN_*.py``.

The notebooks are generated so that they stay reviewable: a change is a diff
of plain Python strings here, not of notebook JSON. Run from anywhere:

    python notebooks/build.py          # (re)write every .ipynb
    python notebooks/build.py --check  # exit 1 if an .ipynb is out of date

The .ipynb files are committed without outputs; ``tests/notebooks/test_notebooks.py``
executes them top to bottom.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

#: module name -> notebook file name, in reading order
NOTEBOOKS: dict[str, str] = {
    "nb01_basics": "01-ipsec-basics.ipynb",
    "nb02_modes": "02-tunnel-vs-transport.ipynb",
    "nb03_ikev2": "03-ikev2-handshake.ipynb",
    "nb04_site_to_site": "04-site-to-site-design.ipynb",
    "nb05_lifecycle": "05-sa-lifecycle.ipynb",
    "nb06_nat": "06-nat-traversal.ipynb",
    "nb07_remote_access": "07-remote-access.ipynb",
    "nb08_attacks": "08-attacks.ipynb",
    "nb09_replay_markers": "09-anti-replay-and-nat-t-bytes.ipynb",
    "nb10_router_setup": "10-router-setup-and-logs.ipynb",
    "nb11_iot": "11-iot-sensors.ipynb",
    "nb12_ipsec_vs_tls": "12-ipsec-vs-tls-vpn.ipynb",
}

def build(module: str) -> nbformat.NotebookNode:
    """The notebook for one ``nbNN_*`` module (its ``CELLS`` list)."""
    sys.path.insert(0, str(HERE))
    try:
        mod = importlib.import_module(module)
    finally:
        sys.path.remove(str(HERE))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    cells = []
    for i, (kind, text) in enumerate(mod.CELLS):
        cell = (nbformat.v4.new_markdown_cell(text) if kind == "markdown"
                else nbformat.v4.new_code_cell(text))
        cell["id"] = f"{module[:4]}-{i:02d}"  # stable ids: rebuilding gives the same file
        cells.append(cell)
    nb.cells = cells
    nbformat.validate(nb)
    return nb


def render(module: str) -> str:
    return nbformat.writes(build(module)) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for module, fname in NOTEBOOKS.items():
        if not (HERE / f"{module}.py").exists():
            continue
        text = render(module)
        path = HERE / fname
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(fname)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(HERE.parent)}")
    if stale:
        print("out of date (run python notebooks/build.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
