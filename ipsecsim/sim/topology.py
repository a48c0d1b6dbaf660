"""Topology files: YAML loading with the line of every key, JSON-schema validation, semantic checks.

Every problem becomes a :class:`Problem` ``(file, line, message)`` printed as
``FILE:LINE: message`` -- with a did-you-mean for a misspelled key, role, node
or link name. Three layers, each reported with lines:

1. YAML syntax (PyYAML's own mark);
2. the JSON schema shipped beside this file (``schema.json``): unknown keys,
   wrong types, out-of-range values;
3. semantics: dangling node names, duplicate addresses, links between nodes
   that share no subnet, next hops off-link, impossible times, a NAT whose
   outside address is not its own, and the ``ipsec:`` block as the IKE engine
   reads it (swanctl key names, proposals, selectors).
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ..core.errors import ConfigError
from ..core.units import parse_rate, parse_time
from . import dns as DNS
from . import schema_fast
from . import switch as SW
from .bounds import bounds_problems
from .swanctl_nodes import base_dir, ipsec_blocks, load_node, located

SCHEMA_PATH = Path(__file__).with_name("schema.json")
_SCHEMA: dict[str, Any] | None = None


def schema() -> dict[str, Any]:
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = json.loads(SCHEMA_PATH.read_text())
    return _SCHEMA


@dataclass(frozen=True)
class Problem:
    """One error in a topology file."""

    file: str
    line: int
    """1-based line (0 when the topology came from a dict)."""
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class TopologyError(Exception):
    """A topology with problems; ``problems`` lists them in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class LDict(dict):
    """A mapping that remembers the line of itself and of each of its keys."""

    line = 0
    key_lines: dict[Any, int]


class LList(list):
    """A sequence that remembers the line of itself and of each item."""

    line = 0
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LDict:
    loader.flatten_mapping(node)
    d = LDict()
    d.line = node.start_mark.line + 1
    d.key_lines = {}
    for k_node, v_node in node.value:
        key = loader.construct_object(k_node, deep=True)
        if key in d:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {d.key_lines[key]})", k_node.start_mark)
        d[key] = loader.construct_object(v_node, deep=True)
        d.key_lines[key] = k_node.start_mark.line + 1
    return d


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LList:
    seq = LList(loader.construct_object(c, deep=True) for c in node.value)
    seq.line = node.start_mark.line + 1
    seq.item_lines = [c.start_mark.line + 1 for c in node.value]
    return seq


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def line_of(root: Any, path: list[Any] | tuple[Any, ...]) -> int:
    """The line of the value at ``path`` (its key's line for a mapping entry); deepest known."""
    line = getattr(root, "line", 0)
    cur = root
    for p in path:
        if isinstance(cur, LDict) and p in cur:
            line = cur.key_lines.get(p, line)
            cur = cur[p]
        elif isinstance(cur, LList) and isinstance(p, int) and p < len(cur):
            line = cur.item_lines[p]
            cur = cur[p]
        else:
            break
    return line


def did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- loading ---------------------------------------------------------------------------------
def load(path: str | Path) -> LDict:
    """Read, validate and check a topology file; raise :class:`TopologyError` with lines."""
    fname = str(path)
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise TopologyError([Problem(fname, 0, f"cannot read: {exc.strerror}")]) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise TopologyError([Problem(fname, line, f"YAML: {exc.problem or exc.context}")]) from None
    except yaml.YAMLError as exc:
        raise TopologyError([Problem(fname, 0, f"YAML: {exc}")]) from None
    if not isinstance(data, dict):
        raise TopologyError([Problem(fname, 1, "a topology is a mapping with nodes:, links: and traffic:")])
    validate(data, fname)
    return data  # type: ignore[return-value]  # an LDict: the loader builds every mapping


def warnings(data: dict[str, Any], fname: str = "<dict>") -> list[str]:
    """What a valid topology configures that the simulator does not model (``FILE:LINE:
    path: ...`` each): keys of its swanctl folders and strongswan.conf files."""
    try:
        return ipsec_blocks(data, fname)[1]
    except ConfigError:
        return []  # validate() reports it


