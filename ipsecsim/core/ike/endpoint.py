"""The sans-IO IKEv2 endpoint (aioquic's ``QuicConnection`` shape).

Datagrams and time go in (:meth:`IkeEndpoint.receive_datagram`,
:meth:`~IkeEndpoint.handle_timer`), datagrams and events come out
(:meth:`~IkeEndpoint.datagrams_to_send`, :meth:`~IkeEndpoint.next_event`,
:meth:`~IkeEndpoint.get_timer`). No sockets, no clock, no threads: the same
object runs under SimPy, on real UDP sockets (``ipsecsim peer``) and in a unit
test that pumps bytes by hand.

Bad input never raises: malformed, forged, late or unknown messages are
counted in :attr:`IkeEndpoint.drops` and reported as :class:`~.events.IkeDrop`.
"""

from __future__ import annotations

import ipaddress
from collections import Counter, deque
from contextlib import closing
from typing import TYPE_CHECKING

from ..errors import ConfigError, DecodeError
from ..natt import KEEPALIVE, NATT_PORT, NON_ESP_MARKER
from ..pools import Pools
from ..rng import Rng
from . import cp, credentials, fragments, tasks
from . import events as E
from . import message as M
from . import states as S
from . import taskmanager as tm
from .auth import LocalCredential, PeerCredential
from .config import ConnectionConfig, IkeConfig
from .config_index import conn_index
from .context import Address
from .halfopen import HalfOpen
from .ids import Identity
from .ikesa import ChildSa, IkeError, IkeSa, id_text, ident
from .saindex import SaIndex
from .sk import IntegrityError
from .tasks import (
    child_create,
    child_rekey,
    ike_auth,
    ike_init,
    ike_reauth,
    ike_rekey,
    informational,
)

if TYPE_CHECKING:
    from .ca import CertificateAuthority, Issued

HALF_OPEN_TIMEOUT = 30.0
"""strongSwan's ``half_open_timeout``: a responder forgets an unfinished IKE_SA after 30 s."""


