"""The Python API for notebooks and the CLI: build a network from a topology, run it, look.

>>> sim = Simulation.from_file("topologies/site-to-site.yaml")   # doctest: +SKIP
>>> sim.run(5)                                                    # doctest: +SKIP
>>> sim.summary()["packets"]                                      # doctest: +SKIP
>>> sim.dataframes()["drops"]                                     # doctest: +SKIP
>>> sim.node("gw-a").stack                                        # doctest: +SKIP
>>> print(sim.node("gw-a").sh("swanctl --list-sas"))               # doctest: +SKIP

``run`` may be called repeatedly with increasing times to step the simulation; ``sh`` types a
command on a node's console at the current time (a ``ping`` runs the simulation forward until
it completes, see :mod:`ipsecsim.console.shell`).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..trace import Trace
from . import topology as T
from .link import Link, LinkConfig
from .nat import Nat
from .network import Network
from .nodes import Node
from .routing import install_routes
from .swanctl_nodes import ipsec_blocks
from .switch import Switch, link_ends
from .traffic import FlowConfig, make_flow


class Simulation:
    """One simulated network built from a validated topology."""

    def __init__(self, topo: dict[str, Any], name: str = "topology", seed: int | str | None = None,
                 trace: Trace | None = None, source: str = "<dict>") -> None:
        self.topo = topo
        self.source = source
        """The topology's file (its folder anchors ``swanctl:`` paths), or ``<dict>``."""
        self.warnings: list[str] = []
        """What the topology configures that the simulator does not model (``FILE:LINE: ...``)."""
        self.name = str(topo.get("name") or name)
        self.seed = seed if seed is not None else topo.get("seed", 1)
        self.duration = T.parse_time(topo.get("duration", 10))
        self.net = Network(self.seed, trace)
        tcfg = topo.get("trace") or {}
        if tcfg.get("sample_every"):
            # sampling alone: only the sampled packets keep their hops (hops_until 0)
            self.net.sample_every = int(tcfg["sample_every"])
            self.net.hops_until = 0.0
        if tcfg.get("hops_until") is not None:
            self.net.hops_until = T.parse_time(tcfg["hops_until"])
        self.ca: Any = None
        with _gc_paused():
            self._build()

    # --- construction ------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path, seed: int | str | None = None, **kw: Any) -> Simulation:
        """Load, validate (raises :class:`~.topology.TopologyError`) and build."""
        with _gc_paused():
            topo = T.load(path)
        return cls(topo, name=Path(path).stem, seed=seed, source=str(path), **kw)

    @classmethod
    def from_dict(cls, d: dict[str, Any], seed: int | str | None = None, **kw: Any) -> Simulation:
        """Validate a topology given as a dict (lines reported as 0) and build."""
        with _gc_paused():
            T.validate(d, "<dict>")
        return cls(d, seed=seed, **kw)

    def _needs_ca(self) -> bool:
        for n in self.topo["nodes"].values():
            for conn in ((n.get("ipsec") or {}).get("connections") or {}).values():
                for side in ("local", "remote"):
                    if (conn.get(side) or {}).get("auth") == "pubkey":
                        return True
        return False

    def _build(self) -> None:
        net = self.net
        topo = self.topo
        if self._needs_ca():
            from ..core.ike.ca import CertificateAuthority

            self.ca = CertificateAuthority(net.rng.child("ca"))
        swanctl, self.warnings = ipsec_blocks(topo, self.source)
        node: Node
        for name, n in topo["nodes"].items():
            role = n["role"]
            addrs = list(n.get("addresses") or [])
            if role == "switch":
                node = Switch(net, name, list(n["subnets"]))
            elif role == "gateway" and n.get("tlsvpn"):
                from .tlsvpn import TlsVpnGateway

                node = TlsVpnGateway(net, name, addrs, n["tlsvpn"])
            elif role == "gateway" or (role == "host" and n.get("ipsec")):
                from .gateway import Gateway

                ipsec = swanctl.get(name) or n["ipsec"]
                gw = Gateway(net, name, addrs, bool(n.get("forward", role == "gateway")),
                             ipsec, net.rng.child(f"node/{name}"), self.ca)
                gw.role = role  # a host with an IKE client: a road warrior
                gw.set_mss_clamp(int(n.get("mss_clamp", 0)))
                node = gw
            elif role == "nat":
                c = n["nat"]
                node = Nat(net, name, addrs, c["outside"], c.get("behaviour", "port_restricted"),
                           T.parse_time(c.get("timeout", 120)))
            else:
                node = Node(net, name, addrs, forwarding=bool(n.get("forward", role == "router")))
                node.role = role
            net.add_node(node)
        _BY_NET.clear()  # interfaces by subnet while the links are made (see _by_net)
        for lname, l_ in (topo.get("links") or {}).items():
            a, b = net.nodes[l_["a"]], net.nodes[l_["b"]]
            ia, ib = link_ends(a, b) or _pair(a, b)
            sched: list[tuple[float, bool]] = []
            for t0, t1 in l_.get("down", []) or []:
                sched += [(T.parse_time(t0), False), (T.parse_time(t1), True)]
            lcfg = LinkConfig(
                name=lname, bandwidth=T.parse_rate(l_.get("bandwidth", 1e9)),
                delay=T.parse_time(l_.get("delay", 0.001)), jitter=T.parse_time(l_.get("jitter", 0)),
                loss=float(l_.get("loss", 0.0)), gilbert=dict(l_["gilbert"]) if l_.get("gilbert") else None,
                mtu=int(l_.get("mtu", 1500)), queue=int(l_.get("queue", 1000)), schedule=sched)
            net.links[lname] = Link(net, lcfg, ia, ib, net.rng.child(f"link/{lname}"))
        _BY_NET.clear()
        install_routes(net, {name: [(r["to"], r["via"]) for r in n.get("routes", []) or []]
                             for name, n in topo["nodes"].items()})
        if any(isinstance(n, dict) and n.get("dns") for n in topo["nodes"].values()):
            from .dns import install as install_dns

            install_dns(net, topo)  # resolvers on UDP 53, configured resolvers (sim/dns.py)
        for i, (fname, f) in enumerate((topo.get("traffic") or {}).items()):
            cfg = FlowConfig(
                name=fname, type=f["type"], src=f["from"], dst=f.get("to", ""),
                start=T.parse_time(f.get("start", 1.0)),
                stop=T.parse_time(f["stop"]) if "stop" in f else None,
                size=int(f.get("size", 84 if f["type"] == "ping" else 1000)),
                rate=float(f.get("rate", 1.0 if f["type"] == "ping" else 10.0)),
                count=int(f.get("count", 0)), df=bool(f.get("df", f["type"] == "tcp")),
                window=int(f.get("window", 16)), ack_size=int(f.get("ack_size", 40)),
                bytes=int(f.get("bytes", 0)), mss=int(f.get("mss", 0)),
                rwnd=int(f.get("rwnd", 262144)), min_rto=T.parse_time(f.get("min_rto", 1.0)),
                names=tuple(f.get("names") or ()))
            make_flow(net, cfg, i).start()
        self.attackers: list[Any] = []
        """The ``attackers:`` tapping links (:mod:`.attacker`)."""
        if topo.get("attackers"):
            from .attacker import install_attackers

            self.attackers = install_attackers(net, topo)
            for atk in self.attackers:
                atk.start()
        if any(n.get("tlsvpn") for n in topo["nodes"].values()):
            from .tlsvpn import connect_tls_vpns

            connect_tls_vpns(net, len(topo.get("traffic") or {}))
        for node in net.nodes.values():
            if hasattr(node, "start"):
                node.start()
        from ..console.shell import Console

        self.console = Console(self, topo.get("hosts"))
        """The nodes' consoles: ``script:`` entries and :meth:`Node.sh` (:mod:`ipsecsim.console`)."""
        for node in net.nodes.values():
            node.console = self.console
        self.console.schedule(topo.get("script") or [])

    # --- running -------------------------------------------------------------------------
    @property
    def now(self) -> float:
        return float(self.net.env.now)

    def run(self, until: float | None = None, progress: bool = False) -> Simulation:
        """Advance simulated time to ``until`` (default: the topology's duration)."""
        end = self.duration if until is None else float(until)
        env = self.net.env
        if end <= env.now:
            return self
        # The trace is millions of acyclic tuples; the cyclic GC would walk them again and again
        # (about 20 % of the run time). Nothing on the packet path makes reference cycles, so
        # collection is paused while simulated time advances and resumed afterwards.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._advance(end, progress)
        finally:
            if was_enabled:
                gc.enable()
        return self

    def _advance(self, end: float, progress: bool) -> None:
        env = self.net.env
        if not progress:
            env.run_until(end)
            return
        from tqdm import tqdm

        steps = 100
        start = float(env.now)
        with tqdm(total=round(end - start, 3), unit="sim s", file=sys.stderr, desc=self.name,
                  bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} sim s [{elapsed}<{remaining}]") as bar:
            for k in range(1, steps + 1):
                t = start + (end - start) * k / steps
                env.run_until(t)
                bar.update(round(t - start, 6) - bar.n)

    # --- looking -------------------------------------------------------------------------
    @property
    def trace(self) -> Trace:
        return self.net.trace

    def node(self, name: str) -> Node:
        """A node by name (``.stack`` on gateways gives the SAD/SPD)."""
        try:
            return self.net.nodes[name]
        except KeyError:
            raise KeyError(f"no node {name!r}{T.did_you_mean(name, self.net.nodes)}") from None

    def summary(self) -> dict[str, Any]:
        from .summary import build_summary

        return build_summary(self)

    def dataframes(self) -> dict[str, Any]:
        """pandas DataFrames: packets, ike, sas, drops (plus app and notes)."""
        tr = self.trace
        return {
            "packets": tr.dataframe("link_tx", "link_rx", "forward", "encrypt", "decrypt", "fragment",
                                    "reassemble", "icmp_error").drop(columns=["data"], errors="ignore"),
            "app": tr.dataframe("app_send", "app_deliver"),
            "ike": tr.dataframe("ike_msg", "ike_state", "child_state", "ike_fail"),
            "sas": tr.dataframe("sa"),
            "drops": tr.dataframe("drop"),
            "notes": tr.dataframe("note"),
        }


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Building a network allocates hundreds of thousands of objects that live as long as it
    does, and makes no garbage cycles worth collecting: each full collection of the cyclic GC
    walks everything built so far, so a 10,000-spoke hub spent more time there the larger it
    grew. Paused while building (and validating), as while running."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _pair(a: Node, b: Node) -> tuple[Any, Any]:
    """The interfaces of ``a`` and ``b`` on their common subnet (validated to exist): the
    first unlinked pair in ``a``'s then ``b``'s order, else the first pair."""
    an, bn = _by_net(a), _by_net(b)
    small, big = (an, bn) if len(an) <= len(bn) else (bn, an)
    pairs = sorted((pa, ia, pb, ib) for net, lst in small.items() if net in big
                   for pa, ia in an[net] for pb, ib in bn[net])  # in the nested loops' order
    for _pa, ia, _pb, ib in pairs:
        if ia.link is None and ib.link is None:
            return ia, ib
    if pairs:
        return pairs[0][1], pairs[0][3]
    raise ValueError(f"{a.name} and {b.name} share no subnet")


_BY_NET: dict[int, tuple[Node, int, dict[Any, list[tuple[int, Any]]]]] = {}
"""id(node) -> (node, interfaces indexed, its interfaces by subnet). Kept here, not on the
node: a new attribute on a built node would split its instance dict away from the shared
layout and slow every attribute read on the packet path."""


def _by_net(node: Node) -> dict[Any, list[tuple[int, Any]]]:
    """The node's interfaces by subnet, with their places (a core router's 10,000 are
    indexed once, not walked for every link)."""
    held = _BY_NET.get(id(node))
    if held is not None and held[0] is node and held[1] == len(node.ifaces):
        return held[2]
    idx: dict[Any, list[tuple[int, Any]]] = {}
    for pos, i in enumerate(node.ifaces):
        idx.setdefault(i.net, []).append((pos, i))
    _BY_NET[id(node)] = (node, len(node.ifaces), idx)
    return idx
