"""One EAP conversation inside IKE_AUTH, as charon's ``eap_authenticator.c`` runs it.

:class:`EapClient` is the IKE initiator's side (the EAP peer), :class:`EapServer` the
responder's (the EAP authenticator). Both take EAP packets in and hand packets out; neither
knows IKE. What charon logs at level 1 on the way is kept as :class:`Step` records (the
authenticator turns them into events); a failure raises :class:`~.packet.EapError` with the
sentence.

Server, ``server_initiate_eap()`` / ``server_process_eap()``: when the remote round has an
``eap_id`` (any value, usually ``%any``) it first asks EAP-Identity (identifier 0), else the
EAP identity is the peer's IKE identity; then the configured method. A Nak to it, or a method
failure, answers EAP-Failure; success answers EAP-Success with the response's identifier.

Client, ``client_process_eap()``: EAP-Identity is answered with ``eap_id`` (default: our IKE
identity); the first request of a method is accepted when it is the configured one (any
method we know for ``auth = eap``), otherwise answered with a Nak naming ours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import methods as Mt
from . import packet as P
from .packet import EapError, EapPacket
from .tls import TlsPeer, TlsServer

Secret = Callable[[bytes], "bytes | None"]


@dataclass(frozen=True, slots=True)
class Step:
    """Something charon logs during EAP: ``kind`` and what the line names."""

    kind: str
    """``identity_requested``, ``method_requested``, ``nak_sent``, ``client_succeeded``,
    ``initiating``, ``identity_received``, ``nak_received``, ``server_succeeded``,
    ``server_failed``, ``failure_received``, ``method_failed``, ``mschapv2_succeeded``; and
    from the IKE side (``ikeauth``): ``peer_authed`` / ``self_authed`` (the certificate or PSK
    round), ``auth_ok`` / ``auth_self`` (the AUTH after EAP)."""
    method: str = ""
    """charon's name of the EAP type (``EAP_MD5``)."""
    ident: int = 0
    """The EAP Identifier concerned."""
    text: str = ""
    """An identity, a message, or the other method named (Nak)."""
    msk: bool = False
    """Whether the method established an MSK (``succeeded`` steps)."""


PeerMethod = Mt.Md5Peer | Mt.MsChapV2Peer | TlsPeer
ServerMethod = Mt.IdentityServer | Mt.Md5Server | Mt.MsChapV2Server | TlsServer


def _new_peer(t: int, identity: bytes, secret: bytes, rand: Mt.Rand) -> PeerMethod:
    if t == P.MD5:
        return Mt.Md5Peer(secret)
    return Mt.MsChapV2Peer(identity, secret, rand)


PEER_TYPES = (P.MD5, P.MSCHAPV2)
"""Password methods the client answers; EAP-TLS when it was given a ``tls`` factory."""


class EapClient:
    """The EAP peer of one authentication round."""

    def __init__(self, wanted: int, identity: bytes, secret: Secret, rand: Mt.Rand,
                 tls: Callable[[], TlsPeer] | None = None) -> None:
        self.tls = tls
        """Makes our EAP-TLS peer (certificate, key, trusted CAs), when we have them."""
        self.wanted = wanted
        """The configured type (0: ``auth = eap``, any we know)."""
        self.identity = identity
        self.secret = secret
        self.rand = rand
        self.method: PeerMethod | None = None
        self.steps: list[Step] = []
        self.msk: bytes | None = None
        self.done = False
        self.refused = ""
        """The server's method we answered with a Nak."""

    @property
    def type_name(self) -> str:
        return P.type_name(self.method.type if self.method else self.wanted)

    def receive(self, pkt: EapPacket) -> EapPacket | None:
        """The answer to a request; None after EAP-Success (the MSK, if any, is in ``msk``)."""
        if pkt.code == P.SUCCESS:
            if self.method is None:
                raise EapError("received unexpected EAP_SUCCESS before any EAP method ran")
            self.msk, self.done = self.method.msk, True
            self.steps.append(Step("client_succeeded", P.type_name(self.method.type),
                                   msk=self.msk is not None))
            return None
        if pkt.code == P.FAILURE:
            self.steps.append(Step("failure_received"))
            if self.refused:
                raise EapError(f"the EAP server does not offer {P.type_name(self.wanted or P.MD5)}"
                               f": it asked for {self.refused}, we answered EAP_NAK, it ended "
                               "with EAP_FAILURE")
            raise EapError(f"the EAP server answered EAP_FAILURE: it did not accept our "
                           f"{P.METHOD_LABELS.get(self.method.type if self.method else self.wanted, 'EAP')} "
                           f"authentication as '{self.identity.decode(errors='replace')}' "
                           "(wrong EAP secret, or a method it refused)")
        if pkt.code != P.REQUEST:
            raise EapError(f"received {pkt.name} where the EAP server sends requests")
        if pkt.type == P.IDENTITY:
            self.steps.append(Step("identity_requested", "EAP_IDENTITY", pkt.ident,
                                   self.identity.decode(errors="replace")))
            return Mt.IdentityPeer(self.identity).process(pkt)
        if self.method is None:
            self.steps.append(Step("method_requested", pkt.name, pkt.ident))
            known = PEER_TYPES + ((P.TLS,) if self.tls else ())
            if pkt.type not in known or (self.wanted and pkt.type != self.wanted):
                ours = self.wanted or P.MD5
                self.steps.append(Step("nak_sent", P.type_name(ours)))
                self.refused = pkt.name
                return P.nak(pkt.ident, ours)
            if pkt.type == P.TLS and self.tls is not None:
                self.method = self.tls()
            else:
                secret = self.secret(self.identity)
                if secret is None:
                    raise EapError(f"no EAP secret for '{self.identity.decode(errors='replace')}' "
                                   "in secrets")
                self.method = _new_peer(pkt.type, self.identity, secret, self.rand)
        if pkt.type != self.method.type:
            raise EapError(f"the EAP server switched from {self.type_name} to {pkt.name}")
        try:
            out = self.method.process(pkt)
        except EapError:
            self.steps.append(Step("method_failed", self.type_name))
            raise
        if isinstance(self.method, Mt.MsChapV2Peer) and self.method.msk is not None:
            self.steps.append(Step("mschapv2_succeeded", text=self.method.message))
        return out


