"""``DIR/report.html``: one self-contained page about a run, for a browser with no server.

Summary, the run's figures (the PNGs ``figures/`` already holds, inlined as base64: the
report draws nothing again), the IKE messages, the SA events, and a per-packet drill-down
(every packet on every link with its layers and their protection; click a row to open it).
Everything is inline -- CSS, JavaScript, images, data -- and nothing is fetched: the page
works from a USB stick or an e-mail attachment.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..sim.runner import Simulation

#: Packets listed in the drill-down at most (the page stays a few MB on a long run).
MAX_PACKETS = 1500
#: IKE messages and SA events listed at most.
MAX_ROWS = 400

FIGURES = (("topology", "Topology, tunnels and flows"), ("ike_ladder", "IKE ladder"),
           ("sa_timeline", "SA timeline"), ("throughput", "Goodput, latency and drops"))

_CLASS_CSS = {"cleartext": "clear", "cleartext, excluded from ICV": "mutable",
              "authenticated only": "auth", "encrypted only": "enc",
              "encrypted + authenticated": "encauth", "integrity check value": "icv"}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}
header{background:#0072B2;color:#fff;padding:14px 24px}header h1{margin:0;font-size:1.4em}
nav{padding:6px 24px;background:#e8f1f8;font-size:.92em}nav a{margin-right:14px;color:#0a4f80}
main{padding:8px 24px 40px;max-width:1200px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 18px;margin:14px 0}
h2{font-size:1.15em;margin:.4em 0 .6em}table{border-collapse:collapse;font-size:.86em}
td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.num{text-align:right}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:150px;background:#fcfcfc}
.card b{font-size:1.5em;display:block}.bad{color:#D55E00}.ok{color:#009E73}
img.fig{max-width:100%;height:auto;border:1px solid #eee}
tr.pkt{cursor:pointer}tr.pkt:hover{background:#f0f7fc}tr.open{background:#e4f0f9}
tr.detail td{background:#fbfbfb;padding:8px 14px}
.bar{display:flex;height:22px;border:1px solid #999;margin:6px 0;max-width:900px}
.bar div{overflow:hidden;white-space:nowrap;font-size:10px;line-height:22px;padding:0 2px;
border-right:1px solid #fff}
.clear{background:#E6E6E6}.mutable{background:#fff}.auth{background:#56B4E9}
.enc{background:#F0E442}.encauth{background:#0072B2;color:#fff}.icv{background:#E69F00}
.legend span{display:inline-block;padding:1px 6px;margin:2px 6px 2px 0;border:1px solid #999;
font-size:.8em}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}
input{padding:3px 6px;margin:0 8px 8px 0}
"""

