"""The TCP flow (sim/tcp.py): handshake, windows, NewReno recovery, and the Mathis et al.
model as the independent reference for goodput under random loss."""

from __future__ import annotations

import math

import pytest

from ipsecsim.sim.runner import Simulation
from ipsecsim.sim.topology import TopologyError
from ipsecsim.sim.topology import load as load_topology
from tests.helpers.sim_topos import assert_conserved, plain_chain

DELAY = 0.020  # one way, on the lossy link; the other link adds 1 ms each way


def _run(loss: float, duration: float, **flow):
    f = {"type": "tcp", "from": "h1", "to": "10.0.2.10", "start": 0.1}
    f.update(flow)
    sim = Simulation(plain_chain({"t": f}, duration=duration, bandwidth="1Gbps", delay="20ms",
                                 loss=loss))
    sim.run()
    return sim


def test_a_transfer_completes_with_every_byte_in_order_and_nothing_resent():
    sim = _run(0.0, 5, bytes=1_000_000)
    t = sim.summary()["flows"]["t"]["tcp"]
    assert t["bytes_acked"] == t["goodput_bytes"] == 1_000_000
    assert t["completed_at"] is not None and t["completed_at"] < 2.0
    assert sum(t["retransmits"].values()) == 0
    assert t["mss"] == 1460  # 1500-byte links, no option smaller
    assert t["srtt_ms"] == pytest.approx(2e3 * (DELAY + 0.001), rel=0.05)
    assert_conserved(sim)


def test_the_receive_window_caps_goodput_at_rwnd_per_rtt():
    sim = _run(0.0, 6, rwnd=65536)
    t = sim.summary()["flows"]["t"]["tcp"]
    rtt = 2 * (DELAY + 0.001)
    assert t["goodput_bps"] == pytest.approx(8 * 65536 / rtt, rel=0.1)
    # the congestion window does not grow past what the receiver lets it use (RFC 7661)
    assert t["cwnd_max_bytes"] < 2 * 65536


def test_newreno_recovers_from_losses_mostly_without_timeouts():
    sim = _run(0.01, 30, min_rto=0.2)
    t = sim.summary()["flows"]["t"]["tcp"]
    assert t["fast_recoveries"] > 20
    assert t["retransmits"]["partial_ack"] > 0  # several holes in one window (RFC 6582)
    assert t["timeouts"] < t["fast_recoveries"] / 5
    s = assert_conserved(sim)
    assert set(s["dropped"]) == {"link_loss"}


@pytest.mark.parametrize("p", [0.002, 0.005, 0.01])
def test_goodput_agrees_with_the_mathis_model_within_20_percent(p):
    """Mathis, Semke, Mahdavi, Ott, "The macroscopic behavior of the TCP congestion
    avoidance algorithm" (CCR 1997): BW = MSS/RTT * C/sqrt(p), C = sqrt(3/2) with an ACK
    per segment. Timeouts, which the model leaves out, keep p at or below ~1 %."""
    sim = _run(p, 60, min_rto=0.2)
    t = sim.summary()["flows"]["t"]["tcp"]
    rtt = 2 * (DELAY + 0.001)
    model = 8 * t["mss"] / rtt * math.sqrt(1.5) / math.sqrt(p)
    assert t["goodput_bps"] == pytest.approx(model, rel=0.20)


def test_the_same_seed_gives_the_same_connection():
    a = _run(0.01, 5).summary()["flows"]["t"]
    b = _run(0.01, 5).summary()["flows"]["t"]
    assert a == b


@pytest.mark.parametrize("key,value,msg", [
    ("size", 1000, "not used by a tcp flow"),
    ("count", 10, "set bytes:"),
    ("window", 8, "rwnd"),
])
def test_keys_a_tcp_flow_does_not_use_are_located_errors(tmp_path, key, value, msg):
    f = {"type": "tcp", "from": "h1", "to": "10.0.2.10", "bytes": 1000, key: value}
    import yaml

    p = tmp_path / "t.yaml"
    p.write_text(yaml.safe_dump(plain_chain({"t": f})))
    with pytest.raises(TopologyError) as e:
        load_topology(p)
    assert f"traffic.t.{key}" in str(e.value) and msg in str(e.value)
    assert "t.yaml:" in str(e.value)


def test_tcp_keys_on_another_flow_type_are_errors(tmp_path):
    import yaml

    p = tmp_path / "t.yaml"
    p.write_text(yaml.safe_dump(plain_chain(
        {"u": {"type": "cbr", "from": "h1", "to": "10.0.2.10", "mss": 1000}})))
    with pytest.raises(TopologyError, match=r"traffic\.u\.mss: only a tcp flow"):
        load_topology(p)
