"""pcap files (the classic libpcap format) with LINKTYPE_RAW: one IPv4 packet per record.

Wireshark and tshark read them directly. :func:`write_trace_pcaps` writes one
capture per link from the ``link_tx`` records of a :class:`~ipsecsim.trace.Trace`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from typing import IO, Any

LINKTYPE_RAW = 101  # raw IPv4/IPv6, no link-layer header (tcpdump.org link-layer types)
PCAP_MAGIC = 0xA1B2C3D4  # microsecond timestamps
SNAPLEN = 65535
_GLOBAL = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")


class PcapWriter:
    """Appends packets with simulated timestamps to a pcap file (or open binary stream)."""

    def __init__(self, dest: str | os.PathLike[str] | IO[bytes], linktype: int = LINKTYPE_RAW) -> None:
        if isinstance(dest, str | os.PathLike):
            self._fp: IO[bytes] = open(dest, "wb")  # noqa: SIM115 - closed in close()
            self._own = True
        else:
            self._fp = dest
            self._own = False
        self._fp.write(_GLOBAL.pack(PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, linktype))
        self.count = 0

    def write(self, data: bytes, t: float = 0.0) -> None:
        """One packet captured at simulated time ``t`` seconds."""
        usec_total = round(t * 1_000_000)
        sec, usec = divmod(usec_total, 1_000_000)
        cap = data[:SNAPLEN]
        self._fp.write(_RECORD.pack(sec, usec, len(cap), len(data)))
        self._fp.write(cap)
        self.count += 1

    def close(self) -> None:
        if self._own:
            self._fp.close()
        else:
            self._fp.flush()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_pcap(path: str | os.PathLike[str], packets: Iterable[bytes | tuple[float, bytes]]) -> int:
    """Write packets (bytes, or (time, bytes) pairs) to ``path``; returns how many."""
    with PcapWriter(path) as w:
        for i, p in enumerate(packets):
            if isinstance(p, tuple):
                w.write(p[1], p[0])
            else:
                w.write(p, i * 0.001)
        return w.count


def read_pcap(path: str | os.PathLike[str]) -> Iterator[tuple[float, bytes]]:
    """(time, packet) pairs of a little-endian microsecond pcap file (as written here)."""
    with open(path, "rb") as fp:
        head = fp.read(_GLOBAL.size)
        magic = _GLOBAL.unpack(head)[0]
        if magic != PCAP_MAGIC:
            raise ValueError(f"{path}: not a little-endian microsecond pcap (magic 0x{magic:08x})")
        while rec := fp.read(_RECORD.size):
            sec, usec, caplen, _orig = _RECORD.unpack(rec)
            yield sec + usec / 1e6, fp.read(caplen)


def write_trace_pcaps(trace: Iterable[tuple[Any, ...]], out_dir: str | os.PathLike[str]) -> dict[str, str]:
    """One ``<link>.pcap`` per link from the trace's ``link_tx`` records (which must keep bytes).

    Returns link name -> file path.
    """
    os.makedirs(out_dir, exist_ok=True)
    writers: dict[str, PcapWriter] = {}
    paths: dict[str, str] = {}
    try:
        for rec in trace:
            if rec[2] != "link_tx":
                continue
            _seq, t, _kind, _node, link, _pid, _s, _d, _size, data = rec[:10]
            if data is None:
                continue
            w = writers.get(link)
            if w is None:
                safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(link))
                paths[link] = os.path.join(os.fspath(out_dir), f"{safe}.pcap")
                w = writers[link] = PcapWriter(paths[link])
            w.write(bytes(data), t)
    finally:
        for w in writers.values():
            w.close()
    return paths
