"""``swanctl`` on a simulated gateway, printing what strongSwan 5.9's swanctl prints.

Supported: ``--initiate --child C [--ike I] [--timeout S]``, ``--terminate --ike I | --child C |
--ike-id N | --child-id N``, ``--rekey`` (same selectors), ``--list-sas [--ike I] [--ike-id N]
[--child C] [--child-id N] [--raw|--pretty]``, ``--list-conns [--raw|--pretty]``,
``--list-pools [--leases] [--raw|--pretty]``, ``--list-certs``, ``--load-all``, ``--version``.

The listings are built as charon's vici messages (:mod:`.vici`) and printed the way swanctl's
``commands/list_sas.c`` and ``list_conns.c`` print them (``--raw``: ``vici_dump()``).
``--initiate`` and ``--terminate`` wait, in simulated time, for the engine to finish, as
swanctl waits for charon's reply; the lines of charon's log written meanwhile are shown first
(``[IKE] ...``) when the gateway keeps one (``charon_log``), then ``initiate completed
successfully`` or ``initiate failed: ...`` with vici's error message.

Differences from a real charon, by design of the simulator: an ``--initiate`` of a CHILD_SA
that is already up completes at once without a duplicate; ``--initiate --ike I`` without
``--child`` brings up the connection's children too; ``--rekey --reauth`` rekeys.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..core.ike import states as S
from . import swanctl_usage as U
from .shell import POLL, Job
from .vici import Msg, Reqids, ike_sas, ike_uid, list_conn, list_sa, listed_children
from .vici_pools import get_pools

if TYPE_CHECKING:
    from ..sim.gateway import Gateway
    from .shell import Ctx

_NO_DAEMON = ("connecting to 'unix:///var/run/charon.vici' failed: No such file or directory\n"
              "Error: connecting to 'default' URI failed: No such file or directory\n")


def main(ctx: Ctx, argv: list[str]) -> Job | None:
    """``swanctl ARGS``: pick the command from the first option, as ``command_dispatch()``."""
    args = argv[1:]
    cmd: U.Command | None = None
    if args:
        a = args[0]
        if a.startswith("--"):
            name = a[2:].partition("=")[0]
            hits = [c for c in U.COMMANDS if c.cmd == name] or \
                [c for c in U.COMMANDS if c.cmd.startswith(name) and name]
            cmd = hits[0] if len(hits) == 1 else None
        elif a.startswith("-") and len(a) == 2:
            cmd = U.BY_OP.get(a[1])
        if cmd is None:
            ctx.out.err(f"swanctl: unrecognized option '{a}'\n" if a.startswith("--")
                        else f"swanctl: invalid option -- '{a[1:2]}'\n" if a.startswith("-")
                        else "")
    if cmd is None or cmd.cmd == "help":
        text = U.usage(None, "invalid operation" if args and cmd is None else None)
        (ctx.out.err if args and cmd is None else ctx.out.out)(text)
        return None
    gw = ctx.node
    if getattr(gw, "ike", None) is None and getattr(gw, "node", None) is None:
        ctx.out.err(_NO_DAEMON + U.usage(cmd))
        return None
    try:
        opts = U.getopt(args[1:], cmd.options)
    except U.BadOption as exc:
        ctx.out.err(str(exc))
        ctx.out.err(U.usage(cmd, f"invalid --{cmd.cmd} option"))
        return None
    if any(op == "h" for op, _ in opts):
        ctx.out.out(U.usage(cmd))
        return None
    handler = _HANDLERS.get(cmd.cmd)
    if handler is None:
        ctx.out.err(f"ipsecsim console: swanctl --{cmd.cmd} is not modelled\n")
        return None
    return handler(ctx, _Opts(opts))


class _Opts:
    """Parsed options by their short letter; ``raw``/``pretty`` as swanctl folds them."""

    def __init__(self, opts: list[tuple[str, str | None]]) -> None:
        self.last: dict[str, str] = {op: (arg or "") for op, arg in opts}
        self.pretty = "P" in self.last
        self.raw = self.pretty or "r" in self.last

    def text(self, op: str) -> str | None:
        return self.last.get(op)

    def num(self, op: str) -> int:
        """``atoi()`` of the option (0 when absent or not a number)."""
        m = re.match(r"\s*[+-]?\d+", self.last.get(op, ""))
        return int(m.group(0)) if m else 0


def _gw(ctx: Ctx) -> Gateway:
    """The node a control command runs on (:func:`main` checked it runs IKE)."""
    return ctx.node  # type: ignore[return-value]


def _reqids(ctx: Ctx) -> Reqids:
    return Reqids(ctx.console.node_state(ctx.node.name).setdefault("reqids", {}))


def _reply(ctx: Ctx, o: _Opts, name: str, errmsg: str | None, **extra: object) -> None:
    """A control command's reply: raw dump, or the completed/failed line."""
    if o.raw:
        m = Msg()
        m.kv("success", "no" if errmsg else "yes")
        for k, v in extra.items():
            m.kv(k, v)
        if errmsg:
            m.kv("errmsg", errmsg)
        ctx.out.out(m.dump(f"{name} reply", o.pretty))
    elif errmsg:
        ctx.out.err(f"{name} failed: {errmsg}\n")
    else:
        ctx.out.out(f"{name} completed successfully\n")


