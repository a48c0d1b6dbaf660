"""IKE ladder diagram from the trace's ``ike_msg``, ``ike_fail`` and ``ike_state`` records.

One lifeline per node that sent or received IKE messages. Each message is one
arrow from its sender to its receiver, labelled with its exchange, request or
response, message ID and payload list -- ``IKE_SA_INIT req #0 {SA, KEi, Ni,
N(NAT_DETECTION_SOURCE_IP)}``. A message sent and never received is drawn as
an arrow that stops half way with a cross (lost); a retransmission is dashed.
An ``ike_fail`` record is drawn on its node's lifeline with its notify type
and explanation sentence.

The vertical axis is event order, not scaled time (an IKE exchange lasts
milliseconds, a rekey comes hours later); the simulated time of each row is
printed on the left.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from .data import is_send, payload_list, records
from .palette import EXCHANGE_COLOURS, OKABE_ITO, new_axes


@dataclass
class LadderMessage:
    """One IKE message as the ladder shows it."""

    t_send: float
    """Time the sender emitted it."""
    src: str
    """Sending node."""
    dst: str | None
    """Receiving node (None if unknown because it was lost and the peer is not identifiable)."""
    exchange: str
    msg_id: int
    response: bool
    payloads: list[str]
    retransmit: bool = False
    t_recv: float | None = None
    """Time the receiver got it; None when lost."""
    size: int = 0
    ispi: Any = None
    seq: int = 0
    """Trace sequence number of the send record (display order)."""
    recv_seq: int | None = None
    """Trace sequence number of the receive record."""
    port: int | None = None
    """The far end's UDP port as the IKE SA's initiator sees it (500, or 4500 after a NAT-T
    float): one view for requests and responses alike."""
    send_peer: str = ""
    """The receiver's ``address:port`` as the sender addressed it."""
    recv_peer: str = ""
    """The sender's ``address:port`` as the receiver saw it (rewritten by a NAT on the way)."""

    @property
    def encrypted(self) -> bool:
        """Whether the payloads travel inside the SK{...} payload: every exchange but
        IKE_SA_INIT (RFC 7296 §3.14)."""
        return self.exchange != "IKE_SA_INIT"

    @property
    def lost(self) -> bool:
        return self.t_recv is None

    def label(self) -> str:
        kind = "resp" if self.response else "req"
        head = f"{self.exchange} {kind} #{self.msg_id}"
        if self.retransmit:
            head += " (retransmit)"
        return head


@dataclass
class Ladder:
    """Messages and failures in display order."""

    nodes: list[str]
    messages: list[LadderMessage] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)


def _key(r: dict[str, Any]) -> tuple:
    return (r.get("exchange"), int(r.get("msg_id") or 0), bool(r.get("response")),
            str(r.get("ispi")))


