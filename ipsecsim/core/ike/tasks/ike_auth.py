"""IKE_AUTH (RFC 7296 §1.2, §2.15): identities, AUTH (PSK or signatures) and the first CHILD_SA.

::

    IKE_AUTH { IDi, [CERT], [CERTREQ], [IDr], AUTH, [N(USE_TRANSPORT_MODE)], SA, TSi, TSr } -->
             <-- { IDr, [CERT], AUTH, [N(USE_TRANSPORT_MODE)], SA, TSi, TSr }

A refused CHILD_SA (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE) does not take the
IKE_SA down (§1.2, §2.21.3); a failed AUTH does (AUTHENTICATION_FAILED). When the
initiator cannot use the CHILD_SA the responder made and installed (a proposal we did not
offer, selectors wider than ours, a mode we did not ask for), it keeps the IKE_SA and
deletes that SA with ``INFORMATIONAL { D(ESP, our SPI) }`` -->, as for CREATE_CHILD_SA.

INITIAL_CONTACT (§2.4) and swanctl's ``unique`` (strongSwan 5.9 ``ike_auth.c``,
``ike_sa_manager.c``)::

    IKE_AUTH { IDi, N(INITIAL_CONTACT), [IDr], AUTH, SA, TSi, TSr } -->   (new incarnation)
             <-- { IDr, AUTH, SA, TSi, TSr }    old IKE_SAs with these ids: destroyed, no DELETE

The initiator adds N(INITIAL_CONTACT) when ``remote.id`` is configured without wildcards,
``unique`` is not ``never`` and no other IKE_SA with the same pair of identities (and
address family) exists (``build_i()``, ``has_contact()``; the peer's address does not
matter). The responder, once the AUTH checked out, destroys every other IKE_SA with the
same (local id, remote id) -- whatever its connection or state, without a message, the
shells get ChildSaDown/IkeSaDown -- unless ``unique = never`` (``process_r()`` notes the
notify, ``build_r()`` calls ``check_uniqueness(force_replace=TRUE)``). Then, for any new
IKE_SA, ``unique = replace`` deletes (INFORMATIONAL DELETE) the established IKE_SAs of the
same connection, and ``keep`` refuses the new one with N(AUTHENTICATION_FAILED)
(``check_uniqueness(FALSE)`` at the end of ``build_r()``). Not modelled: 5.9's delayed (10 s)
delete under ``replace`` of a duplicate from the same address ("suspected reauthentication").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...algorithms import PrfAlg
from .. import cp, fragments
from .. import message as M
from .. import states as S
from ..auth import AuthError, build_auth, signed_octets, verify_auth
from ..ids import ID_DER_ASN1_DN, Identity, parse_dn_der
from ..ikesa import ChildSa, IkeError, IkeSa, ident
from ..negotiate import NegotiationError
from . import child_create as CC
from . import informational

if TYPE_CHECKING:
    from ..context import TaskContext
    from ..payloads import Payload


CERT_X509 = M.CERT_X509_SIGNATURE


def _octets(sa: IkeSa, of_initiator: bool, id_body: bytes) -> bytes:
    """What the initiator's (or the responder's) AUTH covers (§2.15): its IKE_SA_INIT
    message, the other side's nonce and prf(SK_pi or SK_pr, its ID payload body)."""
    prf, keys = _prf(sa), sa.keys
    assert keys is not None
    if of_initiator:
        return signed_octets(sa.init_request, sa.nr, prf, keys.sk_pi, id_body)
    return signed_octets(sa.init_response, sa.ni, prf, keys.sk_pr, id_body)


def _prf(sa: IkeSa) -> PrfAlg:
    """The IKE_SA's PRF (IKE_SA_INIT made the keys before IKE_AUTH)."""
    assert sa.suite is not None and sa.suite.prf is not None
    return sa.suite.prf