# --- listings -------------------------------------------------------------------------------
def list_sas(ctx: Ctx, o: _Opts) -> None:
    events = list_sa(ctx.node, ctx.now, _reqids(ctx), o.text("i"), o.num("I"), o.text("c"),
                     o.num("C"))
    out = ctx.out
    for _name, m in events:
        out.out(m.dump("list-sa event", o.pretty) if o.raw else _sa_text(m))
    if o.raw:
        out.out(Msg().dump("list-sas reply", o.pretty))
    return None


def _sa_text(m: Msg) -> str:
    """An IKE_SA as ``list_sas.c`` ``ike_sa()`` / ``child_sas()`` print it."""
    name, ike = next(m.sections())
    g = ike.text
    init = g("initiator") == "yes"
    lines = [f"{name}: #{g('uniqueid')}, {g('state')}, IKEv{g('version')}, "
             f"{g('initiator-spi')}_i{'*' if init else ''} {g('responder-spi')}_r{'' if init else '*'}\n"]
    vips = f" [{g('local-vips')}]" if g("local-vips") else ""
    lines.append(f"  local  '{g('local-id')}' @ {g('local-host')}[{g('local-port')}]{vips}\n")
    vips = f" [{g('remote-vips')}]" if g("remote-vips") else ""
    lines.append(f"  remote '{g('remote-id')}' @ {g('remote-host')}[{g('remote-port')}]{vips}\n")
    if g("encr-alg"):
        s = f"  {g('encr-alg')}"
        s += f"-{g('encr-keysize')}" if g("encr-keysize") else ""
        s += f"/{g('integ-alg')}" if g("integ-alg") else ""
        s += f"-{g('integ-keysize')}" if g("integ-keysize") else ""
        lines.append(f"{s}/{g('prf-alg')}/{g('dh-group')}\n")
    if g("established"):
        s = f"  established {g('established')}s ago"
        s += f", rekeying in {g('rekey-time')}s" if g("rekey-time") else ""
        s += f", reauth in {g('reauth-time')}s" if g("reauth-time") else ""
        s += f", expires in {g('life-time')}s" if g("life-time") else ""
        lines.append(s + "\n")
    children = ike.get("child-sas")
    if isinstance(children, Msg):
        for _cname, child in children.sections():
            lines.append(_child_text(child))
    return "".join(lines)


def _child_text(c: Msg) -> str:
    g = c.text

    def n(key: str) -> str:  # printf("%s", NULL) in glibc
        return g(key) or "(null)"

    s = (f"  {n('name')}: #{n('uniqueid')}, reqid {n('reqid')}, {n('state')}, {n('mode')}"
         f"{'-in-UDP' if g('encap') else ''}, {n('protocol')}:")
    if g("encr-alg"):
        s += g("encr-alg") or ""
        s += f"-{g('encr-keysize')}" if g("encr-keysize") else ""
    if g("integ-alg"):
        s += "/" if g("encr-alg") else ""
        s += (g("integ-alg") or "") + (f"-{g('integ-keysize')}" if g("integ-keysize") else "")
    s += f"/{g('prf-alg')}" if g("prf-alg") else ""
    s += f"/{g('dh-group')}" if g("dh-group") else ""
    s += "/ESN" if g("esn") else ""
    lines = [s + "\n"]
    s = f"    installed {n('install-time')}s ago"
    s += f", rekeying in {g('rekey-time')}s" if g("rekey-time") else ""
    s += f", expires in {g('life-time')}s" if g("life-time") else ""
    lines.append(s + "\n")
    for way, label in (("in", "in "), ("out", "out")):
        s = (f"    {label} {n(f'spi-{way}')}, {n(f'bytes-{way}'):>6} bytes, "
             f"{n(f'packets-{way}'):>5} packets")
        use = g(f"use-{way}")
        s += f", {use:>5}s ago" if use else ""
        lines.append(s + "\n")
    lines.append(f"    local  {n('local-ts')}\n")
    lines.append(f"    remote {n('remote-ts')}\n")
    return "".join(lines)


