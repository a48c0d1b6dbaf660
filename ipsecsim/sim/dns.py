"""DNS in the simulator: resolver nodes, query traffic, and the DNS leak measured on the wire.

Topology keys (``topologies/README.md``):

* ``dns: {zone: {NAME: ADDRESS, ...}, ttl: 300}`` on a node: it runs a resolver on UDP 53
  that answers A queries for the names of its zone (NOERROR, one A record) and NXDOMAIN
  for any other name (RFC 1035 §4.1.1); a query with another opcode gets NOTIMP, one
  without exactly one question FORMERR; a response sent to it is dropped (``dns_not_query``).
* ``dns: {resolver: ADDRESS}`` on a client: its configured resolver (``/etc/resolv.conf``).
* ``traffic: {NAME: {type: dns, from: CLIENT, names: [...], rate, count, to?}}``: the client
  sends one real query (:mod:`ipsecsim.core.ip.dns`) per tick, cycling through ``names``.
  Its resolver is, in this order: the flow's ``to`` (``dig @server``); the first
  INTERNAL_IP4_DNS of a CFG_REPLY (``Node.cp_dns``, what strongSwan's resolve plugin
  installs ahead of the configured servers); the node's ``dns.resolver``. With none, the
  query is a counted drop (``dns_no_resolver``).

Every query and every response is an application packet (``packets.sent``): delivered at
the resolver / the client, or dropped with its reason; a malformed DNS message is a drop
(``dns_malformed``), never an exception.

The leak (``summary.json`` ``dns``, :func:`dns_summary`) is read from the trace's
``link_tx`` records -- the bytes the pcaps are written from: for each query, the first
link it took out of its client's host, and whether it went there as plain UDP 53
(``in_clear``, with the names read back from those bytes) or inside ESP / ESP in UDP
(``in_tunnel``).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

from ..core.errors import DecodeError
from ..core.ip import dns as D
from ..core.ip import ipv4 as P
from .traffic import Flow, FlowConfig

if TYPE_CHECKING:
    from .network import Network
    from .nodes import Node
    from .runner import Simulation

MALFORMED = "dns_malformed"
NOT_QUERY = "dns_not_query"
NO_RESOLVER = "dns_no_resolver"


class Resolver:
    """The UDP 53 listener of a node with ``dns: {zone: ...}``."""

    def __init__(self, node: Node, zone: dict[str, str], ttl: int = 300) -> None:
        self.node = node
        self.zone = {D.check_name(k).lower(): v for k, v in zone.items()}
        self.ttl = ttl
        self.queries = 0
        self.answered = 0
        self.nxdomain = 0
        node.udp_listeners[D.DNS_PORT] = self

    def udp_receive(self, node: Node, data: bytes, pkt_id: int) -> None:
        net = node.net
        now = net.env.now
        try:
            _hdr, payload = P.parse_udp(data)
            q = D.decode(payload)
        except DecodeError as exc:
            net.drop(now, node.name, pkt_id, MALFORMED, str(exc))
            return
        if q.qr:
            net.drop(now, node.name, pkt_id, NOT_QUERY, f"a DNS response (id {q.id}) sent to port 53")
            return
        flow = net.app_deliver(node, data, pkt_id)
        self.queries += 1
        if q.opcode != 0:
            reply = D.answer(q, rcode=D.NOTIMP)
        elif len(q.questions) != 1:
            reply = D.answer(q, rcode=D.FORMERR)
        else:
            qu = q.questions[0]
            addr = self.zone.get(qu.name.lower())
            if addr is not None and qu.qtype == D.TYPE_A and qu.qclass == D.CLASS_IN:
                reply = D.answer(q, (D.a_record(qu.name, addr, self.ttl),))
                self.answered += 1
            elif addr is not None:
                reply = D.answer(q)  # the name exists, without records of that type (NODATA)
            else:
                reply = D.answer(q, rcode=D.NXDOMAIN)
                self.nxdomain += 1
        sport, dport = P.ports(data)
        size = 28 + len(reply)
        replies = getattr(flow, "replies", None)
        pid = (net.app_send(replies, node.name, P.ntoa(data[12:16]), size) if replies is not None
               else net.control_id())
        pkt = P.udp(data[16:20], data[12:16], dport, sport, reply, node.next_ident(), with_checksum=True)
        node.send_packet(pkt, pid)


class _Replies(Flow):
    """The resolver's responses to one DNS flow: accounted end to end like any flow."""

    def __init__(self, flow: DnsFlow) -> None:
        self.net = flow.net
        self.cfg = FlowConfig(name=f"{flow.name}.reply", type="dns_reply", src="", dst=flow.cfg.src)
        self.name = self.cfg.name
        self.sent = self.delivered = self.dropped = self.bytes_delivered = 0
        self.lat_sum, self.lat_min, self.lat_max = 0.0, float("inf"), 0.0
        self.first_delivery = self.last_delivery = None
        flow.net.flows[self.name] = self


