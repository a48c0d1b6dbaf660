"""charon's vici messages about a simulated gateway: ``list-sa`` and ``list-conn`` events.

A :class:`Msg` is a vici message as charon's builder makes it (key/values, lists, sections, in
order). The builders below fill it from the gateway's IKE endpoint and data plane with the key
names and value spellings of strongSwan 5.9's ``vici_query.c`` (``list_ike()``,
``list_child()``, ``list_conns()``; documented in ``src/libcharon/plugins/vici/README.md``):
``state=ESTABLISHED``, ``encr-alg=AES_GCM_16``, ``dh-group=CURVE_25519``, ``mode=TUNNEL``,
``protocol=ESP``, SPIs as 8 hex digits, times as whole seconds. :meth:`Msg.dump` prints it as
``swanctl --raw`` / ``--pretty`` do (``vici_message.c`` ``dump()``); ``swanctl.py`` prints the
same messages the way swanctl's ``list_sas.c`` / ``list_conns.c`` read them.

What the simulator has no counterpart for is left out, as charon leaves a key out when it has
nothing to say (marks, interface ids, virtual IPs, tasks).
"""

from __future__ import annotations

import math
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Union

from ..core.ike import states as S
from ..core.ike.ids import ID_ANY, ID_DER_ASN1_DN, ID_IPV4_ADDR, ID_IPV6_ADDR, ID_KEY_ID, dn_to_text

if TYPE_CHECKING:
    from ..core.ike.config import ConnectionConfig
    from ..core.ike.ids import Identity
    from ..core.ike.ikesa import ChildSa, IkeSa
    from ..core.selectors import TrafficSelector

Value = Union[str, list[str], "Msg"]


class Msg:
    """An ordered vici message: ``(key, value)`` with a value a string, a list of strings or a
    nested section."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Value]] = []

    def kv(self, key: str, value: object) -> None:
        self.items.append((key, str(value)))

    def lst(self, key: str, values: list[str]) -> None:
        self.items.append((key, list(values)))

    def sec(self, key: str) -> Msg:
        sub = Msg()
        self.items.append((key, sub))
        return sub

    def get(self, key: str) -> Value | None:
        return next((v for k, v in self.items if k == key), None)

    def text(self, key: str) -> str | None:
        """A key's value as swanctl's hashtables hold it: lists joined with spaces."""
        v = self.get(key)
        if isinstance(v, Msg):
            return None
        if isinstance(v, list):
            return " ".join(v) if v else None
        return v

    def sections(self) -> Iterator[tuple[str, Msg]]:
        for k, v in self.items:
            if isinstance(v, Msg):
                yield k, v

    def dump(self, label: str, pretty: bool = False) -> str:
        """``LABEL {k=v k2=[a b] sec {..}}`` as ``vici_dump()`` prints it (one line unless
        ``pretty``, then indented by two per level)."""
        out = [f"{label} {{{chr(10) if pretty else ''}"]
        self._dump(out, 2 if pretty else 0, pretty)
        out.append("}\n")
        return "".join(out)

    def _dump(self, out: list[str], ident: int, pretty: bool) -> None:
        term, separ, assign = ("\n", "", " = ") if pretty else ("", " ", "=")
        pad = " " * ident
        first = True
        for key, v in self.items:
            sep = "" if first else separ
            first = False
            if isinstance(v, Msg):
                out.append(f"{pad}{sep}{key} {{{term}")
                v._dump(out, ident + (2 if pretty else 0), pretty)
                out.append(f"{pad}}}{term}")
            elif isinstance(v, list):
                out.append(f"{pad}{sep}{key}{assign}[{term}")
                inner = " " * (ident + 2) if pretty else ""
                out.append("".join(f"{inner}{'' if i == 0 else separ}{x}{term}"
                                   for i, x in enumerate(v)))
                out.append(f"{pad}]{term}")
            else:
                out.append(f"{pad}{sep}{key}{assign}{v}{term}")


# --- names as charon spells them ------------------------------------------------------------
IKE_STATE = {S.DESTROYED: "DESTROYING"}
"""Our IKE_SA state names that differ from charon's ``ike_sa_state_names``."""

_DH = {"CURVE25519": "CURVE_25519", "CURVE448": "CURVE_448"}
_PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 51: "ah", 58: "ipv6-icmp",
                132: "sctp"}
"""``getprotobynumber()`` names (/etc/protocols) of the protocols a selector may name."""


def encr_name(alg: Any) -> str:
    """``encryption_algorithm_names``: ``ENCR_AES_GCM_16`` -> ``AES_GCM_16``."""
    return str(alg.iana_name).removeprefix("ENCR_")