def list_conns(ctx: Ctx, o: _Opts) -> None:
    for _name, m in list_conn(ctx.node):
        ctx.out.out(m.dump("list-conn event", o.pretty) if o.raw else _conn_text(m))
    if o.raw:
        ctx.out.out(Msg().dump("list-conns reply", o.pretty))
    return None


def _conn_text(m: Msg) -> str:
    """A connection as ``list_conns.c`` ``conns()`` / ``conn_sn()`` / ``children_sn()``."""
    name, c = next(m.sections())
    g = c.text
    version = g("version") or ""
    reauth, rekey, dpd = g("reauth_time") or "0", g("rekey_time") or "0", g("dpd_delay") or "0"
    s = f"{name}: {version}, "
    if version == "IKEv1" and reauth == "0":
        reauth = rekey
    s += "no reauthentication" if reauth == "0" else f"reauthentication every {reauth}s"
    if version != "IKEv1":
        s += ", no rekeying" if rekey == "0" else f", rekeying every {rekey}s"
    s += f", dpd delay {dpd}s" if dpd != "0" else ""
    lines = [s + "\n", f"  local:  {g('local_addrs')}\n", f"  remote: {g('remote_addrs')}\n"]
    for sname, sec in c.sections():
        if sname.startswith(("local", "remote")):
            a = sec.text
            cls = a("class") or "unspecified"
            lines.append(f"  {'local' if sname.startswith('local') else 'remote'} {cls} authentication:\n")
            for key, label in (("id", "id"), ("ca_id", "ca_id"), ("eap_id", "eap_id"),
                               ("xauth_id", "xauth_id"), ("aaa_id", "aaa_id"),
                               ("groups", "groups"), ("cert_policy", "cert policy"),
                               ("certs", "certs"), ("cacerts", "cacerts")):
                if a(key):
                    lines.append(f"    {label}: {a(key)}\n")
        elif sname == "children":
            for cname, ch in sec.sections():
                lines.append(_conn_child(cname, ch, dpd))
    return "".join(lines)


def _conn_child(name: str, ch: Msg, dpd: str) -> str:
    g = ch.text
    mode = g("mode") or ""
    s = f"  {name}: {mode}, "
    t, b, p = g("rekey_time") or "0", g("rekey_bytes") or "0", g("rekey_packets") or "0"
    if mode.upper() in ("PASS", "DROP") or (t == b == p == "0"):
        s += "no rekeying"
    else:
        parts = ([f" {t}s"] if t != "0" else []) + ([f" {b} bytes"] if b != "0" else []) \
            + ([f" {p} packets"] if p != "0" else [])
        s += "rekeying every" + " or".join(parts)
    s += f", dpd action is {g('dpd_action')}" if dpd != "0" else ""
    return (f"{s}\n    local:  {g('local-ts') or '(null)'}\n"
            f"    remote: {g('remote-ts') or '(null)'}\n")


def list_pools(ctx: Ctx, o: _Opts) -> None:
    """vici's ``get-pools`` reply (``vici_attribute.c``), printed as ``list_pools.c`` does:
    ``NAME BASE ONLINE / OFFLINE / SIZE`` per pool, then ``--leases`` one line each."""
    m = get_pools(ctx.node, "l" in o.last, o.text("n"))
    if o.raw:
        ctx.out.out(m.dump("get-pools reply", o.pretty))
        return None
    out: list[str] = []
    for name, pool in m.sections():
        g = pool.text
        leases = f"{g('online')} / {g('offline')} / {g('size')}"
        out.append(f"{name:<20} {g('base') or '':<30} {leases:>16}\n")
        rows = pool.get("leases")
        if isinstance(rows, Msg):
            for _n, lease in rows.sections():
                h = lease.text
                out.append(f"  {h('address') or '':<30} {h('status') or '':<8} "
                           f"'{h('identity') or ''}'\n")
    ctx.out.out("".join(out))
    return None