def build_ladder(data: Any, *, nodes: list[str] | None = None,
                 window: tuple[float, float] | None = None) -> Ladder:
    """Pair each sent ``ike_msg`` with its reception (same exchange, message ID,
    direction flag and initiator SPI; the latest unmatched send before the
    reception), in a time ``window`` and among ``nodes`` if given."""
    msgs = records(data, "ike_msg")
    everyone = list(dict.fromkeys(r["node"] for r in msgs))  # lifelines in the run's order
    if window is not None:
        msgs = [r for r in msgs if window[0] <= float(r["t"]) <= window[1]]
    sends = [r for r in msgs if is_send(r.get("direction"))]
    recvs = [r for r in msgs if not is_send(r.get("direction"))]
    present = {r["node"] for r in msgs}
    order = [n for n in everyone if n in present]
    out: list[LadderMessage] = []
    by_key: dict[tuple, list[LadderMessage]] = {}
    for r in sends:
        m = LadderMessage(float(r["t"]), r["node"], None, str(r.get("exchange")),
                          int(r.get("msg_id") or 0), bool(r.get("response")),
                          payload_list(r.get("payloads")), bool(r.get("retransmit")),
                          None, int(r.get("size") or 0), r.get("ispi"), int(r.get("seq", 0)))
        m.send_peer = str(r.get("peer") or "")
        out.append(m)
        by_key.setdefault(_key(r), []).append(m)
    for r in recvs:
        cands = [m for m in by_key.get(_key(r), ())
                 if m.t_recv is None and m.src != r["node"] and m.t_send <= float(r["t"])]
        if not cands:
            continue  # received something whose send is outside the window
        m = max(cands, key=lambda m: m.t_send)
        m.t_recv = float(r["t"])
        m.dst = r["node"]
        m.recv_seq = int(r.get("seq", 0))
        m.recv_peer = str(r.get("peer") or "")
    # a lost message goes towards the node that handles the same IKE SA, else the only other node
    peers_of_spi: dict[str, set[str]] = {}
    for m in out:
        if m.dst is not None:
            peers_of_spi.setdefault(str(m.ispi), set()).update({m.src, m.dst})
    for m in out:
        if m.dst is None:
            cand = peers_of_spi.get(str(m.ispi), set()) - {m.src}
            if not cand:
                cand = set(order) - {m.src}
            if len(cand) == 1:
                m.dst = cand.pop()
    fails = records(data, "ike_fail")
    # IKE datagrams a node could not process are shown like failures, with their detail
    fails += [{**r, "notify": f"dropped: {r.get('reason')}", "reason": r.get("detail", "")}
              for r in records(data, "drop") if str(r.get("reason", "")).startswith("ike_")]
    fails.sort(key=lambda r: r.get("seq", 0))
    states = records(data, "ike_state")
    if window is not None:
        fails = [r for r in fails if window[0] <= float(r["t"]) <= window[1]]
        states = [r for r in states if window[0] <= float(r["t"]) <= window[1]]
    for r in fails + states:
        if r["node"] not in order:
            order.append(r["node"])
    if nodes is not None:
        keep = set(nodes)
        out = [m for m in out if m.src in keep and (m.dst is None or m.dst in keep)]
        fails = [r for r in fails if r["node"] in keep]
        states = [r for r in states if r["node"] in keep]
        order = [n for n in nodes if n in order]
        # a state change belongs to the IKE message its node handled just before or after it:
        # keep it only if that message is shown (a hub's other spokes stay out of the picture)
        shown = {(m.src, m.seq) for m in out} | {(m.dst, m.recv_seq) for m in out}
        by_node: dict[str, list[int]] = {}
        for r in msgs:
            by_node.setdefault(r["node"], []).append(int(r.get("seq", 0)))

        def belongs(st: dict[str, Any]) -> bool:
            seqs = by_node.get(st["node"])
            if not seqs:
                return True
            near = min(seqs, key=lambda q: abs(q - int(st.get("seq", 0))))
            return (st["node"], near) in shown

        states = [r for r in states if belongs(r)]
    out.sort(key=lambda m: m.t_send)
    _initiator_ports(out, records(data, "ike_msg"))
    if nodes is None:
        order = path_order(order, out)
    return Ladder(order, out, fails, states)


def _port(peer: str) -> int | None:
    if ":" in peer and peer.rsplit(":", 1)[1].isdigit():
        return int(peer.rsplit(":", 1)[1])
    return None


def _initiator_ports(msgs: list[LadderMessage], all_msgs: list[dict[str, Any]]) -> None:
    """Set each message's ``port``: the far end's port in the view of the node that sent the
    IKE SA's first IKE_SA_INIT request (its send record for what it sends, its receive
    record for what it gets), so a request and its response show the same port."""
    initiator = {str(r.get("ispi")): r["node"] for r in reversed(all_msgs)
                 if r.get("exchange") == "IKE_SA_INIT" and not r.get("response")
                 and is_send(r.get("direction"))}
    for m in msgs:
        ini = initiator.get(str(m.ispi))
        if ini == m.src or (ini is None and not m.response):
            m.port = _port(m.send_peer)
        elif ini == m.dst or ini is None:
            m.port = _port(m.recv_peer) if m.recv_peer else None
        else:
            m.port = _port(m.send_peer)


