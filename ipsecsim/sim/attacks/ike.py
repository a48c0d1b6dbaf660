"""Attacks on IKE: a downgrade of IKE_SA_INIT, and a flood of IKE_SA_INIT requests.

* ``downgrade`` strips every proposal but the initiator's last (weakest) from the SA payload
  of an IKE_SA_INIT request. IKE_SA_INIT has no integrity protection, so the responder takes
  what is left; but each side's AUTH payload signs the first message *as it sent or received
  it* (RFC 7296 §2.15: InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI), so the
  responder's check of the initiator's AUTH fails and IKE_AUTH ends with
  AUTHENTICATION_FAILED: no IKE_SA, no CHILD_SA, nothing protected by the weak suite.
* ``flood`` sends IKE_SA_INIT requests from spoofed sources in ``spoof:`` at ``rate`` per
  second. Past ``cookie_threshold`` half-open IKE_SAs the responder answers with a COOKIE
  and keeps no state (§2.6); with ``cookie_echo: true`` the attacker, on the path, sees those
  answers and sends each request again with its cookie, which the cookie cannot stop: the
  responder's ``init_limit_half_open`` and ``block_threshold`` bound it (strongSwan's
  receiver.c ``drop_ike_sa_init``). The replies to the spoofed sources are the attacker's
  to take off the wire (``attack_absorbed``).
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from ...core.errors import DecodeError
from ...core.ike import dh
from ...core.ike import message as M
from ...core.ike.payloads import sa_proposals_from
from ...core.ip import ipv4 as P
from ...core.natt import NON_ESP_MARKER
from ...core.proposals import Proposal, parse_proposals
from .base import Attack

if TYPE_CHECKING:
    from ..link import _Direction

_PENDING_MAX = 20000


def ike_payload(data: bytes) -> tuple[int, bytes]:
    """(UDP header offset, IKE message) of an IKE packet (the non-ESP marker removed)."""
    h = (data[0] & 0x0F) * 4
    body = data[h + 8:]
    if body[:4] == NON_ESP_MARKER:
        body = body[4:]
    return h, body


def rebuild(data: bytes, h: int, ike: bytes) -> bytes:
    """``data`` with its IKE message replaced (IP and UDP lengths and checksums anew)."""
    sport, dport = P.ports(data)
    if data[h + 8:h + 12] == NON_ESP_MARKER:
        ike = NON_ESP_MARKER + ike
    checked = bool(data[h + 6] or data[h + 7])
    ident = (data[4] << 8) | data[5]
    return P.udp(data[12:16], data[16:20], sport, dport, ike, ident, P.has_df(data),
                 ttl=data[8], with_checksum=checked)


class Downgrade(Attack):
    """Leave only the last proposal in IKE_SA_INIT requests that offer more than one."""

    kind = "downgrade"
    default_match = "ike"

    def __init__(self, atk: Any, cfg: dict[str, Any], index: int) -> None:
        super().__init__(atk, cfg, index)
        self.stripped: list[str] = []
        """The proposals taken out, as IANA names (the first downgrades')."""

    def on_packet(self, d: _Direction, data: bytes, pkt_id: int, now: float) -> bytes | None:
        h, ike = ike_payload(data)
        try:
            hdr = M.decode_header(ike)
            if hdr.exchange != M.IKE_SA_INIT or hdr.response or hdr.msg_id != 0:
                return data
            msg = M.decode(ike)
        except DecodeError:
            return data
        sa = msg.find(M.SA)
        if sa is None or len(sa.proposals) < 2:
            return data
        kept = sa.proposals[-1]
        if len(self.stripped) < 8:
            self.stripped += [p.to_proposal().describe() for p in sa.proposals[:-1]]
        kept.num = 1
        sa.proposals = [kept]
        out = rebuild(data, h, M.encode(msg))
        self.done += 1
        self.atk.acted["downgraded"] += 1
        self.atk.record("downgrade", pkt_id, len(data), f"IKE_SA_INIT of {hdr.spi_i.hex()}: "
                        f"only {kept.to_proposal().describe()} left")
        return out

    def extra(self) -> dict[str, Any]:
        return {"stripped": self.stripped}


class Flood(Attack):
    """IKE_SA_INIT requests from spoofed sources; optionally echoing the cookies it gets."""

    kind = "flood"
    default_match = "any"

    def __init__(self, atk: Any, cfg: dict[str, Any], index: int) -> None:
        super().__init__(atk, cfg, index)
        self.to = P.aton(cfg["to"])
        self.spoof = ipaddress.IPv4Network(cfg["spoof"], strict=False)
        self.cookie_echo = bool(cfg.get("cookie_echo", False))
        self.proposals = self._proposals(cfg.get("proposal"))
        group = next((g for p in self.proposals for g in p.dh), 31)
        self.ke = M.KE(group, dh.new_key_exchange(group, atk.rng.child(f"flood-{index}")).public_bytes)
        self.pending: OrderedDict[bytes, M.IkeMessage] = OrderedDict()
        """Initiator SPI -> the request sent under it, until a cookie comes back for it."""
        self.cookies = 0
        """COOKIE answers seen (each echoed when ``cookie_echo``)."""
        self.answered = 0
        """IKE_SA_INIT answers with an SA: a half-open IKE_SA made at the responder."""
        self.other = 0
        """Other replies (errors such as NO_PROPOSAL_CHOSEN)."""

    def _proposals(self, text: str | None) -> list[Proposal]:
        if text:
            return parse_proposals([text], "ike")
        owner = self.atk.net.addr_owner.get(self.to)
        ike = getattr(owner, "ike", None)
        for conn in getattr(getattr(ike, "config", None), "connections", ()):
            if conn.proposals:
                return list(conn.proposals)
        return parse_proposals(["aes128-sha256-x25519"], "ike")

    def begin(self) -> None:
        self._at(self.start)

    def _source(self) -> bytes:
        rng = self.atk.rng
        n = self.spoof.num_addresses
        base = int(self.spoof.network_address)
        owned = self.atk.net.addr_owner
        for _ in range(64):
            a = (base + rng.randint(1, max(1, n - 2))).to_bytes(4, "big")
            if a not in owned:
                return a
        return (base + 1).to_bytes(4, "big")

    def fire(self, now: float) -> None:
        atk = self.atk
        rng = atk.rng
        d = atk.direction_toward(self.to)
        if d is None:
            return
        src = self._source()
        spi = rng.bytes(8)
        msg = M.IkeMessage(spi, bytes(8), M.IKE_SA_INIT, 0, True, False,
                           [M.SA(sa_proposals_from(self.proposals, b"")), self.ke,
                            M.Nonce(rng.bytes(32))])
        self.pending[spi] = msg
        if len(self.pending) > _PENDING_MAX:
            self.pending.popitem(last=False)
        atk.spoofed.add(src)
        self.done += 1
        atk.send(d, P.udp(src, self.to, 500, 500, M.encode(msg)), "flood",
                 f"IKE_SA_INIT from {P.ntoa(src)} SPI {spi.hex()}")

    def takes(self, d: _Direction, data: bytes, kind: str, now: float) -> bool:
        return data[16:20] in self.atk.spoofed  # a reply to a source it spoofed, at any time

    def on_packet(self, d: _Direction, data: bytes, pkt_id: int, now: float) -> bytes | None:
        from ..attacker import ATTACK_ABSORBED, kind_of

        what = "reply"
        if kind_of(data) == "ike":
            what = self._reply(d, data)
        self.atk.take(pkt_id, ATTACK_ABSORBED, "absorbed", len(data),
                      f"{what} to spoofed {P.ntoa(data[16:20])}")
        return None

    def _reply(self, d: _Direction, data: bytes) -> str:
        """Look at the responder's answer; echo a cookie. Returns what it was."""
        _h, ike = ike_payload(data)
        try:
            msg = M.decode(ike)
        except DecodeError:
            return "malformed IKE"
        first = msg.payloads[0] if msg.payloads else None
        if isinstance(first, M.Notify) and first.notify_type == M.COOKIE:
            self.cookies += 1
            req = self.pending.pop(msg.spi_i, None)
            if self.cookie_echo and req is not None:
                again = M.IkeMessage(req.spi_i, bytes(8), M.IKE_SA_INIT, 0, True, False,
                                     [M.Notify(M.COOKIE, data=first.data), *req.payloads])
                back = self.atk.direction_toward(self.to)
                if back is not None:
                    self.atk.send(back, P.udp(data[16:20], self.to, 500, 500, M.encode(again)),
                                  "cookie_echo", f"IKE_SA_INIT from {P.ntoa(data[16:20])} with "
                                  "its COOKIE")
            return "COOKIE"
        if msg.find(M.SA) is not None:
            self.answered += 1
            self.pending.pop(msg.spi_i, None)
            return "IKE_SA_INIT answer (half-open IKE_SA)"
        self.other += 1
        return f"IKE_SA_INIT {' '.join(msg.payload_names())}"

    def extra(self) -> dict[str, Any]:
        return {"cookie_echo": self.cookie_echo, "cookies": self.cookies,
                "half_open_answers": self.answered, "other_answers": self.other}
