"""Connections by address and secrets by identity (core/ike/config_index.py) give what the
linear scans gave.

Oracles: the scans themselves, written out here as they were in config.py and
endpoint.py (swanctl.conf's rules: a secret listing more of the identities wins, the first
of equal ones; a connection is a candidate when both address lists accept the pair, in
config order), over random configurations.
"""

from __future__ import annotations

import random

from ipsecsim.core.ike.config import IkeConfig, Secret
from ipsecsim.core.ike.config_index import ConnIndex, SecretIndex
from ipsecsim.core.ike.endpoint import _addr_in


def _psk_scan(secrets: tuple[Secret, ...], *ids: str) -> bytes | None:
    best, score = None, -1
    for s in secrets:
        if not s.ids:
            hit = 0
        else:
            hit = sum(1 for i in ids if i and i in s.ids)
            if hit == 0:
                continue
        if hit > score:
            best, score = s.secret, hit
    return best


def test_secrets_agree_with_the_scan() -> None:
    rng = random.Random(3)
    names = [f"n{i}.example" for i in range(12)] + ["hub.example", ""]
    for _ in range(300):
        secrets = []
        for k in range(rng.randrange(0, 15)):
            ids = tuple(rng.choice(names[:-1]) for _ in range(rng.choice((0, 1, 2, 2, 3))))
            if rng.random() < 0.5:
                ids = ("hub.example", *ids)
            secrets.append(Secret(f"s{k}", ids, f"secret {k}".encode()))
        tup = tuple(secrets)
        index = SecretIndex(tup)
        for _ in range(10):
            ids = tuple(rng.choice(names) for _ in range(rng.choice((1, 2, 2, 3))))
            assert index.best(ids) == _psk_scan(tup, *ids), (tup, ids)


def test_a_hub_finds_each_spoke_secret() -> None:
    d = {"connections": {"c": {"remote_addrs": ["192.0.2.2"]}},
         "secrets": {f"s{i}": {"id-1": "hub.example", "id-2": f"spoke{i}.example",
                               "secret": f"spoke {i}"} for i in range(1, 3001)}}
    cfg = IkeConfig.from_dict(d)
    assert cfg.psk("hub.example", "spoke2999.example") == b"spoke 2999"
    assert cfg.psk("hub.example", "nobody.example") == b"spoke 1"  # one id of two: the first
    assert cfg.psk("nobody.example") is None


def test_connections_agree_with_the_scan() -> None:
    rng = random.Random(5)
    addrs = ["192.0.2.1", "192.0.2.2", "198.51.100.7", "10.0.0.1", "10.0.0.200"]
    pats = [*addrs, "%any", "10.0.0.0/24", "10.0.0.100-10.0.0.250", "0.0.0.0/0", "host.example"]
    for _ in range(200):
        d = {"connections": {}}
        for k in range(rng.randrange(1, 12)):
            remote = [rng.choice(pats) for _ in range(rng.choice((0, 1, 1, 2)))]
            local = [rng.choice(pats) for _ in range(rng.choice((0, 1)))]
            d["connections"][f"c{k}"] = {"remote_addrs": remote, "local_addrs": local}
        conns = IkeConfig.from_dict(d).connections
        index = ConnIndex(conns)
        for _ in range(10):
            local, remote = rng.choice(addrs), rng.choice(addrs)
            want = [c for c in conns if _addr_in(local, c.local_addrs) and _addr_in(remote, c.remote_addrs)]
            got = [c for c in index.candidates(remote)
                   if _addr_in(local, c.local_addrs) and _addr_in(remote, c.remote_addrs)]
            assert got == want