class EapServer:
    """The EAP authenticator of one round of the peer's."""

    def __init__(self, method: int, identity: bytes, ask_identity: bool, secret: Secret,
                 rand: Mt.Rand, tls: Callable[[], TlsServer] | None = None) -> None:
        self.tls = tls
        self.type = method
        self.identity = identity
        """The peer's EAP identity (its IKE identity, until EAP-Identity tells another)."""
        self.secret = secret
        self.rand = rand
        self.method: ServerMethod | None = None
        self.ask_identity = ask_identity
        self.steps: list[Step] = []
        self.msk: bytes | None = None
        self.done = False

    def _start(self) -> EapPacket:
        if self.type == P.MD5:
            self.method = Mt.Md5Server(self.identity, self.secret, self.rand)
        elif self.type == P.MSCHAPV2:
            self.method = Mt.MsChapV2Server(self.identity, self.secret, self.rand)
        elif self.type == P.TLS and self.tls is not None:
            self.method = self.tls()
        else:
            raise EapError(f"{P.type_name(self.type)} is not modelled as an EAP server method "
                           "(EAP-TLS needs our certificate and key)")
        out = self.method.initiate()
        self.steps.append(Step("initiating", P.type_name(self.type), out.ident))
        return out

    def initiate(self) -> EapPacket:
        """The first request."""
        if self.ask_identity:
            self.method = Mt.IdentityServer()
            out = self.method.initiate()
            self.steps.append(Step("initiating", "EAP_IDENTITY", out.ident))
            return out
        return self._start()

    def receive(self, pkt: EapPacket) -> EapPacket:
        """The next request, EAP-Success, or EAP-Failure (then ``failure`` holds why)."""
        m = self.method
        assert m is not None
        if pkt.code != P.RESPONSE:
            return self._fail(pkt.ident, f"received {pkt.name} where the EAP peer answers")
        if pkt.type == P.NAK:
            wanted = P.type_name(pkt.data[0]) if pkt.data else "none"
            self.steps.append(Step("nak_received"))
            return self._fail(pkt.ident, f"the peer does not offer {P.type_name(m.type)}: it "
                              f"answered with EAP_NAK asking for {wanted}", step=False)
        if pkt.type != m.type:
            return self._fail(pkt.ident, f"received invalid EAP response ({pkt.name} to a "
                              f"{P.type_name(m.type)} request)")
        try:
            nxt = m.process(pkt)
        except EapError as exc:
            return self._fail(pkt.ident, str(exc))
        if nxt is not None:
            return nxt
        if isinstance(m, Mt.IdentityServer):
            self.identity = m.identity
            self.steps.append(Step("identity_received", text=m.identity.decode(errors="replace")))
            return self._start()
        if isinstance(m, Mt.MsChapV2Server) and m.username:
            self.identity = m.username
        self.msk, self.done = m.msk, True
        self.steps.append(Step("server_succeeded", P.type_name(m.type), msk=self.msk is not None))
        return EapPacket(P.SUCCESS, pkt.ident)

    failure: str = ""

    def _fail(self, ident: int, why: str, step: bool = True) -> EapPacket:
        self.failure = why
        if step:
            self.steps.append(Step("server_failed", P.type_name(self.method.type if self.method
                                                                 else self.type),
                                   text=self.identity.decode(errors="replace")))
        return EapPacket(P.FAILURE, ident)
