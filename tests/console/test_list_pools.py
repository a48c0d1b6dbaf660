"""``swanctl --list-pools [--leases] [--raw|--pretty] [--name N]`` on the console.

The layout is strongSwan 5.9.8's ``src/swanctl/commands/list_pools.c`` (``%-20s %-30s %16s``
per pool, ``  %-30s %-8s '%s'`` per lease) over vici's ``get-pools`` reply
(``vici_attribute.c``); tests/interop/test_strongswan_vips.py checks the same three forms
against a live charon's swanctl, byte for byte."""

from __future__ import annotations

from types import SimpleNamespace

from ipsecsim.console import swanctl_usage as U
from ipsecsim.console.swanctl import _Opts, list_pools
from ipsecsim.core.pools import Pools, pools_from_dict


def console(gw: object, args: str) -> str:
    out: list[str] = []
    ctx = SimpleNamespace(node=gw, out=SimpleNamespace(out=out.append, err=out.append))
    cmd = next(c for c in U.COMMANDS if c.cmd == "list-pools")
    list_pools(ctx, _Opts(U.getopt(args.split(), cmd.options)))  # type: ignore[arg-type]
    return "".join(out)


def _gw() -> object:
    pools = Pools(pools_from_dict({"rw_pool": {"addrs": "10.3.0.0/28"},
                                   "more": {"addrs": "10.4.0.1-10.4.0.20"}}))
    pools.acquire(("rw_pool",), "carol@strongswan.org", "0.0.0.0", "a")
    pools.acquire(("rw_pool",), "dave@strongswan.org", "0.0.0.0", "b")
    pools.release(("rw_pool",), "10.3.0.1", "carol@strongswan.org")
    return SimpleNamespace(ike=SimpleNamespace(pools=pools))


def test_plain_with_leases() -> None:
    assert console(_gw(), "--leases") == (
        "rw_pool              10.3.0.0                             1 / 1 / 14\n"
        "  10.3.0.1                       offline  'carol@strongswan.org'\n"
        "  10.3.0.2                       online   'dave@strongswan.org'\n"
        "more                 10.4.0.1                             0 / 0 / 20\n")


def test_raw_and_name_filter() -> None:
    assert console(_gw(), "--raw --name more") == (
        "get-pools reply {more {base=10.4.0.1 size=20 online=0 offline=0}}\n")
    assert console(_gw(), "--leases --raw --name rw_pool") == (
        "get-pools reply {rw_pool {base=10.3.0.0 size=14 online=1 offline=1 leases {"
        "0 {address=10.3.0.1 identity=carol@strongswan.org status=offline} "
        "1 {address=10.3.0.2 identity=dave@strongswan.org status=online}}}}\n")


def test_no_pools_prints_nothing_raw_an_empty_reply() -> None:
    gw = SimpleNamespace(ike=SimpleNamespace(pools=Pools()))
    assert console(gw, "") == ""
    assert console(gw, "--raw") == "get-pools reply {}\n"
