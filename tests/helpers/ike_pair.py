"""Two IKE endpoints wired back to back in memory (aioquic's ``client_and_server()`` style).

Not a test module: helpers for the tests in tests/ike/. A :class:`Pair` moves datagrams
between the endpoints by hand (with a hook to drop or duplicate them), advances
``now`` by hand, and collects each side's events.
"""

from __future__ import annotations

from collections.abc import Callable

from ipsecsim.core.ike import events as E
from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.core.ike.endpoint import IkeEndpoint
from ipsecsim.core.rng import Rng

A_ADDR, B_ADDR = "198.51.100.1", "203.0.113.1"
PSK = "a long pre-shared key for tests"


def conn(local: str, remote: str, lid: str, rid: str, proposals: list[str] | None = None,
         esp: list[str] | None = None, local_ts: str = "10.1.0.0/16",
         remote_ts: str = "10.2.0.0/16", start: bool = False, **extra) -> dict:
    child = {"local_ts": [local_ts], "remote_ts": [remote_ts],
             "start_action": "start" if start else "none"}
    child.update(extra.pop("child", {}))
    if "ah_proposals" not in child:
        child["esp_proposals"] = esp or ["aes128gcm16"]
    d = {"local_addrs": [local], "remote_addrs": [remote],
         "proposals": proposals or ["aes128gcm16-prfsha256-x25519"],
         "local": {"auth": "psk", "id": lid}, "remote": {"auth": "psk", "id": rid},
         "children": {"net": child}}
    d.update(extra)
    return d


def configs(a: dict | None = None, b: dict | None = None, psk_a: str = PSK, psk_b: str = PSK,
            **common) -> tuple[IkeConfig, IkeConfig]:
    """Gateway A (initiator, 10.1/16) and gateway B (responder, 10.2/16)."""
    ca = conn(A_ADDR, B_ADDR, "gw-a.example", "gw-b.example", start=True, **common)
    cb = conn(B_ADDR, A_ADDR, "gw-b.example", "gw-a.example", local_ts="10.2.0.0/16",
              remote_ts="10.1.0.0/16", **common)
    _merge(ca, a or {})
    _merge(cb, b or {})
    for c in (ca, cb):
        for child in c["children"].values():
            if "ah_proposals" in child:
                child.pop("esp_proposals", None)
    sa = {"ike-1": {"id-1": "gw-a.example", "id-2": "gw-b.example", "secret": psk_a}}
    sb = {"ike-1": {"id-1": "gw-a.example", "id-2": "gw-b.example", "secret": psk_b}}
    return (IkeConfig.from_dict({"connections": {"site": ca}, "secrets": sa}),
            IkeConfig.from_dict({"connections": {"site": cb}, "secrets": sb}))


def _merge(d: dict, extra: dict) -> None:
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(d.get(k), dict):
            _merge(d[k], v)
        else:
            d[k] = v


Filter = Callable[[str, bytes, tuple, tuple], list[bytes]]


class Pair:
    """Endpoints ``a`` and ``b``; :meth:`pump` delivers until both are quiet."""

    def __init__(self, cfg_a: IkeConfig, cfg_b: IkeConfig, seed: int = 1, ca=None,
                 nat_a: tuple[str, int] | None = None) -> None:
        rng = Rng(seed)
        self.a = IkeEndpoint(cfg_a, rng.child("a"), "a", ca=ca)
        self.b = IkeEndpoint(cfg_b, rng.child("b"), "b", ca=ca)
        self.now = 0.0
        self.events: dict[str, list] = {"a": [], "b": []}
        self.wire: list[tuple[str, bytes]] = []
        self.filter: Filter | None = None
        self.nat_a = nat_a
        """If set, A's outer address/port as B sees it (a NAT in front of A)."""

    def _collect(self) -> None:
        for name, ep in (("a", self.a), ("b", self.b)):
            while (ev := ep.next_event()) is not None:
                self.events[name].append(ev)

    def deliver(self, side: str) -> int:
        """Deliver what ``side`` ("a" or "b") has sent so far; returns how many datagrams."""
        return self.step(sides=side)

    def step(self, sides: str = "ab") -> int:
        """Deliver everything sent so far once; returns how many datagrams moved."""
        moved = 0
        for name, src_ep, dst_ep in (("a", self.a, self.b), ("b", self.b, self.a)):
            if name not in sides:
                continue
            for data, src, dst in src_ep.datagrams_to_send(self.now):
                out = [data] if self.filter is None else self.filter(name, data, src, dst)
                for d in out:
                    self.wire.append((name, d))
                    s, t = src, dst
                    if self.nat_a is not None:
                        if name == "a":
                            s = (self.nat_a[0], self.nat_a[1] + (1 if src[1] == 4500 else 0))
                        elif dst[0] == self.nat_a[0]:
                            t = (A_ADDR, 4500 if dst[1] == self.nat_a[1] + 1 else 500)
                    dst_ep.receive_datagram(d, s, t, self.now)
                    moved += 1
        self._collect()
        return moved

    def pump(self, limit: int = 100) -> None:
        for _ in range(limit):
            if not self.step():
                return
        raise AssertionError("datagrams still flowing after 100 rounds")

    def advance(self, to: float) -> None:
        """Run timers up to ``to`` (inclusive), delivering what they send."""
        while True:
            times = [t for t in (self.a.get_timer(), self.b.get_timer()) if t is not None]
            if not times or min(times) > to:
                break
            self.now = max(self.now, min(times))
            self.a.handle_timer(self.now)
            self.b.handle_timer(self.now)
            self.pump()
        self.now = to
        self._collect()

    def of(self, side: str, cls: type) -> list:
        return [e for e in self.events[side] if isinstance(e, cls)]

    def child_keys(self, side: str) -> list:
        return [e.keys for e in self.of(side, E.ChildSaUp)]
