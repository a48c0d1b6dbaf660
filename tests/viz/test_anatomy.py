"""The packet byte map: its ranges must describe the packets the data plane really built."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ipsecsim.core import algorithms as A
from ipsecsim.core.sa import SecurityAssociation
from ipsecsim.viz import palette as P
from ipsecsim.viz.anatomy import (
    build_views,
    class_totals,
    draw_packet_anatomy,
    example_packet,
    group_labels,
    layout_packet,
    make_sa,
    view_of,
)

ESP_PROPOSALS = ["aes128gcm16", "aes256gcm16", "aes128-sha256", "aes256-sha512",
                 "aes128-sha1", "chacha20poly1305"]
AH_PROPOSALS = ["sha256", "sha384", "sha512", "sha1"]
SIZES = [28, 41, 100, 333, 1400]


def _contiguous(view) -> None:
    segs = view.segments
    assert segs[0].start == 0
    for a, b in zip(segs, segs[1:], strict=False):
        assert a.end == b.start, (view.name, a, b)
    assert segs[-1].end == len(view.data), view.name
    assert sum(s.size for s in segs) == len(view.data)


@pytest.mark.parametrize("proposal", ESP_PROPOSALS)
@pytest.mark.parametrize("size", SIZES)
def test_esp_ranges_cover_the_built_packet(proposal: str, size: int) -> None:
    original = example_packet(size)
    views = build_views(original, esp_proposal=proposal,
                        which=("esp-transport", "esp-tunnel", "esp-udp"))
    for v in views:
        _contiguous(v)
        tot = class_totals(v.segments)
        # what ESP protects is exactly the original's payload (transport) or whole packet (tunnel)
        expect = size - 20 if v.name == "ESP transport" else size
        payload = sum(s.size for s in v.segments
                      if s.cls == P.ENC_AUTH and s.label not in ("padding",
                                                                 "pad length, next header"))
        assert payload == expect
        assert tot.get(P.ICV, 0) > 0
        # nothing in clear after the ESP header but the ICV: the payload is never readable
        assert original[20:] not in v.data


@pytest.mark.parametrize("proposal", AH_PROPOSALS)
@pytest.mark.parametrize("size", SIZES)
def test_ah_ranges_cover_the_built_packet_and_payload_is_in_clear(proposal: str, size: int) -> None:
    original = example_packet(size)
    for v in build_views(original, ah_proposal=proposal, which=("ah-transport", "ah-tunnel")):
        _contiguous(v)
        assert P.ENC_AUTH not in class_totals(v.segments)  # AH never encrypts
        # the ranges labelled as the original's parts hold the original's bytes, unchanged
        groups = group_labels(v.segments)
        if v.name == "AH tunnel":
            s, e, _ = next(g for g in groups if g[2] == "inner IPv4 header")
            assert v.data[s:] == original
            assert e - s == 20
        else:
            s, _, _ = next(g for g in groups if g[2] == "UDP header")
            assert v.data[s:] == original[20:]
        # the ICV length parsed from AH's Payload Length matches the algorithm table
        icv = sum(x.size for x in v.segments if x.cls == P.ICV)
        assert icv == A.INTEG_ALGS[{"sha256": 12, "sha384": 13, "sha512": 14,
                                    "sha1": 2}[proposal]].icv_size
        # RFC 4302 §3.3.3.1.1.1: TOS, flags+fragment offset, TTL and checksum are mutable
        assert sum(x.size for x in v.segments if x.cls == P.MUTABLE) == 1 + 2 + 1 + 2


def test_plain_packet_is_all_cleartext() -> None:
    v = build_views(example_packet(77), which=("plain",))[0]
    _contiguous(v)
    assert class_totals(v.segments) == {P.CLEAR: 77}
    assert [g[2] for g in group_labels(v.segments)] == ["IPv4 header", "UDP header", "data"]


@pytest.mark.parametrize("mode", ["tunnel", "transport"])
def test_gcm_layout_agrees_with_an_independent_decryption(mode: str) -> None:
    """Decrypt the built packet with `cryptography` directly (RFC 4106 §4: nonce = salt || IV,
    §5: AAD = SPI || seq) and check that padding, pad length and next header sit where the
    layout says."""
    alg = A.encr(A.ENCR_AES_GCM_16, 128)
    keymat = bytes(range(20))  # 16-byte key || 4-byte salt (RFC 4106 §8.1)
    sa = SecurityAssociation("esp", 0x0BADCAFE, mode, alg, keymat, None, b"",
                             tunnel_src="192.0.2.1" if mode == "tunnel" else None,
                             tunnel_dst="192.0.2.2" if mode == "tunnel" else None)
    original = example_packet(61)
    view = view_of(sa, original, "x")
    wire = view.data
    groups = {g[2]: (g[0], g[1]) for g in group_labels(view.segments)}
    hs, he = groups["ESP header (SPI, seq)"]
    assert int.from_bytes(wire[hs:hs + 4], "big") == 0x0BADCAFE
    ivs, ive = groups["IV"]
    icvs, icve = groups["ICV"]
    pt = AESGCM(keymat[:16]).decrypt(keymat[16:] + wire[ivs:ive], wire[ive:icve],
                                     wire[hs:he])
    ps, pe = groups["padding"]
    pad_len, next_header = pt[-2], pt[-1]
    assert pad_len == pe - ps
    assert next_header == (4 if mode == "tunnel" else 17)  # IP-in-IP / UDP
    assert pt[: len(pt) - 2 - pad_len] == (original if mode == "tunnel" else original[20:])


def test_layout_refuses_a_packet_that_does_not_add_up() -> None:
    original = example_packet(100)
    views = build_views(original, esp_proposal="aes128gcm16", which=("esp-tunnel",))
    wire = views[0].data
    cbc = A.encr(A.ENCR_AES_CBC, 128)
    with pytest.raises(ValueError):
        layout_packet(wire, original, mode="tunnel", encr=cbc, integ=A.INTEG_ALGS[12])
    with pytest.raises(ValueError):
        layout_packet(wire + b"\0", original, mode="tunnel", encr=A.encr(A.ENCR_AES_GCM_16, 128))


def test_overhead_of_the_layout_matches_the_sa() -> None:
    for size in (40, 64, 500, 1400):
        original = example_packet(size)
        for proto, prop in (("esp", "aes128gcm16"), ("esp", "aes256-sha384"), ("ah", "sha256")):
            for mode in ("tunnel", "transport"):
                sa = make_sa(proto, mode, prop)
                v = view_of(sa, original, "x")
                assert len(v.data) - size == sa.overhead(size)


def test_draw_has_one_row_per_view_and_no_overlapping_labels() -> None:
    views = build_views()
    ax = draw_packet_anatomy(views)
    fig = ax.figure
    fig.canvas.draw()
    assert len(ax.get_yticklabels()) == len(views)
    r = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in ax.texts if t.get_text()]
    # every group label appears once per row
    n_groups = sum(len(group_labels(v.segments)) for v in views)
    assert len(boxes) == n_groups
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), "two byte-map labels overlap"
    # the legend names only classes that are drawn
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert P.ENC_AUTH in legend and P.MUTABLE in legend and P.ENC not in legend
    plt.close(fig)
