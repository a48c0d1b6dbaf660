"""Independent peers (tshark, strongSwan's charon, root for namespaces) for the tests.

A test that needs one calls :func:`need_tool` / :func:`need_root`. Without the
tool the test skips with a one-line reason -- unless ``IPSECSIM_REQUIRE_ORACLES=1``
(set by ``.ci/run``), where a missing peer is a failure, so CI cannot pass by
skipping the interop tests unseen.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE = os.environ.get("IPSECSIM_REQUIRE_ORACLES") == "1"


def need(condition: bool, reason: str) -> None:
    if condition:
        return
    if REQUIRE:
        pytest.fail(f"IPSECSIM_REQUIRE_ORACLES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def need_tool(name: str, path: str | None = None) -> str:
    """The tool's path, or skip/fail. ``path`` checks a fixed location (e.g. charon)."""
    found = path if path and os.path.exists(path) else shutil.which(name)
    need(found is not None, f"{name} is not installed (run `make oracles`)")
    return found  # type: ignore[return-value]


def need_root() -> None:
    need(os.geteuid() == 0, "needs root to create network namespaces")
