"""State diagrams come from the engine's tables; the IKE ladder pairs and marks messages right."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyArrowPatch

from ipsecsim.core.ike.states import CHILD_TRANSITIONS, IKE_TRANSITIONS, edges
from ipsecsim.trace import Trace
from ipsecsim.viz.ladder import build_ladder, draw_ike_ladder
from ipsecsim.viz.states import bus_groups, draw_state_diagram, split_edges, state_positions


@pytest.mark.parametrize("table", [IKE_TRANSITIONS, CHILD_TRANSITIONS], ids=["ike", "child"])
def test_state_diagram_shows_every_transition_of_the_table(table) -> None:
    ax = draw_state_diagram(table)
    texts = [t.get_text() for t in ax.texts]
    for state in table:
        assert state in texts
    main, summary = split_edges(table)
    # every (from, event, to) of the table is drawn: a labelled arrow or a summarised grey one
    for s, e, t in edges(table):
        if e in summary:
            assert s in summary[e][1] and summary[e][0] == t
        else:
            assert any(e in lab.split(" / ") or e in lab.split("\n") for lab in texts), e
    groups = bus_groups(summary)
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == len(main) + len(groups) + 1  # + one per bus + the initial arrow
    # no unlabelled arrow: every bus carries its events' names and stubs to each source state
    lines = {ln.get_gid(): ln for ln in ax.get_lines() if ln.get_gid()}
    pos = state_positions(table)
    for events, target, srcs in groups:
        name = " / ".join(events)
        assert f"bus:{name}" in lines
        assert any(t.startswith(f"{name}  (from ") for t in texts), name
        for s in srcs:
            stub = lines[f"stub:{name}:{s}"]
            assert abs(stub.get_xdata()[0] - pos[s][0]) < 0.2  # the stub rises to its state
        for e in events:
            assert summary[e] == (target, srcs)
    plt.close(ax.figure)


def test_state_layout_is_deterministic_and_separates_states() -> None:
    a = state_positions(IKE_TRANSITIONS)
    b = state_positions(IKE_TRANSITIONS)
    assert a == b
    assert len(set(a.values())) == len(IKE_TRANSITIONS)
    # the happy path runs left to right
    assert a["CREATED"][0] < a["CONNECTING"][0] < a["ESTABLISHED"][0]


def _handshake_trace(lose_first: bool) -> Trace:
    """A small hand-made trace in the SCHEMA's shape (a fixture; shipped figures come from runs)."""
    t = Trace()
    init = ["SA", "KEi", "Ni", "N(NAT_DETECTION_SOURCE_IP)", "N(NAT_DETECTION_DESTINATION_IP)"]
    t.emit(0.0, "ike_msg", "gw-a", "out", "192.0.2.2", "IKE_SA_INIT", 0, False, init,
           "0102", "0000", 300, False)
    if lose_first:
        t.emit(2.0, "ike_msg", "gw-a", "out", "192.0.2.2", "IKE_SA_INIT", 0, False, init,
               "0102", "0000", 300, True)
    t0 = 2.0 if lose_first else 0.0
    t.emit(t0 + 0.01, "ike_msg", "gw-b", "in", "192.0.2.1", "IKE_SA_INIT", 0, False, init,
           "0102", "0000", 300, lose_first)
    t.emit(t0 + 0.01, "ike_msg", "gw-b", "out", "192.0.2.1", "IKE_SA_INIT", 0, True,
           ["SA", "KEr", "Nr"], "0102", "0a0b", 280, False)
    t.emit(t0 + 0.02, "ike_msg", "gw-a", "in", "192.0.2.2", "IKE_SA_INIT", 0, True,
           ["SA", "KEr", "Nr"], "0102", "0a0b", 280, False)
    t.emit(t0 + 0.02, "ike_msg", "gw-a", "out", "192.0.2.2", "IKE_AUTH", 1, False,
           "IDi, AUTH, SA, TSi, TSr", "0102", "0a0b", 250, False)
    t.emit(t0 + 0.03, "ike_msg", "gw-b", "in", "192.0.2.1", "IKE_AUTH", 1, False,
           "IDi, AUTH, SA, TSi, TSr", "0102", "0a0b", 250, False)
    t.emit(t0 + 0.03, "ike_fail", "gw-b", "ike-1", "TS_UNACCEPTABLE",
           "no child of gw-b accepts TSr 10.9.0.0/16")
    return t


def test_ladder_pairs_sends_with_receptions_and_marks_the_lost_one() -> None:
    lad = build_ladder(_handshake_trace(lose_first=True))
    assert lad.nodes == ["gw-a", "gw-b"]
    assert len(lad.messages) == 4
    lost = [m for m in lad.messages if m.lost]
    assert len(lost) == 1 and not lost[0].retransmit and lost[0].dst == "gw-b"
    rtx = next(m for m in lad.messages if m.retransmit)
    assert rtx.t_recv == pytest.approx(2.01)
    auth = next(m for m in lad.messages if m.exchange == "IKE_AUTH")
    assert auth.payloads == ["IDi", "AUTH", "SA", "TSi", "TSr"]
    assert (auth.src, auth.dst) == ("gw-a", "gw-b")


def test_ladder_drawing_names_exchanges_payloads_and_failure() -> None:
    ax = draw_ike_ladder(_handshake_trace(lose_first=True))
    texts = "\n".join(t.get_text() for t in ax.texts)
    assert "IKE_SA_INIT req #0" in texts and "IKE_SA_INIT resp #0" in texts
    assert "(retransmit)" in texts and "lost" in texts
    assert "N(NAT_DETECTION_SOURCE_IP)" in texts
    assert "TS_UNACCEPTABLE" in texts and "10.9.0.0/16" in texts
    fig = ax.figure
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in ax.texts if t.get_text().strip()]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), "two ladder labels overlap"
    plt.close(fig)


def test_ladder_without_loss_has_no_lost_marker() -> None:
    ax = draw_ike_ladder(_handshake_trace(lose_first=False))
    assert "lost" not in [t.get_text() for t in ax.texts]
    plt.close(ax.figure)
