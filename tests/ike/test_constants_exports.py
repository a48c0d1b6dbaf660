"""The IKEv2 constants are listed, not computed: ``constants.__all__`` is a literal and
``message`` imports each name explicitly (so mypy sees them), and neither list may drift."""

from __future__ import annotations

import ast
from pathlib import Path

from ipsecsim.core.ike import constants as C
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike import payloads as P

SHADOWED = {"SA", "KE", "CP"}
"""Payload-type numbers whose names the payload classes take in ``message``."""


def _public_constants() -> list[str]:
    return [n for n in vars(C) if n[:1].isupper() and n not in SHADOWED]


def test_all_is_a_literal_list() -> None:
    tree = ast.parse(Path(C.__file__).read_text())
    (node,) = [n for n in tree.body if isinstance(n, ast.Assign)
               and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)]
    assert isinstance(node.value, ast.List)
    assert all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.value.elts)


def test_all_names_every_public_constant_once() -> None:
    assert sorted(C.__all__) == sorted(_public_constants())
    assert len(set(C.__all__)) == len(C.__all__)


def test_message_reexports_every_constant() -> None:
    for name in C.__all__:
        assert getattr(M, name) is getattr(C, name), name
    # the three shadowed names are the payload classes there; their numbers have PT_ names
    for name in SHADOWED:
        assert getattr(M, name) is getattr(P, name)
        assert getattr(M, "PT_" + name) == getattr(C, name)


def test_message_has_no_star_import() -> None:
    tree = ast.parse(Path(M.__file__).read_text())
    stars = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
             and any(a.name == "*" for a in n.names)]
    assert not stars
