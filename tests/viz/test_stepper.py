"""Stepping through a run: what the stepper shows at step k, checked against the trace and
the packet bytes (no browser: the logic is a plain class, the widget a thin view)."""

from __future__ import annotations

import subprocess
import sys
from functools import cache

from ipsecsim.sim.runner import Simulation
from ipsecsim.viz.data import records
from ipsecsim.viz.stepper import RunSteps, step_through
from tests.helpers.paths import TOPOLOGIES


@cache
def steps(name: str) -> RunSteps:
    return RunSteps(Simulation.from_file(TOPOLOGIES / f"{name}.yaml").run(2.5))


def test_steps_are_the_runs_events_in_time_order() -> None:
    st = steps("site-to-site")
    sim = st.sim
    times = [st.view(k).t for k in range(len(st))]
    assert times == sorted(times)
    sends = [r for r in records(sim, "ike_msg") if r["direction"] == "out"]
    n_ike = sum(st.category(k) == "ike" for k in range(len(st)))
    n_pkt = sum(st.category(k) == "packet" for k in range(len(st)))
    assert n_ike == len(sends) and n_pkt == len(records(sim, "link_tx"))


def test_next_packet_and_next_ike_message() -> None:
    st = steps("site-to-site")
    k = st.next_index(-1, "ike")
    v = st.view(k)
    assert v.category == "ike" and "IKE_SA_INIT request" in v.heading and v.node == "gw-a"
    assert "in the clear" in v.lines[1]  # no keys yet: IKE_SA_INIT is not encrypted
    k2 = st.next_index(k, "ike")
    k3 = st.next_index(k2, "ike")
    auth = st.view(k3)
    assert "IKE_AUTH" in auth.heading and "inside SK" in auth.lines[1]
    p = st.next_index(k, "packet")
    assert st.category(p) == "packet" and p > k
    assert st.prev_index(p, "ike") == k
    last = len(st) - 1
    assert st.next_index(last) == last  # the end: nowhere further to go


def test_an_esp_hop_shows_its_sa_and_which_bytes_are_encrypted() -> None:
    st = steps("site-to-site")
    k = next(k for k in range(len(st)) if st.category(k) == "packet"
             and st.view(k).heading.startswith("ESP"))
    v = st.view(k)
    hop = st._steps[k][3]
    spi = int.from_bytes(hop.data[20:24], "big")  # the ESP header right after the outer IPv4
    assert any("SPD: PROTECT" in ln and f"0x{spi:08x}" in ln for ln in v.lines)
    by = v.bytes_by_class()
    assert by["encrypted + authenticated"] >= 84  # the whole inner packet, at least
    assert by["authenticated only"] == 16          # ESP header (8) and IV (8), AES-GCM
    assert by["integrity check value"] == 16
    assert sum(by.values()) == len(hop.data)
    html = st.html(k)
    assert "encrypted + authenticated" in html and f"step {k + 1} / {len(st)}" in html


def test_a_discarded_packet_says_so() -> None:
    st = steps("nat-traversal")
    k = st.next_index(-1, "drop")
    v = st.view(k)
    assert v.category == "drop" and v.node == "gw-a"
    assert v.lines[0].startswith("SPD: DISCARD") and "AH cannot cross a NAT" in " ".join(v.lines)


def test_the_widget_is_a_thin_view_over_the_steps() -> None:
    import ipywidgets as w

    box = step_through(steps("site-to-site").sim)
    play, slider = box.children[0].children
    buttons = box.children[1].children
    out = box.children[2]
    assert isinstance(play, w.Play) and isinstance(out, w.HTML)
    st = steps("site-to-site")
    assert slider.max == len(st) - 1
    next_ike = next(b for b in buttons if b.description.startswith("next IKE"))
    next_ike.click()
    assert slider.value == st.next_index(0, "ike")
    assert out.value == st.html(slider.value)  # the view shows the logic's step


def test_importing_the_package_never_needs_ipywidgets() -> None:
    code = ("import sys, ipsecsim.viz.stepper, ipsecsim.viz, ipsecsim.cli; "
            "sys.exit('ipywidgets' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