class DnsFlow(Flow):
    """``type: dns``: a client's queries for ``names``, one per tick."""

    def __init__(self, net: Network, cfg: FlowConfig, index: int) -> None:
        super().__init__(net, cfg if cfg.dst else _with_dst(cfg, "0.0.0.0"), index)
        self.cfg = cfg
        self.fixed = P.aton(cfg.dst) if cfg.dst else None
        """The flow's ``to``: its resolver whatever else the node has."""
        self.rng = net.rng.child(f"flow/{cfg.name}")
        self.outstanding: dict[int, tuple[str, float]] = {}
        self.queries: dict[int, str] = {}
        """Packet id of each query sent -> its name (the leak count reads the trace by it)."""
        self.resolvers: dict[str, str] = {}
        """Resolver address -> where it came from (``flow``, ``cp``, ``configured``)."""
        self.answered = 0
        self.nxdomain = 0
        self.addresses: dict[str, str] = {}
        """Name -> the address of the last answer for it."""
        self.replies = _Replies(self)
        self.node.udp_listeners[self.port] = self

    def resolver(self) -> tuple[bytes | None, str]:
        """(resolver address, where it came from) as the client would pick it now."""
        if self.fixed is not None:
            return self.fixed, "flow"
        cp = [a for a in getattr(self.node, "cp_dns", ()) if ":" not in a]
        if cp:
            return P.aton(cp[0]), "cp"
        conf = getattr(self.node, "dns_resolver", None)
        if conf:
            return P.aton(conf), "configured"
        return None, ""

    def start(self) -> None:
        ev = Timeout(self.net.env, self.cfg.start)
        ev.callbacks.append(self._tick)

    def _tick(self, _ev: Any) -> None:
        cfg = self.cfg
        self.send_one()
        if cfg.count and self.sent >= cfg.count:
            return
        if cfg.stop is not None and self.net.env.now + 1.0 / cfg.rate >= cfg.stop:
            return
        ev = Timeout(self.net.env, 1.0 / cfg.rate)
        ev.callbacks.append(self._tick)

    def send_one(self) -> None:
        net = self.net
        node = self.node
        name = self.cfg.names[self.seq % len(self.cfg.names)]
        self.seq += 1
        dst, how = self.resolver()
        ident = self.rng.randint(0, 0xFFFF)
        payload = D.query(ident, name)
        size = 28 + len(payload)
        pid = net.app_send(self, self.cfg.src, P.ntoa(dst) if dst else "", size)
        self.queries[pid] = name
        if dst is None:
            net.drop(net.env.now, node.name, pid, NO_RESOLVER,
                     f"{node.name} has no resolver (no dns.resolver, no DNS server from a CFG_REPLY)")
            return
        self.resolvers.setdefault(P.ntoa(dst), how)
        self.outstanding[ident] = (name, net.env.now)
        src = node.primary_addr(dst)
        if node.vip_src is not None:  # a road warrior: its virtual IP toward the tunnel
            src = node.vip_src[dst] or src
        pkt = P.udp(src, dst, self.port, D.DNS_PORT, payload, node.next_ident(), with_checksum=True)
        node.send_packet(pkt, pid)

    def udp_receive(self, node: Node, data: bytes, pkt_id: int) -> None:
        """A response at the client: decoded, paired with its query by ID."""
        net = node.net
        try:
            _hdr, payload = P.parse_udp(data)
            m = D.decode(payload)
        except DecodeError as exc:
            net.drop(net.env.now, node.name, pkt_id, MALFORMED, str(exc))
            return
        if not m.qr or m.id not in self.outstanding:
            net.drop(net.env.now, node.name, pkt_id, NOT_QUERY if not m.qr else "dns_unexpected_id",
                     f"DNS message id {m.id} answers no query of flow {self.name}")
            return
        net.app_deliver(node, data, pkt_id)
        name, _t0 = self.outstanding.pop(m.id)
        self.answered += 1
        if m.rcode == D.NXDOMAIN:
            self.nxdomain += 1
        for r in m.answers:
            if r.address:
                self.addresses[name] = r.address

    def summary(self) -> dict[str, Any]:
        d = super().summary()
        d["dst"] = ", ".join(self.resolvers) or self.cfg.dst
        return d