_JS = """
(function(){
  var data = JSON.parse(document.getElementById('packet-data').textContent);
  var CLS = %s;
  var body = document.getElementById('packet-rows');
  var filter = document.getElementById('packet-filter');
  function esc(s){return String(s).replace(/[&<>"]/g,function(c){
    return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c];});}
  function render(){
    var q = (filter.value || '').toLowerCase(), out = [];
    data.forEach(function(p, i){
      var line = [p.t.toFixed(6), p.link, p.src, p.dst, p.kind, p.summary].join(' ');
      if (q && line.toLowerCase().indexOf(q) < 0) return;
      out.push('<tr class="pkt" data-i="' + i + '"><td class="num">' + (i + 1) +
        '</td><td class="num">' + p.t.toFixed(6) + '</td><td>' + esc(p.link) + '</td><td>' +
        esc(p.src) + ' &rarr; ' + esc(p.dst) + '</td><td>' + esc(p.kind) +
        '</td><td class="num">' + p.size + '</td><td class="mono">' + esc(p.summary) +
        '</td></tr>');
    });
    body.innerHTML = out.join('');
    document.getElementById('packet-count').textContent = out.length;
  }
  function detail(p){
    var total = Math.max(p.size, 1), bar = '', rows = '';
    p.layers.forEach(function(l){
      var n = l[1] - l[0], css = CLS[l[3]] || 'clear';
      bar += '<div class="' + css + '" style="flex:' + n + ' 0 0" title="' + esc(l[2]) +
        ': ' + n + ' B, ' + esc(l[3]) + '">' + esc(l[2]) + '</div>';
      rows += '<tr><td class="num">' + l[0] + '&ndash;' + (l[1] - 1) + '</td><td class="num">' +
        n + '</td><td>' + esc(l[2]) + '</td><td><span class="' + css + '">&nbsp;&nbsp;' +
        '&nbsp;</span> ' + esc(l[3]) + '</td></tr>';
    });
    return '<tr class="detail"><td colspan="7"><div><b>What ' + esc(p.src) +
      ' did:</b> ' + p.actions.map(esc).join('; ') + '</div><div class="bar">' + bar +
      '</div><table><tr><th>bytes</th><th>length</th><th>layer</th><th>protection</th></tr>' +
      rows + '</table><div class="mono">first bytes: ' + esc(p.head) + '</div></td></tr>';
  }
  body.addEventListener('click', function(ev){
    var tr = ev.target.closest('tr.pkt'); if (!tr) return;
    var next = tr.nextElementSibling;
    if (next && next.classList.contains('detail')) { next.remove(); tr.classList.remove('open');
      return; }
    tr.insertAdjacentHTML('afterend', detail(data[+tr.getAttribute('data-i')]));
    tr.classList.add('open');
  });
  filter.addEventListener('input', render);
  render();
  document.body.setAttribute('data-ready', 'yes');
  if (location.hash === '#selftest') {  // a headless browser checks the click path with this
    var first = body.querySelector('tr.pkt');
    if (first) first.click();
    document.body.setAttribute('data-selftest',
      String(body.querySelectorAll('tr.detail .bar div').length));
  }
})();
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def _table(head: list[str], rows: list[list[Any]], num: set[int] | None = None) -> str:
    num = num or set()
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(
        f'<td class="num">{_e(c)}</td>' if i in num else f"<td>{_e(c)}</td>"
        for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _summary_html(s: dict[str, Any]) -> str:
    p, ike, ch = s.get("packets", {}), s.get("ike", {}), s.get("child_sas", {})
    dropped = sum((p.get("dropped") or {}).values())
    cards = [("packets sent", p.get("sent", 0), ""), ("delivered", p.get("delivered", 0),
                                                      "ok" if not dropped else ""),
             ("dropped", dropped, "bad" if dropped else "ok"),
             ("IKE SAs up", ike.get("established", 0), ""),
             ("IKE failures", ike.get("failed", 0), "bad" if ike.get("failed") else "ok"),
             ("CHILD_SAs installed", ch.get("installed", 0), ""),
             ("CHILD_SA rekeys", ch.get("rekeyed", 0), "")]
    out = '<div class="cards">' + "".join(
        f'<div class="card"><b class="{c}">{_e(v)}</b>{_e(k)}</div>' for k, v, c in cards) + \
        "</div>"
    if p.get("dropped"):
        out += "<h3>Drops by reason</h3>" + _table(
            ["reason", "packets"], [[k, v] for k, v in p["dropped"].items()], {1})
    for f in ike.get("failures") or []:
        if isinstance(f, dict):
            f = (f"{f.get('node')} {f.get('ike_sa', '')}: {f.get('notify')} — "
                 f"{f.get('reason', '')}")
        out += f'<p class="bad">IKE failure: {_e(f)}</p>'
    flows = s.get("flows") or {}
    if flows:
        out += "<h3>Flows</h3>" + _table(
            ["flow", "type", "from", "to", "sent", "delivered", "dropped", "mean latency (ms)",
             "throughput (kbit/s)"],
            [[n, f.get("type"), f.get("src"), f.get("dst"), f.get("sent"), f.get("delivered"),
              f.get("dropped"), _ms((f.get("latency_ms") or {}).get("mean")),
              f"{(f.get('throughput_bps') or 0) / 1e3:.1f}"] for n, f in flows.items()],
            {4, 5, 6, 7, 8})
    links = s.get("links") or {}
    if links:
        out += "<h3>Links</h3>" + _table(
            ["link", "packets", "bytes", "MTU", "bandwidth (Mbit/s)"],
            [[n, lk.get("packets"), lk.get("bytes"), lk.get("mtu"),
              f"{(lk.get('bandwidth_bps') or 0) / 1e6:g}"] for n, lk in links.items()],
            {1, 2, 3, 4})
    return out


def _ms(v: Any) -> str:
    return f"{v:.2f}" if isinstance(v, int | float) else "–"


def _img(folder: Path, name: str) -> str:
    path = folder / f"{name}.png"
    if not path.exists():
        err = folder / f"{name}.error.txt"
        why = err.read_text(encoding="utf-8").strip() if err.exists() else "not drawn"
        return f"<p>({_e(why)})</p>"
    b64 = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img class="fig" alt="{_e(name)}" src="data:image/png;base64,{b64}">'


def packet_rows(sim: Any, limit: int = MAX_PACKETS) -> list[dict[str, Any]]:
    """The drill-down's rows: one dict per packet hop (time, link, ends, kind, layers)."""
    from ..viz.walk import packet_hops

    return [{"t": h.t, "link": h.link, "src": h.src, "dst": h.dst, "kind": h.kind,
             "size": h.size, "summary": h.summary, "actions": h.actions,
             "layers": [[s.start, s.end, s.label, s.cls] for s in h.layers],
             "head": h.data[:48].hex(" ")} for h in packet_hops(sim, limit=limit)]