def list_certs(ctx: Ctx, o: _Opts) -> None:
    """PSK peers load no certificate: nothing (``--raw``: the empty reply). Certificates
    (``auth = pubkey``) are not listed: said so on standard error rather than left empty."""
    ep = _gw(ctx).ike
    certs = ep is not None and any(a.auth.startswith("pubkey") for c in ep.config.connections
                                   for a in (c.local, c.remote))
    if certs:
        ctx.out.err("ipsecsim console: swanctl --list-certs does not list certificates yet\n")
    if o.raw:
        ctx.out.out(Msg().dump("list-certs reply", o.pretty))
    return None


def load_all(ctx: Ctx, o: _Opts) -> None:
    """The configuration was loaded when the run started; reloading it unchanged replaces
    nothing: what ``--load-all`` prints for the same files (``load_conns.c``, ``load_creds.c``)."""
    ep = _gw(ctx).ike
    secrets = [s.name for s in ep.config.secrets] if ep is not None else []
    conns = [c.name for c in ep.config.connections] if ep is not None else []
    out = [f"loaded ike secret '{n}'\n" for n in secrets]
    out.append("no authorities found, 0 unloaded\n")
    out.append("no pools found, 0 unloaded\n")
    out += [f"loaded connection '{n}'\n" for n in conns]
    out.append(f"successfully loaded {len(conns)} connections, 0 unloaded\n")
    ctx.out.out("".join(out))
    return None


def version(ctx: Ctx, o: _Opts) -> None:
    if "d" in o.last:
        ctx.out.out(f"strongSwan {U.VERSION} charon (Linux, 6.1.0, x86_64)\n")
    else:
        ctx.out.out(f"strongSwan swanctl {U.VERSION}\n")
    return None


# --- control --------------------------------------------------------------------------------
def _log_lines(gw: Any) -> list[str]:
    log = getattr(gw, "charon_log", None)
    if log is None:
        return []
    return list(log.lines()) if hasattr(log, "lines") else log.text().splitlines()


def _log_mark(gw: Any) -> int:
    return len(_log_lines(gw))


def _vici_log(ctx: Ctx, text: str) -> None:
    """The line charon logs when a vici request arrives (``vici_control.c``, DBG1 CFG)."""
    log = getattr(ctx.node, "charon_log", None)
    if log is not None and hasattr(log, "log"):
        log.log(ctx.now, "CFG", text)


_LOG_LINE = re.compile(r"\b\d+\[([A-Z]{3})\] (.*)$")


def _log_since(gw: Any, mark: int) -> str:
    """charon's log lines written since ``mark`` as swanctl's ``log_cb`` shows them."""
    out = []
    for line in _log_lines(gw)[mark:]:
        m = _LOG_LINE.search(line)
        if m:
            out.append(f"[{m.group(1)}] {m.group(2)}\n")
    return "".join(out)


class _Waiting(Job):
    """A control command waiting for the engine: polls ``done_when`` every :data:`POLL` s."""

    def __init__(self, ctx: Ctx, o: _Opts, name: str) -> None:
        super().__init__(ctx)
        self.opts = o
        self.name = name
        self.mark = _log_mark(ctx.node)
        t = o.num("t")
        self.timeout = ctx.now + t if t > 0 else None
        if self.timeout is not None:
            self.deadline = self.timeout + 2 * POLL

    def check(self, now: float) -> bool:
        result = self.result(now)
        if result is None and self.timeout is not None and now >= self.timeout:
            result = self.timed_out()
        if result is None:
            return False
        if not self.opts.raw:  # raw: swanctl dumps vici's log events, not modelled
            self.out.out(_log_since(self.ctx.node, self.mark))
        errmsg, extra = result
        _reply(self.ctx, self.opts, self.name, errmsg, **extra)
        return True

    def result(self, now: float) -> tuple[str | None, dict[str, object]] | None:
        raise NotImplementedError

    def timed_out(self) -> tuple[str | None, dict[str, object]]:
        raise NotImplementedError

    def interrupted(self, now: float) -> str:
        return "" if self.opts.raw else _log_since(self.ctx.node, self.mark)


