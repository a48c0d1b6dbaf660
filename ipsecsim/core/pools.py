"""Virtual IP pools and their leases (strongSwan 5.9 ``attributes/mem_pool.c``, vici pools).

A pool is swanctl's ``pools.<name>``: ``addrs`` (one CIDR subnet or an ``a-b`` range) and
attributes handed out with the address (``dns = ...``). Leases are kept by the peer's
identity, as charon keeps them, so a client that comes back gets the address it had:

- an identity's lease is *online* while an IKE_SA of that identity holds it, *offline*
  once that IKE_SA is gone (``lease 10.3.0.1 by 'carol@strongswan.org' went offline``);
- :meth:`Pool.acquire` tries, in charon's order over the connection's pools: an existing
  lease of this identity (an online one for the same peer address and port, the
  make-before-break case; else an offline one), then a new address, then an offline lease
  of *another* identity (``reassigning existing offline lease by 'x' to 'y'``); a pool
  where none of these works is full.

Addresses are counted from ``base`` by offset as in ``mem_pool.c``: a CIDR pool skips its
network and broadcast addresses (``10.3.0.0/28`` serves 10.3.0.1 .. 10.3.0.14, 14
addresses); a range serves every address from ``a`` to ``b``. Requests of another address
family than the pool's get nothing from it.

Every lookup is a dict access by identity or offset: no scan over the leases per IKE_SA.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

POOL_LIMIT = 31
"""charon's ``POOL_LIMIT``: at most 2^31 addresses in one pool."""

ATTRIBUTE_KEYS = ("dns", "nbns", "dhcp", "netmask", "server", "subnet", "p_cscf",
                  "split_include", "split_exclude")
"""``pools.<name>.<attr>`` names vici accepts (``vici_attribute.c`` ``pool_li``), besides
``addrs`` and a number (an attribute type)."""

MODELLED_ATTRIBUTES = ("dns", "nbns", "dhcp", "netmask", "subnet")
"""The attributes the simulator sends in a CFG_REPLY (IPv4 and IPv6 codes by address)."""


@dataclass(frozen=True)
class PoolConfig:
    """One ``pools.<name>`` entry."""

    name: str
    """The pool's name (what ``connections.<conn>.pools`` lists)."""
    addrs: str
    """As written: ``10.3.0.0/28`` or ``10.3.0.1-10.3.0.20``."""
    base: int
    """The first address served (as an integer)."""
    size: int
    """How many addresses it serves."""
    version: int = 4
    """The pool's address family, 4 or 6."""
    attributes: tuple[tuple[str, str], ...] = ()
    """(key, value) pairs handed out with an address of this pool: ``("dns", "10.1.0.53")``."""

    def address(self, offset: int) -> str:
        """The address ``offset`` (1 = ``base``) of this pool."""
        return str(ipaddress.ip_address(self.base + offset - 1))

    @property
    def base_text(self) -> str:
        """The pool's base as vici's ``get-pools`` lists it (strongSwan 5.9.8 keeps the
        network id of ``10.3.0.0/28`` as its base and skips it when leasing): the address
        written in ``addrs``."""
        text = self.addrs.split("-", 1)[0] if "/" not in self.addrs else self.addrs
        return str(ipaddress.ip_interface(text.strip()).ip)

    def contains(self, addr: str) -> bool:
        try:
            a = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return a.version == self.version and self.base <= int(a) < self.base + self.size

    def span(self) -> tuple[int, int]:
        """(first, last) address as integers."""
        return self.base, self.base + self.size - 1


def parse_addrs(text: str, path: str) -> tuple[int, int, int]:
    """(base, size, version) of a pool's ``addrs`` as ``mem_pool_create()`` and
    ``mem_pool_create_range()`` read it; ConfigError naming ``path`` when it is not one."""
    text = str(text).strip()
    rng: tuple[Any, Any] | None = None
    try:
        if "/" in text:
            net = ipaddress.ip_network(text, strict=False)
            addr = ipaddress.ip_interface(text).ip
            bits = net.max_prefixlen - net.prefixlen
            if bits > POOL_LIMIT:
                bits = POOL_LIMIT
            size = 1 << bits
            base = int(addr)
            diff = base & (size - 1)
            if size > 2:
                if not diff:  # the network id: serve from the next address
                    base, size = base + 1, size - 1
                else:
                    size -= diff
                size -= 1  # the broadcast address
            elif diff:
                size -= 1
            if size <= 0:
                raise ConfigError(f"{path}: virtual IP pool {text} is empty")
            return base, size, addr.version
        if "-" in text:
            lo_t, hi_t = (x.strip() for x in text.split("-", 1))
            lo, hi = ipaddress.ip_address(lo_t), ipaddress.ip_address(hi_t)
            rng = (lo, hi)
    except ValueError:
        rng = None
    else:
        if rng is not None:
            lo, hi = rng
            if lo.version != hi.version or int(lo) > int(hi):
                raise ConfigError(f"{path}: invalid IP address range: {text}")
            if (int(hi) >> 32) != (int(lo) >> 32):
                raise ConfigError(f"{path}: IP address range too large: {text}")
            return int(lo), int(hi) - int(lo) + 1, lo.version
    raise ConfigError(f"{path}: {text!r} is not a subnet (10.3.0.0/28) or a range "
                      "(10.3.0.1-10.3.0.20)")


