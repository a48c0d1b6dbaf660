"""IKE_SA and CHILD_SA states are ``StrEnum`` members whose values are the strings the
traces, logs and figures printed before; the event literals name exactly the tables' events."""

from __future__ import annotations

import json
from typing import get_args

from ipsecsim.core.ike import states as S


def test_values_are_the_names() -> None:
    assert [s.value for s in S.IkeState] == ["CREATED", "CONNECTING", "ESTABLISHED", "REKEYING",
                                             "REKEYED", "DELETING", "DESTROYED"]
    assert [s.value for s in S.ChildState] == ["CREATED", "INSTALLED", "REKEYING", "REKEYED",
                                               "DELETING", "DELETED"]
    for s in (*S.IkeState, *S.ChildState):
        assert s == s.name and str(s) == s.name and f"{s}" == s.name and f"{s:<12}" == f"{s.name:<12}"
        assert hash(s) == hash(s.name)
        assert json.dumps([s, {s: s}]) == json.dumps([s.name, {s.name: s.name}])


def test_short_names_are_the_members() -> None:
    assert S.ESTABLISHED is S.IkeState.ESTABLISHED and S.C_DELETED is S.ChildState.DELETED
    assert S.IKE_STATES == tuple(S.IkeState) and S.CHILD_STATES == tuple(S.ChildState)


def test_tables_use_the_enums_and_literals() -> None:
    for table, state, event in ((S.IKE_TRANSITIONS, S.IkeState, S.IkeEvent),
                                (S.CHILD_TRANSITIONS, S.ChildState, S.ChildEvent)):
        assert list(table) == list(state)
        assert all(isinstance(a, state) and isinstance(b, state) for a, _, b in S.edges(table))
        assert {e for _, e, _ in S.edges(table)} == set(get_args(event))


def test_plain_strings_still_look_up() -> None:
    assert S.ike_next("CREATED", "send_init") is S.CONNECTING  # type: ignore[arg-type]
    assert S.child_next("INSTALLED", "rekey") is S.C_REKEYING  # type: ignore[arg-type]
