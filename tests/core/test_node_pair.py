"""Two :class:`IpsecNode` s back to back, no SimPy and no sockets (aioquic's ``client_and_server()``).

Time is stepped by hand; each node's ``packets_to_send`` goes straight into the other's
``receive_packet``. The ladders follow RFC 7296 (IKE_SA_INIT, IKE_AUTH §1.2; CREATE_CHILD_SA
rekey §1.3.3) and strongSwan 5.9's break-before-make reauthentication (``ike_reauth``): the
gap between deleting the old IKE_SA and the new CHILD_SA is covered by a trap, so a packet
sent then is a ``no_sa`` drop, never cleartext on the wire.
"""

from __future__ import annotations

from typing import Any

from ipsecsim.core import ip
from ipsecsim.core.ike import events as E
from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.core.node import IpsecNode
from ipsecsim.core.node_events import PacketDropped, SaInstalled, SaRemoved
from ipsecsim.core.rng import Rng

A_OUT, B_OUT = "198.51.100.1", "203.0.113.1"
HOST_A, HOST_B = "10.1.0.10", "10.2.0.10"


def conn(local: str, remote: str, lid: str, rid: str, lts: str, rts: str, start: bool,
         **extra: Any) -> dict:
    child: dict[str, Any] = {"mode": "tunnel", "local_ts": [lts], "remote_ts": [rts],
                             "esp_proposals": ["aes128gcm16"]}
    if start:
        child["start_action"] = "start"
    return {
        "connections": {"office-link": {
            "local_addrs": [local], "remote_addrs": [remote], "proposals": ["aes128gcm16-prfsha256-x25519"],
            "local": {"auth": "psk", "id": lid}, "remote": {"auth": "psk", "id": rid},
            "children": {"lan-lan": child}, **extra}},
        "secrets": {"ike-1": {"id-1": "gw-a.example", "id-2": "gw-b.example", "secret": "a long key"}},
    }


class Pair:
    """Two nodes joined by a lossless wire; ``delivered`` collects what each hands up."""

    def __init__(self, **extra: Any) -> None:
        ca = conn(A_OUT, B_OUT, "gw-a.example", "gw-b.example", "10.1.0.0/16", "10.2.0.0/16", True, **extra)
        cb = conn(B_OUT, A_OUT, "gw-b.example", "gw-a.example", "10.2.0.0/16", "10.1.0.0/16", False)
        self.a = IpsecNode("gw-a", Rng(1, "a"), [A_OUT, "10.1.0.1"], IkeConfig.from_dict(ca))
        self.b = IpsecNode("gw-b", Rng(1, "b"), [B_OUT, "10.2.0.1"], IkeConfig.from_dict(cb))
        self.now = 0.0
        self.events: dict[str, list[Any]] = {"gw-a": [], "gw-b": []}
        self.delivered: dict[str, list[bytes]] = {"gw-a": [], "gw-b": []}
        self.wire: list[bytes] = []
        """Every packet that crossed, in order."""
        self.hold: Any = None
        """A predicate on an event of gw-a: once it holds, gw-a's packets stay in ``held``."""
        self.held: list[bytes] = []

    def peer(self, n: IpsecNode) -> IpsecNode:
        return self.b if n is self.a else self.a

    def flush(self) -> None:
        """Move packets until both nodes are quiet."""
        moved = True
        while moved:
            moved = False
            for n in (self.a, self.b):
                while (ev := n.next_event()) is not None:
                    self.events[n.name].append(ev)
                    if n is self.a and callable(self.hold) and self.hold(ev):
                        self.hold = True
                for pkt, _tag in n.packets_to_send():
                    if n is self.a and self.hold is True:
                        self.held.append(pkt)
                        continue
                    moved = True
                    self.wire.append(pkt)
                    self.peer(n).receive_packet(pkt, "wan", self.now)
                self.delivered[n.name] += [p for p, _tag in n.packets_to_deliver()]

    def start(self) -> None:
        for n in (self.a, self.b):
            n.start(self.now)
        self.flush()

    def advance(self, until: float) -> None:
        """Fire every timer due up to ``until``, in time order."""
        while True:
            due = [(t, n.name, n) for n in (self.a, self.b) if (t := n.get_timer()) is not None and t <= until]
            if not due:
                break
            t, _, n = min(due, key=lambda x: (x[0], x[1]))
            self.now = max(self.now, t)
            n.handle_timer(self.now)
            self.flush()
        self.now = until

    def ping(self, seq: int) -> bytes:
        """host-a -> host-b through gw-a; returns the echo request sent."""
        req = ip.icmp_echo_packet(HOST_A, HOST_B, ident=7, seq=seq, data=b"p" * 32)
        self.a.send_packet(req, self.now)
        self.flush()
        return req

    def of(self, name: str, kind: type) -> list[Any]:
        return [e for e in self.events[name] if isinstance(e, kind)]


