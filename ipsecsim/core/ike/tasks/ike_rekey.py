"""IKE_SA rekeying (RFC 7296 §1.3.2, §2.18) and the IKE_SA's own lifetime.

::

    CREATE_CHILD_SA { SA(IKE, new SPIi), Ni, KEi } -->
                    <-- { SA(IKE, new SPIr), Nr, KEr }
    INFORMATIONAL { D(IKE) } -->   (on the old IKE_SA)
                  <-- { }

SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr); the CHILD_SAs move to the new
IKE_SA, whose original initiator is the initiator of this exchange. Colliding
rekeys (§2.8.2): the exchange with the lowest nonce made the redundant IKE_SA.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ... import algorithms as A
from .. import cp
from .. import events as E
from .. import message as M
from .. import states as S
from .. import taskmanager as tm
from ..dh import DhError, new_key_exchange
from ..ikesa import IkeError, IkeSa
from ..kdf import derive_ike_keys
from ..negotiate import NegotiationError, Suite, select_proposal
from . import informational
from .ike_init import NONCE_SIZE, answer_ke, set_ciphers
from .informational import Informational

if TYPE_CHECKING:
    from ..context import TaskContext
    from ..payloads import Payload


def sa_up_event(sa: IkeSa) -> E.IkeSaUp:
    s, k = sa.suite, sa.keys
    assert s is not None and s.encr is not None and s.prf is not None and k is not None
    return E.IkeSaUp(sa.name, sa.conn.name, sa.local, sa.remote, sa.spi_i, sa.spi_r, sa.initiator,
                     s.encr.name, s.integ.name if s.integ else "", s.prf.name,
                     A.DH_GROUPS[s.dh].name if s.dh in A.DH_GROUPS else str(s.dh),
                     k.sk_ei, k.sk_er, k.sk_ai, k.sk_ar)


def schedule(ep: TaskContext, sa: IkeSa, now: float) -> None:
    """Arm the IKE_SA's rekey (with seeded jitter) and its hard end: ``over_time`` after the
    earlier of rekey_time and the reauthentication (``sa.reauth_at``, armed before this),
    as strongSwan's ``ike_sa.c`` ``set_state()`` computes ``STAT_DELETE``."""
    c = sa.conn
    ends = [sa.reauth_at] if sa.reauth_at is not None else []
    if c.rekey_time:
        sa.rekey_at = now + c.rekey_time - ep.rng.uniform(0, c.rand_time)
        ends.append(now + c.rekey_time)
    else:
        sa.rekey_at = None
    sa.expire_at = min(ends) + c.over_time if ends else None


def timers(ep: TaskContext, sa: IkeSa, now: float) -> None:
    if sa.expire_at is not None and now >= sa.expire_at:
        sa.expire_at = None
        if sa.state in (S.CREATED, S.CONNECTING):
            ep.failure(sa, "TIMEOUT", "half-open IKE_SA timed out", False, fatal=True)
            ep.destroy(sa, "half-open IKE_SA timed out", now)
        elif sa.state not in (S.DELETING, S.DESTROYED):
            what = "rekey_time" if sa.conn.rekey_time else "reauth_time"
            reason = (f"IKE_SA hard lifetime reached ({what} "
                      f"{getattr(sa.conn, what):g} s + over_time {sa.conn.over_time:g} s) "
                      f"without a successful {'rekey' if sa.conn.rekey_time else 'reauthentication'}")
            if sa.pending is None:
                sa.tasks.clear()
                tm.queue(ep, sa, Informational("delete_ike", None, reason), now)
            else:  # the window is blocked (peer unresponsive?): go without a word
                ep.destroy(sa, reason, now)
    if sa.rekey_at is not None and now >= sa.rekey_at:
        start(ep, sa, now)


def start(ep: TaskContext, sa: IkeSa, now: float) -> None:
    sa.rekey_at = None
    if sa.state == S.ESTABLISHED and not any(isinstance(t, IkeRekey) for t in sa.tasks):
        tm.queue(ep, sa, IkeRekey(), now)


def _successor(ep: TaskContext, old: IkeSa, initiator: bool, spi_i: bytes, spi_r: bytes,
               suite: Suite, ni: bytes, nr: bytes, shared: bytes) -> IkeSa:
    assert suite.prf is not None and suite.encr is not None
    assert old.keys is not None and old.suite is not None
    new = ep.new_sa(old.conn, initiator, spi_i, spi_r, old.local, old.remote)
    new.suite, new.ni, new.nr = suite, ni, nr
    new.keys = derive_ike_keys(suite.prf, suite.encr, suite.integ, ni, nr, shared, spi_i, spi_r,
                               old_sk_d=old.keys.sk_d, old_prf=old.suite.prf)
    set_ciphers(ep, new)
    new.local_id, new.peer_id = old.local_id, old.peer_id
    new.nat_local, new.nat_remote = old.nat_local, old.nat_remote
    new.peer_hashes = old.peer_hashes
    new.peer_fragmentation = old.peer_fragmentation  # RFC 7383 §2.3: a rekey inherits it
    new.last_heard, new.last_esp_in = old.last_heard, old.last_esp_in
    return new


