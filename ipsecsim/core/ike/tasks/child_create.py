"""CHILD_SA creation (RFC 7296 §1.3.1, §2.17), and the pieces IKE_AUTH and rekeying share.

::

    CREATE_CHILD_SA { SA, Ni, [KEi], TSi, TSr } -->
                    <-- { SA, Nr, [KEr], TSi, TSr }

The first CHILD_SA rides in IKE_AUTH without nonces or KE (its DH transforms
are stripped, §1.2); a rekey adds ``N(REKEY_SA)`` (see ``child_rekey.py``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from ... import algorithms as A
from ...keys import ChildSaKeys
from .. import cp
from .. import events as E
from .. import message as M
from .. import states as S
from .. import taskmanager as tm
from ..config import ChildConfig
from ..dh import DhError, KeyExchange, new_key_exchange
from ..ikesa import ChildSa, IkeError, IkeSa
from ..kdf import child_keymat
from ..negotiate import (
    NegotiationError,
    Suite,
    check_narrowed,
    narrow_pair,
    select_proposal,
)
from .ike_init import NONCE_SIZE, answer_ke

if TYPE_CHECKING:
    from ...selectors import TrafficSelector
    from ..context import TaskContext
    from ..payloads import Payload

AH_NAT = ("AH cannot cross a NAT: its ICV covers the IP addresses the NAT rewrites, and UDP "
          "encapsulation (RFC 3948) is defined for ESP only")


def new_child(ep: TaskContext, sa: IkeSa, cfg: ChildConfig) -> ChildSa:
    """A CHILD_SA object with a fresh inbound SPI and our configured selectors."""
    child = ChildSa(cfg, spi_in=ep.new_spi(), unique_id=ep.next_uid())
    child.local_ts = cp.local_ts(sa, cfg.local_ts)  # dynamic: a virtual IP, if any
    child.remote_ts = tuple(cp.remote_ts(sa, cfg.remote_ts))
    return child


def offer(child: ChildSa, strip_dh: bool, middle: list[Payload], rekey_spi: int = 0
          ) -> list[Payload]:
    """Request payloads: [N(REKEY_SA)], [N(USE_TRANSPORT_MODE)], SA, <middle>, TSi, TSr."""
    cfg = child.cfg
    props = [replace(p, dh=()) for p in cfg.proposals] if strip_dh else list(cfg.proposals)
    out: list[Payload] = []
    if rekey_spi:
        out.append(M.Notify(M.REKEY_SA, M.PROTOCOL_IDS[cfg.protocol], rekey_spi.to_bytes(4, "big")))
    if cfg.mode == "transport":
        out.append(M.Notify(M.USE_TRANSPORT_MODE))
    out.append(M.SA(M.sa_proposals_from(props, child.spi_in.to_bytes(4, "big"))))
    out += middle
    out += [M.TS(True, list(child.local_ts)), M.TS(False, list(child.remote_ts))]
    return out


def peer_refusal(child: ChildSa, msg: M.IkeMessage) -> tuple[str, str] | None:
    """(notify name, sentence) if the response refuses the CHILD_SA."""
    n = msg.error_notify()
    if n is None:
        return None
    cfg = child.cfg
    if n.notify_type == M.TS_UNACCEPTABLE:
        why = (f"we proposed TSi {', '.join(map(str, child.local_ts))}, "
               f"TSr {', '.join(map(str, child.remote_ts))}")
    elif n.notify_type == M.NO_PROPOSAL_CHOSEN:
        why = "we offered " + ", ".join(p.describe() for p in cfg.proposals)
    elif n.notify_type == M.INVALID_KE_PAYLOAD:
        group = int.from_bytes(n.data[:2], "big") if len(n.data) >= 2 else 0
        why = f"peer wants PFS group {A.transform_name(A.TRANSFORM_DH, group)}"
    elif n.notify_type in (M.INTERNAL_ADDRESS_FAILURE, M.FAILED_CP_REQUIRED):
        why = cp.refusal_why(n.notify_type, child.cfg.name)
    else:
        why = "see the peer's log"
    return n.name, f"peer refused CHILD_SA {cfg.name!r} with {n.name}: {why}"


def accept_response(ep: TaskContext, sa: IkeSa, child: ChildSa, msg: M.IkeMessage,
                    strip_dh: bool) -> tuple[Suite, list[TrafficSelector], list[TrafficSelector], bool]:
    """Initiator: check the responder's SA/TS answer; (suite, local_ts, remote_ts, transport)."""
    sa_p, tsi, tsr = msg.find(M.SA), msg.find_ts(True), msg.find_ts(False)
    if sa_p is None or tsi is None or tsr is None or len(sa_p.proposals) != 1:
        raise NegotiationError("INVALID_SYNTAX", "CHILD_SA response lacks SA (one proposal), "
                                                 "TSi or TSr")
    suite = select_proposal(sa_p.proposals, child.cfg.proposals, child.cfg.protocol, strip_dh)
    if len(suite.spi) != 4:
        raise NegotiationError("INVALID_SYNTAX", "CHILD_SA response has no 4-byte SPI")
    check_narrowed(child.local_ts, tsi.selectors, "TSi")
    check_narrowed(child.remote_ts, tsr.selectors, "TSr")
    if child.cfg.mode != "transport" and msg.notify(M.USE_TRANSPORT_MODE) is not None:
        # §1.3.1: the responder may only accept the transport mode we asked for; it installed
        # transport, we would install tunnel (strongSwan child_create.c check_mode())
        raise NegotiationError("NO_PROPOSAL_CHOSEN", f"responder chose transport mode for "
                               f"CHILD_SA {child.cfg.name!r}, we asked for tunnel mode")
    return suite, tsi.selectors, tsr.selectors, wants_transport(child.cfg, msg)


