"""EAP in IKE_AUTH (RFC 7296 §2.16) and several authentication rounds (RFC 4739).

The initiator leaves AUTH out of its first IKE_AUTH request to ask for EAP; the responder
authenticates itself (certificate or PSK) and carries the EAP conversation in further
IKE_AUTH exchanges; then both send an AUTH keyed with the MSK, or, for a method without
one (EAP-MD5), with SK_pi / SK_pr as charon does (``keymat_v2.c`` ``get_psk_sig()``)::

    IKE_AUTH { IDi, [IDr], SA, TSi, TSr } -->
             <-- { IDr, [CERT], AUTH, EAP(Request/Identity or /method) }
    IKE_AUTH { EAP(Response) } -->            ... as many as the method needs
             <-- { EAP(Success) }
    IKE_AUTH { AUTH = prf(prf(MSK, "Key Pad for IKEv2"), InitiatorSignedOctets) } -->
             <-- { AUTH (the same with ResponderSignedOctets), SA, TSi, TSr }

With rounds (swanctl ``local-1 {auth = pubkey} local-2 {auth = eap-md5}``; both sides
announce N(MULTIPLE_AUTH_SUPPORTED)), the first round's AUTH carries
N(ANOTHER_AUTH_FOLLOWS) and the next round starts with ``IKE_AUTH { IDi } -->``.
Modelled: the first round psk, pubkey or EAP, further rounds EAP; the responder in one round
(psk or pubkey; EAP-only authentication, RFC 5998, is not modelled). The EAP methods are in
:mod:`.conversation` and :mod:`.methods`; the steps charon logs become :class:`EapStep` events.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import message as M
from .. import taskmanager as _tm
from ..auth import SHARED_KEY_MIC, AuthError, psk_auth, signed_octets
from ..config import AuthConfig, ConnectionConfig
from ..events import EapStep
from ..ids import ID_FQDN, ID_KEY_ID, ID_RFC822_ADDR, Identity
from ..ikesa import IkeError, IkeSa, id_text, ident
from ..payloads import EapPayload
from ..tasks import ike_auth as IA
from . import packet as P
from .conversation import EapClient, EapServer, Step
from .packet import EapError
from .tls import TlsPeer, TlsServer, ca_pem, pem_chain

if TYPE_CHECKING:
    from ..context import TaskContext
    from ..payloads import Payload


def local_rounds(conn: ConnectionConfig) -> tuple[AuthConfig, ...]:
    return (conn.local, *conn.local_rounds)


def remote_rounds(conn: ConnectionConfig) -> tuple[AuthConfig, ...]:
    return (conn.remote, *conn.remote_rounds)


def uses_rounds(conn: ConnectionConfig) -> bool:
    """Whether ``conn`` needs this module: EAP on our side, or more than one round."""
    return bool(conn.local_rounds or conn.remote_rounds) or conn.local.auth.startswith("eap")


def multi_auth(conn: ConnectionConfig) -> bool:
    return bool(conn.local_rounds or conn.remote_rounds)


@dataclass
class Rounds:
    """The IKE_AUTH conversation of one IKE_SA (``IkeSa.auth_rounds``)."""

    local_done: int = 0
    """Our rounds completed (initiator) / the peer's (responder: ``remote_done``)."""
    remote_done: int = 0
    responder_authed: bool = False
    """Initiator: the responder's certificate/PSK AUTH checked out."""
    first: M.IkeMessage | None = None
    """Responder: the first IKE_AUTH request (its SA, TSi, TSr make the first CHILD_SA)."""
    client: EapClient | None = None
    server: EapServer | None = None
    eap_auth_sent: bool = False
    """Initiator: our MSK/SK_p AUTH of the current EAP round is on its way."""
    i_id_body: bytes = b""
    """The initiator's ID payload body of the current round (what its AUTH covers)."""
    r_id_body: bytes = b""
    """The responder's ID payload body."""
    msk: bytes | None = None
    extra: list[Payload] = field(default_factory=list)