def validate(data: dict[str, Any], fname: str = "<dict>") -> None:
    """Schema + semantic checks; raise :class:`TopologyError` listing every problem."""
    problems = schema_problems(data, fname)
    if not problems:
        problems = semantic_problems(data, fname)
    if problems:
        problems.sort(key=lambda p: p.line)
        raise TopologyError(problems)


def _schema_at(path: list[Any]) -> dict[str, Any]:
    """The schema object that describes the value at ``path`` (for did-you-mean of keys)."""
    s = schema()
    defs = s["$defs"]
    cur = s
    for p in path:
        while "$ref" in cur:
            cur = defs[cur["$ref"].rsplit("/", 1)[1]]
        props = cur.get("properties", {})
        if isinstance(p, str) and p in props:
            cur = props[p]
        elif isinstance(cur.get("additionalProperties"), dict):
            cur = cur["additionalProperties"]
        elif "items" in cur:
            cur = cur["items"]
        else:
            return {}
    while "$ref" in cur:
        cur = defs[cur["$ref"].rsplit("/", 1)[1]]
    return cur


def schema_problems(data: dict[str, Any], fname: str) -> list[Problem]:
    if schema_fast.valid(data, schema()):  # compiled: a 10,000-spoke hub in a second
        return []
    v = jsonschema.Draft202012Validator(schema())
    out: list[Problem] = []
    for err in v.iter_errors(data):
        out.extend(_explain(err, data, fname))
    return out


def _where(path: list[Any]) -> str:
    return ".".join(str(p) for p in path) or "top level"