def _with_dst(cfg: FlowConfig, dst: str) -> FlowConfig:
    from dataclasses import replace

    return replace(cfg, dst=dst)


def install(net: Network, topo: dict[str, Any]) -> None:
    """The resolvers and configured resolver addresses of a topology's ``dns:`` keys."""
    for name, n in (topo.get("nodes") or {}).items():
        d = n.get("dns") if isinstance(n, dict) else None
        if not d:
            continue
        node = net.nodes[name]
        if d.get("zone") is not None:
            Resolver(node, dict(d["zone"]), int(d.get("ttl", 300)))
        if d.get("resolver"):
            node.dns_resolver = str(d["resolver"])


# --------------------------------------------------------------------------- the summary


def _classify(data: Any) -> tuple[str, str]:
    """(``clear`` | ``tunnel`` | ``other``, the query name when clear) of a packet's bytes."""
    head = bytes(data)
    if len(head) < 28:
        return "other", ""
    h = (head[0] & 0x0F) * 4
    proto = head[9]
    if proto == P.IPPROTO_ESP or proto == P.IPPROTO_AH:
        return "tunnel", ""
    if proto == P.IPPROTO_UDP and len(head) >= h + 8:
        sport = int.from_bytes(head[h:h + 2], "big")
        dport = int.from_bytes(head[h + 2:h + 4], "big")
        if 4500 in (sport, dport):
            return "tunnel", ""
        if dport == D.DNS_PORT:
            try:
                m = D.decode(head[h + 8:])
            except DecodeError:
                return "clear", ""
            return "clear", m.questions[0].name if m.questions else ""
    return "other", ""


def dns_summary(sim: Simulation) -> dict[str, Any]:
    """``{client: {queries, answered, nxdomain, in_clear, in_tunnel, not_on_wire, resolvers,
    leaked_names, clear_links, answers}}`` for every node with a DNS flow (docs/summary.md)."""
    net = sim.net
    flows = [f for f in net.flows.values() if isinstance(f, DnsFlow)]
    if not flows:
        return {}
    owner: dict[int, tuple[str, DnsFlow]] = {pid: (f.cfg.src, f) for f in flows for pid in f.queries}
    first: dict[int, tuple[str, Any]] = {}
    for r in net.trace.of("link_tx"):
        pid = r[5]
        o = owner.get(pid)
        if o is not None and pid not in first and r[6] == o[0]:
            first[pid] = (r[4], r[9])
    out: dict[str, Any] = {}
    for f in flows:
        c = out.setdefault(f.cfg.src, {"queries": 0, "answered": 0, "nxdomain": 0, "in_clear": 0,
                                       "in_tunnel": 0, "not_on_wire": 0, "resolvers": {},
                                       "leaked_names": [], "clear_links": [], "answers": {}})
        c["queries"] += f.sent
        c["answered"] += f.answered
        c["nxdomain"] += f.nxdomain
        c["answers"].update(f.addresses)
        for addr, how in f.resolvers.items():
            who = net.addr_owner.get(P.aton(addr))
            c["resolvers"][addr] = {"node": who.name if who else "", "from": how}
        for pid in f.queries:
            hit = first.get(pid)
            if hit is None or hit[1] is None:
                c["not_on_wire"] += 1
                continue
            kind, qname = _classify(hit[1])
            if kind == "clear":
                c["in_clear"] += 1
                if qname and qname not in c["leaked_names"]:
                    c["leaked_names"].append(qname)
                if hit[0] not in c["clear_links"]:
                    c["clear_links"].append(hit[0])
            elif kind == "tunnel":
                c["in_tunnel"] += 1
            else:
                c["not_on_wire"] += 1
    for c in out.values():
        c["leaked_names"].sort()
        c["clear_links"].sort()
    return out