def render_report(sim: Simulation, summary: dict[str, Any], figures: Path) -> str:
    """The page's HTML (see module docstring)."""
    tr = sim.trace
    ike = [[f"{float(r['t']):.6f}", r["node"], r.get("direction"), r.get("peer"),
            r.get("exchange"), r.get("msg_id"), "response" if r.get("response") else "request",
            r.get("size"), r.get("payloads")] for r in tr.dicts("ike_msg")][:MAX_ROWS]
    sas = [[f"{float(r['t']):.6f}", r["node"], r.get("event"), r.get("proto"), r.get("child"),
            r.get("direction"), r.get("spi"), r.get("detail")]
           for r in tr.dicts("sa")][:MAX_ROWS]
    n_links = sum(1 for _ in tr.of("link_tx"))
    rows = packet_rows(sim)
    data = json.dumps(rows, separators=(",", ":")).replace("</", "<\\/")
    legend = "".join(f'<span class="{c}">{_e(k)}</span>' for k, c in _CLASS_CSS.items())
    name = _e(getattr(sim, "name", "run"))
    figs = "".join(f'<h3 id="fig-{n}">{_e(t)}</h3>{_img(figures, n)}' for n, t in FIGURES
                   if n not in ("ike_ladder", "sa_timeline"))
    shown = f"the first {len(rows)} of {n_links}" if n_links > len(rows) else f"all {n_links}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ipsecsim report: {name}</title><style>{_CSS}</style></head>
<body><header><h1>ipsecsim report: {name}</h1>
<div>seed {_e(summary.get('seed'))}, {_e(summary.get('time'))} simulated seconds,
{_e(summary.get('trace_records'))} trace records</div></header>
<nav><a href="#summary">Summary</a><a href="#figures">Figures</a><a href="#ike">IKE ladder</a>
<a href="#sas">SA timeline</a><a href="#packets">Packets</a></nav><main>
<section id="summary"><h2>Summary</h2>{_summary_html(summary)}
<p>Beside this page: <code>summary.json</code> (every key in docs/summary.md),
<code>trace.jsonl</code>, <code>pcap/LINK.pcap</code> (open with
<code>WIRESHARK_CONFIG_DIR=wireshark</code> to see ESP and IKE decrypted) and
<code>figures/</code>.</p></section>
<section id="figures"><h2>Figures</h2>{figs}</section>
<section id="ike"><h2>IKE ladder</h2>{_img(figures, 'ike_ladder')}
<h3>Every IKE message ({len(ike)} shown)</h3>
{_table(['t (s)', 'node', 'dir', 'peer', 'exchange', 'msg id', 'kind', 'bytes', 'payloads'],
        ike, {5, 7})}</section>
<section id="sas"><h2>SA timeline</h2>{_img(figures, 'sa_timeline')}
<h3>SA events ({len(sas)} shown)</h3>
{_table(['t (s)', 'node', 'event', 'proto', 'child', 'direction', 'SPI', 'detail'], sas)}
</section>
<section id="packets"><h2>Packets, hop by hop</h2>
<p>{shown} packets on the links (<span id="packet-count">0</span> listed). Click a row to see
its layers: which bytes travel in the clear, which are only authenticated, which are
encrypted and authenticated, and what the sending node did to the packet.</p>
<div class="legend">{legend}</div>
<input id="packet-filter" type="search" placeholder="filter: ESP, wan-a, 10.2.0.10 ...">
<table><thead><tr><th>#</th><th>t (s)</th><th>link</th><th>hop</th><th>kind</th><th>bytes</th>
<th>summary</th></tr></thead><tbody id="packet-rows"></tbody></table>
<script type="application/json" id="packet-data">{data}</script>
</section></main>
<script>{_JS % json.dumps(_CLASS_CSS)}</script></body></html>
"""


def write_report(sim: Simulation, out: str | Path, summary: dict[str, Any]) -> Path:
    """Write ``out/report.html`` from the run, its summary and ``out/figures/``."""
    out = Path(out)
    path = out / "report.html"
    path.write_text(render_report(sim, summary, out / "figures"), encoding="utf-8")
    return path
