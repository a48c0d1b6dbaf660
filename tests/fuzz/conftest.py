"""Print the fuzz tally after a serial run (``make fuzz`` also writes build/fuzz/table.md)."""

from __future__ import annotations

from pathlib import Path

from tests.fuzz import budget


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    if not budget.TALLY:  # under xdist the workers hold the tally; nothing to print here
        return
    text = budget.table()
    terminalreporter.write_sep("-", "fuzz: inputs tried and exceptions escaped, per parser")
    terminalreporter.write(text)
    if budget.SCALE != 1:
        out = Path("build/fuzz/table.md")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