def path_order(nodes: list[str], msgs: list[LadderMessage]) -> list[str]:
    """Lifelines in path order: the first initiator, then its responder; each further node
    beside the node it talks to (at the near end when that is an end), so that arrows cross
    as few lifelines as they can."""
    pairs: list[tuple[str, str]] = []
    for m in msgs:
        if m.dst is not None and not m.response and (m.src, m.dst) not in pairs \
                and (m.dst, m.src) not in pairs:
            pairs.append((m.src, m.dst))
    if not pairs:
        return nodes
    lanes = list(pairs[0])
    pending = pairs[1:]
    while pending:
        k = next((i for i, (a, b) in enumerate(pending) if a in lanes or b in lanes), None)
        if k is None:  # a pair apart from the others: its own two lanes at the end
            lanes += [n for n in pending.pop(0) if n not in lanes]
            continue
        a, b = pending.pop(k)
        placed, new = (a, b) if a in lanes else (b, a)
        if new in lanes:
            continue
        if lanes.index(placed) == 0 and len(lanes) > 1:
            lanes.insert(0, new)
        else:
            lanes.append(new)
    return lanes + [n for n in nodes if n not in lanes]


def middle_lanes(topo: dict[str, Any] | None, lanes: list[str],
                 roles: tuple[str, ...]) -> list[str]:
    """``lanes`` with the nodes of ``roles`` (a NAT, routers) that the path between two
    neighbouring lanes crosses inserted between them."""
    if not topo or not roles:
        return lanes
    from .topology import _graph, _path

    g = _graph(topo)
    nodes = topo.get("nodes") or {}
    out = [lanes[0]] if lanes else []
    for a, b in zip(lanes, lanes[1:], strict=False):
        for n in _path(g, a, b)[1:-1]:
            if (nodes.get(n) or {}).get("role") in roles and n not in out and n not in lanes:
                out.append(n)
        out.append(b)
    return out


