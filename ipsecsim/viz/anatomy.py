"""Packet anatomy: which bytes of a built packet are clear, encrypted, authenticated.

:func:`layout_packet` reads a packet the data plane built and cuts it into
labelled byte ranges. It parses what is in clear on the wire (IPv4 header
length and protocol, UDP ports and the non-ESP marker, the AH Payload Length)
and takes the rest from the algorithm table (IV and ICV sizes) and from the
original packet's length; the padding is what remains, and it is checked
against the cipher's alignment rule, so a layout that does not add up raises
instead of drawing a wrong picture.

What each range is (RFC 4303 §2, §3.3.4 for ESP; RFC 4302 §2, §3.3.3 for AH;
RFC 3948 §2 for ESP in UDP):

* ESP: outer IP and UDP headers travel in clear; SPI and sequence number
  (and the IV) are covered by the ICV but not encrypted; payload, padding,
  pad length and next header are encrypted and covered by the ICV.
* AH: everything is covered by the ICV except the outer IP header's mutable
  fields (TOS, flags/fragment offset, TTL, checksum -- RFC 4302 §3.3.3.1.1),
  which are zeroed for the computation; nothing is encrypted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.algorithms import EncrAlg, IntegAlg
from ..core.ip import IPPROTO_AH, IPPROTO_ESP, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP
from ..core.natt import NATT_PORT, NON_ESP_MARKER
from .palette import AUTH, BYTE_CLASSES, BYTE_STYLE, CLEAR, ENC_AUTH, ICV, MUTABLE, new_axes


@dataclass(frozen=True, slots=True)
class Segment:
    """One byte range of a packet."""

    start: int
    """Offset of the first byte."""
    end: int
    """Offset one past the last byte."""
    label: str
    """Name of the field group this range belongs to (ranges of one group share a label)."""
    cls: str
    """Protection class, one of :data:`ipsecsim.viz.palette.BYTE_CLASSES`."""

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class PacketView:
    """A built packet with its layout, ready to draw."""

    name: str
    """Row title, e.g. ``ESP tunnel``."""
    data: bytes
    """The packet as built."""
    segments: tuple[Segment, ...]
    """Byte ranges covering ``data`` exactly."""
    note: str = ""
    """Short extra text (algorithm) shown under the row title."""


def _ihl(data: bytes, off: int = 0) -> int:
    if len(data) < off + 20 or data[off] >> 4 != 4:
        raise ValueError(f"no IPv4 header at offset {off}")
    return (data[off] & 0x0F) * 4


class _Builder:
    def __init__(self) -> None:
        self.segs: list[Segment] = []
        self.pos = 0

    def add(self, n: int, label: str, cls: str) -> None:
        if n < 0:
            raise ValueError(f"negative length {n} for {label!r}")
        if n:
            self.segs.append(Segment(self.pos, self.pos + n, label, cls))
            self.pos += n


# (offset, length, mutable?) of IPv4 header fields, RFC 791 §3.1 / RFC 4302 §3.3.3.1.1.1
_IPV4_FIELDS = ((0, 1, False), (1, 1, True), (2, 2, False), (4, 2, False), (6, 2, True),
                (8, 1, True), (9, 1, False), (10, 2, True), (12, 8, False))


def _ip_header(b: _Builder, data: bytes, label: str, cls: str, ah_outer: bool = False) -> int:
    ihl = _ihl(data, b.pos)
    if not ah_outer:
        b.add(ihl, label, cls)
        return ihl
    for _off, n, mutable in _IPV4_FIELDS:
        b.add(n, label, MUTABLE if mutable else AUTH)
    # IPv4 options (rare): treat as immutable (RFC 4302 §3.3.3.1.1.2 classifies each; we send none)
    b.add(ihl - 20, label, AUTH)
    return ihl


def layout_packet(data: bytes, original: bytes | None = None, *, mode: str | None = None,
                  encr: EncrAlg | None = None, integ: IntegAlg | None = None) -> list[Segment]:
    """Cut a built IPv4 packet into labelled, classified byte ranges.

    For a plain packet only ``data`` is needed. For ESP give the ``original``
    packet that was protected, the ``mode`` and the SA's ``encr``/``integ``
    descriptors (the ciphertext cannot be parsed). For AH give ``mode`` and
    ``original`` (the AH header itself is parsed from the packet).
    Raises ValueError when the ranges cannot add up to ``len(data)``.
    """
    b = _Builder()
    ihl = _ihl(data)
    proto = data[9]
    natt = (proto == IPPROTO_UDP and len(data) >= ihl + 12
            and NATT_PORT in (int.from_bytes(data[ihl:ihl + 2], "big"),
                              int.from_bytes(data[ihl + 2:ihl + 4], "big"))
            and data[ihl + 8:ihl + 12] != NON_ESP_MARKER)
    # transport mode keeps the original header (protocol field changed); tunnel mode adds one
    head = "outer IPv4 header" if mode == "tunnel" else "IPv4 header (protocol rewritten)"
    if proto == IPPROTO_ESP or natt:
        _ip_header(b, data, head, CLEAR)
        if natt:
            b.add(8, "UDP header (NAT-T, port 4500)", CLEAR)
        _esp(b, data, original, mode, encr, integ)
    elif proto == IPPROTO_AH:
        _ip_header(b, data, head, CLEAR, ah_outer=True)
        _ah(b, data, original, mode)
    else:
        _ip_header(b, data, "IPv4 header", CLEAR)
        _upper_from(b, data, ihl, 0, "", CLEAR)
    if b.pos != len(data):
        raise ValueError(f"layout covers {b.pos} bytes, packet has {len(data)}")
    return b.segs


def _payload_of(original: bytes | None, mode: str | None) -> tuple[bytes, int]:
    if original is None or mode not in ("tunnel", "transport"):
        raise ValueError("ESP/AH layout needs the original packet and mode='tunnel'|'transport'")
    oihl = _ihl(original)
    return (original, oihl) if mode == "tunnel" else (original[oihl:], oihl)


def _protected_payload(b: _Builder, original: bytes, mode: str, cls: str) -> None:
    oihl = _ihl(original)
    start = b.pos
    if mode == "tunnel":
        b.add(oihl, "inner IPv4 header", cls)
        _upper_from(b, original, oihl, start, "inner ", cls)
    else:
        _upper_from(b, original, oihl, start - oihl, "", cls)


def _upper_from(b: _Builder, original: bytes, oihl: int, base: int, prefix: str, cls: str) -> None:
    """Lay out ``original[oihl:]`` whose first byte sits at ``b.pos`` (``base`` + oihl)."""
    proto = original[9]
    rest = len(original) - oihl
    if proto == IPPROTO_UDP and rest >= 8:
        b.add(8, f"{prefix}UDP header", cls)
    elif proto == IPPROTO_ICMP and rest >= 8:
        b.add(8, f"{prefix}ICMP header", cls)
    elif proto == IPPROTO_TCP and rest >= 20:
        b.add((original[oihl + 12] >> 4) * 4, f"{prefix}TCP header", cls)
    b.add(base + len(original) - b.pos, f"{prefix}data", cls)


def _esp(b: _Builder, data: bytes, original: bytes | None, mode: str | None,
         encr: EncrAlg | None, integ: IntegAlg | None) -> None:
    if encr is None:
        raise ValueError("ESP layout needs the SA's encr descriptor")
    payload, _ = _payload_of(original, mode)
    assert original is not None and mode is not None
    icv = encr.icv_size if encr.aead else (integ.icv_size if integ else 0)
    b.add(8, "ESP header (SPI, seq)", AUTH)
    b.add(encr.iv_size, "IV", AUTH)
    body_start = b.pos
    _protected_payload(b, original, mode, ENC_AUTH)
    pad = len(data) - b.pos - 2 - icv
    if not 0 <= pad <= 255:
        raise ValueError(f"ESP padding would be {pad} bytes: packet length does not match "
                         f"{encr.name}/{integ.name if integ else '-'} and the original")
    aligned = len(payload) + pad + 2
    if aligned % max(encr.block_size, 4):
        raise ValueError(f"ESP payload+padding+2 = {aligned} is not a multiple of "
                         f"{max(encr.block_size, 4)} (RFC 4303 §2.4)")
    assert b.pos - body_start == len(payload)
    b.add(pad, "padding", ENC_AUTH)
    b.add(2, "pad length, next header", ENC_AUTH)
    b.add(icv, "ICV", ICV)


def _ah(b: _Builder, data: bytes, original: bytes | None, mode: str | None) -> None:
    _payload_of(original, mode)
    assert original is not None and mode is not None
    off = b.pos
    ah_len = (data[off + 1] + 2) * 4  # RFC 4302 §2.2: Payload Length in 32-bit words, minus 2
    b.add(4, "AH header (next hdr, len, SPI, seq)", AUTH)
    b.add(4, "AH header (next hdr, len, SPI, seq)", AUTH)
    b.add(4, "AH header (next hdr, len, SPI, seq)", AUTH)
    b.add(ah_len - 12, "ICV", ICV)
    _protected_payload(b, original, mode, AUTH)


def group_labels(segments: list[Segment] | tuple[Segment, ...]) -> list[tuple[int, int, str]]:
    """Consecutive ranges with the same label merged: ``(start, end, label)``."""
    out: list[tuple[int, int, str]] = []
    for s in segments:
        if out and out[-1][2] == s.label and out[-1][1] == s.start:
            out[-1] = (out[-1][0], s.end, s.label)
        else:
            out.append((s.start, s.end, s.label))
    return out


def class_totals(segments: list[Segment] | tuple[Segment, ...]) -> dict[str, int]:
    """Bytes per protection class."""
    tot: dict[str, int] = {}
    for s in segments:
        tot[s.cls] = tot.get(s.cls, 0) + s.size
    return tot


def draw_packet_anatomy(views: list[PacketView], ax: Any = None, *, fontsize: float = 7.5,
                        title: str | None = None) -> Any:
    """Byte maps of several packets, one row each, coloured by protection class.

    Labels that fit go inside their range; the others are stacked above the
    row with a leader line, on as many levels as needed so none overlap.
    """
    from matplotlib.patches import Patch, Rectangle

    from .palette import place_on_levels, text_width_data

    longest = max(len(v.data) for v in views)
    ax = new_axes(ax, figsize=(10.0, 1.0 + 1.15 * len(views)))
    ax.set_xlim(-0.01 * longest, longest * 1.01)
    bar_h = 1.0
    level_h = 0.55
    y = 0.0
    yticks: list[float] = []
    ylabels: list[str] = []
    used: set[str] = set()
    for view in views:
        groups = group_labels(view.segments)
        texts = [f"{lab} ({e - s})" for s, e, lab in groups]
        widths = [text_width_data(ax, t, fontsize) for t in texts]
        inside = [w * 1.08 < (e - s) for w, (s, e, _) in zip(widths, groups, strict=True)]
        outside = [i for i, ok in enumerate(inside) if not ok]
        intervals = []
        for i in outside:
            s, e, _ = groups[i]
            c = (s + e) / 2
            intervals.append((c - widths[i] / 2, c + widths[i] / 2))
        levels = place_on_levels(intervals, gap=longest * 0.01)
        n_levels = max(levels, default=-1) + 1
        # the row occupies [y - bar_h, y]; its outside labels sit above, then the next row
        y -= n_levels * level_h
        top = y
        y -= bar_h
        for seg in view.segments:
            face, hatch, _ = BYTE_STYLE[seg.cls]
            used.add(seg.cls)
            ax.add_patch(Rectangle((seg.start, y), seg.size, bar_h, facecolor=face, hatch=hatch,
                                   edgecolor="white" if not hatch else "#555555", linewidth=0.3))
        for i, (s, e, _lab) in enumerate(groups):
            ax.add_patch(Rectangle((s, y), e - s, bar_h, fill=False, edgecolor="black",
                                   linewidth=0.8))
            cls = next(seg.cls for seg in view.segments if seg.start >= s and seg.end <= e)
            colour = BYTE_STYLE[cls][2]
            if inside[i]:
                ax.text((s + e) / 2, y + bar_h / 2, texts[i], ha="center", va="center",
                        fontsize=fontsize, color=colour,
                        bbox=None if not BYTE_STYLE[cls][1] else
                        {"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.85})
        for j, i in enumerate(outside):
            s, e, _ = groups[i]
            ly = top + levels[j] * level_h + level_h * 0.45
            ax.plot([(s + e) / 2, (s + e) / 2], [top, ly - level_h * 0.25], color="#444444",
                    linewidth=0.6)
            ax.text((s + e) / 2, ly, texts[i], ha="center", va="center", fontsize=fontsize)
        yticks.append(y + bar_h / 2)
        ylabels.append(f"{view.name}\n{view.note + ', ' if view.note else ''}{len(view.data)} B")
        y -= 0.45
    ax.set_ylim(y, 0.15)
    ax.set_yticks(yticks, ylabels, fontsize=fontsize + 1)
    ax.set_xlabel("byte offset in the packet on the wire")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    handles = [Patch(facecolor=BYTE_STYLE[c][0], hatch=BYTE_STYLE[c][1], edgecolor="#555555",
                     label=c) for c in BYTE_CLASSES if c in used]
    # legend under the x label: offset in inches turned into axes fraction
    ax_h_in = ax.get_position().height * ax.figure.get_figheight()
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.5 / ax_h_in),
              ncol=min(len(handles), 3), fontsize=fontsize + 0.5, frameon=False)
    if title:
        ax.set_title(title)
    return ax


DEFAULT_TUNNEL = ("198.51.100.1", "203.0.113.1")
"""Outer addresses of the example tunnel (RFC 5737 documentation ranges)."""


def example_packet(size: int = 100, src: str = "10.1.0.5", dst: str = "10.2.0.7") -> bytes:
    """A UDP/IPv4 packet of ``size`` bytes (header included) built by :mod:`ipsecsim.core.ip`."""
    from ..core.ip import udp_packet

    if size < 28:
        raise ValueError("a UDP/IPv4 packet has at least 28 bytes")
    payload = bytes((i * 7 + 3) & 0xFF for i in range(size - 28))
    return udp_packet(src, dst, 40000, 5001, payload)


def make_sa(proto: str, mode: str, proposal: str, *, seed: int | str = 1,
            encap: tuple[int, int] | None = None, spi: int = 0x1000_0001,
            tunnel: tuple[str, str] = DEFAULT_TUNNEL) -> Any:
    """A :class:`~ipsecsim.core.sa.SecurityAssociation` with keys drawn from a seeded Rng."""
    from ..core import algorithms as A
    from ..core.proposals import parse_proposal
    from ..core.rng import Rng
    from ..core.sa import SecurityAssociation

    prop = parse_proposal(proposal, proto)[0]
    encr = A.encr(*prop.encr[0]) if prop.encr else None
    integ = A.INTEG_ALGS[prop.integ[0]] if prop.integ else None
    rng = Rng(seed, f"viz/{proto}/{mode}/{proposal}")
    ekey = rng.bytes(encr.keymat_size) if encr else b""
    ikey = rng.bytes(integ.key_size) if integ else b""
    return SecurityAssociation(proto, spi, mode, encr, ekey, integ, ikey,
                               tunnel_src=tunnel[0] if mode == "tunnel" else None,
                               tunnel_dst=tunnel[1] if mode == "tunnel" else None,
                               encap=encap, rng=rng)


def view_of(sa: Any, original: bytes, name: str) -> PacketView:
    """Encapsulate ``original`` with ``sa`` and lay the result out."""
    wire = sa.encapsulate(original)
    segs = layout_packet(wire, original, mode=sa.mode, encr=sa.encr, integ=sa.integ)
    alg = sa.encr.name if sa.encr else ""
    if sa.integ:
        alg = f"{alg}-{sa.integ.name}" if alg else sa.integ.name
    return PacketView(name, wire, tuple(segs), alg)


def build_views(original: bytes | None = None, *, esp_proposal: str = "aes128gcm16",
                ah_proposal: str = "sha256", seed: int | str = 1,
                which: tuple[str, ...] = ("plain", "esp-transport", "esp-tunnel",
                                          "ah-transport", "ah-tunnel", "esp-udp")
                ) -> list[PacketView]:
    """The same original packet as sent plain and under each protection, built by real SAs."""
    original = original if original is not None else example_packet()
    views: list[PacketView] = []
    for w in which:
        if w == "plain":
            views.append(PacketView("plain IPv4", original, tuple(layout_packet(original))))
        elif w in ("esp-transport", "esp-tunnel", "esp-udp"):
            mode = "transport" if w == "esp-transport" else "tunnel"
            encap = (4500, 4500) if w == "esp-udp" else None
            name = {"esp-transport": "ESP transport", "esp-tunnel": "ESP tunnel",
                    "esp-udp": "ESP in UDP (NAT-T)"}[w]
            views.append(view_of(make_sa("esp", mode, esp_proposal, seed=seed, encap=encap),
                                 original, name))
        elif w in ("ah-transport", "ah-tunnel"):
            mode = w.split("-")[1]
            views.append(view_of(make_sa("ah", mode, ah_proposal, seed=seed), original,
                                 f"AH {mode}"))
        else:
            raise ValueError(f"unknown packet view {w!r}")
    return views