def integ_name(alg: Any) -> str:
    """``integrity_algorithm_names``: ``AUTH_HMAC_SHA2_256_128`` -> ``HMAC_SHA2_256_128``."""
    return str(alg.iana_name).removeprefix("AUTH_")


def dh_name(group: int) -> str:
    """``key_exchange_method_names``: ``CURVE_25519``, ``ECP_384``, ``MODP_2048``."""
    from ..core import algorithms as A

    g = A.DH_GROUPS.get(group)
    if g is None:
        return f"KE_{group}"
    return _DH.get(g.iana_name, g.iana_name)


def proto_name(proto: int) -> str:
    return _PROTO_NAMES.get(proto, str(proto))


def ts_text(ts: TrafficSelector) -> str:
    """A traffic selector as charon's ``%R`` prints it: ``10.1.0.0/16``, ``10.1.0.5..10.1.0.9``,
    ``10.1.0.0/16[tcp/http]``, ``0.0.0.0/0[udp/1000-2000]``."""
    from ..core.selectors import int_to_ip

    size = ts.end - ts.start + 1
    if size > 0 and size & (size - 1) == 0 and ts.start % size == 0:
        text = f"{int_to_ip(ts.start)}/{33 - size.bit_length()}"
    else:
        text = f"{int_to_ip(ts.start)}..{int_to_ip(ts.end)}"
    has_ports = not (ts.port_start == 0 and ts.port_end == 65535)
    if not ts.proto and not has_ports:
        return text
    proto = proto_name(ts.proto) if ts.proto else "0"
    if not has_ports:
        return f"{text}[{proto}]"
    if ts.port_start == ts.port_end:
        if ts.proto in (1, 58):
            port = _icmp(ts.port_start)
        else:
            try:
                port = socket.getservbyport(ts.port_start, proto) if ts.proto else str(ts.port_start)
            except (OSError, OverflowError):
                port = str(ts.port_start)
    elif ts.proto in (1, 58):
        port = f"{_icmp(ts.port_start)}-{_icmp(ts.port_end)}"
    else:
        port = f"{ts.port_start}-{ts.port_end}"
    return f"{text}[{proto}/{port}]"


def _icmp(port: int) -> str:
    t, c = port >> 8, port & 0xFF
    return f"{t}({c})" if c else str(t)


def id_text(ident: Identity | None, fallback: str = "%any") -> str:
    """An identity as charon's ``%Y`` prints it (FQDNs and e-mail addresses without prefix)."""
    if ident is None:
        return fallback
    t, d = ident.id_type, ident.data
    if t == ID_ANY:
        return "%any"
    if t in (ID_IPV4_ADDR, ID_IPV6_ADDR):
        return str(ident)
    if t == ID_DER_ASN1_DN:
        try:
            return dn_to_text(d)
        except ValueError:
            return f"{d.hex()}"
    if t == ID_KEY_ID:
        return ":".join(f"{b:02x}" for b in d)
    return d.decode("ascii", "replace")


def config_id(text: str, fallback: str) -> str:
    """A configured identity (``local.id``) as charon prints it; ``fallback`` when unset."""
    from ..core.ike.ids import Identity

    if not text:
        return fallback
    try:
        return id_text(Identity.parse(text))
    except Exception:  # noqa: BLE001 - a config the engine accepted; print it as written
        return text


def whole(t: float) -> int:
    """Seconds as charon's monotonic clock counts them (whole seconds)."""
    return math.floor(t + 1e-9)


# --- list-sa --------------------------------------------------------------------------------
def ike_uid(sa: IkeSa) -> int:
    """The IKE_SA's unique id: the N of its name ``conn[N]``."""
    try:
        return int(sa.name.rsplit("[", 1)[1].rstrip("]"))
    except (IndexError, ValueError):
        return 0


def listed_children(sa: IkeSa) -> list[ChildSa]:
    """The CHILD_SAs charon would still list: not deleted, or deleted but still installed
    (charon keeps a rekeyed CHILD_SA, DELETED, until its delayed destroy)."""
    return [c for c in sa.children if c.state != S.C_DELETED or not c.down]


def ike_sas(ike: Any) -> list[IkeSa]:
    """The endpoint's IKE_SAs in the order of their unique ids."""
    return sorted(ike.ike_sas.values(), key=ike_uid)


