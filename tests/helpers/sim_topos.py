"""Topology dicts for the simulation tests (manual keys: the data plane without IKE)."""

from __future__ import annotations

import copy
from typing import Any


def _gw(lan: str, wan: str, peer_wan: str, lts: str, rts: str, si: int, so: str | int,
        proto: str = "esp", mode: str = "tunnel") -> dict[str, Any]:
    m: dict[str, Any] = {"name": "lan-lan", "spi_in": si, "spi_out": so, "mode": mode,
                         "local_addr": wan.split("/")[0], "remote_addr": peer_wan,
                         "local_ts": [lts], "remote_ts": [rts]}
    if proto == "ah":
        m["ah_proposal"] = "sha256"
    else:
        m["esp_proposal"] = "aes128gcm16"
    return {"role": "gateway", "addresses": [lan, wan], "routes": [], "ipsec": {"manual": [m]}}


def manual_site_to_site(bandwidth: str = "100Mbps", delay: str = "5ms", mtu: int = 1500,
                        traffic: dict[str, Any] | None = None, duration: float = 5,
                        seed: int = 1, **link_extra: Any) -> dict[str, Any]:
    """host-a - gw-a - internet - gw-b - host-b, ESP tunnel (AES-GCM-128) keyed by hand."""
    lk = {"bandwidth": bandwidth, "delay": delay, "mtu": mtu}
    wan = dict(lk, **link_extra)
    return copy.deepcopy({
        "name": "manual-s2s", "seed": seed, "duration": duration,
        "nodes": {
            "host-a": {"role": "host", "addresses": ["10.1.0.10/24"],
                       "routes": [{"to": "0.0.0.0/0", "via": "10.1.0.1"}]},
            "gw-a": _gw("10.1.0.1/24", "198.51.100.1/24", "203.0.113.1", "10.1.0.0/16", "10.2.0.0/16",
                        0x1000, 0x2000),
            "internet": {"role": "router", "addresses": ["198.51.100.254/24", "203.0.113.254/24"]},
            "gw-b": _gw("10.2.0.1/24", "203.0.113.1/24", "198.51.100.1", "10.2.0.0/16", "10.1.0.0/16",
                        0x2000, 0x1000),
            "host-b": {"role": "host", "addresses": ["10.2.0.10/24"],
                       "routes": [{"to": "0.0.0.0/0", "via": "10.2.0.1"}]},
        },
        "links": {
            "lan-a": dict(lk, a="host-a", b="gw-a"),
            "wan-a": dict(wan, a="gw-a", b="internet"),
            "wan-b": dict(lk, a="internet", b="gw-b"),
            "lan-b": dict(lk, a="gw-b", b="host-b"),
        },
        "traffic": traffic if traffic is not None else {
            "ping": {"type": "ping", "from": "host-a", "to": "10.2.0.10", "count": 3},
        },
    })


def plain_chain(traffic: dict[str, Any], duration: float = 5, **link: Any) -> dict[str, Any]:
    """h1 - r1 - h2 without IPsec; ``link`` sets the properties of the r1-h2 link."""
    return {
        "name": "plain", "seed": 7, "duration": duration,
        "nodes": {
            "h1": {"role": "host", "addresses": ["10.0.1.10/24"], "routes": [{"to": "0.0.0.0/0", "via": "10.0.1.1"}]},
            "r1": {"role": "router", "addresses": ["10.0.1.1/24", "10.0.2.1/24"]},
            "h2": {"role": "host", "addresses": ["10.0.2.10/24"], "routes": [{"to": "0.0.0.0/0", "via": "10.0.2.1"}]},
        },
        "links": {"l1": {"a": "h1", "b": "r1", "bandwidth": "1Gbps", "delay": "1ms"},
                  "l2": dict({"a": "r1", "b": "h2"}, **link)},
        "traffic": traffic,
    }


def assert_conserved(sim: Any) -> dict[str, Any]:
    """sent = delivered + dropped (by reason) + in flight, from the summary and from the trace."""
    s = sim.summary()["packets"]
    tr = sim.trace
    sent = [r[5] for r in tr.of("app_send")]
    delivered = [r[5] for r in tr.of("app_deliver")]
    assert len(sent) == len(set(sent)) == s["sent"]
    assert len(delivered) == len(set(delivered)) == s["delivered"]
    sent_set, deliv = set(sent), set(delivered)
    assert deliv <= sent_set
    first_drop: dict[int, str] = {}
    for r in tr.of("drop"):
        if r[4] in sent_set and r[4] not in first_drop:
            first_drop[r[4]] = r[5]
    assert not deliv & set(first_drop), "a packet was both dropped and delivered"
    by_reason: dict[str, int] = {}
    for reason in first_drop.values():
        by_reason[reason] = by_reason.get(reason, 0) + 1
    assert by_reason == s["dropped"]
    in_flight = sent_set - deliv - set(first_drop)
    assert len(in_flight) == s["in_flight"]
    assert s["sent"] == s["delivered"] + sum(s["dropped"].values()) + s["in_flight"]
    return s


def road_warrior_hub(n: int = 3, auth: str = "pubkey", duration: float = 8,
                     seed: int = 5) -> dict[str, Any]:
    """:func:`ipsecsim.sim.generate.road_warriors` (the shipped ``road-warriors.yaml``) named
    ``road-warrior-hub``: a hub with ONE ``%any`` connection for ``n`` spokes, each CHILD_SA
    narrowed to one spoke's LAN, spokes pinging the hub's server and the server sending CBR to
    each spoke host."""
    from ipsecsim.sim.generate import road_warriors

    return dict(road_warriors(n, auth, duration, seed), name="road-warrior-hub")


