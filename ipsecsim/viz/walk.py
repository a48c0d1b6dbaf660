"""A run's packets hop by hop, with their layers: the data behind report.html's drill-down
and the step-through widget (:mod:`.stepper`).

Each ``link_tx`` record of the trace keeps the packet's bytes as they crossed the link.
:func:`packet_hops` cuts each into layers (:func:`.anatomy.layout_packet`) with the
protection of every byte range — clear, authenticated only, encrypted and authenticated,
ICV — and names what the node did with it from the records of the same ``pkt_id``:
which SA protected it (the ``encrypt`` record's SPI, whose ``sa`` record names the child
and its proposal), which SA opened it, or why it was dropped. The ESP layout needs the
packet that was protected: the same ``pkt_id``'s plaintext on the link before the
encrypting gateway (its length and protocol are what the layout reads).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..trace import Trace
from .anatomy import Segment, layout_packet
from .palette import AUTH, CLEAR, ENC_AUTH

IPPROTO = {1: "ICMP", 6: "TCP", 17: "UDP", 50: "ESP", 51: "AH", 58: "ICMPv6"}


@dataclass
class PacketHop:
    """One packet on one link, as the drill-down and the stepper show it."""

    seq: int
    """Trace sequence number of the ``link_tx`` record."""
    t: float
    link: str
    src: str
    """Node that sent it onto the link."""
    dst: str
    pkt_id: int
    size: int
    kind: str
    """``plain``, ``ESP``, ``ESP in UDP``, ``AH`` or ``IKE``."""
    summary: str
    """One line: addresses, protocol, SPI or ports."""
    layers: list[Segment] = field(default_factory=list)
    """Byte ranges with their protection class (:data:`.palette.BYTE_CLASSES`)."""
    actions: list[str] = field(default_factory=list)
    """What the sending node did to this packet: SPD decision, SA chosen, drop reason."""
    data: bytes = b""

    def protection(self) -> dict[str, int]:
        """Bytes per protection class."""
        out: dict[str, int] = {}
        for s in self.layers:
            out[s.cls] = out.get(s.cls, 0) + s.end - s.start
        return out


def _trace(data: Any) -> Trace:
    t = data.trace if hasattr(data, "trace") and not isinstance(data, Trace) else data
    if not isinstance(t, Trace):
        raise TypeError("packet_hops needs a Simulation or a Trace (the bytes are in memory)")
    return t


def _u16(b: bytes, off: int) -> int:
    return int.from_bytes(b[off:off + 2], "big")


def _ntoa(b: bytes) -> str:
    return ".".join(str(x) for x in b)


def summarise(b: bytes) -> tuple[str, str, int | None]:
    """``(kind, one-line summary, ESP/AH SPI or None)`` of an IPv4 packet's bytes."""
    from .animation import classify

    if len(b) < 20 or b[0] >> 4 != 4:
        return "plain", f"{len(b)} B (not IPv4)", None
    ihl = (b[0] & 0x0F) * 4
    proto = b[9]
    head = f"{_ntoa(b[12:16])} → {_ntoa(b[16:20])} {IPPROTO.get(proto, str(proto))}"
    kind = classify(b)
    spi = None
    if kind == "ESP" and len(b) >= ihl + 8:
        spi = int.from_bytes(b[ihl:ihl + 4], "big")
        head += f" SPI 0x{spi:08x} seq {int.from_bytes(b[ihl + 4:ihl + 8], 'big')}"
    elif kind == "ESP in UDP" and len(b) >= ihl + 16:
        spi = int.from_bytes(b[ihl + 8:ihl + 12], "big")
        head += (f" {_u16(b, ihl)} → {_u16(b, ihl + 2)}, ESP SPI 0x{spi:08x} seq "
                 f"{int.from_bytes(b[ihl + 12:ihl + 16], 'big')}")
    elif kind == "AH" and len(b) >= ihl + 12:
        spi = int.from_bytes(b[ihl + 4:ihl + 8], "big")
        head += f" SPI 0x{spi:08x} seq {int.from_bytes(b[ihl + 8:ihl + 12], 'big')}"
    elif proto in (6, 17) and len(b) >= ihl + 4:
        head += f" {_u16(b, ihl)} → {_u16(b, ihl + 2)}"
        if kind == "IKE":
            head += " (IKE)"
    elif proto == 1 and len(b) >= ihl + 8:
        typ = {0: "echo reply", 8: "echo request"}.get(b[ihl], f"type {b[ihl]}")
        head += f" {typ} seq {_u16(b, ihl + 6)}"
    return kind, f"{head}, {len(b)} B", spi


def _sa_table(tr: Trace) -> dict[int, dict[str, Any]]:
    """ESP/AH SPI -> its ``sa`` installed record (child, mode, proposal, node, direction)."""
    out: dict[int, dict[str, Any]] = {}
    for r in tr.dicts("sa"):
        if r.get("event") == "installed" and r.get("proto") in ("esp", "ah") and \
                isinstance(r.get("spi"), int):
            out.setdefault(int(r["spi"]), r)
    return out