class _Initiate(_Waiting):
    def __init__(self, ctx: Ctx, o: _Opts, conn: str, child: str | None, ike_name: str,
                 before: set[int]) -> None:
        super().__init__(ctx, o, "initiate")
        self.conn, self.child, self.ike_name, self.before = conn, child, ike_name, before
        self.what = f"CHILD_SA '{child}'" if child else f"IKE_SA '{conn}'"

    def result(self, now: float) -> tuple[str | None, dict[str, object]] | None:
        ep = _gw(self.ctx).ike
        sa = next((s for s in ep.ike_sas.values() if s.name == self.ike_name), None)
        if sa is None:
            return f"establishing {self.what} failed", {}
        if sa.state != S.ESTABLISHED:
            return None
        if self.child is None:
            return None, {}
        if any(c.cfg.name == self.child and c.state == S.C_INSTALLED and c.unique_id not in self.before
               for c in sa.children):
            return None, {}
        if sa.pending is None and not sa.tasks:
            return f"establishing {self.what} failed", {}
        return None

    def timed_out(self) -> tuple[str | None, dict[str, object]]:
        ms = self.opts.num("t") * 1000
        return f"{self.what} not established after {ms}ms", {}


def initiate(ctx: Ctx, o: _Opts) -> Job | None:
    """``vici_control.c`` ``initiate()``: find the child config (in ``--ike`` if given)."""
    child, ike = o.text("c"), o.text("i")
    if not child and not ike:
        _reply(ctx, o, "initiate", "missing configuration name")
        return None
    ep = _gw(ctx).ike
    conns = ep.config.connections if ep is not None else ()
    conn = next((c for c in conns if (not ike or c.name == ike)
                 and (child is None or any(ch.name == child for ch in c.children))), None)
    if conn is None:
        what = f"CHILD_SA config '{child}'" if child else f"IKE_SA config '{ike}'"
        _vici_log(ctx, f"vici initiate {'CHILD_SA' if child else 'IKE_SA'} '{child or ike}'")
        _reply(ctx, o, "initiate", f"{what} not found")
        return None
    _vici_log(ctx, f"vici initiate {'CHILD_SA' if child else 'IKE_SA'} '{child or ike}'")
    installed = {c.unique_id for sa in ep.ike_sas.values() for c in sa.children
                 if c.cfg.name == child and c.state == S.C_INSTALLED}
    job = _Initiate(ctx, o, conn.name, child, "", set())
    try:
        name = _gw(ctx).node.initiate(conn.name, ctx.now, child)
    except Exception as exc:  # noqa: BLE001 - e.g. no single remote address to initiate to
        _reply(ctx, o, "initiate", f"establishing {job.what} failed: {exc}")
        return None
    finally:
        _gw(ctx).drain()
    job.ike_name = name
    sa = next((s for s in ep.ike_sas.values() if s.name == name), None)
    already = sa is not None and sa.state == S.ESTABLISHED and child is not None and \
        bool(installed) and not sa.tasks and sa.pending is None
    job.before = set() if already else installed
    if job.check(ctx.now):
        job.finish()
    else:
        job.poll_every(POLL, job.check)
    return job


def _select_children(ctx: Ctx, o: _Opts) -> list[tuple[Any, Any]]:
    ike, ike_id, child, child_id = o.text("i"), o.num("I"), o.text("c"), o.num("C")
    out: list[tuple[Any, Any]] = []
    if _gw(ctx).ike is None:
        return out
    for sa in ike_sas(_gw(ctx).ike):
        if (ike and sa.conn.name != ike) or (ike_id and ike_uid(sa) != ike_id):
            continue
        for c in listed_children(sa):
            if c.state in (S.C_DELETED, S.C_CREATED):
                continue
            if (child and c.cfg.name != child) or (child_id and c.unique_id != child_id):
                continue
            out.append((sa, c))
    return out


def _select_ikes(ctx: Ctx, o: _Opts) -> list[Any]:
    ike, ike_id = o.text("i"), o.num("I")
    if _gw(ctx).ike is None:
        return []
    return [sa for sa in ike_sas(_gw(ctx).ike)
            if sa.state != S.DESTROYED and ((ike and sa.conn.name == ike)
                                            or (ike_id and ike_uid(sa) == ike_id))]