def pools_from_dict(d: Any, path: str = "pools") -> tuple[PoolConfig, ...]:
    """Read ``pools: {NAME: {addrs: ..., dns: [...]}}``; reject overlapping pools."""
    if d is None:
        return ()
    if not isinstance(d, dict):
        raise ConfigError(f"{path}: expected a mapping of pool names, got {type(d).__name__}")
    out: list[PoolConfig] = []
    for name, p in d.items():
        where = f"{path}.{name}"
        if not isinstance(p, dict):
            raise ConfigError(f"{where}: expected a mapping with addrs")
        if "addrs" not in p:
            raise ConfigError(f"{where}: a pool needs addrs (a subnet or an a-b range)")
        base, size, version = parse_addrs(p["addrs"], f"{where}.addrs")
        attrs: list[tuple[str, str]] = []
        for key, value in p.items():
            if key == "addrs":
                continue
            key = str(key)
            if key not in ATTRIBUTE_KEYS and not key.isdigit():
                raise ConfigError(f"{where}.{key}: unknown pool attribute; expected addrs or "
                                  f"one of {', '.join(ATTRIBUTE_KEYS)}")
            if key not in MODELLED_ATTRIBUTES:
                raise ConfigError(f"{where}.{key}: this pool attribute is not modelled (the "
                                  f"simulator sends {', '.join(MODELLED_ATTRIBUTES)})")
            items = value if isinstance(value, list | tuple) else str(value).split(",")
            for item in items:
                item = str(item).strip()
                try:
                    if key in ("subnet",):
                        ipaddress.ip_network(item, strict=False)
                    else:
                        ipaddress.ip_address(item)
                except ValueError:
                    raise ConfigError(f"{where}.{key}: {item!r} is not an "
                                      f"{'subnet' if key == 'subnet' else 'IP address'}") from None
                attrs.append((key, item))
        out.append(PoolConfig(str(name), str(p["addrs"]).strip(), base, size, version,
                              tuple(attrs)))
    for i, a in enumerate(out):
        for b in out[:i]:
            if a.version == b.version and a.base <= b.span()[1] and b.base <= a.span()[1]:
                raise ConfigError(f"{path}.{a.name}.addrs: {a.addrs} overlaps pool {b.name!r} "
                                  f"({b.addrs}); a virtual IP would belong to two pools")
    return tuple(out)


# --------------------------------------------------------------------------- leases


@dataclass
class _Entry:
    """The leases of one identity (``mem_pool.c`` ``entry_t``)."""

    online: list[tuple[int, str]] = field(default_factory=list)
    """(offset, peer address) per IKE_SA holding it; the same offset may appear twice."""
    offline: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Lease:
    """One row of ``swanctl --list-pools --leases``."""

    address: str
    identity: str
    online: bool


@dataclass(frozen=True)
class Acquired:
    """An address :meth:`Pools.acquire` handed out, and how (charon's log wording)."""

    address: str
    pool: str
    how: str
    """``new``, ``online`` (make-before-break), ``offline`` (the identity's own) or
    ``reassigned`` (another identity's offline lease)."""
    previous: str = ""
    """For ``reassigned``: the identity the address was taken from."""