def esp_spis(wire: list[bytes]) -> list[int]:
    return [int.from_bytes(p[20:24], "big") for p in wire if p[9] == ip.IPPROTO_ESP]


def test_ike_up_esp_both_ways_and_a_child_rekey() -> None:
    pair = Pair()
    # IKE_SA_INIT { SA, KE, Ni, N... } -->  <-- { SA, KE, Nr, N... }
    # IKE_AUTH { SK{ IDi, AUTH, SA, TSi, TSr } } -->  <-- { SK{ IDr, AUTH, SA, TSi, TSr } }
    pair.start()
    assert len(pair.of("gw-a", E.IkeSaUp)) == len(pair.of("gw-b", E.IkeSaUp)) == 1
    [ka] = [e.keys for e in pair.of("gw-a", SaInstalled)]
    [kb] = [e.keys for e in pair.of("gw-b", SaInstalled)]
    assert (ka.spi_in, ka.spi_out) == (kb.spi_out, kb.spi_in)

    # ESP both ways: gw-b hands up the request, its reply goes back protected
    req = pair.ping(1)
    assert pair.delivered["gw-b"] == [req]
    reply = ip.echo_reply_for(req)
    pair.b.send_packet(reply, pair.now)
    pair.flush()
    assert pair.delivered["gw-a"] == [reply]
    assert esp_spis(pair.wire) == [ka.spi_out, ka.spi_in]
    assert not [p for p in pair.wire if p[9] == ip.IPPROTO_ICMP]  # nothing in the clear

    # CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, TSi, TSr } -->  <-- { SA, Nr, TSi, TSr }
    # INFORMATIONAL { D(old) } -->  <-- { D(old) }
    pair.now = 10.0
    pair.a.rekey_child(ka.spi_in, pair.now)
    pair.flush()
    pair.advance(20.0)  # the old SAs go 5 s after their DELETE
    [(old_a, new_a)] = [(e.old, e.new) for e in pair.of("gw-a", E.ChildSaRekeyed)]
    assert old_a.spi_in == ka.spi_in and new_a.spi_in != ka.spi_in
    assert {e.keys.spi_in for e in pair.of("gw-a", SaRemoved)} == {ka.spi_in}
    assert [k.spi_in for k in pair.a.children.values()] == [new_a.spi_in]
    # traffic moved to the new SA, and still gets through
    pair.wire.clear()
    req2 = pair.ping(2)
    assert pair.delivered["gw-b"][-1] == req2
    assert esp_spis(pair.wire) == [new_a.spi_out]
    assert not pair.of("gw-a", PacketDropped) and not pair.of("gw-b", PacketDropped)