def draw_ike_ladder(data: Any, ax: Any = None, *, nodes: list[str] | None = None,
                    window: tuple[float, float] | None = None, max_messages: int = 40,
                    show_states: bool = True, wrap: int = 58, title: str | None = None,
                    middle: tuple[str, ...] = ("nat",),
                    topo: dict[str, Any] | None = None) -> Any:
    """Draw the IKE ladder of a trace (see module docstring). Returns the Axes.

    Lifelines are in path order (the initiator first); the nodes of the roles in
    ``middle`` (``("nat",)`` by default, ``("nat", "router")`` for every router too)
    that the path crosses get a thin lifeline of their own, where a NAT's rewrite of the
    source address and port is written. ``topo`` defaults to ``data.topo``. Each lane
    header's gid is ``lane:NODE``; each message's payload box ``payloads:N``."""
    lad = build_ladder(data, nodes=nodes, window=window)
    ends = set(lad.nodes)
    lad.nodes = middle_lanes(topo if topo is not None else getattr(data, "topo", None),
                             lad.nodes, middle)
    msgs = lad.messages[:max_messages]
    t_last = msgs[-1].t_send if len(lad.messages) > max_messages else float("inf")
    rows: list[tuple[float, str, Any, int]] = [(m.t_send, "msg", m, m.seq) for m in msgs]
    rows += [(float(f["t"]), "fail", f, f.get("seq", 0)) for f in lad.failures
             if float(f["t"]) <= t_last]
    if show_states:
        rows += [(float(s["t"]), "state", s, s.get("seq", 0)) for s in lad.states
                 if float(s["t"]) <= t_last and str(s.get("new_state")) != str(s.get("old_state"))]
    rows.sort(key=lambda r: (r[0], r[3]))

    n_nodes = max(len(lad.nodes), 2)
    from .topology import owner_map

    tp = topo if topo is not None else getattr(data, "topo", None)
    owners = owner_map(tp) if tp else {}
    xs = {n: i * 1.0 for i, n in enumerate(lad.nodes)}
    heights = []
    for _, kind, item, _seq in rows:
        if kind == "msg":
            lines = 1 + len(_wrap_payloads(item.payloads, wrap, item.encrypted))
            heights.append(_TEXT_TOP + _LINE * lines + _ARROW_DROP
                           + (_SK_PAD if item.encrypted else 0.0))
        elif kind == "fail":
            heights.append(0.45 + 0.26 * len(_wrap_fail(item, wrap)))
        else:
            heights.append(0.45)
    total = sum(heights) + 1.2 + (0.3 if len(lad.messages) > max_messages else 0.0)
    ax = new_axes(ax, figsize=(3.2 + 3.4 * (n_nodes - 1), 1.2 + 0.42 * total))
    ax.set_xlim(-0.55, (n_nodes - 1) + 0.55)
    ax.set_ylim(total, -0.9)
    for n, x in xs.items():
        mid = n not in ends
        ax.plot([x, x], [0, total], color="#999999" if mid else "#555555",
                linewidth=0.8 if mid else 1.2, linestyle=":" if mid else "-", zorder=1)
        ax.text(x, -0.35, n, ha="center", va="center", fontsize=9 if mid else 10,
                fontweight="bold", gid=f"lane:{n}",
                bbox={"boxstyle": "round,pad=0.3",
                      "facecolor": OKABE_ITO["orange"] if mid else OKABE_ITO["sky"],
                      "edgecolor": "none", "alpha": 0.35})
    y = 0.4
    seen_ex: set[str] = set()
    for (t, kind, item, _seq), h in zip(rows, heights, strict=True):
        if kind == "msg":
            _draw_message(ax, item, xs, y, h, wrap, owners)
            seen_ex.add(item.exchange)
        elif kind == "fail":
            x = xs.get(item["node"], 0.0)
            text = "\n".join(_wrap_fail(item, wrap))
            ha = "left" if x < (n_nodes - 1) / 2 else "right"
            ax.text(x + (0.04 if ha == "left" else -0.04), y + 0.05, text, ha=ha, va="top",
                    fontsize=7.5, color="black", multialignment="left",
                    bbox={"boxstyle": "round,pad=0.3", "facecolor": "#FBE3D6",
                          "edgecolor": OKABE_ITO["vermillion"]})
            ax.plot([x], [y + 0.1], marker="X", color=OKABE_ITO["vermillion"], markersize=9,
                    zorder=3)
        else:
            x = xs.get(item["node"], 0.0)
            ha = "left" if x < (n_nodes - 1) / 2 else "right"
            ax.text(x + (0.03 if ha == "left" else -0.03), y + 0.15,
                    f"{item.get('ike_sa', '')} -> {item.get('new_state')}".strip(), ha=ha,
                    va="center", fontsize=7, color="#444444", style="italic")
            ax.plot([x], [y + 0.15], marker="o", color="#444444", markersize=3, zorder=3)
        if kind != "msg":  # a message's time is written at its arrow's tail
            ax.text(-0.53, y + 0.1, f"{t:.3f} s", ha="left", va="center", fontsize=7,
                    color="#666666")
        y += h
    if len(lad.messages) > max_messages:
        ax.text((n_nodes - 1) / 2, y + 0.05,
                f"... {len(lad.messages) - max_messages} more messages not shown",
                ha="center", va="top", fontsize=8, color="#666666")
        y += 0.3
    if msgs:
        ax.text(-0.53, y + 0.1, "UDP port: the far end's, as the IKE SA's initiator sees it. "
                "SK{ }: the encrypted and integrity-protected payload (RFC 7296 §3.14).",
                ha="left", va="top", fontsize=6.8, color="#666666")
        y += 0.35
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax


_TEXT_TOP = 0.05
_LINE = 0.3
_ARROW_DROP = 0.5


def _wrap_payloads(payloads: list[str], width: int, sk: bool = False) -> list[str]:
    """The payload list as wrapped lines; ``sk``: inside the SK{ } envelope."""
    inner = ", ".join(payloads)
    text = f"SK {{ {inner} }}" if sk else "{ " + inner + " }"
    return textwrap.wrap(text, width=width, break_long_words=False, subsequent_indent="  ") \
        or ["{ }"]


_SK_PAD = 0.12
"""Extra height of a message row whose payloads are drawn in the SK{ } envelope."""


