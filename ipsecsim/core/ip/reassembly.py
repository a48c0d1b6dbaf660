"""Reassembly of IP fragments into whole datagrams (RFC 791 §3.2), bounded, for any IP family.

One :class:`Reassembler` per receiving node. It asks the packet's family (its version
nibble, :data:`FAMILIES`) where a fragment goes -- :func:`.ipv4_frag.fragment_info` and
:func:`.ipv4_frag.reassembled` for IPv4; IPv6's Fragment header (RFC 8200 §4.5) is the other entry
(:mod:`.ipv6_frag`) -- and keeps the rest family-agnostic: datagrams keyed by what the family says, pieces
held in offset order, a datagram handed back once its pieces cover it from 0 to the end
the last fragment gave.

Everything it holds is bounded, so a fragment flood cannot grow its memory: at most
``max_datagrams`` datagrams in progress, each of at most ``max_size`` bytes (IPv4's
65,535, the Ping of Death's limit) in at most ``max_fragments`` pieces, each given up
``timeout`` seconds after its first fragment came (Linux's ``ipfrag_time``, 30 s). So
:attr:`Reassembler.held` never exceeds ``max_datagrams * max_size`` bytes.

Every refusal can be counted (``core/errors.py``): :meth:`Reassembler.add` raises
:class:`~ipsecsim.core.errors.DecodeError` for a packet that is not a well-formed
fragment (``malformed``) and :class:`~ipsecsim.core.errors.PacketDrop` with one of the
``frag_*`` reasons for a fragment it refuses; :meth:`Reassembler.handle_timer` returns
the datagrams it gave up on (``frag_timeout``). Overlaps follow RFC 5722 §4, which Linux
applies to IPv4 too since 4.19 (``ip_frag_queue``, against FragmentSmack): a fragment
wholly inside one piece already held is a duplicate and is refused alone; any other
overlap, or a fragment that disagrees about where the datagram ends, discards the datagram.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from ..errors import (
    FRAG_DUPLICATE,
    FRAG_OVERLAP,
    FRAG_OVERSIZE,
    FRAG_TABLE_FULL,
    FRAG_TOO_MANY,
    DecodeError,
    PacketDrop,
)
from . import ipv4_frag, ipv6_frag

FragmentInfo = tuple[Hashable, int, bool, bytes, int]
"""(datagram key, offset in bytes, more fragments follow, payload, header length)."""


@dataclass(frozen=True, slots=True)
class Family:
    """How one IP family describes its fragments to the reassembler."""

    info: Callable[[bytes], FragmentInfo | None]
    """The packet's :data:`FragmentInfo`, or None for a whole datagram; DecodeError when malformed."""
    join: Callable[[bytes, bytes], bytes]
    """(first fragment's first ``header length`` bytes, joined payload) -> the whole datagram."""


FAMILIES: dict[int, Family] = {
    4: Family(ipv4_frag.fragment_info, ipv4_frag.reassembled),
    6: Family(ipv6_frag.fragment_info6, ipv6_frag.reassembled6),  # RFC 8200 §4.5
}
"""IP version (a packet's first nibble) -> its fragment format."""

MAX_DATAGRAMS = 256
"""Datagrams in progress at once, by default: 16 MiB of payload held at most."""
MAX_FRAGMENTS = 256
"""Fragments per datagram, by default: a 65,535-byte datagram over a 576-byte MTU (what
RFC 791 asks every host to take) needs 119; FreeBSD stops at 16 (``maxfragsperpacket``)."""


class _Datagram:
    """One datagram in progress: its pieces in offset order, none overlapping."""

    __slots__ = ("start", "tag", "starts", "ends", "pieces", "have", "end", "head")

    def __init__(self, start: float, tag: Any) -> None:
        self.start = start
        """When its first fragment (in arrival order) came."""
        self.tag = tag
        """The caller's tag of that fragment (the simulator's packet id)."""
        self.starts: list[int] = []
        """Where each piece starts in the payload, ascending."""
        self.ends: list[int] = []
        """Where each ends (the next one's start or less)."""
        self.pieces: list[bytes] = []
        self.have = 0
        """Payload bytes held (the pieces do not overlap: covered once ``have == end``)."""
        self.end = -1
        """Payload length, once the last fragment (MF clear) came."""
        self.head: bytes | None = None
        """The first fragment's header, once it came."""