class _Terminate(_Waiting):
    def __init__(self, ctx: Ctx, o: _Opts, ikes: list[str], spis: list[int]) -> None:
        super().__init__(ctx, o, "terminate")
        self.ikes, self.spis = ikes, spis

    def result(self, now: float) -> tuple[str | None, dict[str, object]] | None:
        ep = _gw(self.ctx).ike
        n = len(self.ikes) + len(self.spis)
        live = {sa.name for sa in ep.ike_sas.values() if sa.state != S.DESTROYED}
        if any(name in live for name in self.ikes):
            return None
        kids = {c.spi_in: c for sa in ep.ike_sas.values() for c in sa.children}
        if any(spi in kids and kids[spi].state != S.C_DELETED for spi in self.spis):
            return None
        return None, {"matches": n, "terminated": n}

    def timed_out(self) -> tuple[str | None, dict[str, object]]:
        n = len(self.ikes) + len(self.spis)
        msg = "terminating SA failed" if n == 1 else "not all matching SAs could be terminated"
        return msg, {"matches": n, "terminated": 0}


def _selector_log(ctx: Ctx, o: _Opts, what: str) -> None:
    """``vici terminate IKE_SA #1`` ... in the order ``vici_control.c`` logs them."""
    if o.num("I"):
        _vici_log(ctx, f"vici {what} IKE_SA #{o.num('I')}")
    if o.num("C"):
        _vici_log(ctx, f"vici {what} CHILD_SA #{o.num('C')}")
    if o.text("i"):
        _vici_log(ctx, f"vici {what} IKE_SA '{o.text('i')}'")
    if o.text("c"):
        _vici_log(ctx, f"vici {what} CHILD_SA '{o.text('c')}'")


def _selected(ctx: Ctx, o: _Opts, what: str) -> tuple[list[tuple[Any, Any]], list[Any]] | None:
    """The CHILD_SAs (by ``--child``/``--child-id``, within ``--ike``) or else the IKE_SAs a
    terminate or rekey names, logged as charon's vici does; None after the reply when the
    command names no selector (``vici_control.c``)."""
    if not (o.text("c") or o.text("i") or o.num("I") or o.num("C")):
        _reply(ctx, o, what, f"missing {what} selector")
        return None
    _selector_log(ctx, o, what)
    by_child = bool(o.text("c") or o.num("C"))
    return (_select_children(ctx, o) if by_child else [],
            [] if by_child else _select_ikes(ctx, o))


def terminate(ctx: Ctx, o: _Opts) -> Job | None:
    """``vici_control.c`` ``terminate()``: by child (within ``--ike``) or by IKE_SA."""
    chosen = _selected(ctx, o, "terminate")
    if chosen is None:
        return None
    gw = _gw(ctx)
    pairs, ikes = chosen
    if not pairs and not ikes:
        _reply(ctx, o, "terminate", "no matching SAs to terminate found", matches=0, terminated=0)
        return None
    job = _Terminate(ctx, o, [sa.name for sa in ikes], [c.spi_in for _, c in pairs])
    try:
        for _sa, c in pairs:
            gw.node.delete_child(c.spi_in, ctx.now)
        for sa in ikes:
            gw.node.delete_ike(sa.name, ctx.now)
    finally:
        gw.drain()
    if job.check(ctx.now):
        job.finish()
    else:
        job.poll_every(POLL, job.check)
    return job


def rekey(ctx: Ctx, o: _Opts) -> None:
    """``vici_control.c`` ``rekey()``: queued at once, the reply does not wait."""
    chosen = _selected(ctx, o, "rekey")
    if chosen is None:
        return None
    gw = _gw(ctx)
    pairs, ikes = chosen
    if not pairs and not ikes:
        _reply(ctx, o, "rekey", "no matching SAs to rekey found", matches=0)
        return None
    try:
        for _sa, c in pairs:
            gw.node.rekey_child(c.spi_in, ctx.now)
        for sa in ikes:
            gw.node.rekey_ike(sa.name, ctx.now)
    finally:
        gw.drain()
    _reply(ctx, o, "rekey", None, matches=len(pairs) + len(ikes))
    return None


_HANDLERS: dict[str, Any] = {
    "list-sas": list_sas, "list-conns": list_conns, "list-pools": list_pools,
    "list-certs": list_certs, "load-all": load_all, "version": version,
    "initiate": initiate, "terminate": terminate, "rekey": rekey,
}