def _explain(err: jsonschema.ValidationError, data: Any, fname: str) -> list[Problem]:
    path = list(err.absolute_path)
    where = _where(path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = list(_schema_at(path).get("properties", {}))
        extra = [k for k in err.instance if k not in allowed]
        return [Problem(fname, line_of(data, path + [k]),
                        f"{_where(path + [k])}: unknown key {k!r}{did_you_mean(k, allowed)}"
                        f"; allowed: {', '.join(allowed)}") for k in extra]
    if err.validator == "required":
        return [Problem(fname, line_of(data, path), f"{where}: {err.message}")]
    if err.validator == "enum":
        return [Problem(fname, line_of(data, path),
                        f"{where}: {err.instance!r} is not one of {', '.join(map(str, err.validator_value))}"
                        f"{did_you_mean(err.instance, err.validator_value)}")]
    if err.validator == "oneOf":
        desc = _schema_at(path).get("description", "")
        return [Problem(fname, line_of(data, path), f"{where}: {err.instance!r} is not {desc or 'valid'}")]
    if err.validator == "pattern" and "{1,3}" in str(err.validator_value):
        kind = "IPv4 address/prefix such as 10.1.0.1/24" if "/" in err.validator_value else "IPv4 address"
        return [Problem(fname, line_of(data, path), f"{where}: {err.instance!r} is not an {kind}")]
    if err.validator == "propertyNames":
        return [Problem(fname, line_of(data, path), f"{where}: {err.message}")]
    return [Problem(fname, line_of(data, path), f"{where}: {err.message}")]


def semantic_problems(d: dict[str, Any], fname: str) -> list[Problem]:
    """Checks a schema cannot express: names that must exist, addresses that must not clash."""
    out: list[Problem] = []

    def bad(path: list[Any], msg: str) -> None:
        out.append(Problem(fname, line_of(d, path), msg))

    nodes: dict[str, Any] = d.get("nodes", {})
    links: dict[str, Any] = d.get("links", {}) or {}
    traffic: dict[str, Any] = d.get("traffic", {}) or {}
    owner: dict[ipaddress.IPv4Address, str] = {}
    ifaces: dict[str, list[ipaddress.IPv4Interface]] = {}
    for name, n in nodes.items():
        ifaces[name] = []
        for i, a in enumerate(n.get("addresses", [])):
            try:
                iface = ipaddress.IPv4Interface(a)
            except ValueError:
                bad(["nodes", name, "addresses", i], f"nodes.{name}.addresses: {a!r} is not an IPv4 address/prefix")
                continue
            if iface.ip in owner:
                bad(["nodes", name, "addresses", i],
                    f"nodes.{name}: address {iface.ip} is already used by node {owner[iface.ip]!r}")
            owner[iface.ip] = name
            ifaces[name].append(iface)
        role = n.get("role")
        SW.check_node(name, n, bad)
        if role == "gateway" and not n.get("ipsec") and not n.get("swanctl") and not n.get("tlsvpn"):
            bad(["nodes", name, "role"], f"nodes.{name}: a gateway needs an ipsec: block "
                "or a swanctl: folder")
        if n.get("ipsec") and role not in ("gateway", "host"):
            bad(["nodes", name, "ipsec"], f"nodes.{name}: only role: gateway or host (an IKE "
                f"client, e.g. a road warrior with vips) takes an ipsec: block (role is {role})")
        for key in ("swanctl", "strongswan_conf"):
            if n.get(key) and role != "gateway":
                bad(["nodes", name, key], f"nodes.{name}: only role: gateway takes {key}: (role is {role})")
        if n.get("swanctl") and n.get("ipsec"):
            bad(["nodes", name, "swanctl"], f"nodes.{name}: give an ipsec: block or a swanctl: "
                "folder, not both")
        if n.get("strongswan_conf") and not n.get("swanctl"):
            bad(["nodes", name, "strongswan_conf"], f"nodes.{name}: strongswan_conf: goes with "
                "a swanctl: folder")
        if n.get("swanctl") and role == "gateway" and not n.get("ipsec"):
            try:
                load_node(n, d.get("hosts"), base_dir(fname))
            except ConfigError as exc:
                f_, line_, msg_ = located(exc, fname, line_of(d, ["nodes", name, "swanctl"]))
                out.append(Problem(f_, line_, msg_ if f_ != fname else f"nodes.{name}.swanctl: {msg_}"))
        if role == "nat":
            if not n.get("nat"):
                bad(["nodes", name, "role"], f"nodes.{name}: a nat needs a nat: block with its outside address")
            elif ipaddress.IPv4Address(n["nat"]["outside"]) not in [i.ip for i in ifaces[name]]:
                bad(["nodes", name, "nat", "outside"],
                    f"nodes.{name}.nat.outside: {n['nat']['outside']} is not one of the node's addresses")
        elif n.get("nat"):
            bad(["nodes", name, "nat"], f"nodes.{name}: only role: nat takes a nat: block")
    linked: dict[str, set[ipaddress.IPv4Network]] = {k: set() for k in nodes}
    nets = {k: {i.network for i in v} for k, v in ifaces.items()}  # once: a core has 10,000
    for lname, link in links.items():
        ends = []
        for side in ("a", "b"):
            nn = link.get(side)
            if nn not in nodes:
                bad(["links", lname, side], f"links.{lname}.{side}: no node named {nn!r}{did_you_mean(nn, nodes)}")
            else:
                ends.append(nn)
        if len(ends) == 2:
            if ends[0] == ends[1]:
                bad(["links", lname, "b"], f"links.{lname}: a link joins two different nodes")
                continue
            on_switch = SW.check_link(d, lname, ends, ifaces, bad)
            common = nets[ends[0]] & nets[ends[1]]
            if on_switch is not None:
                common = on_switch
            elif not common:
                bad(["links", lname],
                    f"links.{lname}: {ends[0]} and {ends[1]} share no subnet "
                    f"({', '.join(map(str, ifaces[ends[0]]))} vs {', '.join(map(str, ifaces[ends[1]]))})")
            for e in ends:
                linked[e] |= common
        for key in ("delay", "jitter"):
            if key in link:
                _check_num(bad, ["links", lname, key], link[key], parse_time, f"links.{lname}.{key}")
        if "bandwidth" in link:
            _check_num(bad, ["links", lname, "bandwidth"], link["bandwidth"], parse_rate, f"links.{lname}.bandwidth")
        for j, (a, b) in enumerate(link.get("down", []) or []):
            try:
                if parse_time(a) >= parse_time(b):
                    bad(["links", lname, "down", j], f"links.{lname}.down: interval [{a}, {b}] ends before it starts")
            except ValueError as exc:
                bad(["links", lname, "down", j], f"links.{lname}.down: {exc}")
    for name, n in nodes.items():
        for j, r in enumerate(n.get("routes", []) or []):
            try:
                ipaddress.IPv4Network(r["to"], strict=False)
                via = ipaddress.IPv4Address(r["via"])
            except ValueError as exc:
                bad(["nodes", name, "routes", j], f"nodes.{name}.routes: {exc}")
                continue
            if not any(via in net for net in linked[name]):
                bad(["nodes", name, "routes", j, "via"],
                    f"nodes.{name}.routes: next hop {via} is not on a subnet linked to {name}")
        if n.get("ipsec"):
            out.extend(_ipsec_problems(d, name, n["ipsec"], fname))
    duration = d.get("duration")
    dur = parse_time(duration) if duration is not None else None
    for nname, n in nodes.items():
        tv = n.get("tlsvpn") if isinstance(n, dict) else None
        if tv:
            if n.get("role") != "gateway" or n.get("ipsec") or n.get("swanctl"):
                bad(["nodes", nname, "tlsvpn"], f"nodes.{nname}.tlsvpn: a TLS VPN is a gateway's "
                    "tunnel instead of IPsec (role: gateway, no ipsec: or swanctl:)")
            try:
                peer = owner.get(ipaddress.IPv4Address(tv.get("peer")))
            except ValueError:
                peer = None
            if peer is None or not (nodes.get(peer) or {}).get("tlsvpn"):
                bad(["nodes", nname, "tlsvpn", "peer"], f"nodes.{nname}.tlsvpn.peer: "
                    f"{tv.get('peer')} is not the address of another tlsvpn gateway")
        if isinstance(n, dict) and "mss_clamp" in n and n.get("role") != "gateway":
            bad(["nodes", nname, "mss_clamp"], f"nodes.{nname}.mss_clamp: only a gateway clamps "
                "the MSS of the TCP it tunnels")
    for fname_, f in traffic.items():
        src = f.get("from")
        if src not in nodes:
            bad(["traffic", fname_, "from"], f"traffic.{fname_}.from: no node named {src!r}{did_you_mean(src, nodes)}")
        if f.get("type") == "dns" and "to" not in f:
            pass  # the client's own resolver (sim/dns.py checks it has one)
        else:
            try:
                to = ipaddress.IPv4Address(f.get("to"))
            except ValueError:
                bad(["traffic", fname_, "to"], f"traffic.{fname_}.to: {f.get('to')!r} is not an IPv4 address")
                continue
            if to not in owner:
                bad(["traffic", fname_, "to"], f"traffic.{fname_}.to: no node has address {to}")
        start = parse_time(f.get("start", 1.0))
        if "stop" in f and parse_time(f["stop"]) <= start:
            bad(["traffic", fname_, "stop"], f"traffic.{fname_}: stop ({f['stop']}) is not after start ({start})")
        if dur is not None and start >= dur:
            bad(["traffic", fname_, "start"], f"traffic.{fname_}: starts at {start} s, after the run ends ({dur} s)")
        if f.get("type") == "bulk" and not f.get("count"):
            bad(["traffic", fname_], f"traffic.{fname_}: a bulk transfer needs count: (segments to send)")
        if f.get("type") == "tcp":
            for k in sorted(TCP_UNUSED.keys() & set(f)):
                bad(["traffic", fname_, k], f"traffic.{fname_}.{k}: not used by a tcp flow "
                    f"({TCP_UNUSED[k]})")
            if not f.get("bytes") and "stop" not in f and dur is None:
                bad(["traffic", fname_], f"traffic.{fname_}: a tcp flow needs bytes: or stop:")
        else:
            for k in ("bytes", "mss", "rwnd", "min_rto"):
                if k in f:
                    bad(["traffic", fname_, k], f"traffic.{fname_}.{k}: only a tcp flow has {k}")
    DNS.problems(d, bad)
    SW.check_segments(d, bad)
    if d.get("attackers"):
        from .attacker import check_attackers

        check_attackers(d, bad)
    bounds_problems(d, bad)
    _console_problems(d, nodes, bad)
    return out


TCP_UNUSED = {
    "size": "its segments are MSS-sized: set mss:",
    "rate": "TCP sends as fast as its windows allow",
    "count": "set bytes: to the payload to transfer",
    "window": "its congestion window is NewReno's; set rwnd: for the receive window",
    "ack_size": "its ACKs are real 40-byte TCP segments",
}
"""Keys of other traffic types that a ``type: tcp`` flow refuses, with what to use instead."""


def _console_problems(d: dict[str, Any], nodes: dict[str, Any], bad: Any) -> None:
    """``hosts:`` names an IP address each; every ``script:`` entry types on an existing node
    while the run lasts."""
    for name, addr in (d.get("hosts") or {}).items():
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            bad(["hosts", name], f"hosts.{name}: {addr!r} is not an IPv4 or IPv6 address")
    end = parse_time(d.get("duration", 10))
    for j, item in enumerate(d.get("script") or []):
        node = item.get("node")
        if node not in nodes:
            bad(["script", j, "node"],
                f"script.{j}.node: no node named {node!r}{did_you_mean(node, nodes)}")
        at = parse_time(item["at"])
        if at >= end:
            bad(["script", j, "at"],
                f"script.{j}.at: {item['at']} is not before the run ends ({end:g} s)")


def _check_num(bad: Any, path: list[Any], value: Any, parse: Any, where: str) -> None:
    try:
        v = parse(value)
    except ValueError as exc:
        bad(path, f"{where}: {exc}")
        return
    if v < 0:
        bad(path, f"{where}: cannot be negative")


def _ipsec_problems(d: dict[str, Any], name: str, block: dict[str, Any], fname: str) -> list[Problem]:
    """Run the IKE engine's own config reader and map its key path back to a line."""
    base = ["nodes", name, "ipsec"]
    out: list[Problem] = []
    if block.get("connections"):
        try:
            from ..core.ike.config import IkeConfig
            from ..swanctl.unmodelled import modelled
        except ImportError:  # engine not installed: nothing more to check here
            return out
        from ..core.errors import ConfigError

        try:
            IkeConfig.from_dict(modelled({k: v for k, v in block.items() if k != "manual"}),
                                source=f"nodes.{name}.ipsec")
        except ConfigError as exc:
            msg = str(exc)
            m = re.match(r"(?:nodes\.[^:]*?ipsec:\s*)?([A-Za-z0-9_.\-]+):\s", msg)
            path = base + (m.group(1).split(".") if m else [])
            out.append(Problem(fname, line_of(d, path), f"nodes.{name}.ipsec: {msg}"))
    for j, m in enumerate(block.get("manual", []) or []):
        from ..core.errors import ConfigError
        from ..core.proposals import parse_proposal
        from ..core.selectors import TrafficSelector

        for key, proto in (("esp_proposal", "esp"), ("ah_proposal", "ah")):
            if key in m:
                try:
                    parse_proposal(m[key], proto)
                except ConfigError as exc:
                    out.append(Problem(fname, line_of(d, base + ["manual", j, key]),
                                       f"nodes.{name}.ipsec.manual: {exc}"))
        for key in ("local_ts", "remote_ts"):
            for k, ts in enumerate(m.get(key, []) or []):
                try:
                    TrafficSelector.parse(ts)
                except ConfigError as exc:
                    out.append(Problem(fname, line_of(d, base + ["manual", j, key, k]),
                                       f"nodes.{name}.ipsec.manual.{key}: {exc}"))
        if m.get("esp_proposal") and m.get("ah_proposal"):
            out.append(Problem(fname, line_of(d, base + ["manual", j]),
                               f"nodes.{name}.ipsec.manual: give esp_proposal or ah_proposal, not both"))
    return out
