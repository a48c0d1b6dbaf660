"""The fuzz suite's budget and its tally of inputs tried and exceptions escaped.

``make test`` runs every property a few hundred times, derandomized, so CI is quick and
repeatable; ``make fuzz`` multiplies the counts by ``IPSECSIM_FUZZ_SCALE`` and, with
``IPSECSIM_FUZZ_RANDOM=1``, draws fresh inputs each run. Each parser is called inside
:func:`only`, which counts the call and lets through only the exceptions the parser
documents; anything else escapes, is counted, and fails the test (hypothesis then shrinks
it to a minimal input, which is kept in the test as an ``@example``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, settings

SCALE = float(os.environ.get("IPSECSIM_FUZZ_SCALE", "1"))
RANDOM = os.environ.get("IPSECSIM_FUZZ_RANDOM") == "1"

#: parser -> [inputs tried, exceptions escaped, the exceptions it documents]
TALLY: dict[str, list] = {}


def fuzz(examples: int) -> settings:
    """Hypothesis settings for ``examples`` inputs, times the scale."""
    return settings(max_examples=max(1, int(examples * SCALE)), deadline=None,
                    derandomize=not RANDOM, database=None, print_blob=RANDOM,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much,
                                           HealthCheck.function_scoped_fixture])


@contextmanager
def only(parser: str, *documented: type[BaseException]) -> Iterator[None]:
    """Run one parser call: its documented exceptions are an answer, anything else escapes."""
    row = TALLY.setdefault(parser, [0, 0, ", ".join(e.__name__ for e in documented) or "none"])
    row[0] += 1
    try:
        yield
    except documented:
        pass
    except Exception:
        row[1] += 1
        raise


def table() -> str:
    """The tally as a Markdown table, one row per parser."""
    lines = ["| parser | documented exceptions | inputs tried | escaped |", "|---|---|---:|---:|"]
    for name, (tried, escaped, doc) in sorted(TALLY.items()):
        lines.append(f"| `{name}` | {doc} | {tried:,} | {escaped} |")
    total = sum(r[0] for r in TALLY.values()), sum(r[1] for r in TALLY.values())
    lines.append(f"| all {len(TALLY)} parsers | | {total[0]:,} | {total[1]} |")
    return "\n".join(lines) + "\n"
