"""Overhead charts agree with `ipsecsim overhead` to the byte; the TLS VPN model follows the RFCs."""

from __future__ import annotations

import json
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from ipsecsim.core.overhead import overhead
from ipsecsim.core.tlsvpn import tls_vpn_overhead
from ipsecsim.viz.anatomy import build_views, example_packet, group_labels
from ipsecsim.viz.overhead import (
    config_label,
    draw_overhead,
    draw_overhead_breakdown,
    overhead_frame,
)

CONFIGS = [
    {"proto": "esp", "mode": "tunnel", "proposal": "aes128gcm16"},
    {"proto": "esp", "mode": "transport", "proposal": "aes128gcm16"},
    {"proto": "esp", "mode": "tunnel", "proposal": "aes256-sha256"},
    {"proto": "esp", "mode": "tunnel", "proposal": "aes128gcm16", "nat_t": True},
    {"proto": "ah", "mode": "tunnel", "proposal": "sha256"},
    {"proto": "tls"},
    {"proto": "dtls"},
]


def _cli(proto: str, mode: str, proposal: str, size: int, nat_t: bool = False) -> dict:
    args = [sys.executable, "-m", "ipsecsim", "overhead", "--proto", proto, "--mode", mode,
            "--proposal", proposal, "--size", str(size), "--json"]
    if nat_t:
        args.append("--nat-t")
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)


def test_chart_data_matches_the_ipsecsim_overhead_command() -> None:
    sizes = [64, 333, 1400]
    df = overhead_frame(CONFIGS[:5], sizes)
    for cfg in CONFIGS[:5]:
        for size in sizes:
            row = df[(df.label == config_label(cfg)) & (df["size"] == size)].iloc[0]
            cli = _cli(cfg["proto"], cfg["mode"], cfg["proposal"], size, cfg.get("nat_t", False))
            assert row.wire_bytes == cli["wire_bytes"]
            assert row.overhead_bytes == cli["overhead_bytes"]
            assert row.efficiency == pytest.approx(size / cli["wire_bytes"])


@pytest.mark.parametrize("proposal", ["aes128gcm16", "aes256-sha384", "aes128-sha1"])
@pytest.mark.parametrize("size", [28, 100, 101, 1399])
def test_byte_map_agrees_with_overhead_breakdown(proposal: str, size: int) -> None:
    original = example_packet(size)
    for view, (mode, nat_t) in zip(
            build_views(original, esp_proposal=proposal,
                        which=("esp-tunnel", "esp-transport", "esp-udp")),
            [("tunnel", False), ("transport", False), ("tunnel", True)], strict=True):
        ref = overhead("esp", mode, proposal, size, nat_t)
        assert len(view.data) == ref["wire_bytes"]
        groups = {lab: e - s for s, e, lab in group_labels(view.segments)}
        bd = ref["breakdown"]
        assert groups.get("padding", 0) == bd["padding"]
        assert groups["ICV"] == bd["ICV"]
        assert groups.get("IV", 0) == bd["IV"]
        assert groups["ESP header (SPI, seq)"] == bd["ESP header"]
        assert groups["pad length, next header"] == bd["pad length + next header"]


@pytest.mark.parametrize("proposal", ["sha256", "sha512"])
def test_ah_byte_map_agrees_with_overhead(proposal: str) -> None:
    original = example_packet(500)
    for view, mode in zip(build_views(original, ah_proposal=proposal,
                                      which=("ah-tunnel", "ah-transport")),
                          ("tunnel", "transport"), strict=True):
        ref = overhead("ah", mode, proposal, 500)
        assert len(view.data) == ref["wire_bytes"]
        groups = {lab: e - s for s, e, lab in group_labels(view.segments)}
        assert groups["ICV"] == ref["breakdown"]["ICV"]


def test_cbc_pads_in_16_byte_steps_and_gcm_in_4() -> None:
    sizes = range(200, 232)
    df = overhead_frame([CONFIGS[0], CONFIGS[2]], sizes)
    gcm = df[df.label == config_label(CONFIGS[0])].overhead_bytes
    cbc = df[df.label == config_label(CONFIGS[2])].overhead_bytes
    # RFC 4303 §2.4: payload + padding + 2 aligned to the cipher block (16) or to 4 bytes (GCM)
    assert gcm.max() - gcm.min() == 3 and cbc.max() - cbc.min() == 15
    assert (df.wire_bytes[df.label == config_label(CONFIGS[0])] % 4 == 0).all()


def test_tls_vpn_framing_follows_the_record_formats() -> None:
    # RFC 8446 §5.2 record header 5 + content type 1 + 16-byte AEAD tag; TCP 20 + 12 timestamps
    # (RFC 7323 §3); IPv4 20
    tcp = tls_vpn_overhead(1000, "tcp")
    assert tcp["overhead_bytes"] == 20 + 20 + 12 + 5 + 1 + 16
    assert tcp["wire_bytes"] == 1000 + tcp["overhead_bytes"]
    assert tls_vpn_overhead(1000, "tcp", tcp_timestamps=False)["overhead_bytes"] == 62
    # RFC 9147 §4 unified header: 1 + 2 (16-bit seq) + 2 (length), or 1 + 1 at its shortest
    assert tls_vpn_overhead(1000, "udp")["overhead_bytes"] == 20 + 8 + 5 + 1 + 16
    assert tls_vpn_overhead(1000, "udp", dtls_header="short")["overhead_bytes"] == 47
    assert tls_vpn_overhead(1000, "udp", cid_bytes=8)["overhead_bytes"] == 58
    for r in (tcp, tls_vpn_overhead(50, "udp", vpn_header=8)):
        assert sum(r["breakdown"].values()) == r["overhead_bytes"]
    with pytest.raises(ValueError):
        tls_vpn_overhead(100, "sctp")


def test_draw_overhead_has_a_line_per_config() -> None:
    df = overhead_frame(CONFIGS, range(60, 1500, 40))
    for metric in ("overhead_bytes", "efficiency"):
        ax = draw_overhead(df, metric=metric)
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels[:len(CONFIGS)] == [config_label(c) for c in CONFIGS]
        # every config crosses a 1500-byte MTU below 1500 bytes of original packet: marked
        assert labels[len(CONFIGS):] == ["first size over a 1500-byte MTU"]
        line = ax.get_lines()[0]
        ys = line.get_ydata()
        if metric == "efficiency":
            assert 0 < min(ys) and max(ys) < 100
        plt.close(ax.figure)


def test_breakdown_bars_total_the_overhead() -> None:
    ax = draw_overhead_breakdown(CONFIGS, 500)
    totals: dict[float, float] = {}
    for bar in ax.patches:
        y = round(bar.get_y() + bar.get_height() / 2, 3)
        totals[y] = totals.get(y, 0) + bar.get_width()
    expected = sorted(
        (tls_vpn_overhead(500, "tcp" if c["proto"] == "tls" else "udp")["overhead_bytes"]
         if c["proto"] in ("tls", "dtls") else
         overhead(c["proto"], c["mode"], c["proposal"], 500, c.get("nat_t", False))["overhead_bytes"])
        for c in CONFIGS)
    assert sorted(totals.values()) == expected
    plt.close(ax.figure)
