"""Where the tests find the repository's files, wherever in tests/ a test module sits."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
"""The repository's root (the folder holding ``ipsecsim/`` and ``tests/``)."""
TOPOLOGIES = REPO / "topologies"
"""The shipped topology files."""
NOTEBOOKS = REPO / "notebooks"
"""The teaching notebooks and the scripts they are built from."""
VECTORS = REPO / "tests" / "vectors"
"""Published and captured test vectors (JSON), with the scripts that captured them."""
