"""The one append-only trace: every packet event, IKE message and SA change.

Records are plain tuples ``(seq, time, kind, node, *fields)`` -- cheap to make
on the per-packet path. :data:`SCHEMA` names the fields of each kind; the JSON
lines writer, the pandas DataFrames, the figures, the pcap writer and the
tests all read records through it. Same-instant records keep the order they
were emitted in (``seq``).

Add a kind by adding it to :data:`SCHEMA` and :data:`TYPES`; never reuse a field
position for something else.

The per-packet kinds (:data:`RAW`) are appended as raw tuples by their one writer each,
not through :meth:`Trace.emit`: a Python call per record would cost the ESP path about 560
instructions per record, some 3,900 per packet (``benchmarks/instructions.py``: 216,050
against 212,150 with ``link_tx``, ``app_send`` and ``app_deliver`` through bound
per-kind methods). Their layout is still stated once, here; :func:`check` holds a record
to it, and ``tests/test_trace_records.py`` checks every record of a set of runs that
covers every kind (and that no other module appends raw records).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

#: kind -> names of the fields after (seq, time, kind, node)
SCHEMA: dict[str, tuple[str, ...]] = {
    # traffic generator view (end to end)
    "app_send": ("flow", "pkt_id", "src", "dst", "size"),
    "app_deliver": ("flow", "pkt_id", "src", "dst", "size", "latency"),
    # packet view per hop; 'data' is the packet's bytes (hex in JSON), only on link_tx:
    # bytes, or a HeaderPatch of an earlier hop's bytes -- bytes(data) gives them either way
    # 'arrive': when the last bit reaches dst_node (None: lost on the link)
    "link_tx": ("link", "pkt_id", "src_node", "dst_node", "size", "data", "arrive"),
    # not written any more (kept for older traces): link_tx carries the arrival time
    "link_rx": ("link", "pkt_id", "size"),
    # not written any more (kept for older traces): a forward is the link_tx into a node
    # followed by the link_tx out of it with the same pkt_id
    "forward": ("pkt_id", "size"),
    "encrypt": ("pkt_id", "proto", "spi", "seq", "size_in", "size_out"),
    "decrypt": ("pkt_id", "proto", "spi", "seq", "size_in", "size_out"),
    "fragment": ("pkt_id", "size", "fragments", "mtu"),
    "reassemble": ("pkt_id", "size"),
    "icmp_error": ("pkt_id", "type", "code", "mtu"),
    "drop": ("pkt_id", "reason", "detail"),
    # IKE
    "ike_msg": ("direction", "peer", "exchange", "msg_id", "response", "payloads",
                "ispi", "rspi", "size", "retransmit"),
    "ike_state": ("ike_sa", "old_state", "new_state", "detail"),
    "ike_fail": ("ike_sa", "notify", "reason", "child"),  # child: the CHILD_SA concerned, or ""
    "child_state": ("ike_sa", "child", "spi_in", "old_state", "new_state", "detail"),
    # SAs (child and IKE): event is installed | soft_expired | rekeyed | deleted | hard_expired
    "sa": ("event", "proto", "spi", "direction", "peer", "child", "old_spi", "detail"),
    # anything else worth a line (node up/down, link up/down, config notes)
    "note": ("text",),
    # an attacker on a link (sim/attacker.py): a packet it made, changed or took off the wire
    "attack": ("link", "action", "pkt_id", "size", "detail"),
}


class HeaderPatch:
    """Packet bytes kept as another kept packet with a different IP header.

    A router forwards a packet with only its IPv4 header changed (TTL, checksum), and a
    tunnel's far end hands on the inner packet that its near end took in. Keeping every such
    copy whole would keep one ~1.5 kB object per hop; a ``link_tx`` record keeps this instead:
    ``bytes(p) == p.head + p.base[len(p.head):]``, byte for byte the packet that was sent.
    """

    __slots__ = ("base", "head")

    def __init__(self, base: bytes, head: bytes) -> None:
        self.base = base
        self.head = head

    def __bytes__(self) -> bytes:
        return self.head + self.base[len(self.head):]

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int | slice) -> Any:
        return bytes(self)[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, HeaderPatch):
            other = bytes(other)
        return isinstance(other, bytes | bytearray) and bytes(self) == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"HeaderPatch({bytes(self)!r})"


_TIME = (float, int)
_SPI = (int, str)  # CHILD_SA SPIs are ints, IKE_SA SPIs hex strings

#: kind -> the types of the fields :data:`SCHEMA` names (a tuple: any of them); the record's
#: first four fields are (seq: int, time: float -- or the int 0 before the first event --,
#: kind: str, node: str)
TYPES: dict[str, tuple[type | tuple[type, ...], ...]] = {
    "app_send": (str, int, str, str, int),
    "app_deliver": (str, int, str, str, int, float),
    "link_tx": (str, int, str, str, int, (bytes, HeaderPatch, type(None)), (float, type(None))),
    "link_rx": (str, int, int),
    "forward": (int, int),
    "encrypt": (int, str, int, int, int, int),
    "decrypt": (int, str, int, int, int, int),
    "fragment": (int, int, int, int),
    "reassemble": (int, int),
    "icmp_error": (int, int, int, int),
    "drop": (int, str, str),
    "ike_msg": (str, str, str, int, bool, str, str, str, int, int),
    "ike_state": (str, str, str, str),
    "ike_fail": (str, str, str, str),
    "child_state": (str, str, int, str, str, str),
    "sa": (str, str, _SPI, str, str, str, (int, str, type(None)), str),
    "note": (str,),
    "attack": (str, str, int, int, str),
}

#: the kinds appended raw on the packet path -> their writer (nothing else appends them raw)
RAW: dict[str, str] = {
    "link_tx": "ipsecsim/sim/link.py (_Direction.send)",
    "app_send": "ipsecsim/sim/network.py (Network.app_send)",
    "app_deliver": "ipsecsim/sim/network.py (Network.app_deliver)",
    "encrypt": "ipsecsim/sim/gateway.py (Gateway._trace_crypto)",
    "decrypt": "ipsecsim/sim/gateway.py (Gateway._trace_crypto)",
}


def check(rec: tuple) -> None:
    """Raise ValueError unless ``rec`` has the layout :data:`SCHEMA` and :data:`TYPES` give its
    kind: ``(seq, time, kind, node, *fields)``, each field of its type (a bool is not an int)."""
    if type(rec) is not tuple or len(rec) < 4:
        raise ValueError(f"not a record: {rec!r}")
    seq, t, kind, node = rec[:4]
    names = SCHEMA.get(kind)
    if names is None:
        raise ValueError(f"unknown kind {kind!r}: {rec!r}")
    if len(rec) != 4 + len(names):
        raise ValueError(f"{kind} has {len(rec) - 4} fields, not {len(names)} {names}: {rec!r}")
    for name, value, want in zip(("seq", "time", "node", *names), (seq, t, node, *rec[4:]),
                                 (int, _TIME, str, *TYPES[kind]), strict=True):
        allowed = want if isinstance(want, tuple) else (want,)
        if not isinstance(value, allowed) or (type(value) is bool and bool not in allowed):
            raise ValueError(f"{kind}.{name} is {type(value).__name__} {value!r}, not "
                             f"{' | '.join(a.__name__ for a in allowed)}: {rec!r}")


class Trace:
    """Append-only list of records with a sequence number per record.

    The packet path appends the :data:`RAW` kinds without calling :meth:`emit`: it binds
    ``trace.records.append`` and ``trace.counter`` once and appends
    ``(next(counter), time, kind, node, ...)`` itself (checking ``enabled``), in the layout
    of :data:`SCHEMA` and :data:`TYPES` (see :func:`check`).
    """

    __slots__ = ("records", "counter", "next_seq", "enabled", "keep_bytes")

    def __init__(self, enabled: bool = True, keep_bytes: bool = True) -> None:
        self.records: list[tuple] = []
        self.counter = itertools.count(1)
        """``next(counter)`` is the next sequence number (1, 2, ...): one per record, shared by
        every writer (``next()`` on the counter is a cheaper call than its ``__next__``)."""
        self.next_seq = self.counter.__next__
        """The same numbers as a function."""
        self.enabled = enabled
        self.keep_bytes = keep_bytes
        """Whether ``link_tx`` records keep the packet bytes (needed for pcaps)."""

    def emit(self, time: float, kind: str, node: str, *fields: Any) -> None:
        """Append one record. ``fields`` follow :data:`SCHEMA` [kind]."""
        if self.enabled:
            self.records.append((self.next_seq(), time, kind, node, *fields))

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.records)

    def of(self, *kinds: str) -> Iterator[tuple]:
        """Records of the given kinds, in order."""
        ks = set(kinds)
        return (r for r in self.records if r[2] in ks)

    @staticmethod
    def as_dict(rec: tuple) -> dict[str, Any]:
        """One record as a dict with named fields (bytes become hex)."""
        seq, t, kind, node, *fields = rec
        d: dict[str, Any] = {"seq": seq, "t": t, "kind": kind, "node": node}
        for name, value in zip(SCHEMA[kind], fields, strict=False):
            if isinstance(value, bytes | bytearray | memoryview | HeaderPatch):
                value = bytes(value).hex()
            elif isinstance(value, tuple):
                value = list(value)
            d[name] = value
        return d

    def dicts(self, *kinds: str) -> Iterable[dict[str, Any]]:
        recs = self.of(*kinds) if kinds else iter(self.records)
        return (self.as_dict(r) for r in recs)

    def write_jsonl(self, fp: IO[str], include_bytes: bool = False) -> None:
        """Write one JSON object per line; packet bytes only if ``include_bytes``."""
        dumps = json.JSONEncoder(separators=(",", ":"), sort_keys=False).encode
        for rec in self.records:
            d = self.as_dict(rec)
            if not include_bytes:
                d.pop("data", None)
            fp.write(dumps(d))
            fp.write("\n")

    def dataframe(self, *kinds: str):  # -> pandas.DataFrame
        """Records of ``kinds`` as a pandas DataFrame (pandas imported on demand)."""
        import pandas as pd

        rows = list(self.dicts(*kinds))
        return pd.DataFrame(rows)