class IkeEndpoint:
    """One IKEv2 daemon: all IKE_SAs of one node, for every connection in its config.

    Shells use the API of the first section below (``start`` ... ``children``, and
    ``config``, ``drops``, ``ike_sas``). The tasks get the endpoint as a
    :class:`~.context.TaskContext`, which the members of the last section (and
    ``config``, ``rng``) implement.
    """

    def __init__(self, config: IkeConfig, rng: Rng, name: str = "",
                 ca: CertificateAuthority | None = None,
                 trust: list[bytes] | tuple[bytes, ...] = ()) -> None:
        self.config = config
        self.rng = rng
        self.name = name
        self.ca = ca
        """The CA minting our certificate for ``auth: pubkey`` (when no ``certs:`` are given)."""
        self.trust = list(trust)
        """DER CA certificates we trust for peers (the CA's own is added)."""
        self.drops: Counter[str] = Counter()
        self.ike_sas: dict[bytes, IkeSa] = {}
        """Our IKE SPI -> IKE_SA (every SA not yet destroyed)."""
        self._half_open = HalfOpen()
        """Responder IKE_SAs still in IKE_SA_INIT/IKE_AUTH, by (SPIi, peer address)."""
        self._inits: dict[tuple[bytes, Address], IkeSa] = {}
        """Every responder IKE_SA by the (SPIi, peer address) of its IKE_SA_INIT (duplicates)."""
        self._init_keys: dict[int, list[tuple[bytes, Address]]] = {}
        """id(IKE_SA) -> its keys in ``_inits`` (forgotten with it)."""
        self._sas = SaIndex(self._live)
        """Timers, inbound SPIs and identities of ``ike_sas`` (:mod:`.saindex`)."""
        self._out: list[tuple[bytes, Address, Address]] = []
        self._events: deque[E.Event] = deque()
        self._cookie_secret = rng.bytes(16)
        self._count = 0
        self._uid = 0
        self.issued: dict[str, Issued] = {}
        """Certificates our CA minted for us, by ``identity/key type`` (``credentials``)."""
        self.pools = Pools(config.pools)
        """Virtual IP pools and their leases (``cp.py`` hands them out)."""

    # ------------------------------------------------------------------ public API

    def start(self, now: float) -> None:
        """Initiate every child whose ``start_action`` is ``start``."""
        for conn in self.config.connections:
            for child in conn.children:
                if child.start_action == "start":
                    self.initiate(conn.name, now, child.name)

    def initiate(self, connection: str, now: float, child: str | None = None) -> str:
        """Bring up ``connection`` (and ``child`` over it); returns the IKE_SA's name."""
        conn = self.config.connection(connection)
        if child is not None:
            conn.child(child)
        sa = self._active_sa(conn)
        if sa is not None:
            if child is not None and not _has_child(sa, child):
                task = child_create.ChildCreate(conn.child(child))
                if sa.state == S.ESTABLISHED:
                    tm.queue(self, sa, task, now)
                else:
                    sa.tasks.append(task)  # sent once IKE_AUTH is done
            return sa.name
        if not conn.remote_addrs or any(ch in conn.remote_addrs[0] for ch in "/-%"):
            raise ConfigError(f"connection {conn.name!r} needs a single remote address in "
                              f"remote_addrs to initiate (has {list(conn.remote_addrs)})")
        local = (conn.local_addrs[0] if conn.local_addrs else "0.0.0.0", conn.local_port)
        sa = self.new_sa(conn, True, self.rng.bytes(8), bytes(8), local,
                         (conn.remote_addrs[0], conn.remote_port))
        sa.first_child = child
        sa.last_heard = now
        sa.tasks.append(ike_init.IkeInit())
        sa.tasks.append(ike_auth.new_task(sa))
        tm.kick(self, sa, now)
        return sa.name

    def acquire(self, child_name: str, now: float) -> None:
        """The data plane found no SA for a trap policy of ``child_name``: negotiate one."""
        for conn in self.config.connections:
            if any(c.name == child_name for c in conn.children):
                self.initiate(conn.name, now, child_name)
                return
        raise ConfigError(f"no connection has a child named {child_name!r}")

    def receive_datagram(self, data: bytes, src: Address, dst: Address,
                         now: float) -> None:
        """Process one UDP payload that arrived from ``src`` at ``dst``."""
        if dst[1] == NATT_PORT:
            if data == KEEPALIVE:
                return  # NAT keepalive (RFC 3948 §2.3)
            if data[:4] != NON_ESP_MARKER:
                self.drop("not_ike", "ESP on port 4500 (the data plane's, not IKE's)")
                return
            data = data[4:]
        try:
            self._receive(bytes(data), src, dst, now)
        except (DecodeError, IntegrityError) as exc:
            self.drop("malformed", str(exc))

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, Address, Address]]:
        """(UDP payload, source, destination) to send now; clears the list."""
        out, self._out = self._out, []
        return out

    def get_timer(self) -> float | None:
        """The earliest time :meth:`handle_timer` has work to do, or None."""
        return self._sas.timers.earliest()

    def handle_timer(self, now: float) -> None:
        """Retransmit, rekey, expire, check liveness, send keepalives: whatever is due (for
        the IKE_SAs with something due, in ``ike_sas`` order)."""
        with closing(self._sas.timers.due(now, self._sas.count)) as due:
            for sa in due:
                if sa.state == S.DESTROYED:
                    continue
                tm.check_retransmit(self, sa, now)
                if sa.state == S.DESTROYED:
                    continue
                informational.timers(self, sa, now)
                if sa.state == S.DESTROYED:
                    continue
                child_rekey.timers(self, sa, now)
                ike_rekey.timers(self, sa, now)
                if sa.state != S.DESTROYED:
                    ike_reauth.timers(self, sa, now)

    def next_event(self) -> E.Event | None:
        """The next event, or None."""
        return self._events.popleft() if self._events else None

    def close(self, now: float) -> None:
        """Delete every IKE_SA (INFORMATIONAL { D })."""
        for sa in list(self.ike_sas.values()):
            if sa.state in (S.ESTABLISHED, S.REKEYING, S.REKEYED):
                informational.delete_ike(self, sa, now, "closed locally")
            elif sa.state != S.DESTROYED:
                self.destroy(sa, "closed locally", now)

    def sa_limit_reached(self, spi_in: int, kind: str, now: float) -> None:
        """The data plane hit a byte/packet limit of the CHILD_SA with ``spi_in`` (soft|hard)."""
        found = self._sas.child(spi_in)
        if found is None or found[1].state == S.C_DELETED:
            return
        sa, child = found
        if kind == "soft":
            child_rekey.start(self, sa, child, now)
        else:
            child_rekey.expire(self, sa, child, now, "hard byte/packet limit")

    def note_inbound(self, spi_in: int, now: float) -> None:
        """Traffic arrived on the CHILD_SA with our inbound SPI ``spi_in``, most recently at
        ``now``: a sign of life that postpones DPD, like an IKE message (strongSwan's
        ``ike_sa.c`` ``get_use_time()`` takes the latest of the IKE_SA's inbound time and its
        CHILD_SAs' inbound use times). A shell may call it per packet, or only before
        :meth:`handle_timer` for SAs whose packet counter moved since it last looked.
        Unknown SPIs (manual keys, a child already forgotten) are ignored."""
        found = self._sas.child(spi_in)
        if found is not None and now > found[0].last_esp_in:
            found[0].last_esp_in = now

    def rekey_child(self, spi_in: int, now: float) -> None:
        """Rekey the CHILD_SA with our inbound SPI ``spi_in`` now."""
        found = self._sas.child(spi_in)
        if found is not None:
            child_rekey.start(self, *found, now)
            return
        raise KeyError(f"no CHILD_SA with inbound SPI {spi_in:08x}")

    def rekey_ike(self, name: str, now: float) -> None:
        """Rekey the IKE_SA called ``name`` now."""
        ike_rekey.start(self, self._by_name(name), now)

    def delete_child(self, spi_in: int, now: float) -> None:
        found = self._sas.child(spi_in)
        if found is not None:
            informational.delete_child(self, *found, now, "deleted locally")
            return
        raise KeyError(f"no CHILD_SA with inbound SPI {spi_in:08x}")

    def delete_ike(self, name: str, now: float) -> None:
        informational.delete_ike(self, self._by_name(name), now, "deleted locally")

    def established(self) -> list[IkeSa]:
        return [sa for sa in self.ike_sas.values() if sa.state == S.ESTABLISHED]

    def children(self) -> list[ChildSa]:
        """Every CHILD_SA not deleted, over all IKE_SAs."""
        return [c for sa in self.ike_sas.values() for c in sa.live_children()]

    # ------------------------------------------------------------------ receive path

    def _receive(self, data: bytes, src: Address, dst: Address, now: float) -> None:
        h = M.decode_header(data)
        msg: M.IkeMessage | None
        if h.exchange == M.IKE_SA_INIT and not h.response:
            self._init_request(data, h, src, dst, now)
            return
        our_spi = h.spi_r if h.initiator else h.spi_i
        sa = self.ike_sas.get(our_spi)
        if sa is None:
            self.drop("unknown_ike_spi", f"{M.EXCHANGE_NAMES.get(h.exchange, h.exchange)} "
                      f"for unknown SPI {our_spi.hex()}")
            return
        if h.initiator == sa.initiator:
            self.drop("bad_flags", "I flag does not match our role")
            return
        if h.response:
            p = sa.pending
            if p is None or p.msg_id != h.msg_id:
                self.drop("unexpected_response", f"response with message ID {h.msg_id} we "
                          f"are not waiting for")
                return
            if h.exchange == M.IKE_SA_INIT:
                if h.spi_i != sa.spi_i:
                    self.drop("unknown_ike_spi", "IKE_SA_INIT response for another SPI")
                    return
                msg = M.decode(data)
            else:
                if h.spi_r != sa.spi_r:
                    self.drop("unknown_ike_spi", "response for another responder SPI")
                    return
                msg = self._open(sa, data)
                if msg is None:
                    return
            sa.last_heard = now
            self._event_in(sa, msg, data, src, dst)
            tm.handle_response(self, sa, msg, data, now)
            return
        # a request from the peer
        if h.spi_i != sa.spi_i:
            self.drop("unknown_ike_spi", "request for another initiator SPI")
            return
        if h.msg_id + 1 == sa.next_recv_mid and sa.last_response:
            if data == sa.last_request:
                self.drop("retransmitted_request", f"message ID {h.msg_id}: resending our response")
                for d in sa.last_response:
                    self._out.append((d, sa.local, sa.remote))
                name = M.EXCHANGE_NAMES.get(h.exchange, str(h.exchange))
                self.emit(E.IkeMessageEvent("out", sa.local, sa.remote, name, h.msg_id, True,
                                             "(cached response)", sa.spi_i, sa.spi_r,
                                             sum(map(len, sa.last_response)), 1))
            elif fragments.is_fragment(data) and fragments.fragment_number(data) != 1:
                self.drop("retransmitted_request", f"message ID {h.msg_id}: a fragment other "
                          "than #1 of an answered request (RFC 7383 §2.6.1)")
            else:
                self.drop("invalid_message_id", f"message ID {h.msg_id} was already answered")
            return
        if h.msg_id != sa.next_recv_mid:
            self.drop("invalid_message_id",
                      f"request with message ID {h.msg_id}, expected {sa.next_recv_mid}")
            return
        msg = self._open(sa, data)
        if msg is None:
            return
        data = fragments.received_as(sa, msg, data)
        sa.last_heard = now
        if dst[1] == 4500 and (sa.remote != src or sa.local[1] != 4500):
            sa.remote, sa.local = src, dst  # the initiator floated (or its NAT mapping moved)
        self._event_in(sa, msg, data, src, dst)
        tm.handle_request(self, sa, msg, data, now, tasks.respond)

    def _open(self, sa: IkeSa, data: bytes) -> M.IkeMessage | None:
        if sa.sk_in is None:
            self.drop("unexpected_message", "encrypted message before keys exist")
            return None
        if fragments.is_fragment(data):
            return fragments.receive(self, sa, data)
        try:
            return M.decode(data, sa.sk_in)
        except IntegrityError as exc:
            self.drop("integrity", f"SK payload of {sa.name} failed its check: {exc}")
        except DecodeError as exc:
            self.drop("malformed", str(exc))
        return None

    def _init_request(self, data: bytes, h: M.Header, src: Address,
                      dst: Address, now: float) -> None:
        old = self._half_open.get((h.spi_i, src))
        if old is not None:
            if data == old.init_request and old.last_response:
                self.drop("retransmitted_request", "IKE_SA_INIT: resending our response")
                for d in old.last_response:
                    self._out.append((d, old.local, old.remote))
            else:
                self.drop("invalid_message_id", "second IKE_SA_INIT for a half-open SA")
            return
        if (h.spi_i, src) in self._inits:
            self.drop("retransmitted_request", "late IKE_SA_INIT for an established IKE_SA")
            return
        msg = M.decode(data)
        conns = self._responder_conns(dst[0], src[0])
        if not conns:
            self._stateless(msg, src, dst, M.NO_PROPOSAL_CHOSEN, b"",
                            f"no connection accepts {src[0]} -> {dst[0]}", now)
            return
        if len(self._half_open) >= self.config.cookie_threshold:
            ni = msg.find(M.Nonce)
            want = ike_init.cookie_for(self._cookie_secret, ni.data if ni else b"", src[0],
                                       h.spi_i)
            got = msg.payloads[0] if msg.payloads else None
            if not (isinstance(got, M.Notify) and got.notify_type == M.COOKIE
                    and got.data == want):
                self._stateless(msg, src, dst, M.COOKIE, want, "", now)
                return
        refused = self._half_open.refusal(src, self.config)  # after the cookie, before any DH
        if refused is not None:
            self.drop(*refused)
            return
        err: IkeError | None = None
        for conn in conns:
            sa = self.new_sa(conn, False, h.spi_i, self.rng.bytes(8), dst, src)
            sa.init_request = data
            sa.last_heard = now
            self._event_in(sa, msg, data, src, dst)
            try:
                payloads = ike_init.respond(self, sa, msg, now)
            except IkeError as exc:
                del self.ike_sas[sa.our_spi]
                self._sas.remove(sa)
                err = err or exc
                continue
            self._half_open.add((h.spi_i, src), sa)
            self._inits[(h.spi_i, src)] = sa
            self._init_keys.setdefault(id(sa), []).append((h.spi_i, src))
            sa.expire_at = now + HALF_OPEN_TIMEOUT
            resp = M.IkeMessage(sa.spi_i, sa.spi_r, M.IKE_SA_INIT, 0, False, True, payloads)
            out = M.encode(resp)
            sa.init_response = out
            sa.last_request = data
            sa.last_response = [out]
            sa.next_recv_mid = 1
            self.transmit(sa, [out], resp, resp.summary(), 0)
            return
        assert err is not None
        self._stateless(msg, src, dst, err.notify, err.data, err.sentence, now,
                        conn=conns[0].name)

    def _stateless(self, req: M.IkeMessage, src: Address, dst: Address,
                   notify: int, data: bytes, sentence: str, now: float, conn: str = "") -> None:
        resp = M.IkeMessage(req.spi_i, bytes(8), M.IKE_SA_INIT, 0, False, True,
                            [M.Notify(notify, data=data)])
        out = M.encode(resp)
        self._out.append((out, dst, src))
        self.emit(E.IkeMessageEvent("out", dst, src, "IKE_SA_INIT", 0, True, resp.summary(),
                                     req.spi_i, bytes(8), len(out), 0))
        if notify != M.COOKIE:
            self.emit(E.IkeFailure("", conn, M.NOTIFY_NAMES.get(notify, str(notify)), sentence,
                                    True, notify != M.INVALID_KE_PAYLOAD))

    # ------------------------------------------------- the TaskContext (context.py) for tasks
    # Tasks, the task manager and the SAs see the endpoint only through these members (and
    # config, rng, ike_sas); the shells use the API above.

    def new_spi(self) -> int:
        """A fresh inbound ESP/AH SPI, unique on this endpoint."""
        while True:
            spi = self.rng.spi()
            if self._sas.child(spi) is None:
                return spi

    def next_uid(self) -> int:
        self._uid += 1
        return self._uid

    def new_sa(self, conn: ConnectionConfig, initiator: bool, spi_i: bytes, spi_r: bytes,
                local: Address, remote: Address) -> IkeSa:
        self._count += 1
        sa = IkeSa(f"{conn.name}[{self._count}]", conn, initiator, spi_i, spi_r, local, remote)
        self.ike_sas[sa.our_spi] = sa
        self._sas.add(sa)
        return sa

    def _live(self, sa: IkeSa) -> bool:
        return self.ike_sas.get(sa.our_spi) is sa

    def sas_with_ids(self, local_id: Identity | None, peer_id: Identity | None) -> list[IkeSa]:
        """The IKE_SAs with this pair of identities, in ``ike_sas`` order."""
        return self._sas.with_ids(local_id, peer_id)

    def _active_sa(self, conn: ConnectionConfig) -> IkeSa | None:
        for sa in self.ike_sas.values():
            if sa.conn.name == conn.name and sa.state in (S.CREATED, S.CONNECTING, S.ESTABLISHED,
                                                          S.REKEYING):
                return sa
        return None

    def _by_name(self, name: str) -> IkeSa:
        for sa in self.ike_sas.values():
            if sa.name == name:
                return sa
        raise KeyError(f"no IKE_SA named {name!r}")

    def _responder_conns(self, local: str, remote: str) -> list[ConnectionConfig]:
        return [c for c in conn_index(self.config.connections).candidates(remote)
                if _addr_in(local, c.local_addrs) and _addr_in(remote, c.remote_addrs)]

    def pick_conn_for_id(self, sa: IkeSa, peer_id: Identity) -> None:
        """Switch the responder's IKE_SA to a connection whose ``remote.id`` fits the peer."""
        if not sa.conn.remote.id or peer_id.matches(ident(sa.conn.remote.id)):
            return
        for conn in self._responder_conns(sa.local[0], sa.remote[0]):
            if conn.proposals == sa.conn.proposals and conn.remote.id and \
                    peer_id.matches(ident(conn.remote.id)):
                sa.conn = conn
                return

    def local_credential(self, sa: IkeSa) -> LocalCredential:
        return credentials.local_credential(self, sa)

    def peer_credential(self, sa: IkeSa, peer_id: Identity) -> PeerCredential:
        return credentials.peer_credential(self, sa, peer_id)

    def certreq(self, conn: ConnectionConfig) -> M.CertReq | None:
        return credentials.certreq(self, conn)

    def transmit(self, sa: IkeSa, datagrams: list[bytes], msg: M.IkeMessage | None,
                 summary: str, retransmit: int, exchange: int = 0, msg_id: int = 0) -> None:
        for d in datagrams:
            self._out.append((d, sa.local, sa.remote))
        if msg is not None:
            exchange, msg_id, response = msg.exchange, msg.msg_id, msg.response
        else:
            response = False
        # one event per message: a fragmented one (RFC 7383) counts all its datagrams
        self.emit(E.IkeMessageEvent("out", sa.local, sa.remote,
                                     M.EXCHANGE_NAMES.get(exchange, str(exchange)), msg_id,
                                     response, summary, sa.spi_i, sa.spi_r,
                                     sum(map(len, datagrams)), retransmit))

    def _event_in(self, sa: IkeSa, msg: M.IkeMessage, data: bytes, src: Address,
                  dst: Address) -> None:
        size = fragments.wire_size(sa, msg, data, dst[1] == 4500)
        self.emit(E.IkeMessageEvent("in", dst, src, msg.exchange_name, msg.msg_id, msg.response,
                                     msg.summary(), msg.spi_i, msg.spi_r, size, 0))

    def emit(self, event: E.Event) -> None:
        self._events.append(event)

    def send_datagram(self, data: bytes, src: Address, dst: Address) -> None:
        self._out.append((data, src, dst))

    def drop(self, reason: str, detail: str = "") -> None:
        self.drops[reason] += 1
        self.emit(E.IkeDrop(reason, detail))

    def child_down(self, child: ChildSa, reason: str, now: float | None = None,
                   delay: float = 0.0) -> None:
        """Tell the data plane to remove ``child`` (once), now or ``delay`` seconds later."""
        if child.keys is None or child.down:
            return
        if delay and now is not None:
            child.down_at, child.down_reason = now + delay, reason
            return
        child.down = True
        child.down_at = None
        self.emit(E.ChildSaDown(child.keys, reason))

    def failure(self, sa: IkeSa, notify: str, reason: str, sent_by_us: bool,
                fatal: bool = False, child: str = "") -> None:
        """Report a failed exchange; ``child`` names the CHILD_SA config refused, if any."""
        self.emit(E.IkeFailure(sa.name, sa.conn.name, notify, reason, sent_by_us, fatal, child))

    def fail(self, sa: IkeSa, notify: str, reason: str, sent_by_us: bool, now: float) -> None:
        """An exchange failed in a way that ends the IKE_SA."""
        self.failure(sa, notify, reason, sent_by_us, fatal=True)
        self.destroy(sa, f"{notify}: {reason}", now)

    def forget(self, sa: IkeSa) -> None:
        """Drop every reference the endpoint holds to a destroyed IKE_SA (and its leases)."""
        cp.release(self, sa)
        if self.ike_sas.get(sa.our_spi) is sa:
            del self.ike_sas[sa.our_spi]
            self._sas.remove(sa)
        self._half_open.discard(sa)
        for key in self._init_keys.pop(id(sa), ()):
            if self._inits.get(key) is sa:
                del self._inits[key]

    def establish(self, sa: IkeSa, now: float) -> None:
        sa.move(self, "authenticated", now, f"{id_text(sa.local_id)} <-> {id_text(sa.peer_id)}")
        self._half_open.discard(sa)  # by its value: the peer may have floated to 4500 meanwhile
        sa.established_at = now
        ike_reauth.schedule(self, sa, now)  # first: the rekey schedule bounds the end by it
        ike_rekey.schedule(self, sa, now)
        informational.schedule(self, sa, now)
        self.emit(ike_rekey.sa_up_event(sa))

    def destroy(self, sa: IkeSa, reason: str, now: float, dead: bool = False) -> None:
        """Tear the IKE_SA and its children down (no messages); apply dpd_action if ``dead``."""
        if sa.state == S.DESTROYED:
            return
        restart = []
        for child in sa.children:
            if child.state != S.C_DELETED:
                if dead and child.cfg.dpd_action == "restart":
                    restart.append(child.cfg.name)
                child.move(self, sa, "fail", reason)
                self.child_down(child, reason)
        was_up = sa.state in (S.ESTABLISHED, S.REKEYING, S.REKEYED, S.DELETING)
        sa.move(self, "fail", now, reason)
        sa.down_reason = reason
        sa.pending = None
        sa.tasks.clear()
        self.forget(sa)
        if was_up or sa.initiator:
            self.emit(E.IkeSaDown(sa.name, reason))
        for name in restart:
            self.initiate(sa.conn.name, now, name)