def wants_transport(cfg: ChildConfig, msg: M.IkeMessage) -> bool:
    """Transport mode only when we are configured for it and the peer's message asks (§1.3.1)."""
    return cfg.mode == "transport" and msg.notify(M.USE_TRANSPORT_MODE) is not None


def select_child(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, strip_dh: bool,
                 cfgs: tuple[ChildConfig, ...] | None = None
                 ) -> tuple[ChildConfig, Suite, list[TrafficSelector], list[TrafficSelector]]:
    """Responder: the child config whose selectors fit the request best, and its proposal.

    The fit is strongSwan's (``peer_cfg.c``, ``get_ts_match()``): each offered selector,
    weighted by its place (the first of n counts n, the next n-1, ...), scores 5 for each
    configured selector equal to it and 1 for each that overlaps it, for our side and for
    the peer's; the highest sum wins, ties go to the first in the file.
    """
    sa_p, tsi, tsr = msg.find(M.SA), msg.find_ts(True), msg.find_ts(False)
    if sa_p is None or tsi is None or tsr is None:
        raise IkeError(M.INVALID_SYNTAX, "CHILD_SA request lacks SA, TSi or TSr", fatal=False)
    errors: list[tuple[int, str, NegotiationError]] = []
    best: tuple | None = None
    for order, cfg in enumerate(cfgs if cfgs is not None else sa.conn.children):
        if cfg.protocol == "ah" and sa.encap:
            errors.append((0, cfg.name, NegotiationError("NO_PROPOSAL_CHOSEN", AH_NAT)))
            continue
        remote = cp.remote_ts(sa, cfg.remote_ts)  # dynamic: the virtual IP we leased
        if sa.nat_remote and "dynamic" in cfg.remote_ts and not sa.remote_vips:  # peer's private address (strongSwan)
            remote = [t for t in tsi.selectors if t.start == t.end] or remote
        local = list(cp.local_ts(sa, cfg.local_ts))
        try:
            ni, nr = narrow_pair(tsi.selectors, tsr.selectors, remote, local)
        except NegotiationError as exc:
            errors.append((1, cfg.name, exc))
            continue
        try:
            suite = select_proposal(sa_p.proposals, cfg.proposals, cfg.protocol, strip_dh)
        except NegotiationError as exc:
            errors.append((0, cfg.name, exc))
            continue
        rank = (-(_ts_match(local, tsr.selectors) + _ts_match(remote, tsi.selectors)), order)
        if best is None or rank < best[0]:
            best = (rank, (cfg, suite, ni, nr))
    if best is not None:
        return best[1]
    if not errors:
        raise IkeError(M.NO_PROPOSAL_CHOSEN, f"connection {sa.conn.name!r} has no children",
                       fatal=False)
    _, name, first = min(errors, key=lambda e: e[0])
    notify = M.NO_PROPOSAL_CHOSEN if first.notify == "NO_PROPOSAL_CHOSEN" else M.TS_UNACCEPTABLE
    raise IkeError(notify, f"CHILD_SA {name!r}: {first.sentence}", fatal=False, child=name)