class Reassembler:
    """Collects fragments into whole datagrams (RFC 791 §3.2), within the bounds above.

    ``now`` only moves forward from call to call. Callers that count timeouts call
    :meth:`handle_timer` when :meth:`get_timer` says, before :meth:`add`; :meth:`add` itself
    gives up on a timed-out datagram it meets (counted in :attr:`expired`, untold), so a
    caller without a timer still holds at most ``max_datagrams``.
    """

    def __init__(self, timeout: float = 30.0, max_size: int = 65535,
                 max_fragments: int = MAX_FRAGMENTS, max_datagrams: int = MAX_DATAGRAMS) -> None:
        self.timeout = timeout
        """Seconds from a datagram's first fragment until it is given up."""
        self.max_size = max_size
        """Largest whole datagram, header included."""
        self.max_fragments = max_fragments
        """Most pieces one datagram may come in."""
        self.max_datagrams = max_datagrams
        """Most datagrams in progress at once."""
        self._parts: dict[Hashable, _Datagram] = {}
        """key -> datagram, oldest first (a dict keeps insertion order)."""
        self.expired = 0
        """Datagrams given up on by timeout so far."""
        self.held = 0
        """Payload bytes held now."""

    def __len__(self) -> int:
        """Datagrams in progress."""
        return len(self._parts)

    def add(self, pkt: bytes, now: float = 0.0, tag: Any = 0) -> bytes | None:
        """Feed one packet: the whole datagram once this fragment completes it, ``pkt``
        itself when it is no fragment, else None.

        ``tag`` (the caller's number for this fragment, the simulator's packet id) names the
        datagram to :meth:`handle_timer` if it times out. Raises
        :class:`DecodeError` (not a well-formed packet or fragment) or :class:`PacketDrop`
        with reason ``frag_oversize``, ``frag_overlap``, ``frag_duplicate``,
        ``frag_too_many`` or ``frag_table_full``; the detail says whether the datagram in
        progress went with it.
        """
        if not pkt:
            raise DecodeError("an empty packet")
        fam = FAMILIES.get(pkt[0] >> 4)
        if fam is None:
            raise DecodeError(f"IP version {pkt[0] >> 4} is not one the reassembler knows")
        info = fam.info(pkt)
        if info is None:
            return pkt
        key, off, more, data, hl = info
        size = len(data)
        end = off + size
        parts = self._parts
        d = parts.get(key)
        if d is not None and now - d.start >= self.timeout:
            self._forget(key, d)
            self.expired += 1
            d = None
        if hl + end > self.max_size:
            if d is not None:
                self._forget(key, d)
            raise PacketDrop(FRAG_OVERSIZE, f"a fragment reaching byte {hl + end} of a datagram, "
                             f"over {self.max_size}; datagram discarded")
        if d is None:
            if len(parts) >= self.max_datagrams:
                self.expire(now)
                if len(parts) >= self.max_datagrams:
                    raise PacketDrop(FRAG_TABLE_FULL, f"{len(parts)} datagrams already in reassembly")
            d = parts[key] = _Datagram(now, tag)
        starts, ends, pieces = d.starts, d.ends, d.pieces
        n = len(starts)
        high = ends[-1] if n else 0
        if more:
            bad = 0 <= d.end < end  # data past the end the last fragment gave
        else:
            bad = end != d.end if d.end >= 0 else end < high  # a second end, or data past it
        if bad:
            self._forget(key, d)
            raise PacketDrop(FRAG_OVERLAP, f"a fragment ending at {end} disagrees with the datagram's "
                             f"end at {d.end if d.end >= 0 else high}; datagram discarded")
        i = n if off >= high else bisect_right(starts, off)  # in order: after the last piece
        if i and ends[i - 1] > off:
            if end <= ends[i - 1]:
                raise PacketDrop(FRAG_DUPLICATE, f"bytes {off}-{end} are already held")
            self._forget(key, d)
            raise PacketDrop(FRAG_OVERLAP, f"bytes {off}-{end} overlap a piece held; datagram discarded")
        if i < n and starts[i] < end:
            self._forget(key, d)
            raise PacketDrop(FRAG_OVERLAP, f"bytes {off}-{end} overlap a piece held; datagram discarded")
        if n >= self.max_fragments:
            self._forget(key, d)
            raise PacketDrop(FRAG_TOO_MANY, f"more than {self.max_fragments} fragments; datagram discarded")
        if i == n:
            starts.append(off)
            ends.append(end)
            pieces.append(data)
        else:
            starts.insert(i, off)
            ends.insert(i, end)
            pieces.insert(i, data)
        d.have += size
        self.held += size
        if off == 0:
            d.head = pkt[:hl]
        if not more:
            d.end = end
        if d.have != d.end or d.head is None:
            return None
        self._forget(key, d)
        if len(d.head) + end > self.max_size:
            raise PacketDrop(FRAG_OVERSIZE, f"a datagram of {len(d.head) + end} bytes, over {self.max_size}")
        return fam.join(d.head, b"".join(pieces))

    def _forget(self, key: Hashable, d: _Datagram) -> None:
        del self._parts[key]
        self.held -= d.have

    def get_timer(self) -> float | None:
        """When the oldest datagram in progress times out; None when none is."""
        for d in self._parts.values():
            return d.start + self.timeout
        return None

    def handle_timer(self, now: float) -> list[Any]:
        """Give up on the datagrams whose first fragment came ``timeout`` or more ago; their
        tags, oldest first (each a ``frag_timeout`` for the caller to count)."""
        parts = self._parts
        out: list[Any] = []
        while parts:
            key = next(iter(parts))
            d = parts[key]
            if now - d.start < self.timeout:
                break
            self._forget(key, d)
            out.append(d.tag)
        self.expired += len(out)
        return out

    def expire(self, now: float) -> int:
        """:meth:`handle_timer` for a caller that needs no tags: how many were given up."""
        return len(self.handle_timer(now))
