"""Cell helpers shared by the ``nbNN_*`` notebook sources (see ``build.py``)."""

from __future__ import annotations

SETUP = """\
%matplotlib inline
import matplotlib.pyplot as plt
plt.rcParams["figure.dpi"] = 96"""
"""First lines of every notebook's first code cell."""


def md(text: str) -> tuple[str, str]:
    """A markdown cell."""
    return ("markdown", text.strip("\n"))


def code(text: str) -> tuple[str, str]:
    """A code cell."""
    return ("code", text.strip("\n"))