class Reqids:
    """reqids as charon allocates them: one per set of selectors between two addresses, the
    same for every CHILD_SA over it (rekeys keep theirs), numbered from 1 in the order the
    console first sees them (remembered per node)."""

    def __init__(self, table: dict[Any, int]) -> None:
        self.table = table

    def get(self, key: Any) -> int:
        if key not in self.table:
            self.table[key] = len(self.table) + 1
        return self.table[key]

    def of_child(self, child: ChildSa, local: str = "", remote: str = "") -> int:
        return self.get((child.cfg.name, local, remote, tuple(map(str, child.local_ts)),
                         tuple(map(str, child.remote_ts))))


def sad_counters(node: Any) -> dict[int, Any]:
    """SPI -> SAD entry of the node's data plane (both directions)."""
    return {e.sa.spi: e for e in node.sa_entries()}


def list_sa(gw: Any, now: float, reqids: Reqids, ike: str | None = None, ike_id: int = 0,
            child: str | None = None, child_id: int = 0) -> list[tuple[str, Msg]]:
    """One ``list-sa`` event per IKE_SA (``vici_query.c`` ``list_sas()``): (name, message)."""
    ep = gw.ike
    if ep is None:
        return []
    sad = sad_counters(gw.node)
    out = []
    for sa in ike_sas(ep):
        if ike and sa.conn.name != ike:
            continue
        if ike_id and ike_uid(sa) != ike_id:
            continue
        m = Msg()
        body = m.sec(sa.conn.name)
        _list_ike(body, sa, now, gw)
        children = body.sec("child-sas")
        for c in listed_children(sa):
            if child and c.cfg.name != child:
                continue
            if child_id and c.unique_id != child_id:
                continue
            sec = children.sec(f"{c.cfg.name}-{c.unique_id}")
            _list_child(sec, c, sa, now, sad, reqids)
        out.append((sa.conn.name, m))
    return out


def _list_ike(b: Msg, sa: IkeSa, now: float, gw: Any) -> None:
    conn = sa.conn
    b.kv("uniqueid", ike_uid(sa))
    b.kv("version", conn.version)
    b.kv("state", IKE_STATE.get(sa.state, str(sa.state)))
    b.kv("local-host", sa.local[0])
    b.kv("local-port", sa.local[1])
    b.kv("local-id", id_text(sa.local_id, config_id(conn.local.id, sa.local[0])))
    b.kv("remote-host", sa.remote[0])
    b.kv("remote-port", sa.remote[1])
    b.kv("remote-id", id_text(sa.peer_id, config_id(conn.remote.id, "%any")))
    if sa.initiator:
        b.kv("initiator", "yes")
    b.kv("initiator-spi", sa.spi_i.hex())
    b.kv("responder-spi", sa.spi_r.hex())
    if sa.nat_local:
        b.kv("nat-local", "yes")
    if sa.nat_remote:
        b.kv("nat-remote", "yes")
    if sa.nat_local or sa.nat_remote:
        b.kv("nat-any", "yes")
    suite = sa.suite
    if suite is not None and sa.keys is not None:
        if suite.encr is not None:
            b.kv("encr-alg", encr_name(suite.encr))
            if suite.encr.key_bits:
                b.kv("encr-keysize", suite.encr.key_bits)
        if suite.integ is not None:
            b.kv("integ-alg", integ_name(suite.integ))
        if suite.prf is not None:
            b.kv("prf-alg", suite.prf.iana_name)
        if suite.dh:
            b.kv("dh-group", dh_name(suite.dh))
    if sa.state == S.ESTABLISHED:
        b.kv("established", whole(now) - whole(sa.established_at))
        if sa.rekey_at is not None:
            b.kv("rekey-time", whole(sa.rekey_at) - whole(now))
        if sa.reauth_at is not None:
            b.kv("reauth-time", whole(sa.reauth_at) - whole(now))
    # vici_query.c list_vips(): a list only when the IKE_SA has virtual IPs
    if sa.local_vips:
        b.lst("local-vips", list(sa.local_vips))
    if sa.remote_vips:
        b.lst("remote-vips", list(sa.remote_vips))


