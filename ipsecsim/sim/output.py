"""What ``ipsecsim run`` writes: summary.json, trace.jsonl, pcap/, wireshark/, figures/.

Everything is read from the trace and from the keys the run installed; nothing
reaches into node internals. The pcap and Wireshark writers of the data-plane
modules (``ipsecsim.pcap``, ``ipsecsim.wireshark``) are used when present; the
small writers here are the fallback and follow the same formats (pcap with
LINKTYPE_RAW = 101; tshark 4.0's ``esp_sa`` and ``ikev2_decryption_table`` UATs).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import algorithms as A

if TYPE_CHECKING:
    from .runner import Simulation

LINKTYPE_RAW = 101


def write_all(sim: Simulation, out: str | Path, figures: bool = True) -> dict[str, Any]:
    """Write every output of a finished run into ``out``; returns the summary."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = sim.summary()
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")
    with open(out / "trace.jsonl", "w", encoding="utf-8") as fp:
        sim.trace.write_jsonl(fp)
    write_pcaps(sim, out / "pcap")
    write_wireshark(sim, out / "wireshark")
    if figures:
        from .figures import write_figures

        write_figures(sim, out / "figures")
    return summary


# --- pcap -------------------------------------------------------------------------------------
def write_pcaps(sim: Simulation, folder: Path) -> list[Path]:
    """One classic pcap per link (LINKTYPE_RAW: each record is an IPv4 packet), from ``link_tx``."""
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
        _write_pcap(path, [(t, d) for t, _, d in pkts])
        paths.append(path)
    return paths


def _write_pcap(path: Path, packets: list[tuple[float, bytes]]) -> None:
    with open(path, "wb") as fp:
        # magic, v2.4, thiszone, sigfigs, snaplen, linktype (pcap-savefile(5))
        fp.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW))
        for t, data in packets:
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            if usec >= 1_000_000:
                sec, usec = sec + 1, usec - 1_000_000
            fp.write(struct.pack("<IIII", sec, usec, len(data), len(data)))
            fp.write(data)


# --- wireshark --------------------------------------------------------------------------------
def _q(s: str) -> str:
    return '"' + s + '"'


def esp_sa_lines(child_keys: list[Any]) -> list[str]:
    """tshark 4.0 ``esp_sa`` rows (8 fields). Addresses are wildcards so NAT-rewritten
    copies of a packet decrypt on both sides of the NAT; the SPI identifies the SA."""
    rows: dict[int, str] = {}
    for k in child_keys:
        if k.proto != "esp":
            continue
        encr = k.encr
        ename = encr.wireshark_esp if encr else "NULL"
        if ename is None:
            continue
        iname = k.integ.wireshark_esp if k.integ else "NULL"
        if iname is None:
            continue
        for spi, ek, ik in ((k.spi_in, k.key_in_encr, k.key_in_integ),
                            (k.spi_out, k.key_out_encr, k.key_out_integ)):
            rows[spi] = ",".join([_q("IPv4"), _q("*"), _q("*"), _q(f"0x{spi:08x}"), _q(ename),
                                  _q("0x" + ek.hex()) if ek else _q(""), _q(iname),
                                  _q("0x" + ik.hex()) if ik else _q("")])
    return [rows[s] for s in sorted(rows)]


def _by_name(table: Any, name: str) -> Any:
    for a in table.values():
        if a.name == name:
            return a
    return None


def ikev2_lines(ike_ups: list[Any]) -> list[str]:
    """tshark ``ikev2_decryption_table`` rows: ISPI,RSPI,SK_ei,SK_er,encr,SK_ai,SK_ar,integ."""
    rows: dict[tuple[bytes, bytes], str] = {}
    for ev in ike_ups:
        encr = _by_name(A.ENCR_ALGS, ev.encr)
        integ = _by_name(A.INTEG_ALGS, ev.integ) if ev.integ else None
        if encr is None or encr.wireshark_ikev2 is None:
            continue
        iname = integ.wireshark_ikev2 if integ else "NONE [RFC4306]"
        rows[(ev.ispi, ev.rspi)] = ",".join([
            ev.ispi.hex(), ev.rspi.hex(), ev.sk_ei.hex(), ev.sk_er.hex(), _q(encr.wireshark_ikev2),
            ev.sk_ai.hex(), ev.sk_ar.hex(), _q(iname or "NONE [RFC4306]")])
    return [rows[k] for k in sorted(rows)]


PREFERENCES = """# ipsecsim: decrypt ESP and check its ICV, decrypt IKEv2 (keys in esp_sa, ikev2_decryption_table)
esp.enable_encryption_decode: TRUE
esp.enable_authentication_check: TRUE
esp.enable_null_encryption_decode_heuristic: TRUE
"""


def write_wireshark(sim: Simulation, folder: Path) -> None:
    """``esp_sa``, ``ikev2_decryption_table`` and ``preferences`` for ``WIRESHARK_CONFIG_DIR``."""
    folder.mkdir(parents=True, exist_ok=True)
    esp = esp_sa_lines(sim.net.child_keys)
    ike = ikev2_lines(sim.net.ike_keys)
    (folder / "esp_sa").write_text("# This file is automatically generated, DO NOT MODIFY.\n"
                                   + "".join(line + "\n" for line in esp))
    (folder / "ikev2_decryption_table").write_text(
        "# This file is automatically generated, DO NOT MODIFY.\n" + "".join(line + "\n" for line in ike))
    (folder / "preferences").write_text(PREFERENCES)