def _eap_identity(cfg: AuthConfig, idn: Identity) -> bytes:
    if cfg.eap_id and cfg.eap_id not in ("%any", "*"):
        return cfg.eap_id.encode()
    if idn.id_type in (ID_FQDN, ID_RFC822_ADDR, ID_KEY_ID):
        return bytes(idn.data)
    return id_text(idn).encode()


def _id_body(payloads: list[Payload]) -> bytes:
    """The body of the ID payload that leads our [ID, CERT*, AUTH]."""
    idp = payloads[0]
    assert isinstance(idp, M.ID)
    return idp.body


def _method(cfg: AuthConfig) -> int:
    return P.METHODS.get(cfg.auth, 0)


def _emit(ep: TaskContext, sa: IkeSa, steps: list[Step], identity: str = "") -> None:
    for st in steps:
        ep.emit(EapStep(sa.name, st, identity))
    steps.clear()


def _key(sa: IkeSa, msk: bytes | None, of_initiator: bool) -> bytes:
    keys = sa.keys
    assert keys is not None
    return msk if msk else (keys.sk_pi if of_initiator else keys.sk_pr)


def eap_auth_data(sa: IkeSa, msk: bytes | None, of_initiator: bool, id_body: bytes) -> bytes:
    """RFC 7296 §2.16: the AUTH of an EAP round, a shared-key MIC keyed with the MSK (or,
    without one, with SK_pi / SK_pr) over that side's signed octets."""
    prf_alg, keys = IA._prf(sa), sa.keys
    assert keys is not None
    if of_initiator:
        octets = signed_octets(sa.init_request, sa.nr, prf_alg, keys.sk_pi, id_body)
    else:
        octets = signed_octets(sa.init_response, sa.ni, prf_alg, keys.sk_pr, id_body)
    return psk_auth(prf_alg, _key(sa, msk, of_initiator), octets)


def _auth_payload(sa: IkeSa, msk: bytes | None, of_initiator: bool, id_body: bytes) -> M.Auth:
    return M.Auth(SHARED_KEY_MIC, eap_auth_data(sa, msk, of_initiator, id_body))


def _check_eap_auth(sa: IkeSa, msg: M.IkeMessage, msk: bytes | None, of_initiator: bool,
                    id_body: bytes) -> None:
    auth = msg.find(M.Auth)
    if auth is None:
        raise AuthError("AUTH payload missing after EAP")
    if not hmac.compare_digest(bytes(auth.data), eap_auth_data(sa, msk, of_initiator, id_body)):
        raise AuthError(f"verification of AUTH payload with{'' if msk else 'out'} EAP MSK "
                        "failed: the peer did not key its AUTH with what EAP established")


def _secret_for(ep: TaskContext, other: str) -> Callable[[bytes], bytes | None]:
    """The EAP password lookup of one side: by the EAP identity and ``other`` (our or the
    peer's IKE identity), as charon's ``get_shared(SHARED_EAP, me, other)``."""
    return lambda identity: ep.config.eap_secret(identity.decode(errors="replace"), other)


def _tls_peer(ep: TaskContext, sa: IkeSa, cfg: AuthConfig) -> Callable[[], TlsPeer] | None:
    """EAP-TLS as the client: our round's certificate and key (``certs``/``key`` or the CA's),
    the CAs we trust for the server."""
    if cfg.auth not in ("eap", "eap-tls"):
        return None

    def make() -> TlsPeer:
        cred = ep.local_credential(sa)
        peer = ep.peer_credential(sa, sa.peer_id or Identity.from_body(b"\x00\x00\x00\x00"))
        return TlsPeer(pem_chain(cred.certs, cred.key), ca_pem(peer.anchors))
    return make


def _tls_server(ep: TaskContext, sa: IkeSa, peer: Identity) -> Callable[[], TlsServer] | None:
    def make() -> TlsServer:
        cred = ep.local_credential(sa)
        return TlsServer(pem_chain(cred.certs, cred.key),
                         ca_pem(ep.peer_credential(sa, peer).anchors), ep.rng.bytes)
    return make


# ===================================================================== initiator


