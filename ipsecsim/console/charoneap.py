"""charon's daemon.log lines for EAP in IKE_AUTH (strongSwan 5.9
``sa/ikev2/authenticators/eap_authenticator.c``, ``plugins/eap_mschapv2/eap_mschapv2.c``).

The core reports each step as an :class:`~ipsecsim.core.ike.eap.ikeauth.EapStep`; this module
says it as charon does, for example::

    server requested EAP_IDENTITY (id 0x00), sending 'carol'
    server requested EAP_MD5 authentication (id 0x5A)
    EAP method EAP_MD5 succeeded, no MSK established
    authentication of 'carol' (myself) with EAP
    authentication of 'moon.strongswan.org' with EAP successful

An IKE_SA that ran EAP logs its authentication lines from these steps (its record is marked
``eap``), not from its establishment as a one-round IKE_SA does.
"""

from __future__ import annotations

from ..core.ike.eap.conversation import Step


def line(step: Step, identity: str, ours: str, theirs: str) -> str | None:
    """The text charon logs for ``step`` (``ours``/``theirs``: the certificate or PSK round's
    method as charon names it), or None for a step it does not log at level 1."""
    k, m = step.kind, step.method
    msk = "" if step.msk else "no "
    psk = ours == "pre-shared key"
    texts = {
        "identity_requested": f"server requested {m} (id 0x{step.ident:02X}), sending '{step.text}'",
        "method_requested": f"server requested {m} authentication (id 0x{step.ident:02X})",
        "nak_sent": f"requesting {m} authentication, sending EAP_NAK",
        "client_succeeded": f"EAP method {m} succeeded, {msk}MSK established",
        "server_succeeded": f"EAP method {m} succeeded, {msk}MSK established",
        "failure_received": "received EAP_FAILURE, EAP authentication failed",
        "method_failed": f"{m} method failed",
        "mschapv2_succeeded": f"EAP-MS-CHAPv2 succeeded: '{step.text}'",
        "initiating": f"initiating {m} method (id 0x{step.ident:02X})",
        "identity_received": f"received EAP identity '{step.text}'",
        "nak_received": "received EAP_NAK, sending EAP_FAILURE",
        "server_failed": f"EAP method {m} failed for peer {step.text}",
        "auth_ok": f"authentication of '{identity}' with EAP successful",
        "auth_self": f"authentication of '{identity}' (myself) with EAP",
        "peer_authed": f"authentication of '{identity}' with {theirs} successful",
        "self_authed": f"authentication of '{identity}' (myself) with {ours}"
                       + ("" if psk else " successful"),
    }
    return texts.get(k)