def test_break_before_make_reauthentication_traps_the_gap() -> None:
    pair = Pair(reauth_time=30, rekey_time=0)
    pair.start()
    [k0] = [e.keys for e in pair.of("gw-a", SaInstalled)]
    # INFORMATIONAL { D(IKE) } -->  <-- { }   (break: the old IKE_SA and its CHILD_SA go)
    # IKE_SA_INIT { SA, KEi, Ni } -->         (make: held back here, to look at the gap)
    pair.hold = lambda ev: isinstance(ev, E.ChildSaDown) and ev.reason.startswith("reauthenticating")
    pair.advance(30.0)
    assert pair.hold is True and pair.held, "the reauthentication ran within reauth_time"
    assert not pair.a.children
    [trap] = pair.a.blocks["lan-lan"]
    assert trap.policy.action == "protect" and trap.policy.sa is None
    # a packet in the gap hits the trap: a no_sa drop, nothing leaves in the clear
    n_held = len(pair.held)
    req = ip.icmp_echo_packet(HOST_A, HOST_B, ident=7, seq=9)
    pair.a.send_packet(req, pair.now)
    pair.flush()
    assert len(pair.held) == n_held
    assert [e.reason for e in pair.of("gw-a", PacketDropped)] == ["no_sa"]
    # now let the exchanges run: the new IKE_SA brings the CHILD_SA back and lifts the trap
    pair.hold = None
    for pkt in pair.held:
        pair.wire.append(pkt)
        pair.b.receive_packet(pkt, "wan", pair.now)
    pair.flush()
    pair.advance(pair.now + 10)
    assert len(pair.of("gw-a", E.IkeSaUp)) == 2
    [k1] = [k for k in pair.a.children.values()]
    assert k1.spi_in != k0.spi_in
    assert "lan-lan" not in pair.a.blocks
    assert not [p for p in pair.wire if p[9] == ip.IPPROTO_ICMP]
    req2 = pair.ping(10)
    assert pair.delivered["gw-b"][-1] == req2


def test_a_refused_child_gets_a_discard_not_cleartext() -> None:
    """gw-b accepts the IKE_SA but refuses the CHILD_SA (no common ESP proposal): gw-a's
    node covers the child's selectors with a DISCARD, its packets are dropped with the reason."""
    pair = Pair()
    cb = conn(B_OUT, A_OUT, "gw-b.example", "gw-a.example", "10.2.0.0/16", "10.1.0.0/16", False)
    cb["connections"]["office-link"]["children"]["lan-lan"]["esp_proposals"] = ["aes256-sha512"]
    pair.b = IpsecNode("gw-b", Rng(1, "b"), [B_OUT, "10.2.0.1"], IkeConfig.from_dict(cb))
    pair.start()
    [fail] = [e for e in pair.of("gw-a", E.IkeFailure) if e.child == "lan-lan"]
    assert fail.notify == "NO_PROPOSAL_CHOSEN"
    [block] = pair.a.blocks["lan-lan"]
    assert block.policy.action == "discard"
    pair.wire.clear()
    req = ip.icmp_echo_packet(HOST_A, HOST_B, ident=7, seq=1)
    pair.a.send_packet(req, pair.now)
    pair.flush()
    assert pair.wire == []
    [drop] = pair.of("gw-a", PacketDropped)
    assert drop.reason == "policy_discard" and "NO_PROPOSAL_CHOSEN" in drop.detail


def test_fragments_to_the_node_are_reassembled_before_ipsec_input() -> None:
    """An ESP packet fragmented on the way (RFC 791; Linux reassembles before xfrm input)
    decrypts once whole; a datagram whose last fragment never comes is a frag_timeout."""
    pair = Pair()
    pair.start()
    big = ip.icmp_echo_packet(HOST_A, HOST_B, ident=7, seq=1, data=b"f" * 1200)
    pair.a.send_packet(big, pair.now)
    [(esp, _tag)] = pair.a.packets_to_send()
    frags = ip.fragment(esp, 576)
    assert len(frags) == 3
    for f in reversed(frags):
        pair.b.receive_packet(f, "wan", pair.now, "p1")
    assert [p for p, _t in pair.b.packets_to_deliver()] == [big]
    pair.a.send_packet(big, pair.now)
    [(esp2, _tag)] = pair.a.packets_to_send()
    pair.b.receive_packet(ip.fragment(esp2, 576)[0], "wan", pair.now, "p2")
    assert pair.b.packets_to_deliver() == []
    t = pair.b.get_timer()
    assert t is not None and t <= pair.now + 30
    pair.b.handle_timer(pair.now + 30)
    drops = [e for e in iter(pair.b.next_event, None) if isinstance(e, PacketDropped)]
    assert [(d.reason, d.tag) for d in drops] == [("frag_timeout", "p2")]
