"""Virtual IP pools as charon's ``mem_pool.c`` and ``vici_attribute.c`` keep them: the
addresses a subnet or range serves, leases by identity (online/offline), reassignment, and
the configuration's own checks."""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import ConfigError
from ipsecsim.core.pools import Pools, parse_addrs, pools_from_dict


@pytest.mark.parametrize("text, first, size", [
    ("10.3.0.0/28", "10.3.0.1", 14),        # network id and broadcast skipped
    ("10.3.0.5/28", "10.3.0.5", 10),        # from a host address: .5 .. .14
    ("10.3.0.0/30", "10.3.0.1", 2),
    ("10.3.0.0/31", "10.3.0.0", 2),         # two addresses: both served
    ("10.3.0.1/32", "10.3.0.1", 1),
    ("10.3.0.1-10.3.0.20", "10.3.0.1", 20),
    ("fec3::/120", "fec3::1", 254),
])
def test_addresses_served(text, first, size) -> None:
    import ipaddress
    base, n, _v = parse_addrs(text, "pools.p.addrs")
    assert (str(ipaddress.ip_address(base)), n) == (first, size)


def _pools(**extra) -> Pools:
    d = {"a": {"addrs": "10.3.0.1-10.3.0.2"}, "b": {"addrs": "10.4.0.1-10.4.0.1"}}
    d.update(extra)
    return Pools(pools_from_dict(d))


def test_leases_by_identity_and_several_pools() -> None:
    p = _pools()
    got = [p.acquire(("a", "b"), who, "0.0.0.0", f"{who}-host") for who in ("c", "d", "e")]
    assert [(g.address, g.pool, g.how) for g in got if g] == [
        ("10.3.0.1", "a", "new"), ("10.3.0.2", "a", "new"), ("10.4.0.1", "b", "new")]
    assert p.acquire(("a", "b"), "f", "0.0.0.0", "f-host") is None  # all full, all online
    assert p.release(("a", "b"), "10.3.0.1", "c") == ("a", True)
    # an offline lease of another identity is reassigned once nothing is new
    g = p.acquire(("a", "b"), "f", "0.0.0.0", "f-host")
    assert g is not None and (g.address, g.how, g.previous) == ("10.3.0.1", "reassigned", "c")
    assert p.summary() == {"a": {"size": 2, "online": 2, "offline": 0},
                           "b": {"size": 1, "online": 1, "offline": 0}}


def test_same_address_again_and_make_before_break() -> None:
    p = _pools()
    first = p.acquire(("a",), "carol", "0.0.0.0", "192.168.0.100[4500]")
    assert first is not None
    # a second IKE_SA from the same peer while the first is up (reauthentication)
    again = p.acquire(("a",), "carol", "10.3.0.1", "192.168.0.100[4500]")
    assert again is not None and (again.address, again.how) == ("10.3.0.1", "online")
    assert p.release(("a",), "10.3.0.1", "carol") == ("a", False)  # still held once
    assert p.release(("a",), "10.3.0.1", "carol") == ("a", True)
    back = p.acquire(("a",), "carol", "0.0.0.0", "10.9.9.9[4500]")
    assert back is not None and (back.address, back.how) == ("10.3.0.1", "offline")
    leases = list(p.by_name["a"].leases())
    assert [(le.address, le.identity, le.online) for le in leases] == [("10.3.0.1", "carol", True)]


def test_family_mismatch_gets_nothing() -> None:
    p = _pools()
    assert p.acquire(("a",), "carol", "::", "x") is None


@pytest.mark.parametrize("d, message", [
    ({"p": {"addrs": "10.3.0.0/28"}, "q": {"addrs": "10.3.0.10-10.3.0.30"}},
     "pools.q.addrs: 10.3.0.10-10.3.0.30 overlaps pool 'p' (10.3.0.0/28)"),
    ({"p": {"addrs": "10.3.0.9-10.3.0.1"}}, "pools.p.addrs: invalid IP address range"),
    ({"p": {"addrs": "ten"}}, "pools.p.addrs: 'ten' is not a subnet"),
    ({"p": {"dns": ["1.1.1.1"]}}, "pools.p: a pool needs addrs"),
    ({"p": {"addrs": "10.3.0.0/28", "dsn": "1.1.1.1"}}, "pools.p.dsn: unknown pool attribute"),
    ({"p": {"addrs": "10.3.0.0/28", "dns": "one"}}, "pools.p.dns: 'one' is not an IP address"),
    ({"p": {"addrs": "10.3.0.0/28", "split_include": "10.1.0.0/16"}},
     "pools.p.split_include: this pool attribute is not modelled"),
])
def test_bad_pools(d, message) -> None:
    with pytest.raises(ConfigError) as err:
        pools_from_dict(d)
    assert str(err.value).startswith(message)


def test_unknown_pool_name_in_a_connection() -> None:
    from ipsecsim.core.ike.config import IkeConfig
    with pytest.raises(ConfigError) as err:
        IkeConfig.from_dict({"connections": {"rw": {"pools": ["rw_pool"]}},
                             "pools": {"rw-pool": {"addrs": "10.3.0.0/28"}}})
    assert str(err.value) == ("connections.rw.pools: unknown pool 'rw_pool' (did you mean "
                              "'rw-pool'?); pools: rw-pool")