def _our_payloads(ep: TaskContext, sa: IkeSa, initiator: bool) -> list[Payload]:
    """[ID, CERT*, AUTH] for our side (raises AuthError when we have no credential)."""
    cred = ep.local_credential(sa)
    idp = M.ID(initiator, cred.identity.id_type, cred.identity.data)
    sa.local_id = cred.identity
    auth = build_auth(cred, _octets(sa, initiator, idp.body), _prf(sa), sa.peer_hashes)
    return [idp, *[M.Cert(CERT_X509, c) for c in cred.certs[:1]], auth]


def _verify_peer(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, initiator_id: bool) -> None:
    """Check the peer's ID and AUTH; raise AuthError with the sentence."""
    idp, auth = msg.find_id(initiator_id), msg.find(M.Auth)
    if idp is None or auth is None:
        raise AuthError("IKE_AUTH message lacks the peer's ID or AUTH payload")
    peer_id = Identity(idp.id_type, bytes(idp.data))
    sa.peer_id = peer_id
    certs = [c.data for c in msg.find_all(M.Cert) if c.encoding == CERT_X509]
    sa.peer_cert = verify_auth(auth, _octets(sa, initiator_id, idp.body), _prf(sa),
                               ep.peer_credential(sa, peer_id), certs, peer_id)


CONNECTED = (S.ESTABLISHED, S.REKEYING, S.REKEYED, S.DELETING)
"""States of an IKE_SA in strongSwan's ``connected_peers`` table (``ike_sa_manager.c``): it
enters once established and leaves when destroyed."""


def _family(addr: str) -> int:
    return 6 if ":" in addr else 4


def _wildcards(idn: Identity) -> bool:
    """strongSwan's ``contains_wildcards()``: %any, ``*`` in an FQDN/e-mail, a DN ``CN=*``."""
    if idn.is_any:
        return True
    if idn.id_type == ID_DER_ASN1_DN:
        try:
            return any(a.value == "*" for rdn in parse_dn_der(idn.data).rdns for a in rdn)
        except ValueError:
            return False
    return b"*" in idn.data


def duplicates(ep: TaskContext, sa: IkeSa, local_id: Identity | None,
               peer_id: Identity | None) -> list[IkeSa]:
    """The other IKE_SAs with this pair of identities and ``sa``'s address family, as
    strongSwan's ``create_id_enumerator()`` / ``has_contact()`` find them."""
    fam = _family(sa.remote[0])
    return [o for o in ep.sas_with_ids(local_id, peer_id)
            if o is not sa and o.state in CONNECTED and _family(o.remote[0]) == fam]


def wants_initial_contact(ep: TaskContext, sa: IkeSa) -> bool:
    """Whether our first IKE_AUTH carries N(INITIAL_CONTACT) (``ike_auth.c`` ``build_i()``)."""
    conn = sa.conn
    if conn.unique == "never" or not conn.remote.id:
        return False
    rid = ident(conn.remote.id)
    return not _wildcards(rid) and not duplicates(ep, sa, sa.local_id, rid)


def check_uniqueness(ep: TaskContext, sa: IkeSa, force_replace: bool, now: float) -> bool:
    """Apply ``unique`` to the other IKE_SAs with ``sa``'s identities; True: refuse ``sa``.

    strongSwan ``ike_sa_manager.c`` ``check_uniqueness()``: ``force_replace`` (the peer sent
    INITIAL_CONTACT) destroys every duplicate silently (``checkin_and_destroy()``, no DELETE);
    otherwise only duplicates of the same connection that are ESTABLISHED or REKEYING count:
    ``replace`` deletes them (``enforce_replace()`` -> ``delete()``), ``keep`` refuses ``sa``
    for the first one and deletes any further ones."""
    policy = sa.conn.unique
    if policy == "never" or (policy == "no" and not force_replace):
        return False
    cancel = False
    for dup in duplicates(ep, sa, sa.local_id, sa.peer_id):
        if force_replace:
            ep.destroy(dup, f"replaced by {sa.name}: the peer sent INITIAL_CONTACT", now)
        elif dup.conn == sa.conn and dup.state in (S.ESTABLISHED, S.REKEYING):
            if policy == "replace":
                informational.delete_ike(ep, dup, now, f"replaced by {sa.name} (unique = replace)")
            elif policy == "keep":
                cancel, policy = True, "replace"  # keep the first, delete further duplicates
    return cancel