def _ts_match(configured: list[TrafficSelector], offered: list[TrafficSelector]) -> int:
    """strongSwan's ``get_ts_match()`` score of configured selectors for offered ones."""
    score = 0
    for weight, o in zip(range(len(offered), 0, -1), offered, strict=True):
        for c in configured:
            if c == o:
                score += 5 * weight
            elif c.intersect(o) is not None:
                score += weight
    return score


def answer(child: ChildSa, suite: Suite, middle: list[Payload], tsi: list[TrafficSelector],
           tsr: list[TrafficSelector], transport: bool) -> list[Payload]:
    """Responder payloads: [N(USE_TRANSPORT_MODE)], SA (chosen, our SPI), <middle>, TSi, TSr."""
    out: list[Payload] = [M.Notify(M.USE_TRANSPORT_MODE)] if transport else []
    out.append(M.SA.chosen(suite, child.spi_in.to_bytes(4, "big")))
    out += middle
    out += [M.TS(True, list(tsi)), M.TS(False, list(tsr))]
    return out


def complete(ep: TaskContext, sa: IkeSa, child: ChildSa, suite: Suite,
             local_ts: list[TrafficSelector], remote_ts: list[TrafficSelector], ni: bytes, nr: bytes, shared: bytes | None, exch_initiator: bool,
             transport: bool, now: float, outbound: bool = True) -> None:
    """Derive KEYMAT (§2.17), fill in the keys, install and announce the CHILD_SA
    (``outbound=False``: traffic moves to it later, see ``ChildSaUp.outbound``)."""
    cfg = child.cfg
    assert sa.suite is not None and sa.suite.prf is not None and sa.keys is not None
    i2r_e, i2r_a, r2i_e, r2i_a = child_keymat(sa.suite.prf, sa.keys.sk_d, ni, nr, suite.encr,
                                              suite.integ, shared)
    if exch_initiator:
        out_e, out_a, in_e, in_a = i2r_e, i2r_a, r2i_e, r2i_a
    else:
        in_e, in_a, out_e, out_a = i2r_e, i2r_a, r2i_e, r2i_a
    child.spi_out = int.from_bytes(suite.spi, "big")
    child.suite = suite
    child.local_ts, child.remote_ts = tuple(local_ts), tuple(remote_ts)
    lifetime = {"soft_bytes": cfg.rekey_bytes, "hard_bytes": cfg.life_bytes,
                "soft_packets": cfg.rekey_packets, "hard_packets": cfg.life_packets}
    child.keys = ChildSaKeys(
        name=cfg.name, proto=cfg.protocol, mode="transport" if transport else "tunnel",
        spi_in=child.spi_in, spi_out=child.spi_out, encr=suite.encr, integ=suite.integ,
        key_in_encr=in_e, key_in_integ=in_a, key_out_encr=out_e, key_out_integ=out_a,
        local_addr=sa.local[0], remote_addr=sa.remote[0], local_ts=child.local_ts,
        remote_ts=child.remote_ts, esn=suite.esn,
        encap=(4500, sa.remote[1]) if sa.encap else None,
        replay_window=cfg.replay_window, lifetime=lifetime, ike_sa=sa.name,
        unique_id=child.unique_id, tfc_pad=cfg.tfc_padding,
    )
    if child not in sa.children:
        sa.children.append(child)
    child.installed_at = now
    child.move(ep, sa, "install", f"{suite.describe()} in {child.spi_in:08x} out {child.spi_out:08x}")
    if cfg.rekey_time:
        child.rekey_at = child.soft_at = now + cfg.rekey_time - ep.rng.uniform(0, cfg.rand_time)
    if cfg.life_time:
        child.expire_at = now + cfg.life_time
    child.outbound_held = not outbound
    ep.emit(E.ChildSaUp(child.keys, outbound))