def _list_child(b: Msg, c: ChildSa, sa: IkeSa, now: float, sad: dict[int, Any],
                reqids: Reqids) -> None:
    b.kv("name", c.cfg.name)
    b.kv("uniqueid", c.unique_id)
    b.kv("reqid", reqids.of_child(c, sa.local[0], sa.remote[0]))
    b.kv("state", str(c.state))
    b.kv("mode", c.cfg.mode.upper())
    if c.state != S.C_CREATED:
        keys = c.keys
        b.kv("protocol", c.cfg.protocol.upper())
        if keys is not None and keys.encap:
            b.kv("encap", "yes")
        b.kv("spi-in", f"{c.spi_in:08x}")
        b.kv("spi-out", f"{c.spi_out:08x}")
        suite = c.suite
        if suite is not None:
            if suite.encr is not None:
                b.kv("encr-alg", encr_name(suite.encr))
                if suite.encr.key_bits:
                    b.kv("encr-keysize", suite.encr.key_bits)
            if suite.integ is not None:
                b.kv("integ-alg", integ_name(suite.integ))
            if suite.dh:
                b.kv("dh-group", dh_name(suite.dh))
            if suite.esn:
                b.kv("esn", "1")
        for way, spi in (("in", c.spi_in), ("out", c.spi_out)):
            e = sad.get(spi)
            b.kv(f"bytes-{way}", e.sa.bytes if e is not None else 0)
            b.kv(f"packets-{way}", e.sa.packets if e is not None else 0)
            used = getattr(e.sa, "used_at", -1.0) if e is not None and way == "in" else -1.0
            if used >= 0:
                b.kv(f"use-{way}", whole(now) - whole(used))
        soft = c.soft_at if c.soft_at is not None else c.rekey_at  # charon: the lifetime set
        if soft is not None:  # at installation, also once a rekey has started
            b.kv("rekey-time", whole(soft) - whole(now))
        if c.expire_at is not None:
            b.kv("life-time", whole(c.expire_at) - whole(now))
        b.kv("install-time", whole(now) - whole(c.installed_at))
    b.lst("local-ts", [ts_text(t) for t in c.local_ts])
    b.lst("remote-ts", [ts_text(t) for t in c.remote_ts])


# --- list-conn ------------------------------------------------------------------------------
def list_conn(gw: Any, ike: str | None = None) -> list[tuple[str, Msg]]:
    """One ``list-conn`` event per connection (``vici_query.c`` ``list_conns()``)."""
    ep = gw.ike
    if ep is None:
        return []
    out = []
    for conn in ep.config.connections:
        if ike and conn.name != ike:
            continue
        m = Msg()
        _list_conn(m.sec(conn.name), conn)
        out.append((conn.name, m))
    return out


_AUTH_CLASS = {"psk": "pre-shared key", "pubkey": "public key", "eap": "EAP",
               "xauth": "XAuth"}


def _list_conn(b: Msg, conn: ConnectionConfig) -> None:
    b.lst("local_addrs", list(conn.local_addrs) or ["%any"])
    b.lst("remote_addrs", list(conn.remote_addrs) or ["%any"])
    b.kv("version", "IKEv1" if conn.version == 1 else "IKEv2")
    b.kv("reauth_time", int(conn.reauth_time))
    b.kv("rekey_time", int(conn.rekey_time))
    b.kv("unique", f"UNIQUE_{conn.unique.upper()}")
    if conn.dpd_delay:
        b.kv("dpd_delay", int(conn.dpd_delay))
    if conn.dpd_timeout:
        b.kv("dpd_timeout", int(conn.dpd_timeout))
    for side, auth in (("local", conn.local), ("remote", conn.remote)):
        a = b.sec(f"{side}-1")
        if auth.id:
            a.kv("id", config_id(auth.id, auth.id))
        a.kv("class", _AUTH_CLASS.get(auth.auth.split("-")[0], auth.auth))
        a.lst("groups", [])
        a.lst("cert_policy", [])
        a.lst("certs", [])
        a.lst("cacerts", [])
    children = b.sec("children")
    for ch in conn.children:
        c = children.sec(ch.name)
        c.kv("mode", ch.mode.upper())
        c.kv("rekey_time", int(ch.rekey_time))
        c.kv("rekey_bytes", ch.rekey_bytes)
        c.kv("rekey_packets", ch.rekey_packets)
        c.kv("dpd_action", _action(ch.dpd_action))
        c.kv("close_action", _action(ch.close_action))
        c.lst("local-ts", [_cfg_ts(t) for t in ch.local_ts])
        c.lst("remote-ts", [_cfg_ts(t) for t in ch.remote_ts])


def _action(a: str) -> str:
    """``action_names`` (none, trap, start) of a configured action (``vici_config.c`` maps
    clear to none, restart to start, route to trap)."""
    return {"clear": "none", "": "none", "restart": "start", "route": "trap", "hold": "trap"}.get(a, a)


def _cfg_ts(text: str) -> str:
    from ..core.selectors import TrafficSelector

    if text == "dynamic":
        return "dynamic"
    try:
        return ts_text(TrafficSelector.parse(text))
    except Exception:  # noqa: BLE001 - shown as configured
        return text
