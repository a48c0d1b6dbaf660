"""A node's IKE daemon log in charon's words: what ``cat /var/log/daemon.log`` shows.

:class:`CharonLog` is fed every event an :class:`~ipsecsim.core.node.IpsecNode` hands out
(:mod:`ipsecsim.core.ike.events`, :mod:`ipsecsim.core.node_events`), in order, with the
simulated time, and renders the lines strongSwan 5.9's charon logs at its default level (1)
for the same happenings, numbered as charon numbers them: ``name[uniqueid]`` for IKE_SAs,
``name{uniqueid}`` for CHILD_SAs (unique ids count from 1 per daemon, IKE and CHILD apart;
they are the node's own, carried in the events). A line looks like a syslog ``daemon.log``
line of strongSwan's test network::

    Jan  1 00:00:00 moon charon: 09[IKE] initiating IKE_SA gw-gw[1] to 192.168.0.2

The wording follows charon's sources (``sa/ikev2/tasks/*.c``, ``sa/ike_sa.c``,
``sa/ikev2/task_manager_v2.c``, ``encoding/message.c``, ``network/sender.c``,
``processing/jobs/process_message_job.c``, ``kernel/kernel_handler.c``). The events are the
source of truth; where an event does not carry what charon prints (the authentication scheme,
the rekey schedule, byte counters) an optional :class:`NodeView` reads it from the node, and
without one the line is written from the configuration, or left out. :meth:`CharonLog.feed`
only keeps the event (and the few references a view must take at once): the lines are written
when the log is read, so a run that never reads its logs pays almost nothing for them.

A few lines must name something the events tell only later (``establishing CHILD_SA
net{2}`` is logged before the request that creates CHILD_SA 2; ``initiating IKE_SA gw[3]``
before the IKE rekey that makes it): they are kept with a hole that the later event fills.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..core.ike import events as E
from ..core.ike.config import IkeConfig
from ..core.node_events import Note, SaInstalled, SaInstallFailed, SaRemoved
from . import charoneap
from . import charonwords as W
from .charon_cp import CP_EVENTS, cp_lines, is_cp_failure
from .charonrecords import HOLE, ChildRec, Held, IkeRec, Line, hp, split_sizes
from .charonwords import payload_tokens, stamp, ts_list
from .nodeview import NodeView

__all__ = ["CharonLog", "Line", "NodeView"]

VERSION = "5.9.8"
"""The strongSwan release whose wording the log follows (the oracle tests' charon)."""

_RESTART = object()
"""Marks, among the events fed, where the node's IKE endpoint was replaced (a power cycle)."""
_QUIET = (E.ChildStateChange, E.ChildSaDown, E.ChildSaRekeyed, E.IkeStateChange, SaRemoved, Note)
"""Events that come with a peer's Delete and must not end the wait for its verdict (was it
for a CHILD_SA, or for the IKE_SA that takes its CHILD_SAs along?)."""
_NUM = re.compile(r"^(.*)\[(\d+)\]$")


class CharonLog:
    """One node's charon log; :meth:`feed` it every event the node produced, in order."""

    def __init__(self, host: str, config: IkeConfig | None = None, view: NodeView | None = None,
                 start: float = 0.0) -> None:
        self.host = host
        self.config = config
        self.view = view
        self._lines: list[Line] = []
        self._pending: list[tuple[object, float]] = []
        """Events fed and not yet rendered: :meth:`feed` only keeps them (and what a view must
        read at once); the lines are written when the log is read."""
        self._endpoint = view.endpoint if view is not None else None
        self._gen = 0
        """Incarnation of the daemon being fed (a restart starts the next); keys the snapshots."""
        self._snap_sa: dict[tuple[int, str], tuple[Any, tuple[Any, Any, Any]]] = {}
        """(generation, IKE_SA name) -> (the IKE_SA object, its rekey schedule) as it came up."""
        self._snap_auth: dict[bytes, Any] = {}
        """Our IKE SPI -> the IKE_SA object, taken when we sent IKE_AUTH (our AUTH's scheme)."""
        self._snap_child: dict[int, tuple[Any, Any] | None] = {}
        """Inbound SPI -> the SA objects of an installed CHILD_SA (their byte counters)."""
        self._render_gen = 0
        self._reset()
        self._log(start, "DMN", f"Starting IKE charon daemon (strongSwan {VERSION}, Linux, x86_64)")

    @classmethod
    def for_node(cls, host: str, node: Any, start: float = 0.0) -> CharonLog:
        """The log of an :class:`~ipsecsim.core.node.IpsecNode`, reading what events lack
        from it (:class:`NodeView`); a restarted node (a new IKE endpoint) starts a new daemon."""
        ike = node.ike
        return cls(host, ike.config if ike is not None else None, NodeView(node), start)

    def _reset(self) -> None:
        self._ikes: dict[str, IkeRec] = {}
        self._by_spi: dict[bytes, IkeRec] = {}
        self._children: dict[int, ChildRec] = {}
        self._uid = 0
        self._ike_max = 0
        self._last_in: E.IkeMessageEvent | None = None
        self._pending_init: IkeRec | None = None
        self._rekeying: ChildRec | None = None
        self._holes: dict[int, Line] = {}
        self._ike_holes: dict[str, Line] = {}
        self._filled: tuple[Line, str] | None = None
        self._held: Held | None = None
        self._deferred: list[Line] = []
        self._reqids: dict[str, int] = {}

    # --- output -------------------------------------------------------------------
    def log(self, now: float, group: str, text: str) -> Line:
        """Append one line after what was fed so far (the console adds its own, e.g.
        ``vici initiate CHILD_SA 'net'``)."""
        self._render()
        return self._log(now, group, text)

    def _log(self, now: float, group: str, text: str) -> Line:
        return self._append(Line(now, group, text))

    def _append(self, line: Line) -> Line:
        if self._held is not None:
            self._held.lines.append(line)
        else:
            self._lines.append(line)
        return line

    def lines(self, since: float = 0.0) -> list[str]:
        """The log so far, one syslog line each: ``Jan  1 00:00:03 moon charon: 09[IKE] ...``
        (``since``: the time stamped as 00:00:00, for a clock that does not start at 0)."""
        self._render()
        self._flush()
        return [f"{stamp(ln.t - since)} {self.host} charon: {W.THREADS.get(ln.group, 9):02d}[{ln.group}] "
                f"{ln.message}" for ln in self._lines]

    def text(self) -> str:
        """:meth:`lines` joined, with a final newline (empty log: empty string)."""
        out = self.lines()
        return "\n".join(out) + "\n" if out else ""

    def messages(self) -> list[str]:
        """The texts alone (what follows ``NN[GRP] ``), for tests and differential checks."""
        self._render()
        self._flush()
        return [ln.message for ln in self._lines]

    # --- input --------------------------------------------------------------------
    def feed(self, ev: object, now: float) -> None:
        """One event of the node, at simulated time ``now``: kept, rendered when the log is read.

        With a view, what the lines need from the live node is taken now, by dictionary
        lookups: the IKE_SA object as it comes up and as it sends IKE_AUTH, the SA objects of
        an installed CHILD_SA; a new IKE endpoint (a power cycle) marks a new daemon."""
        view = self.view
        if view is not None:
            if view.endpoint is not self._endpoint:
                self._endpoint = view.endpoint
                self._gen += 1
                self._pending.append((_RESTART, now))
            if type(ev) is E.IkeMessageEvent:
                if ev.exchange == "IKE_AUTH" and ev.direction == "out" and not ev.response \
                        and ev.ispi not in self._snap_auth:
                    self._snap_auth[ev.ispi] = view.ike_sa(ev.ispi)
            elif type(ev) is SaInstalled:
                self._snap_child[ev.keys.spi_in] = view.sas(ev.keys)
            elif type(ev) is E.IkeSaUp or type(ev) is E.IkeSaRekeyed:
                up = ev if isinstance(ev, E.IkeSaUp) else ev.new
                sa = view.ike_sa(up.ispi if up.initiator else up.rspi)
                if sa is not None:
                    self._snap_sa[(self._gen, up.ike_sa)] = (sa, view.schedule(sa))
        self._pending.append((ev, now))

    def _render(self) -> None:
        pending, self._pending = self._pending, []
        for ev, now in pending:
            if ev is _RESTART:  # a power cycle: a new daemon, ids from 1
                self._flush()
                self._reset()
                self._render_gen += 1
                self._log(now, "DMN", f"Starting IKE charon daemon (strongSwan {VERSION}, Linux, x86_64)")
            else:
                self._handle(ev, now)

    def _handle(self, ev: object, now: float) -> None:
        if (self._held is not None or self._deferred) and not isinstance(ev, _QUIET):
            self._flush()
        match ev:
            case E.IkeMessageEvent():
                self._message(ev, now)
            case E.IkeStateChange():
                self._ike_state(ev, now)
            case E.IkeSaUp():
                self._ike_up(ev)
            case E.IkeSaRekeyed(new=new):
                self._ike_up(new)
            case E.ChildStateChange():
                self._child_state(ev, now)
            case E.ChildSaUp():
                self._child_up(ev, now)
            case SaInstalled(keys=keys):
                c = self._children.get(keys.spi_in)
                counted = self._snap_child.pop(keys.spi_in, None)
                if c is not None:
                    c.sas = counted
            case E.ChildSaRekeyed(new=new):
                c = self._children.get(new.spi_in)
                if c is not None and c.outbound_due:
                    c.outbound_due = False
                    line = Line(now, "IKE", f"outbound CHILD_SA {c.label} established {c.spis_ts}")
                    if self._peer_deletes():  # child_delete.c installs it after closing the old SA
                        self._deferred.append(line)
                    else:
                        self._append(line)
            case SaInstallFailed():
                self._log(now, "IKE", W.SAD_FAILED)
                self._log(now, "IKE", "failed to establish CHILD_SA, keeping IKE_SA")
            case _ if type(ev) in CP_EVENTS or is_cp_failure(ev):
                for group, text in cp_lines(ev):  # virtual IPs and pools (charon_cp.py)
                    self._log(now, group, text)
            case E.IkeFailure():
                self._failure(ev, now)
            case E.IkeDrop(reason=reason, detail=detail):
                self._drop(reason, detail, now)
            case E.EapStep():
                self._eap(ev, now)
            case _:
                pass  # SaRemoved, blocks, notes, packet drops: nothing charon logs at level 1

    def feed_all(self, events: Iterable[tuple[object, float]]) -> CharonLog:
        for ev, now in events:
            self.feed(ev, now)
        return self

    # --- messages -----------------------------------------------------------------
    def _message(self, ev: E.IkeMessageEvent, now: float) -> None:
        tokens, frags = payload_tokens(ev.payloads)
        text = W.message_text(ev.exchange, ev.response, ev.msg_id, tokens)
        sizes = split_sizes(ev.size, frags)
        if ev.direction == "in":
            self._last_in = ev
            src, dst = ev.remote, ev.local
            for i, size in enumerate(sizes, 1):
                self._log(now, "NET", f"received packet: from {hp(src)} to {hp(dst)} ({size} bytes)")
                if frags:
                    self._log(now, "ENC", "parsed " + W.message_text(ev.exchange, ev.response, ev.msg_id,
                                                                     [f"EF({i}/{frags})"]))
                    self._log(now, "ENC", f"received fragment #{i} of {frags}, " + (
                        "waiting for complete IKE message" if i < frags
                        else f"reassembled fragmented IKE message ({ev.size} bytes)"))
            self._log(now, "ENC", "parsed " + text)
            return
        if ev.retransmit:
            self._log(now, "IKE", f"retransmit {ev.retransmit} of request with message ID {ev.msg_id}")
        else:
            self._before_sending(ev, tokens, now)
            self._log(now, "ENC", "generating " + text)
            if frags:
                self._log(now, "ENC", f"splitting IKE message ({ev.size} bytes) into {frags} fragments")
        for i, size in enumerate(sizes, 1):
            if frags and not ev.retransmit:
                self._log(now, "ENC", "generating " + W.message_text(ev.exchange, ev.response, ev.msg_id,
                                                                     [f"EF({i}/{frags})"]))
            self._log(now, "NET", f"sending packet: from {hp(ev.local)} to {hp(ev.remote)} ({size} bytes)")

    def _before_sending(self, ev: E.IkeMessageEvent, tokens: list[str], now: float) -> None:
        """What charon logs while building a request: the tasks' own lines."""
        if ev.response:
            return
        ike = self._by_spi.get(ev.ispi)
        if ev.exchange == "IKE_SA_INIT":
            pending = self._pending_init
            if pending is not None and ev.rspi == bytes(8):
                self._pending_init = None
                pending.local, pending.remote = ev.local, ev.remote
                self._by_spi[ev.ispi] = ike = pending
                pending.ispi = ev.ispi
            if ike is not None and ike.initiator:  # every IKE_SA_INIT we start, retries included
                self._log(now, "IKE", f"initiating IKE_SA {ike.name} to {ev.remote[0]}")
        elif ev.exchange == "IKE_AUTH" and ike is not None and "SA" in tokens \
                and "AUTH" not in tokens:  # asking for EAP (eap/ikeauth.py)
            self._establishing(ike, now)
        elif ev.exchange == "IKE_AUTH" and ike is not None and "AUTH" in tokens and ike.eap:
            pass  # the AUTH after EAP: charoneap.py logged it
        elif ev.exchange == "IKE_AUTH" and ike is not None and "AUTH" in tokens:
            sa = self._snap_auth.pop(ev.ispi, None)
            ours = self._auth_texts(ike, sa)[0]
            self._log(now, "IKE", f"authentication of '{self._my_id(ike, sa)}' (myself) with {ours}"
                     + ("" if ours == W.AUTH_METHOD_TEXT[2] else " successful"))
            if "SA" in tokens:
                self._establishing(ike, now)
        elif ev.exchange == "CREATE_CHILD_SA" and ike is not None:
            if "N(REKEY_SA)" in tokens and self._rekeying is not None:
                c, self._rekeying = self._rekeying, None
                self._uid += 1
                name = c.keys.name
                reqid = self._reqids.setdefault(name, len(self._reqids) + 1)
                self._log(now, "IKE", f"establishing CHILD_SA {name}{{{self._uid}}} reqid {reqid}")
            elif "TSi" in tokens:
                self._establishing(ike, now)
            elif "KE" in tokens:  # an IKE_SA rekey: the new IKE_SA is named by its response
                nxt = f"{ike.conn}[{self._ike_max + 1}]"
                hole = self._log(now, "IKE", f"initiating IKE_SA {HOLE} to {ev.remote[0]}")
                hole.hole = nxt
                self._ike_holes[ike.name] = hole
        elif ev.exchange == "INFORMATIONAL" and not tokens:
            self._log(now, "IKE", "sending DPD request")

    def _establishing(self, ike: IkeRec, now: float) -> None:
        """``establishing CHILD_SA NAME{N}``: N is the node's next unique id; the name comes with
        the CHILD_SA's ChildSaUp (or its refusal)."""
        self._uid += 1
        line = self._log(now, "IKE", f"establishing CHILD_SA {HOLE}{{{self._uid}}}")
        line.hole = self._first_child(ike.conn)
        self._holes[self._uid] = line

    # --- IKE_SAs ------------------------------------------------------------------
    def _ike(self, name: str, initiator: bool = True) -> IkeRec:
        ike = self._ikes.get(name)
        if ike is None:
            m = _NUM.match(name)
            conn = m.group(1) if m else name
            if m:
                self._ike_max = max(self._ike_max, int(m.group(2)))
            ike = self._ikes[name] = IkeRec(name, conn, initiator)
        return ike

    def _ike_state(self, ev: E.IkeStateChange, now: float) -> None:
        old, new, detail = str(ev.old), str(ev.new), ev.detail
        last = self._last_in
        if old == "CREATED" and new == "CONNECTING":
            responder = last is not None and last.exchange == "IKE_SA_INIT" and not last.response
            ike = self._ike(ev.ike_sa, not responder)
            if responder and last is not None:
                ike.local, ike.remote = last.local, last.remote
                self._by_spi[last.ispi] = ike
                ike.ispi = last.ispi
                self._log(now, "IKE", f"{last.remote[0]} is initiating an IKE_SA")
            else:
                self._pending_init = ike
        elif new == "ESTABLISHED" and old == "CONNECTING":
            ike = self._ike(ev.ike_sa)
            me, _, peer = detail.partition(" <-> ")
            ike.me, ike.peer = me or ike.me, peer or ike.peer
            sa, when = self._snap_sa.pop((self._render_gen, ev.ike_sa), (None, None))
            ours, theirs = self._auth_texts(ike, sa)
            if not ike.eap:  # an EAP IKE_SA logged them step by step (charoneap.py)
                self._log(now, "IKE", f"authentication of '{ike.peer}' with {theirs} successful")
            if not ike.initiator and not ike.eap:
                self._log(now, "IKE", f"authentication of '{ike.me}' (myself) with {ours}"
                         + ("" if ours == W.AUTH_METHOD_TEXT[2] else " successful"))
            self._log(now, "IKE", f"IKE_SA {ike.name} established between {ike.between}")
            self._schedule(when, now)
        elif old == "CREATED" and new == "ESTABLISHED":  # adopted: made by an IKE_SA rekey
            self._adopted(ev, now)
        elif new == "DELETING":
            ike = self._ike(ev.ike_sa)
            if detail.startswith("reauth"):
                self._log(now, "IKE", f"reauthenticating IKE_SA {ike.name}")
            self._log(now, "IKE", f"deleting IKE_SA {ike.name} between {ike.between}")
            self._log(now, "IKE", f"sending DELETE for IKE_SA {ike.name}")
        elif new == "DESTROYED":
            ike = self._ike(ev.ike_sa)
            if detail == "deleted by peer":
                if self._held is not None and self._held.ike == ev.ike_sa:
                    self._held = None  # its CHILD_SAs went with it: charon logs no closing for them
                self._log(now, "IKE", f"received DELETE for IKE_SA {ike.name}")
                self._log(now, "IKE", f"deleting IKE_SA {ike.name} between {ike.between}")
                self._log(now, "IKE", "IKE_SA deleted")
            elif old == "DELETING":
                m = re.search(r"after (\d+) retransmissions", detail)
                if detail.startswith("deleted; ") and m:
                    self._log(now, "IKE", f"giving up after {m.group(1)} retransmits")
                    self._log(now, "IKE", "proper IKE_SA delete failed, peer not responding")
                else:
                    self._log(now, "IKE", "IKE_SA deleted")
        known = self._ikes.get(ev.ike_sa)
        if known is not None:
            known.state = new

    def _adopted(self, ev: E.IkeStateChange, now: float) -> None:
        """``IKE_SA NEW rekeyed between ...`` (ike_rekey.c ``establish_new()``)."""
        m = re.match(r"rekeyed from (.+)$", ev.detail)
        ike = self._ike(ev.ike_sa)
        redundant = ev.detail.startswith("redundant")
        if m:
            old = self._ikes.get(m.group(1))
        else:  # the one we made in a lost collision: it replaced the SA we were rekeying
            old = next((o for o in reversed(self._ikes.values()) if o.conn == ike.conn
                        and o.state in ("REKEYING", "REKEYED") and o is not ike), None)
        if old is not None:
            ike.conn, ike.local, ike.remote, ike.me, ike.peer = old.conn, old.local, old.remote, old.me, old.peer
            ike.initiator = old.state == "REKEYING" or redundant
            hole = self._ike_holes.pop(old.name, None)
            if hole is not None:
                self._filled = (hole, hole.text)
                hole.fill(ike.name)
            elif redundant and self._filled is not None:  # ours after all: the hole named the peer's
                line, template = self._filled
                line.text = template.replace(HOLE, ike.name)
            elif not ike.initiator:
                self._log(now, "IKE", f"{ike.remote[0]} is initiating an IKE_SA")
        if redundant:
            self._log(now, "IKE", f"IKE_SA rekey collision lost, deleting redundant IKE_SA {ike.name}")
        else:
            self._schedule(self._snap_sa.pop((self._render_gen, ev.ike_sa), (None, None))[1], now)
            self._log(now, "IKE", f"IKE_SA {ike.name} rekeyed between {ike.between}")

    def _ike_up(self, ev: E.IkeSaUp) -> None:
        ike = self._ike(ev.ike_sa, ev.initiator)
        m = _NUM.match(ev.ike_sa)
        if m and ev.connection and m.group(1) != ev.connection:  # the responder switched config
            ike.conn, ike.name = ev.connection, f"{ev.connection}[{m.group(2)}]"
        ike.local, ike.remote = ev.local, ev.remote
        self._by_spi[ev.ispi] = ike
        ike.ispi = ev.ispi

    def _schedule(self, when: tuple[Any, Any, Any] | None, now: float) -> None:
        """``scheduling rekeying in Ns`` ... (ike_sa.c ``set_state(IKE_ESTABLISHED)``)."""
        if when is None:
            return
        rekey, reauth, end = when
        if rekey is not None:
            self._log(now, "IKE", f"scheduling rekeying in {int(rekey - now)}s")
        if reauth is not None:
            self._log(now, "IKE", f"scheduling reauthentication in {int(reauth - now)}s")
        if end is not None:
            self._log(now, "IKE", f"maximum IKE_SA lifetime {int(end - now)}s")

    # --- CHILD_SAs ----------------------------------------------------------------
    def _child_up(self, ev: E.ChildSaUp, now: float) -> None:
        keys = ev.keys
        self._uid = max(self._uid, keys.unique_id)
        hole = self._holes.pop(keys.unique_id, None)
        if hole is not None:
            hole.fill(keys.name)
        # a rekey installs inbound first: the responder's outbound waits for the DELETE of the
        # old SA (ChildSaUp.outbound False), the initiator's follows at once (ChildSaRekeyed)
        rekey = not ev.outbound or any(c.state == "REKEYING" and c.keys.name == keys.name
                                       for c in self._children.values())
        c = self._children[keys.spi_in] = ChildRec(keys, outbound_due=rekey)
        self._reqids.setdefault(keys.name, len(self._reqids) + 1)
        self._log(now, "IKE", f"{'inbound ' if rekey else ''}CHILD_SA {c.label} established {c.spis_ts}")

    def _child_state(self, ev: E.ChildStateChange, now: float) -> None:
        c = self._children.get(ev.spi_in)
        old, new, detail = str(ev.old), str(ev.new), ev.detail
        if c is None:
            return
        c.state = new
        proto = c.keys.proto.upper()
        if new == "REKEYING":
            self._rekeying = c
            self._log(now, "KNL", f"creating rekey job for CHILD_SA {proto}/0x{c.keys.spi_in:08x}/{c.keys.local_addr}")
        elif new == "DELETING":
            self._closing(c, now, expired=detail.startswith("hard expired"))
            self._log(now, "IKE", f"sending DELETE for {proto} CHILD_SA with SPI {c.keys.spi_in:08x}")
        elif new == "DELETED" and old == "DELETING":
            last = self._last_in
            if last is not None and last.exchange == "INFORMATIONAL" and last.response:
                self._log(now, "IKE", f"received DELETE for {proto} CHILD_SA with SPI {c.keys.spi_out:08x}")
                self._log(now, "IKE", "CHILD_SA closed")
        elif new == "DELETED":
            last = self._last_in
            if not self._peer_deletes():
                return  # torn down with its IKE_SA: charon logs nothing for it
            if self._held is None:
                self._held = Held(ev.ike_sa)
            self._log(now, "IKE", f"received DELETE for {proto} CHILD_SA with SPI {c.keys.spi_out:08x}")
            self._closing(c, now)
            self._log(now, "IKE", f"sending DELETE for {proto} CHILD_SA with SPI {c.keys.spi_in:08x}")
            self._log(now, "IKE", "CHILD_SA closed")
            for line in self._deferred:
                self._append(line)
            self._deferred.clear()

    def _peer_deletes(self) -> bool:
        """Whether the message being handled is the peer's INFORMATIONAL request with a Delete."""
        last = self._last_in
        return (last is not None and last.exchange == "INFORMATIONAL" and not last.response
                and "D" in payload_tokens(last.payloads)[0])

    def _closing(self, c: ChildRec, now: float, expired: bool = False) -> None:
        """child_delete.c ``log_children()``."""
        if expired:
            self._log(now, "IKE", f"closing expired CHILD_SA {c.label} {c.spis_ts}")
            return
        b_in, b_out = (c.sas[0].bytes, c.sas[1].bytes) if c.sas is not None else (0, 0)
        k = c.keys
        self._log(now, "IKE", f"closing CHILD_SA {c.label} with SPIs {k.spi_in:08x}_i ({b_in} bytes) "
                             f"{k.spi_out:08x}_o ({b_out} bytes) and TS {ts_list(k.local_ts)} === "
                             f"{ts_list(k.remote_ts)}")

    # --- failures -----------------------------------------------------------------
    def _failure(self, ev: E.IkeFailure, now: float) -> None:
        if ev.child:  # a refused CHILD_SA names the oldest still unnamed "establishing" line
            for uid, line in sorted(self._holes.items()):
                line.fill(ev.child)
                del self._holes[uid]
                break
        ike = self._ikes.get(ev.ike_sa)
        for group, text in W.failure_lines(ev, ike.state if ike else "", ike.remote[0] if ike else ""):
            self._log(now, group, text)

    def _drop(self, reason: str, detail: str, now: float) -> None:
        for group, text in W.drop_lines(reason, detail):
            self._log(now, group, text)

    def _eap(self, ev: E.EapStep, now: float) -> None:
        """An EAP step (``charoneap.py``); the IKE_SA then logs its authentication from these."""
        ike = self._ike(ev.ike_sa)
        ike.eap = True
        ours, theirs = self._auth_texts(ike, None)
        text = charoneap.line(ev.step, ev.identity, ours, theirs)
        if text is not None:
            self._log(now, "IKE", text)

    # --- helpers ------------------------------------------------------------------
    def _flush(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            self._lines.extend(held.lines)
        self._lines.extend(self._deferred)
        self._deferred.clear()

    def _conn(self, name: str) -> Any:
        if self.config is None:
            return None
        return next((c for c in self.config.connections if c.name == name), None)

    def _first_child(self, conn: str) -> str:
        cfg = self._conn(conn)
        return cfg.children[0].name if cfg is not None and cfg.children else "?"

    def _my_id(self, ike: IkeRec, sa: Any) -> str:
        if ike.me:
            return ike.me
        if sa is not None and sa.local_id is not None:
            return str(sa.local_id)
        cfg = self._conn(ike.conn)
        return (cfg.local.id if cfg is not None and cfg.local.id else "") or ike.local[0]

    def _auth_texts(self, ike: IkeRec, sa: Any) -> tuple[str, str]:
        """(ours, the peer's) authentication as charon names them: read from the IKE_SA object
        a view kept, else said from the configuration (a certificate's scheme then guessed)."""
        ours, theirs = self.view.auth(sa) if self.view is not None and sa is not None else ("", "")
        if ours and theirs:
            return ours, theirs
        cfg = self._conn(ike.conn)
        psk = W.AUTH_METHOD_TEXT[2]

        def guess(auth: str) -> str:
            return psk if auth == "psk" else "RSA_EMSA_PKCS1_SHA2_256"
        return (ours or (guess(cfg.local.auth) if cfg is not None else psk),
                theirs or (guess(cfg.remote.auth) if cfg is not None else psk))


def render(host: str, events: Iterable[tuple[object, float]], config: IkeConfig | None = None) -> str:
    """The daemon.log text of ``events`` ((event, time) pairs) of one node."""
    return CharonLog(host, config).feed_all(events).text()