def _wrap_fail(f: dict[str, Any], width: int) -> list[str]:
    head = f"{f.get('notify') or 'failure'}"
    return [head] + textwrap.wrap(str(f.get("reason") or ""), width=width - 8)



def _draw_message(ax: Any, m: LadderMessage, xs: dict[str, float], y: float, h: float,
                  wrap: int, owners: dict[str, str] | None = None) -> None:
    """Header and payload text first, the arrow under them (text never crosses the arrow);
    the encrypted payloads in a dashed SK{ } envelope; the send time at the arrow's tail;
    where the arrow crosses a NAT's lifeline, the source as the receiver saw it."""
    colour = EXCHANGE_COLOURS.get(m.exchange, OKABE_ITO["black"])
    x0 = xs.get(m.src, 0.0)
    x1 = xs.get(m.dst, x0 + 1.0) if m.dst is not None else x0 + (1.0 if x0 == 0 else -1.0)
    payload_lines = _wrap_payloads(m.payloads, wrap, m.encrypted)
    xc = (x0 + x1) / 2
    extra = [f"{m.size} B"] if m.size else []
    if m.port is not None:
        extra.append(f"UDP {m.port}")
    ax.text(xc, y + _TEXT_TOP, m.label() + (f"  [{', '.join(extra)}]" if extra else ""),
            ha="center",
            va="top", fontsize=8, color=colour, fontweight="bold")
    pad = _SK_PAD if m.encrypted else 0.0
    box = {"boxstyle": "round,pad=0.35", "facecolor": "#FFF8D6", "edgecolor": "#9A8700",
           "linestyle": "--", "linewidth": 0.9} if m.encrypted else None
    ax.text(xc, y + _TEXT_TOP + _LINE + pad / 2, "\n".join(payload_lines), ha="center",
            va="top", fontsize=7.2, color="#222222", linespacing=1.2, bbox=box,
            gid=f"payloads:{m.seq}")
    y0 = y + _TEXT_TOP + _LINE * (1 + len(payload_lines)) + 0.08 + pad
    y1 = y + h - 0.06
    left_tail = x1 >= x0  # the time goes on the side the arrow leaves from
    ax.text(x0 + (-0.03 if left_tail else 0.03), y0, f"{m.t_send:.3f} s",
            ha="right" if left_tail else "left", va="center", fontsize=7, color="#666666")
    style = "--" if m.retransmit else "-"
    if m.lost:
        xm = x0 + (x1 - x0) * 0.5
        ym = y0 + (y1 - y0) * 0.5
        ax.annotate("", xy=(xm, ym), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-", "color": colour, "linestyle": style,
                                "linewidth": 1.4, "shrinkA": 0, "shrinkB": 0})
        ax.plot([xm], [ym], marker="x", color=OKABE_ITO["vermillion"], markersize=10,
                markeredgewidth=2.5, zorder=4)
        left = x1 < x0  # keep the label on the side the arrow does not come from
        ax.text(xm + (-0.04 if left else 0.04), ym, "lost", ha="right" if left else "left",
                va="center", fontsize=7.5,
                color=OKABE_ITO["vermillion"], fontweight="bold")
        return
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                arrowprops={"arrowstyle": "-|>", "color": colour, "linestyle": style,
                            "linewidth": 1.4, "shrinkA": 0, "shrinkB": 0})
    # a NAT between the two ends rewrote the source: say what the receiver saw
    seen = m.recv_peer.rsplit(":", 1)[0] if m.recv_peer else ""
    if owners and seen and owners.get(seen, m.src) != m.src:
        lo, hi = sorted((x0, x1))
        for n, x in xs.items():
            if lo < x < hi and owners.get(seen) == n:
                yn = y0 + (y1 - y0) * (x - x0) / (x1 - x0)
                ax.plot([x], [yn], marker="o", color=OKABE_ITO["orange"], markersize=5,
                        zorder=4)
                ax.text(x, yn + 0.08, f"source now {m.recv_peer}", ha="center", va="top",
                        fontsize=6.5, color="#8A5A00",
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