class RoundsAuth(IA.IkeAuth):
    """The initiator's IKE_AUTH across its exchanges: one request per step of the rounds."""

    def __init__(self) -> None:
        super().__init__()
        self.next: list[Payload] | None = None
        """The payloads of our next request (None: the first, built by :class:`IkeAuth`)."""

    def ours(self, ep: TaskContext, sa: IkeSa) -> list[Payload]:
        sa.auth_rounds = st = Rounds()
        conn = sa.conn
        first = conn.local
        if not first.auth.startswith("eap"):
            out = IA._our_payloads(ep, sa, True)
        else:
            me = ident(first.id or sa.local[0])
            sa.local_id = me
            out = [M.ID(True, me.id_type, me.data)]
        st.i_id_body = _id_body(out)
        if multi_auth(conn):
            st.extra.append(M.Notify(M.MULTIPLE_AUTH_SUPPORTED))
            if conn.local_rounds and not first.auth.startswith("eap"):
                st.extra.append(M.Notify(M.ANOTHER_AUTH_FOLLOWS))
        return out

    def build(self, ep: TaskContext, sa: IkeSa, now: float) -> list[Payload] | None:
        if self.next is not None:
            nxt, self.next = self.next, None
            return nxt
        out = super().build(ep, sa, now)
        st = sa.auth_rounds
        if out is not None and st is not None:
            out += st.extra
            st.extra = []
        return out

    def _again(self, ep: TaskContext, sa: IkeSa, payloads: list[Payload], now: float) -> None:
        self.next = payloads
        _tm.queue(ep, sa, self, now, front=True)

    def process(self, ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> None:
        st = sa.auth_rounds
        assert st is not None
        eap = msg.find(EapPayload)
        if msg.find(M.Auth) is None and eap is None:
            IA.IkeAuth.process(self, ep, sa, msg, now)  # the peer's error notify, said as usual
            return
        try:
            self._step(ep, sa, st, msg, eap, now)
        except AuthError as exc:
            IA.send_auth_failed(ep, sa)
            ep.fail(sa, "AUTHENTICATION_FAILED", str(exc), True, now)
        except EapError as exc:
            if st.client is not None:
                _emit(ep, sa, st.client.steps)
            peer_refused = eap is not None and eap.data[:1] == bytes([P.FAILURE])
            ep.fail(sa, "AUTHENTICATION_FAILED", str(exc), not peer_refused, now)

    def _step(self, ep: TaskContext, sa: IkeSa, st: Rounds, msg: M.IkeMessage,
              eap: EapPayload | None, now: float) -> None:
        conn = sa.conn
        if not st.responder_authed:
            IA._verify_peer(ep, sa, msg, False)
            idr = msg.find_id(False)
            assert idr is not None
            st.r_id_body = idr.body
            st.responder_authed = True
            _emit(ep, sa, [Step("peer_authed")], id_text(Identity.from_body(idr.body)))
            if not conn.local.auth.startswith("eap"):
                st.local_done = 1  # our certificate/PSK round went with the first request
        elif st.eap_auth_sent:
            _check_eap_auth(sa, msg, st.msk, False, st.r_id_body)
            _emit(ep, sa, [Step("auth_ok")], id_text(sa.peer_id) if sa.peer_id else "")
            st.eap_auth_sent, st.client = False, None
            st.local_done += 1
        rounds = local_rounds(conn)
        if eap is not None:
            self._eap(ep, sa, st, rounds[st.local_done], eap, now)
            return
        if st.local_done < len(rounds):  # RFC 4739: the next round starts with its IDi alone
            cfg = rounds[st.local_done]
            me = ident(cfg.id) if cfg.id else sa.local_id or ident(sa.local[0])
            idp = M.ID(True, me.id_type, me.data)
            st.i_id_body = idp.body
            self._again(ep, sa, [idp], now)
            return
        self.finish(ep, sa, msg, now)

    def _eap(self, ep: TaskContext, sa: IkeSa, st: Rounds, cfg: AuthConfig, eap: EapPayload,
             now: float) -> None:
        pkt = P.decode(bytes(eap.data))
        if st.client is None:
            me = Identity.from_body(st.i_id_body)
            server = id_text(sa.peer_id) if sa.peer_id else sa.remote[0]
            st.client = EapClient(_method(cfg), _eap_identity(cfg, me),
                                  _secret_for(ep, server), ep.rng.bytes, _tls_peer(ep, sa, cfg))
        client = st.client
        out = client.receive(pkt)
        _emit(ep, sa, client.steps)
        if out is not None:
            self._again(ep, sa, [EapPayload(P.encode(out))], now)
            return
        st.msk, st.eap_auth_sent = client.msk, True
        me = Identity.from_body(st.i_id_body)
        _emit(ep, sa, [Step("auth_self")], id_text(me))
        self._again(ep, sa, [_auth_payload(sa, st.msk, True, st.i_id_body)], now)


# ===================================================================== responder


def takes(sa: IkeSa, msg: M.IkeMessage) -> bool:
    """Whether this module answers the IKE_AUTH request ``msg`` (EAP asked for or under way,
    or a further round announced)."""
    return (sa.auth_rounds is not None or msg.find(M.Auth) is None
            or msg.notify(M.ANOTHER_AUTH_FOLLOWS) is not None)


def check_rounds_done(sa: IkeSa) -> None:
    """A one-round IKE_AUTH request: refuse it when our config wants more of the peer."""
    conn = sa.conn
    if conn.remote_rounds:
        raise IkeError(M.AUTHENTICATION_FAILED, f"connection {conn.name!r} requires "
                       f"{len(conn.remote_rounds) + 1} authentication rounds (RFC 4739), the "
                       "peer authenticated once without N(ANOTHER_AUTH_FOLLOWS)")
    if conn.remote.auth.startswith("eap"):
        raise IkeError(M.AUTHENTICATION_FAILED, f"connection {conn.name!r} requires "
                       f"{conn.remote.auth} authentication of the peer, which sent an AUTH "
                       "payload instead of asking for EAP")


class EapFailed(IkeError):
    """The EAP method failed: answer with EAP-Failure (no notify, as charon) and end the SA."""

    def __init__(self, sentence: str, packet: P.EapPacket) -> None:
        super().__init__(M.AUTHENTICATION_FAILED, sentence)
        self.payloads: list[Payload] = [EapPayload(P.encode(packet))]


def _start_server(ep: TaskContext, sa: IkeSa, st: Rounds, cfg: AuthConfig) -> Payload:
    method = _method(cfg)
    if not method:
        raise IkeError(M.AUTHENTICATION_FAILED, f"connection {sa.conn.name!r}: remote auth = "
                       f"{cfg.auth} names no EAP method to ask the peer for (give eap-md5, "
                       "eap-mschapv2 or eap-tls)")
    peer = Identity.from_body(st.i_id_body)
    me = id_text(sa.local_id) if sa.local_id else sa.local[0]
    st.server = EapServer(method, _eap_identity(cfg, peer), bool(cfg.eap_id),
                          _secret_for(ep, me), ep.rng.bytes, _tls_server(ep, sa, peer))
    try:
        first = st.server.initiate()
    except EapError as exc:
        raise IkeError(M.AUTHENTICATION_FAILED, str(exc)) from None
    _emit(ep, sa, st.server.steps)
    return EapPayload(P.encode(first))


def respond(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> list[Payload]:
    """The responder's answer to an IKE_AUTH request of an EAP or multi-round conversation."""
    st = sa.auth_rounds
    if st is None:
        return _first(ep, sa, msg, now)
    rounds = remote_rounds(sa.conn)
    if st.server is None:  # a further round: IKE_AUTH { IDi } -->
        idp = msg.find_id(True)
        if idp is None or st.remote_done >= len(rounds):
            raise IkeError(M.AUTHENTICATION_FAILED, "unexpected IKE_AUTH request: every "
                           "authentication round of the peer is done")
        st.i_id_body = idp.body
        return [_start_server(ep, sa, st, rounds[st.remote_done])]
    server = st.server
    if not server.done:
        eap = msg.find(EapPayload)
        if eap is None:
            raise IkeError(M.AUTHENTICATION_FAILED, "IKE_AUTH request without the EAP payload "
                           "the conversation needs")
        try:
            out = server.receive(P.decode(bytes(eap.data)))
        except EapError as exc:
            raise IkeError(M.AUTHENTICATION_FAILED, str(exc)) from None
        _emit(ep, sa, server.steps)
        if out.code == P.FAILURE:
            raise EapFailed(f"EAP authentication of '{server.identity.decode(errors='replace')}' "
                            f"failed: {server.failure}", out)
        return [EapPayload(P.encode(out))]
    peer = Identity.from_body(st.i_id_body)
    try:
        _check_eap_auth(sa, msg, server.msk, True, st.i_id_body)
    except AuthError as exc:
        raise IkeError(M.AUTHENTICATION_FAILED, str(exc)) from None
    _emit(ep, sa, [Step("auth_ok")], id_text(peer))
    me = Identity.from_body(st.r_id_body)
    _emit(ep, sa, [Step("auth_self")], id_text(me))
    out_auth: list[Payload] = [_auth_payload(sa, server.msk, False, st.r_id_body)]
    st.msk, st.server = server.msk, None
    st.remote_done += 1
    if msg.notify(M.ANOTHER_AUTH_FOLLOWS) is not None or st.remote_done < len(rounds):
        return out_auth
    assert st.first is not None
    return IA.finish_respond(ep, sa, st.first, out_auth, now)


def _first(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> list[Payload]:
    idp = msg.find_id(True)
    if idp is None:
        raise IkeError(M.INVALID_SYNTAX, "IKE_AUTH request lacks IDi")
    ep.pick_conn_for_id(sa, Identity(idp.id_type, bytes(idp.data)))
    sa.auth_rounds = st = Rounds(first=msg, i_id_body=idp.body)
    rounds = remote_rounds(sa.conn)
    eap_asked = msg.find(M.Auth) is None
    try:
        if eap_asked:
            sa.peer_id = Identity(idp.id_type, bytes(idp.data))
            if not rounds[0].auth.startswith("eap"):
                raise AuthError(f"the peer asked for EAP, but connection {sa.conn.name!r} "
                                f"wants remote auth = {rounds[0].auth}")
        else:
            IA._verify_peer(ep, sa, msg, True)
            st.remote_done = 1
        out = IA._our_payloads(ep, sa, False)
    except AuthError as exc:
        raise IkeError(M.AUTHENTICATION_FAILED, str(exc)) from None
    st.r_id_body = _id_body(out)
    if not eap_asked:
        _emit(ep, sa, [Step("peer_authed")], id_text(Identity.from_body(idp.body)))
    if multi_auth(sa.conn) and msg.notify(M.MULTIPLE_AUTH_SUPPORTED) is not None:
        out.append(M.Notify(M.MULTIPLE_AUTH_SUPPORTED))
    first_eap = _start_server(ep, sa, st, rounds[0]) if eap_asked else None
    # charon logs its own AUTH after "initiating EAP_... method" (process_r, then build_r)
    _emit(ep, sa, [Step("self_authed")], id_text(Identity.from_body(st.r_id_body)))
    if first_eap is not None:
        return [*out, first_eap]
    if msg.notify(M.ANOTHER_AUTH_FOLLOWS) is None:
        if st.remote_done < len(rounds):
            check_rounds_done(sa)
        return IA.finish_respond(ep, sa, msg, out, now)
    if st.remote_done >= len(rounds):
        raise IkeError(M.AUTHENTICATION_FAILED, "the peer announced another authentication "
                       f"round, but connection {sa.conn.name!r} has none configured")
    return out


def init_notifies(conn: ConnectionConfig) -> list[Payload]:
    """IKE_SA_INIT: N(MULTIPLE_AUTH_SUPPORTED) when ``conn`` has several rounds (only then,
    so that one-round handshakes keep their bytes)."""
    return [M.Notify(M.MULTIPLE_AUTH_SUPPORTED)] if multi_auth(conn) else []
