"""What a passive observer on a link learns: ``{type: eavesdrop}``.

It reads only what is on the wire in the clear. Without IPsec that is everything: the hosts,
the protocols and ports (the application), the sizes and timing of each flow. With ESP in
tunnel mode the inner header is encrypted: it sees the two gateways, the SPIs (one per SA
and direction), the sequence numbers, and still each packet's size and time -- ESP hides
*what* is said, not *how much* or *when* (RFC 4303 §2.4 offers TFC padding against size
analysis; RFC 4301 §1.2 names traffic analysis as outside what IPsec protects). From IKE it
sees the exchanges (their types and sizes are in the clear header) and the proposals of
IKE_SA_INIT, which is not encrypted.

Its findings are the ``learned`` object of the attacker's summary (:meth:`learned`).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from ...core.ike import message as M
from ...core.ike.constants import EXCHANGE_NAMES
from ...core.ip import ipv4 as P
from .base import Attack

if TYPE_CHECKING:
    from ..attacker import Attacker
    from ..link import _Direction

_IKE_PORTS = (500, 4500)
PROTOCOLS = ("esp", "ah", "ike", "udp", "tcp", "icmp", "fragment", "other")
"""The keys of ``learned.protocols``: what the outer (or, under AH, inner) header said."""


class Eavesdropper(Attack):
    """Counts what the link shows in the clear (nothing is changed or sent)."""

    kind = "eavesdrop"
    default_match = "any"

    def __init__(self, atk: Attacker, cfg: dict[str, Any]) -> None:
        super().__init__(atk, cfg, -1)
        self.packets = 0
        self.bytes = 0
        self.protocols: Counter[str] = Counter()
        """Outer protocol as seen: esp, ah, ike, udp, tcp, icmp, ..."""
        self.ports: Counter[str] = Counter()
        """Application ports seen in the clear (``udp/5001``, ``tcp/80``; IKE's not counted)."""
        self.hosts: set[bytes] = set()
        self.conversations: set[tuple[bytes, bytes, int, int, int]] = set()
        """(src, dst, protocol, sport, dport) it can tell apart."""
        self.spis: set[int] = set()
        self.sizes: Counter[int] = Counter()
        self.first: float | None = None
        self.last = 0.0
        self.ike_exchanges: Counter[str] = Counter()
        self.ike_suites: list[str] = []
        """IKE_SA_INIT proposals read in the clear (offered and chosen)."""

    def see(self, d: _Direction, data: bytes, kind: str, now: float) -> None:
        if kind not in self.match or not self.active(now) or \
                (self.src is not None and d.sname != self.src):
            return
        if data[16:20] in self.atk.spoofed:
            return  # a reply to its own flood: nothing it did not know
        self.packets += 1
        self.done += 1
        n = len(data)
        self.bytes += n
        self.sizes[n] += 1
        if self.first is None:
            self.first = now
        self.last = now
        src, dst = data[12:16], data[16:20]
        self.hosts.add(src)
        self.hosts.add(dst)
        proto = data[9]
        h = (data[0] & 0x0F) * 4
        first_frag = not (data[6] & 0x1F or data[7])
        if kind == "esp":
            self.protocols["esp"] += 1
            off = h + (8 if proto == P.IPPROTO_UDP else 0)
            self.spis.add(int.from_bytes(data[off:off + 4], "big"))
            self.conversations.add((src, dst, 50, 0, 0))
        elif kind == "ah":  # AH authenticates but does not encrypt: the inner header is readable
            self.protocols["ah"] += 1
            self.spis.add(int.from_bytes(data[h + 4:h + 8], "big"))
            inner = h + (data[h + 1] + 2) * 4
            if data[h] == 4 and len(data) >= inner + 20:  # tunnel mode: an IPv4 packet inside
                self._clear(data[inner:])
            elif data[h] in (6, 17) and len(data) >= inner + 4:
                self._ports(src, dst, data[h], data[inner:inner + 4])
        elif kind == "ike":
            self.protocols["ike"] += 1
            self.conversations.add((src, dst, 17, 500, 500))
            self._ike(data, h)
        elif first_frag:
            self._clear(data)
        else:
            self.protocols["fragment"] += 1

    def _clear(self, data: bytes) -> None:
        proto = data[9]
        h = (data[0] & 0x0F) * 4
        name = {1: "icmp", 6: "tcp", 17: "udp"}.get(proto, "other")
        self.protocols[name] += 1
        src, dst = data[12:16], data[16:20]
        self.hosts.add(src)
        self.hosts.add(dst)
        if proto in (6, 17) and len(data) >= h + 4:
            self._ports(src, dst, proto, data[h:h + 4])
        else:
            self.conversations.add((src, dst, proto, 0, 0))

    def _ports(self, src: bytes, dst: bytes, proto: int, head: bytes) -> None:
        sport, dport = (head[0] << 8) | head[1], (head[2] << 8) | head[3]
        name = "tcp" if proto == 6 else "udp"
        for port in (sport, dport):
            if port not in _IKE_PORTS and port < 49152:  # a service port, not an ephemeral one
                self.ports[f"{name}/{port}"] += 1
        self.conversations.add((src, dst, proto, sport, dport))

    def _ike(self, data: bytes, h: int) -> None:
        body = data[h + 8:]
        if body[:4] == b"\x00\x00\x00\x00":
            body = body[4:]
        try:
            hdr = M.decode_header(body)
        except Exception:  # noqa: BLE001 - what it cannot read, it does not learn
            return
        name = EXCHANGE_NAMES.get(hdr.exchange, str(hdr.exchange))
        self.ike_exchanges[f"{name} {'response' if hdr.response else 'request'}"] += 1
        if hdr.exchange == M.IKE_SA_INIT and len(self.ike_suites) < 16:
            try:
                sa = M.decode(body).find(M.SA)
            except Exception:  # noqa: BLE001
                return
            if sa is not None:
                for p in sa.proposals:
                    text = ("chosen " if hdr.response else "offered ") + p.to_proposal().describe()
                    if text not in self.ike_suites:
                        self.ike_suites.append(text)

    def learned(self) -> dict[str, Any]:
        """What it could read off the link (the ``learned`` object of the summary)."""
        span = (self.last - self.first) if self.first is not None else 0.0
        sizes = sorted(self.sizes)
        return {
            "packets": self.packets,
            "bytes": self.bytes,
            "protocols": {k: self.protocols[k] for k in PROTOCOLS},
            "cleartext_ports": sorted(self.ports, key=lambda p: (p.split("/")[0], int(p.split("/")[1]))),
            "hosts": sorted(P.ntoa(a) for a in self.hosts),
            "conversations": len(self.conversations),
            "spis": [f"0x{s:08x}" for s in sorted(self.spis)],
            "sizes": {"distinct": len(sizes), "min": sizes[0] if sizes else 0,
                      "max": sizes[-1] if sizes else 0,
                      "most_common": [[s, c] for s, c in self.sizes.most_common(5)]},
            "timing": {"first": round(self.first or 0.0, 6), "last": round(self.last, 6),
                       "mean_rate_pps": round(self.packets / span, 3) if span > 0 else 0.0},
            "ike_exchanges": [[k, v] for k, v in sorted(self.ike_exchanges.items())],
            "ike_suites": self.ike_suites,
        }