def pfs_ke(ep: TaskContext, cfg: ChildConfig) -> KeyExchange | None:
    """A key exchange for the first PFS group of the child's proposals, or None."""
    groups = cfg.pfs_groups
    return new_key_exchange(groups[0], ep.rng) if groups else None


class KeyedTask(Protocol):
    """A CREATE_CHILD_SA initiator (``ChildCreate``, ``ChildRekey``): its nonce and PFS key
    exchange, kept from the request for the response."""

    ni: bytes
    kx: KeyExchange | None


def request_keys(task: KeyedTask, ep: TaskContext, cfg: ChildConfig) -> list[Payload]:
    """Ni and, with PFS, KEi for a CREATE_CHILD_SA request; kept as ``task.ni``/``task.kx``."""
    task.ni = ep.rng.bytes(NONCE_SIZE)
    task.kx = pfs_ke(ep, cfg)
    middle: list[Payload] = [M.Nonce(task.ni)]
    if task.kx is not None:
        middle.append(M.KE(task.kx.group, task.kx.public_bytes))
    return middle


def response_keys(task: KeyedTask, msg: M.IkeMessage, what: str) -> tuple[bytes, bytes | None]:
    """(Nr, g^ir or None) from the response to :func:`request_keys`; NegotiationError if absent."""
    nonce = msg.find(M.Nonce)
    if nonce is None:
        raise NegotiationError("INVALID_SYNTAX", f"{what} lacks Nr")
    return nonce.data, peer_shared(task.kx, msg.find(M.KE), what)


def peer_shared(kx: KeyExchange | None, ke: M.KE | None, what: str) -> bytes | None:
    """g^ir from the peer's KE for our PFS key exchange ``kx`` (None without PFS)."""
    if kx is None:
        return None
    if ke is None or ke.group != kx.group:
        raise NegotiationError("INVALID_SYNTAX", f"{what} lacks the KE payload for PFS")
    try:
        return kx.shared_secret(ke.data)
    except DhError as exc:
        raise NegotiationError("INVALID_SYNTAX", f"{what} has an invalid KE: {exc}") from None


def responder_pfs(ep: TaskContext, suite: Suite, msg: M.IkeMessage
                  ) -> tuple[list[Payload], bytes | None]:
    """Responder PFS: ([KEr], g^ir) when the chosen proposal has a DH group."""
    if not suite.dh:
        return [], None
    ke_r, shared = answer_ke(ep, suite.dh, msg.find(M.KE), "CHILD_SA wants PFS with "
                             f"{A.transform_name(A.TRANSFORM_DH, suite.dh)}", fatal=False)
    return [ke_r], shared