def _layers(b: bytes, kind: str, spi: int | None, original: bytes | None,
            sas: dict[int, dict[str, Any]]) -> list[Segment]:
    """The packet's layers; an ESP packet whose SA or original is unknown gets a coarse
    layout (header authenticated, the rest encrypted and authenticated)."""
    try:
        if kind in ("ESP", "ESP in UDP", "AH") and spi is not None:
            sa = sas.get(spi)
            if sa is None or original is None:
                raise ValueError("SA or original not in the trace")
            mode, _, proposal = str(sa.get("detail", "")).partition(" ")
            from ..core import algorithms as A
            from ..core.proposals import parse_proposal

            prop = parse_proposal(proposal, str(sa["proto"]))[0]
            encr = A.encr(*prop.encr[0]) if prop.encr else None
            integ = A.INTEG_ALGS[prop.integ[0]] if prop.integ else None
            return layout_packet(b, original, mode=mode, encr=encr, integ=integ)
        return layout_packet(b)
    except Exception:  # noqa: BLE001 - a coarse view beats none
        ihl = (b[0] & 0x0F) * 4 if b else 0
        segs = [Segment(0, ihl, "IPv4 header", CLEAR)]
        off = ihl
        if kind == "ESP in UDP":
            segs.append(Segment(off, off + 8, "UDP header (NAT-T)", CLEAR))
            off += 8
        if kind in ("ESP", "ESP in UDP"):
            segs.append(Segment(off, off + 8, "ESP header (SPI, seq)", AUTH))
            segs.append(Segment(off + 8, len(b), "encrypted payload, padding, trailer, ICV",
                                ENC_AUTH))
        elif kind == "AH":
            segs.append(Segment(off, len(b), "AH header, ICV and protected packet", AUTH))
        else:
            segs.append(Segment(off, len(b), "payload", CLEAR))
        return [s for s in segs if s.end > s.start]


def packet_hops(data: Any, limit: int | None = None,
                window: tuple[float, float] | None = None) -> list[PacketHop]:
    """Every packet on every link (the first ``limit``, in a time ``window``), in trace
    order, with its layers and what the sending node did to it."""
    tr = _trace(data)
    sas = _sa_table(tr)
    chosen = []
    for rec in tr.of("link_tx"):
        if window is not None and not window[0] <= rec[1] <= window[1]:
            continue
        chosen.append(rec)
        if limit is not None and len(chosen) >= limit:
            break
    pids = {rec[5] for rec in chosen}
    acts: dict[tuple[int, str], list[tuple[float, str]]] = {}
    for r in (tr.as_dict(x) for x in tr.of("encrypt", "decrypt", "drop") if x[4] in pids):
        pid = r.get("pkt_id")
        if pid is None:
            continue
        spi = r.get("spi")
        sa = sas.get(spi) if isinstance(spi, int) else None
        child = f" child {sa['child']} ({sa.get('detail')})" if sa else ""
        spi_txt = f"0x{spi:08x}" if isinstance(spi, int) else str(spi)
        if r["kind"] == "encrypt":
            text = (f"SPD: PROTECT —{child} outbound SA {spi_txt}: "
                    f"{r.get('size_in')} B in, {r.get('size_out')} B out")
        elif r["kind"] == "decrypt":
            text = (f"inbound SA {spi_txt}{child}: ICV good, decrypted, "
                    f"{r.get('size_in')} B → {r.get('size_out')} B, then the inbound policy check")
        else:
            text = f"dropped: {r.get('reason')}" + (f" — {r['detail']}" if r.get("detail") else "")
        acts.setdefault((int(pid), str(r["node"])), []).append((float(r["t"]), text))
    sent = {(int(r[5]), str(r[3])) for r in tr.of("app_send") if r[5] in pids}
    plain: dict[int, bytes] = {}  # pkt_id -> the last plaintext bytes seen (ESP's original)
    out: list[PacketHop] = []
    for rec in chosen:
        seq, t, _kind, _node, link, pid, src, dst, size, raw = rec[:10]
        b = bytes(raw) if raw is not None else b""
        kind, summary, spi = summarise(b) if b else ("plain", f"{size} B", None)
        if kind in ("plain", "IKE"):
            plain[pid] = b
        # what the sender did to it: its records of this packet up to now (a ping's reply
        # reuses the request's pkt_id, so earlier ones were consumed by earlier hops)
        queue = acts.get((int(pid), str(src)), [])
        mine = [text for at, text in queue if at <= t]
        del queue[:len(mine)]
        hop = PacketHop(seq, float(t), str(link), str(src), str(dst), int(pid), int(size), kind,
                        summary, _layers(b, kind, spi, plain.get(pid), sas) if b else [],
                        mine, b)
        if not hop.actions:
            hop.actions.append("sent by its traffic generator" if (pid, src) in sent and
                               kind == "plain" else "IKE message" if kind == "IKE"
                               else "forwarded")
        out.append(hop)
    return out


def drops_at(data: Any, pkt_id: int, node: str) -> list[str]:
    """Drop reasons of ``pkt_id`` at ``node`` (a packet dropped on arrival has no next hop)."""
    return [str(r.get("reason")) for r in _trace(data).dicts("drop")
            if r.get("pkt_id") == pkt_id and r["node"] == node]
