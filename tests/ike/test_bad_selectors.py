"""A traffic selector whose end lies below its start (issue 15, finding 1).

An authenticated peer's IKE_AUTH or CREATE_CHILD_SA carrying such a TS_IPV4_ADDR_RANGE
(RFC 7296 §3.13.1: an empty range) made ``IkeEndpoint.receive_datagram`` raise
ZeroDivisionError in ``TrafficSelector.__str__`` after the responder had emitted IkeSaUp,
and no response went out. The selector is empty, so nothing of ours fits it: the child is
refused with TS_UNACCEPTABLE, as for any selector outside our policy, and the IKE_SA stays.
"""

from __future__ import annotations

from ipsecsim.core.ike import events as E
from ipsecsim.core.ike import payloads
from ipsecsim.core.node_events import PacketDropped
from ipsecsim.core.selectors import TrafficSelector
from tests.core.test_node_pair import Pair


def test_str_of_an_empty_range_does_not_divide_by_zero() -> None:
    ts = TrafficSelector(0x0A010000, 0x0A00FFFF)
    assert str(ts) == "10.1.0.0-10.0.255.255"


def test_an_ike_auth_with_an_inverted_selector_is_refused_not_a_crash(monkeypatch) -> None:
    real = payloads.TS._body

    def inverted(self: payloads.TS) -> bytes:  # the initiator writes end = start - 1
        self.selectors = [TrafficSelector(s.start, s.start - 1, s.proto, s.port_start, s.port_end)
                          for s in self.selectors]
        return real(self)

    monkeypatch.setattr(payloads.TS, "_body", inverted)
    pair = Pair()
    pair.start()
    assert not pair.of("gw-b", PacketDropped), pair.of("gw-b", PacketDropped)
    assert len(pair.of("gw-a", E.IkeSaUp)) == 1
    [fail] = [e for e in pair.of("gw-a", E.IkeFailure) if e.child == "lan-lan"]
    assert fail.notify == "TS_UNACCEPTABLE"
    assert [b.policy.action for b in pair.a.blocks["lan-lan"]] == ["discard"]