class DeleteFailed:
    """Initiator: ``INFORMATIONAL { D(our SPI) }`` for a CHILD_SA the responder created and
    installed but whose response (CREATE_CHILD_SA or IKE_AUTH) we could not use (bad KE,
    selectors, proposal or mode).

    Without it the responder keeps the SA, and for a rekey keeps the old one REKEYED (it
    refuses our next rekey with TEMPORARY_FAILURE) until hard expiry. strongSwan 5.x
    ``child_create.c`` ``process_i()`` -> ``delete_failed_sa()`` turns the task into
    ``build_i_delete()``, a DELETE with the SPI it allocated (its inbound, the peer's
    outbound SPI: RFC 7296 §3.11), and ignores the answer (``return_success``).
    """

    exchange = M.INFORMATIONAL

    def __init__(self, child: ChildSa, reason: str) -> None:
        self.child = child
        self.reason = reason

    def build(self, ep: TaskContext, sa: IkeSa, now: float) -> list[Payload] | None:
        if sa.state not in (S.ESTABLISHED, S.REKEYING, S.REKEYED):
            return None
        return [M.Delete(M.PROTOCOL_IDS[self.child.cfg.protocol],
                         [self.child.spi_in.to_bytes(4, "big")])]

    def process(self, ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> None:
        """The peer's answer names its half, which we never installed: nothing to do."""


def peer_made_sa(msg: M.IkeMessage) -> bool:
    """Whether a CHILD_SA response (CREATE_CHILD_SA or IKE_AUTH) says the responder created
    an SA: no error notify,
    and an SA payload whose proposal carries a 4-byte SPI (strongSwan's ``other_spi``)."""
    sa_p = msg.find(M.SA)
    return (msg.error_notify() is None and sa_p is not None and len(sa_p.proposals) >= 1
            and len(sa_p.proposals[0].spi) == 4)


def delete_failed_sa(ep: TaskContext, sa: IkeSa, child: ChildSa, msg: M.IkeMessage,
                     reason: str, now: float) -> None:
    """We rejected a CHILD_SA response (CREATE_CHILD_SA or IKE_AUTH): if the peer made an SA,
    have it deleted next."""
    if peer_made_sa(msg):
        tm.queue(ep, sa, DeleteFailed(child, reason), now, front=True)


class ChildCreate:
    """Initiator: an additional CHILD_SA over an established IKE_SA."""

    exchange = M.CREATE_CHILD_SA

    def __init__(self, cfg: ChildConfig) -> None:
        self.cfg = cfg
        self.child: ChildSa | None = None
        self.ni = b""
        self.kx: KeyExchange | None = None

    def build(self, ep: TaskContext, sa: IkeSa, now: float) -> list[Payload] | None:
        if sa.state != S.ESTABLISHED:
            return None
        if self.cfg.protocol == "ah" and sa.encap:
            ep.failure(sa, "NO_PROPOSAL_CHOSEN", f"CHILD_SA {self.cfg.name!r}: {AH_NAT}", True,
                       child=self.cfg.name)
            return None
        self.child = new_child(ep, sa, self.cfg)
        return offer(self.child, False, request_keys(self, ep, self.cfg))

    def process(self, ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> None:
        child = self.child
        assert child is not None
        refused = peer_refusal(child, msg)
        if refused:
            ep.failure(sa, refused[0], refused[1], False, child=child.name)
            return
        try:
            suite, lts, rts, transport = accept_response(ep, sa, child, msg, False)
            nr, shared = response_keys(self, msg, "CREATE_CHILD_SA response")
        except NegotiationError as exc:
            ep.failure(sa, exc.notify, exc.sentence, True, child=child.name)
            delete_failed_sa(ep, sa, child, msg, exc.sentence, now)
            return
        complete(ep, sa, child, suite, lts, rts, self.ni, nr, shared, True, transport, now)


def install_requested(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float, what: str,
                      cfgs: tuple[ChildConfig, ...] | None = None, outbound: bool = True
                      ) -> tuple[ChildSa, bytes, bytes, list[Payload]]:
    """Responder side of a CREATE_CHILD_SA that makes a CHILD_SA (new or rekeyed): pick the
    config, run PFS, key and install the child; (child, Ni, Nr, response payloads)."""
    nonce = msg.find(M.Nonce)
    if nonce is None:
        raise IkeError(M.INVALID_SYNTAX, f"{what} lacks Ni", fatal=False)
    cfg, suite, tsi, tsr = select_child(ep, sa, msg, False, cfgs)
    try:
        middle_ke, shared = responder_pfs(ep, suite, msg)
    except IkeError as err:
        err.child = err.child or cfg.name  # e.g. INVALID_KE_PAYLOAD for this child's PFS group
        raise
    child = new_child(ep, sa, cfg)
    nr = ep.rng.bytes(NONCE_SIZE)
    transport = wants_transport(cfg, msg)
    complete(ep, sa, child, suite, tsr, tsi, nonce.data, nr, shared, False, transport, now,
             outbound)
    return child, nonce.data, nr, answer(child, suite, [M.Nonce(nr), *middle_ke], tsi, tsr,
                                         transport)


def respond(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> list[Payload]:
    """Responder: a new CHILD_SA."""
    return install_requested(ep, sa, msg, now, "CREATE_CHILD_SA request")[3]
