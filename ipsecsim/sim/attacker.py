"""Adversary nodes: an attacker tapping a link (``attackers:`` in a topology).

An attacker has no address and no routes: it sits *on* a link, as a tap or a
man in the middle on the path would. Every packet the link carries, in either
direction, passes through it just before the far end receives it
(:meth:`Attacker._tap` wraps each direction's hand-over to its receiver), so it
can look at it (``eavesdrop``), change it (``tamper``, ``downgrade``), keep a copy
to send again (``replay``), take it off the wire (``drop``; the replies to its
spoofed sources) and put packets of its own on the link (``inject``, ``replay``,
``flood``). The attacks are in :mod:`.attacks`; each is one entry of the
attacker's ``attacks:`` list with its own start/stop/count. They read and write IPv4
packets; an IPv6 packet passes the tap untouched.

Accounting (what keeps conservation exact, ``docs/summary.md``):

* a packet the attacker *changes* keeps its packet id: the victim counts it by its
  own drop reason (``bad_icv``, ``ike_integrity``, ...) and, when it was an
  application packet, the packet's fate is that drop;
* a packet it *takes off the wire* is a drop with a reason of its own,
  :data:`ATTACK_DROP` (the ``drop`` attack) or :data:`ATTACK_ABSORBED` (a reply to
  an address the flood spoofed, taken in by the attacker that owns those sources);
* a packet it *creates* gets a fresh control packet id (:meth:`Network.control_id`),
  never an application packet's: it is counted once in the attacker's ``sent`` (by
  kind) and an ``attack`` trace record, goes on the link as a ``link_tx`` (so the
  pcap shows it), and the victim drops it with its reason (``replay``,
  ``unknown_spi``, ...) or its IKE takes it in. The application packets'
  ``sent = delivered + dropped + in_flight`` is untouched.

``summary.json`` gets an ``attacks`` section per attacker (:meth:`Attacker.summary`).
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.ip import ipv4 as P
from ..core.natt import NON_ESP_MARKER
from ..core.units import parse_time
from .attacks import ATTACKS, Attack
from .attacks.eavesdrop import Eavesdropper

if TYPE_CHECKING:
    from .link import Link, _Direction
    from .network import Network

ATTACK_DROP = "attack_drop"
"""Drop reason: the ``drop`` attack took the packet off the wire."""
ATTACK_ABSORBED = "attack_absorbed"
"""Drop reason: a reply to a source address the attacker spoofed, taken in by it."""

MAX_SENT = 1_000_000
"""Packets one inject or flood may send (its trace records are kept, as every packet's)."""
KINDS = ("esp", "ah", "ike", "other")
SENT = ("replay", "inject_random_spi", "inject_live_spi", "flood", "cookie_echo")
"""What an attacker sends, the keys of its summary's ``sent_by_kind``."""
ACTED = ("tampered", "dropped", "downgraded", "absorbed", "captured")
"""What it does to others' packets, the keys of its summary's ``acted_on``."""
MATCH: dict[str, frozenset[str]] = {
    "esp": frozenset({"esp"}), "ah": frozenset({"ah"}), "ipsec": frozenset({"esp", "ah"}),
    "ike": frozenset({"ike"}), "cleartext": frozenset({"other"}), "any": frozenset(KINDS),
}
"""``match:`` values -> the packet kinds (:func:`kind_of`) they take."""


def kind_of(data: bytes) -> str:
    """``esp`` (also ESP in UDP 4500), ``ah``, ``ike`` (UDP 500, UDP 4500 with the non-ESP
    marker) or ``other``, from the outer header; a fragment is ``other`` past its first."""
    proto = data[9]
    if proto == P.IPPROTO_ESP:
        return "esp"
    if proto == P.IPPROTO_AH:
        return "ah"
    h = (data[0] & 0x0F) * 4
    if proto == P.IPPROTO_UDP and len(data) >= h + 8 and not (data[6] & 0x1F or data[7]):
        sport, dport = (data[h] << 8) | data[h + 1], (data[h + 2] << 8) | data[h + 3]
        if dport == 500 or sport == 500:
            return "ike"
        if 4500 in (sport, dport):
            body = data[h + 8:h + 12]
            if body == NON_ESP_MARKER:
                return "ike"
            if len(data) >= h + 16:
                return "esp"
    return "other"


class Attacker:
    """One attacker on one link: the tap, its attacks, and what it sent and learned."""

    def __init__(self, net: Network, name: str, link: Link, cfg: dict[str, Any]) -> None:
        self.net = net
        self.name = name
        self.link = link
        self.rng = net.rng.child(f"attacker/{name}")
        self.sent: Counter[str] = Counter()
        """Packets the attacker created, by kind (``replay``, ``inject``, ``flood``, ...)."""
        self.acted: Counter[str] = Counter()
        """Packets of others it acted on: ``tampered``, ``dropped``, ``downgraded``,
        ``absorbed``, ``captured`` (kept for a replay)."""
        self.own: set[int] = set()
        """Packet ids of its own packets still on the link (they pass the tap untouched)."""
        self.spoofed: set[bytes] = set()
        """Source addresses a flood used: replies to them are the attacker's to take."""
        self.esp_seen: dict[int, tuple[_Direction, bytes]] = {}
        """SPI -> (direction, last packet) of every ESP SA seen on the link."""
        self.eavesdropper: Eavesdropper | None = None
        self.attacks: list[Attack] = []
        for i, a in enumerate(cfg.get("attacks") or []):
            if a["type"] == "eavesdrop":
                self.eavesdropper = Eavesdropper(self, a)
            else:
                self.attacks.append(ATTACKS[a["type"]](self, a, i))
        self._hooks = [a for a in self.attacks if a.on_packet is not Attack.on_packet]
        link.tap(self._tap)

    def start(self) -> None:
        """Arm the timers of the attacks that send on their own (inject, flood)."""
        for a in self.attacks:
            a.begin()

    # --- the tap -------------------------------------------------------------------
    def _tap(self, d: _Direction, receive: Callable[..., None]) -> Callable[..., None]:
        own = self.own
        env = self.net.env

        def arrive(data: bytes, pkt_id: int, iface: Any) -> None:
            if pkt_id in own:  # its own packet reaching the far end
                own.discard(pkt_id)
                receive(data, pkt_id, iface)
                return
            if data[0] >> 4 != 4:  # the attacks read IPv4 headers: anything else passes
                receive(data, pkt_id, iface)
                return
            now = env.now
            kind = kind_of(data)
            if kind == "esp":
                self._saw_esp(d, data)
            if self.eavesdropper is not None:
                self.eavesdropper.see(d, data, kind, now)
            for a in self._hooks:
                if a.takes(d, data, kind, now):
                    out = a.on_packet(d, data, pkt_id, now)
                    if out is None:
                        return
                    if out is not data:
                        self.net.keep.data = None  # not the bytes the trace holds any more
                    data = out
            receive(data, pkt_id, iface)

        return arrive

    def _saw_esp(self, d: _Direction, data: bytes) -> None:
        h = (data[0] & 0x0F) * 4 + (8 if data[9] == P.IPPROTO_UDP else 0)
        spi = int.from_bytes(data[h:h + 4], "big")
        if spi not in self.esp_seen and len(self.esp_seen) >= 4096:
            self.esp_seen.pop(next(iter(self.esp_seen)))
        self.esp_seen[spi] = (d, data)

    # --- what the attacks call ---------------------------------------------------
    def send(self, d: _Direction, data: bytes, kind: str, detail: str = "") -> int:
        """Put a packet of the attacker's own on direction ``d``; returns its packet id."""
        net = self.net
        pid = net.control_id()
        self.sent[kind] += 1
        self.record(kind, pid, len(data), detail)
        self.own.add(pid)
        if not d.send(bytes(data), pid):  # dropped by the link with its reason (queue, down)
            self.own.discard(pid)
        return pid

    def take(self, pkt_id: int, reason: str, what: str, size: int, detail: str) -> None:
        """Take a packet off the wire: a drop with the attacker's own reason."""
        net = self.net
        self.acted[what] += 1
        self.record(what, pkt_id, size, detail)
        net.drop(net.env.now, self.name, pkt_id, reason, f"{self.link.name}: {detail}")

    def record(self, action: str, pkt_id: int, size: int, detail: str) -> None:
        tr = self.net.trace
        if tr.enabled:
            tr.emit(self.net.env.now, "attack", self.name, self.link.name, action, pkt_id, size, detail)

    def direction_toward(self, addr: bytes) -> _Direction | None:
        """The direction of the link on which a packet for ``addr`` moves toward it."""
        dirs = list(self.link.dirs.values())
        for d in dirs:
            if addr in d.dst.node.local:
                return d
        for d in dirs:
            if addr in d.src.node.local:
                continue
            hop = d.dst.node.lookup(addr)
            if hop is not None and hop[0].link is not self.link:
                return d
        return None

    # --- looking -------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The ``attacks.<attacker>`` section of ``summary.json``."""
        out: dict[str, Any] = {
            "link": self.link.name,
            "sent": sum(self.sent.values()),
            "sent_by_kind": {k: self.sent[k] for k in SENT},
            "acted_on": {k: self.acted[k] for k in ACTED},
            "attacks": [a.summary() for a in self.attacks],
        }
        if self.eavesdropper is not None:
            out["learned"] = self.eavesdropper.learned()
        return out


def install_attackers(net: Network, topo: dict[str, Any]) -> list[Attacker]:
    """Build the topology's ``attackers:`` on their links (after the links exist)."""
    out = []
    for name, cfg in (topo.get("attackers") or {}).items():
        out.append(Attacker(net, name, net.links[cfg["link"]], cfg))
    return out


def check_attackers(d: dict[str, Any], bad: Callable[[list[Any], str], None]) -> None:
    """``check``'s semantic checks of ``attackers:`` (the schema has the types and ranges):
    the link exists, ``from`` is one of its ends, ``to`` is some node's address, a flood has
    a spoofed prefix, times are in order and within the run."""
    from .topology import did_you_mean

    links = d.get("links") or {}
    nodes = d.get("nodes") or {}
    owned = {a.split("/")[0] for n in nodes.values() for a in (n.get("addresses") or [])}
    end = parse_time(d.get("duration", 10))
    for name, cfg in (d.get("attackers") or {}).items():
        lname = cfg.get("link")
        if lname not in links:
            bad(["attackers", name, "link"], f"attackers.{name}.link: no link named "
                f"{lname!r}{did_you_mean(lname, links)}")
            continue
        ends = (links[lname].get("a"), links[lname].get("b"))
        for j, a in enumerate(cfg.get("attacks") or []):
            where = f"attackers.{name}.attacks.{j}"
            path = ["attackers", name, "attacks", j]
            if a.get("from") is not None and a["from"] not in ends:
                bad(path + ["from"], f"{where}.from: {a['from']!r} is not an end of link "
                    f"{lname} ({ends[0]}, {ends[1]})")
            if a.get("to") is not None and a["to"] not in owned:
                bad(path + ["to"], f"{where}.to: no node has address {a['to']}")
            start = parse_time(a.get("start", 0))
            if start >= end:
                bad(path + ["start"], f"{where}.start: {a.get('start')} is not before the run "
                    f"ends ({end:g} s)")
            if "stop" in a and parse_time(a["stop"]) <= start:
                bad(path + ["stop"], f"{where}: stop ({a['stop']}) is not after start ({start:g})")
            if "at" in a and parse_time(a["at"]) < start:
                bad(path + ["at"], f"{where}.at: {a['at']} is before the attack starts ({start:g})")
            if a.get("type") == "flood":
                if not a.get("to"):
                    bad(path, f"{where}: a flood needs to: (the responder's address)")
                if not a.get("spoof"):
                    bad(path, f"{where}: a flood needs spoof: (the prefix its sources are drawn from)")
                else:
                    try:
                        net = ipaddress.IPv4Network(a["spoof"], strict=False)
                    except ValueError as exc:
                        bad(path + ["spoof"], f"{where}.spoof: {exc}")
                    else:
                        if net.num_addresses < 4:
                            bad(path + ["spoof"], f"{where}.spoof: {a['spoof']} has too few "
                                "addresses to spoof from (a /30 or larger)")
            if a.get("type") in ("inject", "flood") and not a.get("count"):
                if "stop" not in a:
                    bad(path, f"{where}: a {a['type']} needs count: or stop:")
                else:
                    n = float(a.get("rate", 10.0)) * (min(parse_time(a["stop"]), end) - start)
                    if n > MAX_SENT:
                        bad(path + ["rate"], f"{where}: {n:.0f} packets (rate x time) are more "
                            f"than an attack may send ({MAX_SENT:,}); give count:")
            if a.get("type") == "replay" and not a.get("count"):
                bad(path, f"{where}: a replay needs count: (the packets it keeps copies of)")
