"""IKE_SA_INIT (RFC 7296 §1.2): proposals, Diffie-Hellman, nonces, NAT detection, COOKIE.

::

    IKE_SA_INIT { [N(COOKIE)], SA, KEi, Ni, N(NATD_S_IP), N(NATD_D_IP) } -->
                <-- { SA, KEr, Nr, N(NATD_S_IP), N(NATD_D_IP), [CERTREQ] }

Error answers: ``N(INVALID_KE_PAYLOAD, group)`` (the initiator retries with that
group, §1.2), ``N(COOKIE)`` (§2.6, the initiator retries with the cookie first),
``N(NO_PROPOSAL_CHOSEN)``, ``N(INVALID_SYNTAX)``.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import TYPE_CHECKING

from ... import algorithms as A
from .. import message as M
from .. import states as S
from .. import taskmanager as tm
from ..auth import SUPPORTED_HASHES, decode_hash_algorithms, encode_hash_algorithms
from ..dh import DhError, KeyExchange, new_key_exchange
from ..ikesa import IkeError, IkeSa
from ..kdf import derive_ike_keys
from ..negotiate import NegotiationError, Suite, select_proposal
from ..sk import SkCipher

if TYPE_CHECKING:
    from ..context import TaskContext
    from ..payloads import Payload

ZERO_SPI = bytes(8)
NONCE_SIZE = 32
_HASH_ALGS = encode_hash_algorithms(SUPPORTED_HASHES)  # SHA2-256/384/512, Identity (RFC 7427 §4)


def natd_hash(spi_i: bytes, spi_r: bytes, addr: str, port: int) -> bytes:
    """RFC 7296 §2.23: SHA-1(SPIi | SPIr | IP | Port)."""
    return hashlib.sha1(spi_i + spi_r + _addr_port(addr, port)).digest()


@lru_cache(maxsize=1024)
def _addr_port(addr: str, port: int) -> bytes:
    return bytes(int(x) for x in addr.split(".")) + port.to_bytes(2, "big")


def natd_payloads(ep: TaskContext, sa: IkeSa, spi_r: bytes) -> list[Payload]:
    """NAT_DETECTION_SOURCE_IP / _DESTINATION_IP; ``encap: yes`` fakes the source (strongSwan)."""
    src = natd_hash(sa.spi_i, spi_r, *sa.local)
    if sa.conn.encap:
        src = ep.rng.bytes(20)
    dst = natd_hash(sa.spi_i, spi_r, *sa.remote)
    return [M.Notify(M.NAT_DETECTION_SOURCE_IP, data=src),
            M.Notify(M.NAT_DETECTION_DESTINATION_IP, data=dst)]


def process_natd(sa: IkeSa, msg: M.IkeMessage) -> None:
    """Compare the peer's NATD hashes with what we see (§2.23) and note who is behind a NAT."""
    srcs = [n for n in msg.find_all(M.Notify) if n.notify_type == M.NAT_DETECTION_SOURCE_IP]
    dst = msg.notify(M.NAT_DETECTION_DESTINATION_IP)
    if not srcs or dst is None:
        return
    spi_r = msg.spi_r
    sa.nat_local = dst.data != natd_hash(msg.spi_i, spi_r, *sa.local)
    seen = natd_hash(msg.spi_i, spi_r, *sa.remote)
    sa.nat_remote = all(n.data != seen for n in srcs)


def install_keys(ep: TaskContext, sa: IkeSa, suite: Suite, shared: bytes) -> None:
    """SKEYSEED and the SK_* keys (§2.14); the SK ciphers of both directions."""
    assert suite.prf is not None and suite.encr is not None
    sa.suite = suite
    sa.keys = derive_ike_keys(suite.prf, suite.encr, suite.integ, sa.ni, sa.nr, shared,
                              sa.spi_i, sa.spi_r)
    set_ciphers(ep, sa)


def set_ciphers(ep: TaskContext, sa: IkeSa) -> None:
    k, s = sa.keys, sa.suite
    assert k is not None and s is not None and s.encr is not None
    i2r = SkCipher(s.encr, s.integ, k.sk_ei, k.sk_ai, ep.rng)
    r2i = SkCipher(s.encr, s.integ, k.sk_er, k.sk_ar, ep.rng)
    sa.sk_out, sa.sk_in = (i2r, r2i) if sa.initiator else (r2i, i2r)


def float_ports(sa: IkeSa) -> None:
    """Move to port 4500 when a NAT is seen or encapsulation is forced (§2.23)."""
    if sa.nat_local or sa.nat_remote or sa.conn.encap:
        sa.local = (sa.local[0], 4500)
        if sa.remote[1] == 500:
            sa.remote = (sa.remote[0], 4500)


