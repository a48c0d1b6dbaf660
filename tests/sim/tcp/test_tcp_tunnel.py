"""TCP through an ESP tunnel: the tunnel's overhead without MSS clamping makes the path MTU
shrink (DF, RFC 1191) or the outer packets fragment (no DF); clamping SYNs at the gateways
(RFC 4459 §3.2, strongSwan's recommended TCPMSS rule) removes both. tshark checks that the
segments are real TCP."""

from __future__ import annotations

import os
import subprocess

import pytest

from ipsecsim.sim.output import write_pcaps
from ipsecsim.sim.runner import Simulation
from tests.helpers.oracles import need_tool
from tests.helpers.sim_topos import assert_conserved, manual_site_to_site

BYTES = 1_000_000


def _run(df: bool, clamp: int = 0) -> Simulation:
    topo = manual_site_to_site(traffic={"t": {"type": "tcp", "from": "host-a", "to": "10.2.0.10",
                                              "bytes": BYTES, "df": df}}, duration=5)
    if clamp:
        for gw in ("gw-a", "gw-b"):
            topo["nodes"][gw]["mss_clamp"] = clamp
    sim = Simulation(topo)
    sim.run()
    assert_conserved(sim)
    return sim


def _esp_overhead(sim: Simulation) -> int:
    rec = next(r for r in sim.trace.of("encrypt"))
    return int(rec[-1]) - int(rec[-2])  # (size in, size out): ESP adds the difference


def test_without_clamping_and_with_df_the_path_mtu_shrinks():
    sim = _run(df=True)
    s = sim.summary()
    t = s["flows"]["t"]["tcp"]
    assert t["bytes_acked"] == BYTES
    assert s["packets"]["dropped"].get("frag_needed", 0) >= 1  # the first full segments
    assert t["retransmits"]["pmtu"] == 1
    assert t["mss"] < 1460
    assert not list(sim.trace.of("fragment"))
    # the MSS TCP settles on fits the ESP-wrapped packet into 1500 bytes exactly
    assert t["mss"] + 40 + _esp_overhead(sim) <= 1500


def test_without_clamping_and_without_df_the_tunnel_fragments():
    sim = _run(df=False)
    t = sim.summary()["flows"]["t"]["tcp"]
    assert t["mss"] == 1460 and t["bytes_acked"] == BYTES
    frags = list(sim.trace.of("fragment"))
    assert len(frags) > 500  # nearly every full segment leaves gw-a in two pieces
    assert {r[3] for r in frags} == {"gw-a"}


@pytest.mark.parametrize("df", [True, False])
def test_clamping_the_mss_removes_both(df):
    sim = _run(df=df, clamp=1360)
    s = sim.summary()
    t = s["flows"]["t"]["tcp"]
    assert t["mss"] == 1360 and t["bytes_acked"] == BYTES
    assert not list(sim.trace.of("fragment"))
    assert "frag_needed" not in s["packets"]["dropped"]
    assert sum(t["retransmits"].values()) == 0


def test_tshark_reads_the_connection_as_valid_tcp(tmp_path):
    tshark = need_tool("tshark")
    sim = _run(df=True, clamp=1360)
    write_pcaps(sim, tmp_path / "pcap")
    pcap = tmp_path / "pcap" / "lan-b.pcap"
    assert pcap.exists()
    out = subprocess.run(
        [tshark, "-n", "-r", str(pcap), "-o", "tcp.check_checksum:TRUE", "-T", "fields",
         "-e", "tcp.len", "-e", "tcp.checksum.status", "-e", "tcp.options.mss_val",
         "-Y", "tcp.srcport == tcp.dstport and ip.src == 10.1.0.10"],
        capture_output=True, text=True, check=True, env=dict(os.environ, HOME=str(tmp_path)))
    rows = [line.split("\t") for line in out.stdout.splitlines()]
    assert rows, out.stderr
    assert {r[1] for r in rows} == {"1"}  # every checksum good
    assert rows[0][2] == "1360"  # the SYN as host-b receives it: clamped
    assert sum(int(r[0]) for r in rows) >= BYTES