class Pool:
    """The leases of one pool (``mem_pool_t``)."""

    def __init__(self, cfg: PoolConfig) -> None:
        self.cfg = cfg
        self.unused = 0
        """Addresses handed out at least once (offsets 1..unused are taken)."""
        self._entries: dict[str, _Entry] = {}
        """Identity -> its leases, in the order identities first got one."""
        self.online = 0
        self.offline = 0

    @property
    def name(self) -> str:
        return self.cfg.name

    @property
    def size(self) -> int:
        return self.cfg.size

    def _offset(self, addr: str) -> int:
        try:
            a = ipaddress.ip_address(addr)
        except ValueError:
            return -1
        if a.version != self.cfg.version:
            return -1
        off = int(a) - self.cfg.base + 1
        return off if 1 <= off <= self.cfg.size else -1

    def acquire(self, identity: str, requested: str, op: str, peer: str) -> Acquired | None:
        """One of charon's three attempts (``op``: existing, new, reassign) for this pool."""
        want = ipaddress.ip_address(requested)
        if want.version != self.cfg.version:
            return None
        if op == "existing":
            entry = self._entries.get(identity)
            if entry is None:
                return None
            for off, who in entry.online:
                if who == peer and (want.is_unspecified or off == self._offset(requested)):
                    entry.online.append((off, peer))
                    self.online += 1
                    return Acquired(self.cfg.address(off), self.name, "online")
            if entry.offline:
                off = entry.offline.pop(0)
                self.offline -= 1
                entry.online.append((off, peer))
                self.online += 1
                return Acquired(self.cfg.address(off), self.name, "offline")
            return None
        if op == "new":
            if self.unused >= self.cfg.size:
                return None
            self.unused += 1
            self._entries.setdefault(identity, _Entry()).online.append((self.unused, peer))
            self.online += 1
            return Acquired(self.cfg.address(self.unused), self.name, "new")
        for other, entry in list(self._entries.items()):
            if entry.offline:
                off = entry.offline.pop(0)
                self.offline -= 1
                if not entry.online and not entry.offline:
                    del self._entries[other]
                self._entries.setdefault(identity, _Entry()).online.append((off, peer))
                self.online += 1
                return Acquired(self.cfg.address(off), self.name, "reassigned", other)
        return None

    def release(self, addr: str, identity: str) -> bool | None:
        """Give back one online hold of ``addr`` by ``identity``: None when this pool does
        not hold it, True when the lease went offline, False while others still hold it."""
        entry = self._entries.get(identity)
        off = self._offset(addr)
        if entry is None or off < 0:
            return None
        for i, (o, _) in enumerate(entry.online):
            if o == off:
                del entry.online[i]
                self.online -= 1
                if any(o2 == off for o2, _ in entry.online):
                    return False
                entry.offline.append(off)
                self.offline += 1
                return True
        return None

    def leases(self) -> Iterator[Lease]:
        """Online, then offline leases per identity (``create_lease_enumerator()``)."""
        for who, entry in self._entries.items():
            for off, _ in entry.online:
                yield Lease(self.cfg.address(off), who, True)
            for off in entry.offline:
                yield Lease(self.cfg.address(off), who, False)


class Pools:
    """Every pool of one endpoint, by name (vici's attribute provider)."""

    def __init__(self, cfgs: tuple[PoolConfig, ...] = ()) -> None:
        self.by_name: dict[str, Pool] = {c.name: Pool(c) for c in cfgs}

    def __bool__(self) -> bool:
        return bool(self.by_name)

    def __iter__(self) -> Iterator[Pool]:
        return iter(self.by_name.values())

    def acquire(self, names: tuple[str, ...], identity: str, requested: str,
                peer: str) -> Acquired | None:
        """An address for ``identity`` from the first of ``names`` that has one, trying
        existing leases in every pool first, then new ones, then reassignment
        (``vici_attribute.c`` ``acquire_address()``)."""
        pools = [self.by_name[n] for n in names if n in self.by_name]
        for op in ("existing", "new", "reassign"):
            for pool in pools:
                got = pool.acquire(identity, requested, op, peer)
                if got is not None:
                    return got
        return None

    def release(self, names: tuple[str, ...], addr: str, identity: str) -> tuple[str, bool] | None:
        """(pool name, went offline) for the pool that held ``addr``, or None."""
        for n in names:
            pool = self.by_name.get(n)
            if pool is not None:
                gone = pool.release(addr, identity)
                if gone is not None:
                    return n, gone
        return None

    def attributes(self, names: tuple[str, ...], vips: list[str]) -> list[tuple[str, str]]:
        """The attributes of the pools a virtual IP came from (``have_vips_from_pool()``)."""
        out: list[tuple[str, str]] = []
        for n in names:
            pool = self.by_name.get(n)
            if pool is not None and any(pool.cfg.contains(v) for v in vips):
                out.extend(pool.cfg.attributes)
        return out

    def summary(self) -> dict[str, dict[str, int]]:
        """Per pool: ``size``, ``online``, ``offline`` (summary.json ``pools``)."""
        return {p.name: {"size": p.size, "online": p.online, "offline": p.offline}
                for p in self}