class IkeInit:
    """Initiator side of IKE_SA_INIT."""

    exchange = M.IKE_SA_INIT

    def __init__(self, group: int = 0) -> None:
        self.group = group
        self.cookie = b""
        self.restarts = 0
        self.ke: KeyExchange | None = None

    def build(self, ep: TaskContext, sa: IkeSa, now: float) -> list[Payload]:
        conn = sa.conn
        if not self.group:
            self.group = next(g for p in conn.proposals for g in p.dh)
        self.ke = ke = new_key_exchange(self.group, ep.rng)
        if not sa.ni:
            sa.ni = ep.rng.bytes(NONCE_SIZE)
        payloads: list[Payload] = []
        if self.cookie:
            payloads.append(M.Notify(M.COOKIE, data=self.cookie))
        payloads += [M.SA(M.sa_proposals_from(list(conn.proposals), b"")),
                     M.KE(self.group, ke.public_bytes), M.Nonce(sa.ni)]
        payloads += natd_payloads(ep, sa, ZERO_SPI)
        if conn.fragmentation != "no":  # RFC 7383 §2.3
            payloads.append(M.Notify(M.IKEV2_FRAGMENTATION_SUPPORTED))
        payloads.append(M.Notify(M.SIGNATURE_HASH_ALGORITHMS, data=_HASH_ALGS))
        if conn.local_rounds or conn.remote_rounds:  # RFC 4739 §3 (eap/ikeauth.py)
            payloads.append(M.Notify(M.MULTIPLE_AUTH_SUPPORTED))
        if sa.state == S.CREATED:
            sa.move(ep, "send_init", now)
        return payloads

    def _restart(self, ep: TaskContext, sa: IkeSa, now: float) -> None:
        self.restarts += 1
        sa.next_send_mid = 0
        tm.queue(ep, sa, self, now, front=True)

    def process(self, ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> None:
        conn = sa.conn
        cookie = msg.notify(M.COOKIE)
        if cookie is not None and self.restarts < 3:
            self.cookie = cookie.data
            self._restart(ep, sa, now)
            return
        inv = msg.notify(M.INVALID_KE_PAYLOAD)
        if inv is not None:
            group = int.from_bytes(inv.data[:2], "big") if len(inv.data) >= 2 else 0
            ours = {g for p in conn.proposals for g in p.dh}
            gname = A.transform_name(A.TRANSFORM_DH, group)
            if group in ours and group != self.group and self.restarts < 3:
                ep.failure(sa, "INVALID_KE_PAYLOAD",
                           f"peer wants a KE for {gname} instead of "
                           f"{A.transform_name(A.TRANSFORM_DH, self.group)}; retrying", False)
                self.group = group
                self._restart(ep, sa, now)
                return
            ep.fail(sa, "INVALID_KE_PAYLOAD",
                    f"peer asked for {gname}, which none of our proposals allows", False, now)
            return
        n = msg.error_notify()
        if n is not None:
            why = ""
            if n.notify_type == M.NO_PROPOSAL_CHOSEN:
                offered = ", ".join(p.describe() for p in conn.proposals)
                why = f"; we offered {offered}"
            ep.fail(sa, n.name, f"peer refused IKE_SA_INIT with {n.name}{why}", False, now)
            return
        sa_p, ke, nonce = msg.find(M.SA), msg.find(M.KE), msg.find(M.Nonce)
        if sa_p is None or ke is None or nonce is None or len(sa_p.proposals) != 1:
            ep.fail(sa, "INVALID_SYNTAX", "IKE_SA_INIT response lacks SA (one proposal), KE "
                    "or Nonce", True, now)
            return
        try:
            suite = select_proposal(sa_p.proposals, conn.proposals, "ike")
        except NegotiationError as exc:
            ep.fail(sa, "NO_PROPOSAL_CHOSEN",
                    f"responder chose a proposal we did not offer: {exc.sentence}", True, now)
            return
        if ke.group != self.group or suite.dh != self.group:
            ep.fail(sa, "INVALID_SYNTAX", "responder's KE group does not match its proposal",
                    True, now)
            return
        assert self.ke is not None  # made by build()
        try:
            shared = self.ke.shared_secret(ke.data)
        except DhError as exc:
            ep.fail(sa, "INVALID_SYNTAX", f"responder's KE is invalid: {exc}", True, now)
            return
        sa.spi_r = msg.spi_r
        sa.nr = nonce.data
        install_keys(ep, sa, suite, shared)
        process_natd(sa, msg)
        float_ports(sa)
        sa.peer_hashes = _peer_hashes(msg)
        sa.peer_certreq = msg.find(M.CertReq) is not None
        sa.peer_fragmentation = _peer_fragments(sa, msg)


def _peer_hashes(msg: M.IkeMessage) -> set[int]:
    """The hashes of the peer's SIGNATURE_HASH_ALGORITHMS notify (none if absent)."""
    n = msg.notify(M.SIGNATURE_HASH_ALGORITHMS)
    return decode_hash_algorithms(n.data) if n is not None else set()


def _peer_fragments(sa: IkeSa, msg: M.IkeMessage) -> bool:
    """Both sides support RFC 7383 fragmentation: we announce it, and the peer's
    IKE_SA_INIT carries N(IKEV2_FRAGMENTATION_SUPPORTED) (§2.3)."""
    return (sa.conn.fragmentation != "no"
            and msg.notify(M.IKEV2_FRAGMENTATION_SUPPORTED) is not None)


def answer_ke(ep: TaskContext, group: int, ke: M.KE | None, mismatch: str,
              fatal: bool = True) -> tuple[M.KE, bytes]:
    """A responder's KE for the chosen ``group`` and g^ir from the peer's ``ke`` (§1.2, §1.3).

    A missing KE or one for another group is refused with INVALID_KE_PAYLOAD naming
    ``group`` (the peer retries with it; ``mismatch`` says why), a value that is not a
    valid public key with INVALID_SYNTAX.
    """
    if ke is None or ke.group != group:
        raise IkeError(M.INVALID_KE_PAYLOAD, mismatch, data=group.to_bytes(2, "big"), fatal=fatal)
    kx = new_key_exchange(group, ep.rng)
    try:
        return M.KE(group, kx.public_bytes), kx.shared_secret(ke.data)
    except DhError as exc:
        raise IkeError(M.INVALID_SYNTAX, f"peer's KE is invalid: {exc}", fatal=fatal) from None


def cookie_for(secret: bytes, ni: bytes, addr: str, spi_i: bytes) -> bytes:
    """§2.6: Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>), with the
    endpoint's ``secret``."""
    return b"\x00" + hashlib.sha256(ni + addr.encode() + spi_i + secret).digest()


def respond(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage, now: float) -> list[Payload]:
    """Responder side; raises :class:`IkeError` for a stateless error answer."""
    sa_p, ke, nonce = msg.find(M.SA), msg.find(M.KE), msg.find(M.Nonce)
    if sa_p is None or ke is None or nonce is None:
        missing = [n for n, p in (("SA", sa_p), ("KE", ke), ("Ni", nonce)) if p is None]
        raise IkeError(M.INVALID_SYNTAX, f"IKE_SA_INIT request without {', '.join(missing)}")
    if not 16 <= len(nonce.data) <= 256:
        raise IkeError(M.INVALID_SYNTAX, f"nonce of {len(nonce.data)} bytes (RFC 7296 §3.9: 16..256)")
    try:
        suite = select_proposal(sa_p.proposals, sa.conn.proposals, "ike")
    except NegotiationError as exc:
        raise IkeError(M.NO_PROPOSAL_CHOSEN, exc.sentence) from None
    want = A.transform_name(A.TRANSFORM_DH, suite.dh)
    ke_r, shared = answer_ke(
        ep, suite.dh, ke, f"peer sent a KE for {A.transform_name(A.TRANSFORM_DH, ke.group)} but "
        f"the chosen proposal uses {want}; asking for {want}")
    sa.ni = nonce.data
    sa.nr = ep.rng.bytes(NONCE_SIZE)
    install_keys(ep, sa, suite, shared)
    process_natd(sa, msg)
    sa.peer_hashes = _peer_hashes(msg)
    sa.move(ep, "recv_init", now)
    out: list[Payload] = [M.SA.chosen(suite, b""), ke_r, M.Nonce(sa.nr)]
    out += natd_payloads(ep, sa, sa.spi_r)
    sa.peer_fragmentation = _peer_fragments(sa, msg)
    if sa.peer_fragmentation:  # only in answer to the initiator's (strongSwan ike_init.c)
        out.append(M.Notify(M.IKEV2_FRAGMENTATION_SUPPORTED))
    out.append(M.Notify(M.SIGNATURE_HASH_ALGORITHMS, data=_HASH_ALGS))
    if msg.notify(M.MULTIPLE_AUTH_SUPPORTED) is not None and any(  # RFC 4739 §3
            c.local_rounds or c.remote_rounds for c in ep.config.connections):
        out.append(M.Notify(M.MULTIPLE_AUTH_SUPPORTED))
    if sa.conn.remote.auth == "pubkey":
        req = ep.certreq(sa.conn)
        if req is not None:
            out.append(req)
    return out
