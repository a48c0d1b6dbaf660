"""Step through a run, event by event: Packet Tracer's simulation mode, from the trace.

:class:`RunSteps` is the logic, a plain class with no widget in it: the run's events in
order (a packet crossing a link, an IKE message sent, an SA installed or deleted, a
packet dropped, a packet delivered), what to show at step ``k`` (:meth:`RunSteps.view`:
the node, what it decided -- the SPD's PROTECT/BYPASS/DISCARD, the SA it chose -- and the
packet's layers with the bytes that are encrypted and those only authenticated), and
where the next packet or IKE message is (:meth:`RunSteps.next_index`).

:func:`step_through` is the thin view: an ipywidgets box (play/pause, a slider, "next
packet", "next IKE message" buttons) that shows :meth:`RunSteps.html` of the current
step. ipywidgets is imported only there (the ``notebooks`` and ``dev`` extras have it);
the package never needs it.
"""

from __future__ import annotations

import html as _html
from dataclasses import dataclass, field
from typing import Any

from .data import is_send, payload_list
from .palette import BYTE_STYLE
from .walk import PacketHop, packet_hops

#: Step categories: what "next" can skip to.
CATEGORIES = ("packet", "ike", "sa", "drop", "deliver")


@dataclass
class StepView:
    """What the stepper shows at one step."""

    index: int
    total: int
    t: float
    category: str
    """One of :data:`CATEGORIES`."""
    node: str
    heading: str
    lines: list[str] = field(default_factory=list)
    """What happened, one sentence each (SPD decision, SA chosen, payloads, drop reason)."""
    layers: list[tuple[str, int, int, str]] = field(default_factory=list)
    """The packet's layers: ``(label, start, end, protection class)``; empty for non-packets."""

    def bytes_by_class(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _label, a, b, cls in self.layers:
            out[cls] = out.get(cls, 0) + b - a
        return out


class RunSteps:
    """The events of a run (in a time ``window``) as steps; see the module docstring."""

    def __init__(self, sim: Any, window: tuple[float, float] | None = None,
                 max_packets: int | None = 5000) -> None:
        self.sim = sim
        tr = sim.trace if hasattr(sim, "trace") else sim
        steps: list[tuple[float, int, str, Any]] = []
        for h in packet_hops(tr, limit=max_packets, window=window):
            steps.append((h.t, h.seq, "packet", h))
        kinds = {"ike_msg": "ike", "sa": "sa", "drop": "drop", "app_deliver": "deliver"}
        for r in tr.dicts(*kinds):
            t = float(r["t"])
            if window is not None and not window[0] <= t <= window[1]:
                continue
            if r["kind"] == "ike_msg" and not is_send(r.get("direction")):
                continue  # the send is the step; the reception shows as the next hop's arrival
            steps.append((t, int(r["seq"]), kinds[r["kind"]], r))
        steps.sort(key=lambda s: (s[0], s[1]))
        self._steps = steps

    def __len__(self) -> int:
        return len(self._steps)

    def category(self, k: int) -> str:
        return self._steps[k][2]

    def next_index(self, k: int, what: str = "event") -> int:
        """The first step after ``k`` of category ``what`` (``event``: any); ``k`` if none."""
        for i in range(k + 1, len(self._steps)):
            if what == "event" or self._steps[i][2] == what:
                return i
        return k

    def prev_index(self, k: int, what: str = "event") -> int:
        """The last step before ``k`` of category ``what``; ``k`` if none."""
        for i in range(k - 1, -1, -1):
            if what == "event" or self._steps[i][2] == what:
                return i
        return k

    def view(self, k: int) -> StepView:
        """What to show at step ``k``."""
        t, _seq, cat, item = self._steps[k]
        n = len(self._steps)
        if cat == "packet":
            return self._packet(k, n, item)
        r = item
        node = str(r["node"])
        if cat == "ike":
            pays = payload_list(r.get("payloads"))
            sk = r.get("exchange") != "IKE_SA_INIT"
            kind = "response" if r.get("response") else "request"
            lines = [f"{node} sends {r.get('exchange')} {kind} #{r.get('msg_id')} to "
                     f"{r.get('peer')} ({r.get('size')} B"
                     f"{', a retransmission' if r.get('retransmit') else ''})",
                     ("inside SK{…}, encrypted and integrity-protected with SK_e/SK_a: "
                      if sk else "in the clear (no keys yet): ") + ", ".join(pays)]
            return StepView(k, n, t, cat, node, f"IKE {r.get('exchange')} {kind}", lines)
        if cat == "sa":
            spi = r.get("spi")
            spi_t = f"0x{spi:08x}" if isinstance(spi, int) else str(spi)
            lines = [f"{str(r.get('proto')).upper()} SA {spi_t} ({r.get('direction')}) of "
                     f"{r.get('child')} with {r.get('peer')}: {r.get('event')}",
                     str(r.get("detail") or "")]
            return StepView(k, n, t, cat, node, f"SA {r.get('event')}", [ln for ln in lines if ln])
        if cat == "drop":
            lines = [f"{node} drops packet #{r.get('pkt_id')}: {r.get('reason')}"]
            if r.get("detail"):
                lines.append(str(r["detail"]))
            if r.get("reason") == "policy_discard":
                lines.insert(0, "SPD: DISCARD — a policy matches but no SA can protect it")
            return StepView(k, n, t, cat, node, "packet dropped", lines)
        lines = [f"{node} receives packet #{r.get('pkt_id')} of flow {r.get('flow')} from "
                 f"{r.get('src')}, {r.get('size')} B, after {float(r.get('latency') or 0) * 1e3:.2f} ms"]
        return StepView(k, n, t, cat, node, "delivered", lines)

    def _packet(self, k: int, n: int, h: PacketHop) -> StepView:
        lines = [f"{h.src} → {h.dst} on {h.link}: {h.summary}"]
        lines += [f"{h.src}: {a}" for a in h.actions]
        by = h.protection()
        lines.append("bytes: " + ", ".join(f"{v} {c}" for c, v in by.items()))
        return StepView(k, n, h.t, "packet", h.src, f"{h.kind} packet on {h.link}", lines,
                        [(s.label, s.start, s.end, s.cls) for s in h.layers])

    def html(self, k: int) -> str:
        """The step as HTML (heading, sentences, a byte bar coloured by protection)."""
        v = self.view(k)
        e = _html.escape
        out = [f"<div style='font-family:sans-serif'><b>step {v.index + 1} / {v.total}</b> "
               f"&nbsp; t = {v.t:.6f} s &nbsp; <b>{e(v.node)}</b>: {e(v.heading)}<ul>"]
        out += [f"<li>{e(line)}</li>" for line in v.lines]
        out.append("</ul>")
        if v.layers:
            total = max(v.layers[-1][2], 1)
            out.append("<div style='display:flex;height:24px;border:1px solid #888;"
                       "width:100%;max-width:900px'>")
            for label, a, b, cls in v.layers:
                face, _hatch, fg = BYTE_STYLE.get(cls, ("#eee", "", "black"))
                out.append(f"<div title='{e(label)}: {b - a} B, {e(cls)}' style='flex:{b - a} 0 0;"
                           f"background:{face};color:{fg};font-size:10px;overflow:hidden;"
                           f"white-space:nowrap;border-right:1px solid #fff;padding:0 2px'>"
                           f"{e(label)}</div>")
            out.append(f"</div><small>{total} bytes; ")
            out.append("; ".join(f"<span style='background:{BYTE_STYLE[c][0]};"
                                 f"color:{BYTE_STYLE[c][2]};padding:0 4px'>{e(c)}</span> {v}"
                                 for c, v in v.bytes_by_class().items() if c in BYTE_STYLE))
            out.append("</small>")
        out.append("</div>")
        return "".join(out)


def step_through(sim: Any, window: tuple[float, float] | None = None,
                 interval_ms: int = 800) -> Any:
    """An ipywidgets box to step through ``sim`` (see the module docstring)."""
    import ipywidgets as w  # the notebooks extra; imported here only

    steps = RunSteps(sim, window)
    if not len(steps):
        return w.HTML("<i>no events in this window</i>")
    play = w.Play(value=0, min=0, max=len(steps) - 1, step=1, interval=interval_ms,
                  description="play")
    slider = w.IntSlider(value=0, min=0, max=len(steps) - 1, description="step",
                         continuous_update=False, layout=w.Layout(width="60%"))
    w.jslink((play, "value"), (slider, "value"))
    out = w.HTML(steps.html(0))
    buttons = []
    for label, what, back in (("◀ event", "event", True), ("event ▶", "event", False),
                              ("next packet ▶", "packet", False),
                              ("next IKE message ▶", "ike", False)):
        b = w.Button(description=label, layout=w.Layout(width="auto"))

        def jump(_b: Any, what: str = what, back: bool = back) -> None:
            k = slider.value
            slider.value = steps.prev_index(k, what) if back else steps.next_index(k, what)

        b.on_click(jump)
        buttons.append(b)
    slider.observe(lambda ch: setattr(out, "value", steps.html(ch["new"])), names="value")
    return w.VBox([w.HBox([play, slider]), w.HBox(buttons), out])