def new_task(sa: IkeSa) -> IkeAuth:
    """The initiator's IKE_AUTH task: :class:`IkeAuth`, or ``eap.ikeauth.RoundsAuth`` when
    ``sa``'s connection authenticates with EAP or in several rounds."""
    from ..eap import ikeauth

    return ikeauth.RoundsAuth() if ikeauth.uses_rounds(sa.conn) else IkeAuth()


class IkeAuth:
    """Initiator side of IKE_AUTH."""

    exchange = M.IKE_AUTH

    def __init__(self) -> None:
        self.child: ChildSa | None = None

    def ours(self, ep: TaskContext, sa: IkeSa) -> list[Payload]:
        """[IDi, CERT*, AUTH] (``eap/ikeauth.py`` leaves AUTH out to ask for EAP)."""
        return _our_payloads(ep, sa, True)

    def build(self, ep: TaskContext, sa: IkeSa, now: float) -> list[Payload] | None:
        conn = sa.conn
        try:
            ours = self.ours(ep, sa)
        except AuthError as exc:
            ep.fail(sa, "AUTHENTICATION_FAILED", f"cannot authenticate ourselves: {exc}", True, now)
            return None
        auth: list[Payload] = [p for p in ours if isinstance(p, M.Auth)]
        out: list[Payload] = [p for p in ours if not isinstance(p, M.Auth)]
        if wants_initial_contact(ep, sa):  # after IDi and CERT, as strongSwan's message.c
            out.append(M.Notify(M.INITIAL_CONTACT))
        if conn.remote.auth == "pubkey":
            req = ep.certreq(conn)
            if req is not None:
                out.append(req)
        if conn.remote.id and not ident(conn.remote.id).is_any:
            rid = ident(conn.remote.id)
            out.append(M.ID(False, rid.id_type, rid.data))
        out += auth
        out += cp.request(sa)  # CP(CFG_REQUEST) after AUTH, as charon orders IKE_AUTH
        if sa.first_child:
            cfg = conn.child(sa.first_child)
            if cfg.protocol == "ah" and sa.encap:
                ep.failure(sa, "NO_PROPOSAL_CHOSEN", f"CHILD_SA {cfg.name!r}: {CC.AH_NAT}", True,
                           child=cfg.name)
            else:
                self.child = child = CC.new_child(ep, sa, cfg)
                out += CC.offer(child, True, [])
        return out

    def process(self, ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> None:
        if msg.find(M.Auth) is None:
            err = msg.error_notify()
            name = err.name if err is not None else "INVALID_SYNTAX"
            why = ("the peer did not accept our AUTH (wrong pre-shared key, identity or "
                   "certificate)" if name == "AUTHENTICATION_FAILED"
                   else f"peer answered IKE_AUTH with {name}")
            ep.fail(sa, name, why, False, now)
            return
        try:
            _verify_peer(ep, sa, msg, False)
        except AuthError as exc:
            send_auth_failed(ep, sa)
            ep.fail(sa, "AUTHENTICATION_FAILED", str(exc), True, now)
            return
        self.finish(ep, sa, msg, now)

    def finish(self, ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> None:
        """Authentication is done: the IKE_SA is up; take the first CHILD_SA from ``msg``."""
        ep.establish(sa, now)
        cp.process_reply(ep, sa, msg, now)
        child = self.child
        if child is None:
            return
        refused = CC.peer_refusal(child, msg)
        if refused:
            ep.failure(sa, refused[0], refused[1], False, child=child.name)
            return
        try:
            suite, lts, rts, transport = CC.accept_response(ep, sa, child, msg, True)
        except NegotiationError as exc:
            ep.failure(sa, exc.notify, exc.sentence, True, child=child.name)
            # the responder installed its half: delete it, or its traffic to us is lost.
            # strongSwan 5.x child_create.c process_i() does this in IKE_AUTH too:
            # handle_child_sa_failure() (the IKE_SA stays) then delete_failed_sa()
            CC.delete_failed_sa(ep, sa, child, msg, exc.sentence, now)
            return
        CC.complete(ep, sa, child, suite, lts, rts, sa.ni, sa.nr, None, True, transport, now)


def send_auth_failed(ep: TaskContext, sa: IkeSa) -> None:
    """RFC 7296 §2.21.2: the responder counts the IKE_SA as up once it has sent its IKE_AUTH
    response, so an initiator that cannot verify that response tells it with an
    INFORMATIONAL { N(AUTHENTICATION_FAILED) } -- sent once, not retransmitted, the IKE_SA
    destroyed right after (strongSwan 5.9 ``ike_auth.c`` ``send_auth_failed_informational()``)."""
    msg = M.IkeMessage(sa.spi_i, sa.spi_r, M.INFORMATIONAL, sa.next_send_mid, sa.initiator,
                       False, [M.Notify(M.AUTHENTICATION_FAILED)])
    sa.next_send_mid += 1
    ep.transmit(sa, fragments.encode(ep, sa, msg), msg, msg.summary(), 0)


def respond(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> list[Payload]:
    """Responder side: verify the initiator, authenticate ourselves, set up the first child."""
    from ..eap import ikeauth  # it builds on this module

    if ikeauth.takes(sa, msg):  # EAP (RFC 7296 §2.16) or several rounds (RFC 4739)
        return ikeauth.respond(ep, sa, msg, now)
    idp = msg.find_id(True)
    if idp is None or msg.find(M.Auth) is None:
        raise IkeError(M.INVALID_SYNTAX, "IKE_AUTH request lacks IDi or AUTH")
    ep.pick_conn_for_id(sa, Identity(idp.id_type, bytes(idp.data)))
    ikeauth.check_rounds_done(sa)
    try:
        _verify_peer(ep, sa, msg, True)
        out = _our_payloads(ep, sa, False)
    except AuthError as exc:
        raise IkeError(M.AUTHENTICATION_FAILED, str(exc)) from None
    return finish_respond(ep, sa, msg, out, now)


def finish_respond(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, out: list[Payload],
                   now: float) -> list[Payload]:
    """The peer is authenticated (``out``: our last payloads): apply ``unique``, bring the
    IKE_SA up and answer the first CHILD_SA of ``msg`` (the first IKE_AUTH request)."""
    if msg.msg_id == 1 and msg.notify(M.INITIAL_CONTACT) is not None:
        check_uniqueness(ep, sa, True, now)
    if check_uniqueness(ep, sa, False, now):
        raise IkeError(M.AUTHENTICATION_FAILED, "unique = keep: an IKE_SA with "
                       f"{sa.peer_id} already exists, this one is refused")
    ep.establish(sa, now)
    cp_out, child_ok = cp.respond(ep, sa, msg)  # before the child: its TSi is the lease
    out += cp_out
    if msg.find(M.SA) is None or not child_ok:
        return out
    try:
        cfg, suite, tsi, tsr = CC.select_child(ep, sa, msg, True)
    except IkeError as err:
        ep.failure(sa, M.NOTIFY_NAMES[err.notify], err.sentence, True, child=err.child)
        return [*out, M.Notify(err.notify, data=err.data)]
    child = CC.new_child(ep, sa, cfg)
    transport = CC.wants_transport(cfg, msg)
    CC.complete(ep, sa, child, suite, tsr, tsi, sa.ni, sa.nr, None, False, transport, now)
    return out + CC.answer(child, suite, [], tsi, tsr, transport)