def _has_child(sa: IkeSa, child: str) -> bool:
    """Whether ``sa`` holds the CHILD_SA ``child``, or will: in IKE_AUTH, or queued/in flight."""
    if any(c.name == child and c.state != S.C_DELETED for c in sa.children):
        return True
    if sa.first_child == child and sa.state in (S.CREATED, S.CONNECTING):
        return True
    queued = (*sa.tasks, sa.pending.task if sa.pending else None)
    return any(isinstance(t, child_create.ChildCreate) and t.cfg.name == child for t in queued)


def _addr_in(addr: str, patterns: tuple[str, ...]) -> bool:
    """swanctl address lists: empty or ``%any`` match all; also ``10.0.0.0/8`` and ``a-b``."""
    if not patterns or addr in patterns:
        return True
    for p in patterns:
        if p in ("%any", "%any4", "0.0.0.0/0"):
            return True
        try:
            if "/" in p and ipaddress.IPv4Address(addr) in ipaddress.IPv4Network(p, strict=False):
                return True
            if "-" in p:
                lo, hi = (ipaddress.IPv4Address(x.strip()) for x in p.split("-", 1))
                if lo <= ipaddress.IPv4Address(addr) <= hi:
                    return True
        except ValueError:
            continue
    return False


__all__ = ["IkeEndpoint", "IkeError"]