def _take_over(ep: TaskContext, old: IkeSa, new: IkeSa, now: float, detail: str) -> None:
    """``new`` replaces ``old``: children move, timers start, events go out."""

    new.children = old.live_children()
    cp.migrate(old, new)  # the virtual IPs and their leases follow the children
    old.children = [c for c in old.children if c.state == S.C_DELETED]
    # work queued for the children follows them (the old IKE_SA only gets deleted now)
    new.tasks.extend(t for t in old.tasks if not isinstance(t, IkeRekey))
    old.tasks.clear()
    new.move(ep, "adopt", now, f"rekeyed from {old.name}")
    new.established_at = now
    new.reauth_at, old.reauth_at = old.reauth_at, None  # survives a rekey (ike_sa.c inherit_post)
    schedule(ep, new, now)
    informational.schedule(ep, new, now)
    old.rekeyed_by = new
    old.rekey_at = old.dpd_at = old.keepalive_at = None
    if old.state in (S.ESTABLISHED, S.REKEYING):
        old.move(ep, "rekeyed", now, detail)
    ep.emit(E.IkeSaRekeyed(old.name, sa_up_event(new)))
    tm.kick(ep, new, now)


class IkeRekey:
    """Initiator side of an IKE_SA rekey."""

    exchange = M.CREATE_CHILD_SA

    def build(self, ep: TaskContext, sa: IkeSa, now: float) -> list[Payload] | None:
        if sa.state != S.ESTABLISHED:
            return None
        assert sa.suite is not None
        sa.move(ep, "rekey", now)
        self.spi = ep.rng.bytes(8)
        self.ni = ep.rng.bytes(NONCE_SIZE)
        self.kx = new_key_exchange(sa.suite.dh, ep.rng)
        return [M.SA(M.sa_proposals_from(list(sa.conn.proposals), self.spi)),
                M.Nonce(self.ni), M.KE(self.kx.group, self.kx.public_bytes)]

    def process(self, ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> None:
        err = msg.error_notify()
        try:
            if err is not None:
                raise NegotiationError(err.name, f"peer refused the IKE_SA rekey with {err.name}")
            sa_p, nonce, ke = msg.find(M.SA), msg.find(M.Nonce), msg.find(M.KE)
            if sa_p is None or nonce is None or ke is None or len(sa_p.proposals) != 1:
                raise NegotiationError("INVALID_SYNTAX", "IKE rekey response lacks SA, Nr or KE")
            suite = select_proposal(sa_p.proposals, sa.conn.proposals, "ike")
            if len(suite.spi) != 8 or ke.group != self.kx.group:
                raise NegotiationError("INVALID_SYNTAX", "IKE rekey response: bad SPI or KE group")
            shared = self.kx.shared_secret(ke.data)
        except (NegotiationError, DhError) as exc:
            notify = getattr(exc, "notify", "INVALID_SYNTAX")
            ep.failure(sa, notify, str(exc), False)
            if sa.state == S.REKEYING:
                sa.move(ep, "rekey_failed", now, str(exc))
                sa.rekey_at = tm.retry_time(ep, now)
            return
        if sa.state != S.REKEYING:  # deleted meanwhile
            return
        new = _successor(ep, sa, True, self.spi, suite.spi, suite, self.ni, nonce.data, shared)
        col = sa.collision
        if col is not None:
            peer_ni, our_nr, peer_new = col
            if min(self.ni, nonce.data) < min(peer_ni, our_nr):
                # our exchange made the redundant IKE_SA: keep the peer's, delete ours
                _take_over(ep, sa, peer_new, now, "collision lost: peer's IKE_SA survives")
                new.move(ep, "adopt", now, "redundant (rekey collision)")
                tm.queue(ep, new, Informational("delete_ike", None, "redundant (rekey collision)"),
                       now)
                return
        _take_over(ep, sa, new, now, f"rekeyed to {new.name}")
        tm.queue(ep, sa, Informational("delete_ike", None, "rekeyed"), now)


def respond(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> list[Payload]:
    """Responder side: a new IKE_SA with the peer as its original initiator."""
    if sa.state not in (S.ESTABLISHED, S.REKEYING):
        raise IkeError(M.TEMPORARY_FAILURE, f"IKE_SA is {sa.state}", fatal=False)
    if any(c.state == S.C_REKEYING for c in sa.children):
        raise IkeError(M.TEMPORARY_FAILURE, "a CHILD_SA rekey is in progress", fatal=False)
    sa_p, nonce, ke = msg.find(M.SA), msg.find(M.Nonce), msg.find(M.KE)
    if sa_p is None or nonce is None or ke is None:
        raise IkeError(M.INVALID_SYNTAX, "IKE rekey request lacks SA, Ni or KE", fatal=False)
    try:
        suite = select_proposal(sa_p.proposals, sa.conn.proposals, "ike")
    except NegotiationError as exc:
        raise IkeError(M.NO_PROPOSAL_CHOSEN, exc.sentence, fatal=False) from None
    if len(suite.spi) != 8:
        raise IkeError(M.INVALID_SYNTAX, "IKE rekey proposal without an 8-byte SPI", fatal=False)
    ke_r, shared = answer_ke(ep, suite.dh, ke, "IKE rekey KE group differs from the proposal",
                             fatal=False)
    nr = ep.rng.bytes(NONCE_SIZE)
    spi_r = ep.rng.bytes(8)
    new = _successor(ep, sa, False, suite.spi, spi_r, suite, nonce.data, nr, shared)
    if sa.state == S.REKEYING:
        sa.collision = (nonce.data, nr, new)  # decided when our own rekey completes
    else:
        _take_over(ep, sa, new, now, f"rekeyed by peer to {new.name}")
    return [M.SA.chosen(suite, spi_r), M.Nonce(nr), ke_r]