# --------------------------------------------------------------------------- checks


def problems(d: dict[str, Any], bad: Any) -> None:
    """Located errors for ``dns:`` node keys and ``type: dns`` flows."""
    nodes: dict[str, Any] = d.get("nodes") or {}
    owned = set()
    for n in nodes.values():
        for a in (n.get("addresses") or []) if isinstance(n, dict) else []:
            try:
                owned.add(ipaddress.IPv4Interface(a).ip)
            except ValueError:
                continue
    resolvers = {}
    for name, n in nodes.items():
        dn = n.get("dns") if isinstance(n, dict) else None
        if not isinstance(dn, dict):
            continue
        if n.get("role") in ("switch", "nat"):
            bad(["nodes", name, "dns"], f"nodes.{name}.dns: a {n.get('role')} runs no DNS")
        for host in dn.get("zone") or {}:
            try:
                D.check_name(str(host))
            except DecodeError as exc:
                bad(["nodes", name, "dns", "zone", host], f"nodes.{name}.dns.zone: {exc}")
        if dn.get("zone") is not None:
            for a in n.get("addresses") or []:
                resolvers[a.split("/")[0]] = name
        r = dn.get("resolver")
        if r is not None:
            _check_resolver(bad, ["nodes", name, "dns", "resolver"], f"nodes.{name}.dns.resolver",
                            r, owned)
    for fname, f in (d.get("traffic") or {}).items():
        if not isinstance(f, dict):
            continue
        if f.get("type") != "dns":
            if "names" in f:
                bad(["traffic", fname, "names"], f"traffic.{fname}.names: only a dns flow has names")
            continue
        for k in ("size", "df", "window", "ack_size"):
            if k in f:
                bad(["traffic", fname, k], f"traffic.{fname}.{k}: not used by a dns flow "
                    "(its packets are the queries' real size)")
        for i, host in enumerate(f.get("names") or []):
            try:
                D.check_name(str(host))
            except DecodeError as exc:
                bad(["traffic", fname, "names", i], f"traffic.{fname}.names: {exc}")
        src = nodes.get(str(f.get("from"))) or {}
        if "to" in f:
            try:
                known = ipaddress.IPv4Address(f["to"]) in owned
            except ValueError:
                known = False  # the generic check says what is wrong with it
            if known and f["to"] not in resolvers:
                bad(["traffic", fname, "to"], f"traffic.{fname}.to: {f['to']} runs no resolver "
                    "(no node with that address has dns: {zone: ...})")
            continue
        dn = src.get("dns") if isinstance(src, dict) else None
        vips = any(isinstance(c, dict) and c.get("vips")
                   for c in ((src.get("ipsec") or {}).get("connections") or {}).values()) \
            if isinstance(src, dict) and isinstance(src.get("ipsec"), dict) else False
        if not (isinstance(dn, dict) and dn.get("resolver")) and not vips:
            bad(["traffic", fname], f"traffic.{fname}: {f.get('from')} has no resolver: set "
                f"nodes.{f.get('from')}.dns.resolver, to:, or vips (a DNS server from the CFG_REPLY)")


def _check_resolver(bad: Any, path: list[Any], where: str, value: Any, owned: set[Any]) -> None:
    try:
        addr = ipaddress.IPv4Address(value)
    except ValueError:
        bad(path, f"{where}: {value!r} is not an IPv4 address")
        return
    if addr not in owned:
        bad(path, f"{where}: no node has address {addr}")
