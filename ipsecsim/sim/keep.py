"""Trace compaction: which bytes the trace already holds of the packet a node is handling.

A ``link_tx`` record keeps the packet's bytes (for the pcaps). Most hops carry a copy of a
packet the trace already holds with only the IPv4 header changed -- a router's copy (TTL and
checksum), a flow's next packet (identification and checksum), the inner packet a tunnel's far
end hands on (the near end took in the same bytes) -- and keeping each whole would keep one
~1.5 kB object per hop. Such a copy is kept as a :class:`~ipsecsim.trace.HeaderPatch` of the
bytes already kept: its *base*. :class:`Keep` is the one place that knows which packet has
which base. The :class:`~.network.Network` owns one (``net.keep``).

Packets are named by identity (``is``), never by value: a packet is a ``bytes`` object and
the Keep holds a reference to the one it names, so no other packet can take its ``id``.

The protocol, in packet order (all synchronous: a register is set just before it is used)::

    flow         keep.data, keep.base = pkt, first     # pkt differs from first in its header only
    link tx      data is keep.data ->  HeaderPatch(keep.base, header of data)    else data whole
    link rx      keep.data, keep.base = data, base     # the hop was kept; else keep.data = None
    router       data is keep.data ->  keep.data = new   # the copy with TTL - 1: same base
    gateway out  data is keep.data ->  keep.seal(pkt_id, protected)
    gateway in   base = keep.unseal(pkt_id, protected)  # the base of the plaintext, or None
                 base is not None and len(inner) == len(base) -> keep.data, keep.base = inner, base

``data``/``base`` are plain attributes, read and written inline on the packet path (a method
call per hop would cost more than the compaction saves); the sealed registry is reached only
through :meth:`seal` and :meth:`unseal`.
"""

from __future__ import annotations

SEALED_MAX = 1 << 16
"""Entries :attr:`Keep.sealed` holds by default (packets lost or rewritten on the way leave
theirs behind; the registry is emptied when full)."""


class Keep:
    """The packet in hand and its base, and the bases of packets protected on the way."""

    __slots__ = ("data", "base", "sealed", "sealed_max")

    def __init__(self, sealed_max: int = SEALED_MAX) -> None:
        self.data: bytes | None = None
        """The packet a node holds now whose bytes past its IPv4 header are those of
        :attr:`base` (None: no such packet). Compared by identity."""
        self.base: bytes | None = None
        """Bytes the trace keeps whole (a ``link_tx`` record's data, or a flow's first
        packet): :attr:`data` is them with another header."""
        self.sealed: dict[int, tuple[bytes, bytes]] = {}
        """pkt_id -> (protected packet, base of its plaintext), see :meth:`seal`."""
        self.sealed_max = sealed_max
        """:attr:`sealed` is emptied when it holds this many entries."""

    def seal(self, pkt_id: int, protected: bytes) -> None:
        """A gateway protected the packet in hand (:attr:`data`, call only when the plaintext
        is it) into the single packet ``protected``.

        The far end's decrypted copy is the same plaintext, so it can be kept as a patch of the
        same base: :meth:`unseal` finds it by ``pkt_id`` when that end holds ``protected`` (or a
        router's copy of it) again.
        """
        sealed = self.sealed
        if len(sealed) >= self.sealed_max:
            sealed.clear()
        sealed[pkt_id] = (protected, self.base)  # type: ignore[assignment]

    def unseal(self, pkt_id: int, protected: bytes) -> bytes | None:
        """A gateway holds ``protected`` and takes the plaintext out: the base that plaintext is
        a patch of, or None (not sealed here, or the packet in hand is not what was sealed --
        lost on the way, or rewritten by a NAT). The caller may skip the call when
        ``protected is not keep.data``."""
        if protected is not self.data or not self.sealed:
            return None
        entry = self.sealed.pop(pkt_id, None)
        if entry is None or entry[0] is not self.base:
            return None
        return entry[1]
