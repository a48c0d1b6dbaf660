"""What ``ipsecsim run`` writes: summary.json, trace.jsonl, pcap/, wireshark/, logs/, figures/,
report.html.

Everything is read from the trace and from the keys the run installed; nothing
reaches into node internals. The pcap and Wireshark writers of the data-plane
module (``ipsecsim.export.pcap``, ``ipsecsim.export.wireshark``) write the files (pcap with
LINKTYPE_RAW; tshark 4.0's ``esp_sa`` and ``ikev2_decryption_table`` UATs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import algorithms as A

if TYPE_CHECKING:
    from .runner import Simulation

def write_all(sim: Simulation, out: str | Path, figures: bool = True) -> dict[str, Any]:
    """Write every output of a finished run into ``out``; returns the summary."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = sim.summary()
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")
    with open(out / "trace.jsonl", "w", encoding="utf-8") as fp:
        sim.trace.write_jsonl(fp)
    sim.console.write(out / "console")  # console/NODE.txt per node a command was typed on
    write_pcaps(sim, out / "pcap")
    write_wireshark(sim, out / "wireshark")
    write_logs(sim, out / "logs")
    if figures:
        from .figures import write_figures

        write_figures(sim, out / "figures")
    from ..export.report import write_report  # report.html: inlines the figures just drawn

    write_report(sim, out, summary)
    return summary


# --- pcap -------------------------------------------------------------------------------------
def write_pcaps(sim: Simulation, folder: Path) -> list[Path]:
    """One pcap per link (LINKTYPE_RAW: each record is an IPv4 packet), from ``link_tx``,
    in time order (the two directions of a link interleave)."""
    from ..export.pcap import write_pcap

    folder.mkdir(parents=True, exist_ok=True)
    per_link: dict[str, list[tuple[float, int, bytes]]] = {name: [] for name in sim.net.links}
    for rec in sim.trace.of("link_tx"):
        data = rec[9]
        if data is not None:
            per_link[rec[4]].append((rec[1], rec[0], bytes(data)))
    paths = []
    for name, pkts in per_link.items():
        pkts.sort(key=lambda p: (p[0], p[1]))
        path = folder / f"{name}.pcap"
        write_pcap(path, [(t, d) for t, _, d in pkts])
        paths.append(path)
    return paths


# --- logs -------------------------------------------------------------------------------------
def write_logs(sim: Simulation, folder: Path) -> list[Path]:
    """``NODE.log`` for every gateway: its IKE daemon's log in charon's wording
    (:class:`~ipsecsim.console.charonlog.CharonLog`), what ``cat /var/log/daemon.log`` shows."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, node in sim.net.nodes.items():
        log = getattr(node, "charon_log", None)
        if log is not None:
            path = folder / f"{name}.log"
            path.write_text(log.text(), encoding="utf-8")
            paths.append(path)
    return paths


# --- wireshark --------------------------------------------------------------------------------
def _by_name(table: Any, name: str) -> Any:
    for a in table.values():
        if a.name == name:
            return a
    return None


def esp_lines(child_keys: list[Any]) -> list[str]:
    """``esp_sa`` rows for every ESP child installed. Addresses are wildcards so NAT-rewritten
    copies of a packet decrypt on both sides of the NAT; the SPI identifies the SA."""
    from ..export.wireshark import esp_sa_lines

    rows: dict[str, None] = {}
    for k in child_keys:
        try:
            for line in esp_sa_lines(k, any_address=True):
                rows[line] = None
        except ValueError:  # an algorithm tshark 4.0 cannot decrypt (ChaCha20-Poly1305)
            continue
    return list(rows)


def ikev2_lines(ike_ups: list[Any]) -> list[str]:
    """``ikev2_decryption_table`` rows from the IkeSaUp events of the run."""
    from ..export.wireshark import ikev2_decryption_table

    rows: dict[str, None] = {}
    for ev in ike_ups:
        encr = _by_name(A.ENCR_ALGS, ev.encr)
        integ = _by_name(A.INTEG_ALGS, ev.integ) if ev.integ else None
        if encr is None:
            continue
        try:
            rows[ikev2_decryption_table(ev.ispi, ev.rspi, ev.sk_ei, ev.sk_er, encr, ev.sk_ai,
                                        ev.sk_ar, integ)] = None
        except ValueError:
            continue
    return list(rows)


def write_wireshark(sim: Simulation, folder: Path) -> None:
    """``esp_sa``, ``ikev2_decryption_table`` and ``preferences`` for ``WIRESHARK_CONFIG_DIR``."""
    from ..export.wireshark import write_config

    write_config(folder, esp_lines(sim.net.child_keys), ikev2_lines(sim.net.ike_keys))
