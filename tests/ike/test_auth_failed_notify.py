"""INFORMATIONAL { N(AUTHENTICATION_FAILED) } after IKE_AUTH (issue 15, finding 2).

RFC 7296 §2.21.2: the responder counts the IKE_SA as up once its IKE_AUTH response is sent;
an initiator that cannot verify that response (charon with an IDr constraint or an untrusted
CA) tells it with an INFORMATIONAL carrying AUTHENTICATION_FAILED. ipsecsim answered that
like a DPD and kept the IKE_SA ESTABLISHED and the CHILD_SA INSTALLED, with no failure.
Both ends are ipsecsim nodes here; as initiator it now sends that notify too, as strongSwan
5.9 does (``ike_auth.c`` ``send_auth_failed_informational()``).
"""

from __future__ import annotations

from ipsecsim.core.ike import events as E
from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.core.node import IpsecNode
from ipsecsim.core.node_events import SaInstalled, SaRemoved
from ipsecsim.core.rng import Rng
from tests.core.test_node_pair import A_OUT, B_OUT, Pair, conn


def test_a_rejected_ike_auth_response_tears_the_responder_down() -> None:
    pair = Pair()
    # gw-b authenticates as gw-x.example, which gw-a does not accept as its remote id
    cb = conn(B_OUT, A_OUT, "gw-x.example", "gw-a.example", "10.2.0.0/16", "10.1.0.0/16", False)
    cb["secrets"]["ike-1"]["id-3"] = "gw-x.example"
    pair.b = IpsecNode("gw-b", Rng(1, "b"), [B_OUT, "10.2.0.1"], IkeConfig.from_dict(cb))
    pair.start()
    # IKE_AUTH { IDi, AUTH, SA, TSi, TSr } -->  <-- { IDr=gw-x, AUTH, SA, TSi, TSr }
    # INFORMATIONAL { N(AUTHENTICATION_FAILED) } -->   (once, no answer awaited)
    [fail_a] = pair.of("gw-a", E.IkeFailure)
    assert fail_a.notify == "AUTHENTICATION_FAILED" and fail_a.sent_by_us and fail_a.fatal
    assert any(isinstance(e, SaInstalled) for e in pair.events["gw-b"])  # b had installed
    [fail_b] = pair.of("gw-b", E.IkeFailure)
    assert fail_b.notify == "AUTHENTICATION_FAILED" and not fail_b.sent_by_us and fail_b.fatal
    assert fail_b.reason == "peer rejected our IKE_AUTH response: AUTHENTICATION_FAILED"
    assert pair.of("gw-b", SaRemoved) and pair.of("gw-b", E.IkeSaDown)
    assert not pair.b.children and not pair.b.stack.sa_entries()
    assert not [sa for sa in pair.b.ike.ike_sas.values() if sa.state == "ESTABLISHED"]
    msgs = [(e.direction, e.exchange, e.response, e.payloads) for e in pair.of("gw-a", E.IkeMessageEvent)]
    assert ("out", "INFORMATIONAL", False, "N(AUTH_FAILED)") in msgs or \
        any(m[:3] == ("out", "INFORMATIONAL", False) and "AUTH" in m[3] for m in msgs), msgs
