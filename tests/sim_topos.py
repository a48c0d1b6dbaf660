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
    """A hub with ONE connection for every spoke (``remote_addrs: [%any]``, remote id
    ``*.example``): the strongSwan road-warrior / hub shape. Spoke *i* (1-based) has LAN
    10.0.i.0/24 (host .10 behind gateway .1) and WAN 172.16.i.1; the hub's LAN is
    10.255.0.0/24 with a server at .10. The hub's child ``rw`` allows 10.0.0.0/16 and each
    spoke proposes its own /24, so the hub narrows every CHILD_SA to one spoke's LAN
    (RFC 7296 §2.9). Each spoke pings the server, and the server sends a CBR flow to each
    spoke host (hub -> spoke is where a shared outbound policy would pick the wrong SA)."""
    hub_wan, hub_lan = "192.0.2", "10.255.0"
    prop = ["aes128gcm16-prfsha256-x25519"]
    nodes: dict[str, Any] = {
        "server": {"role": "host", "addresses": [f"{hub_lan}.10/24"],
                   "routes": [{"to": "0.0.0.0/0", "via": f"{hub_lan}.1"}]},
        "core": {"role": "router", "addresses": [f"{hub_wan}.254/24"]
                 + [f"172.16.{i}.254/24" for i in range(1, n + 1)]},
    }
    rw: dict[str, Any] = {
        "local_addrs": [f"{hub_wan}.1"], "remote_addrs": ["%any"], "proposals": prop,
        "local": {"auth": auth, "id": "hub.example"}, "remote": {"auth": auth, "id": "*.example"},
        "children": {"rw": {"local_ts": [f"{hub_lan}.0/24"], "remote_ts": ["10.0.0.0/16"],
                            "esp_proposals": ["aes128gcm16"]}},
    }
    hub_ipsec: dict[str, Any] = {"connections": {"rw": rw}}
    links: dict[str, Any] = {
        "hub-lan": {"a": "server", "b": "hub", "bandwidth": "1Gbps", "delay": "0.1ms"},
        "hub-wan": {"a": "hub", "b": "core", "bandwidth": "1Gbps", "delay": "5ms"},
    }
    traffic: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    for i in range(1, n + 1):
        sid = f"spoke{i}.example"
        ipsec: dict[str, Any] = {"connections": {"hub": {
            "local_addrs": [f"172.16.{i}.1"], "remote_addrs": [f"{hub_wan}.1"], "proposals": prop,
            "local": {"auth": auth, "id": sid}, "remote": {"auth": auth, "id": "hub.example"},
            "children": {"to-hub": {"local_ts": [f"10.0.{i}.0/24"], "remote_ts": [f"{hub_lan}.0/24"],
                                    "esp_proposals": ["aes128gcm16"], "start_action": "start"}},
        }}}
        if auth == "psk":
            s = {"id-1": "hub.example", "id-2": sid, "secret": f"spoke {i} shared secret"}
            secrets[f"spoke{i}"] = s
            ipsec["secrets"] = {"hub": dict(s)}
        nodes[f"spoke{i}-gw"] = {"role": "gateway", "addresses": [f"10.0.{i}.1/24", f"172.16.{i}.1/24"],
                                 "routes": [{"to": "0.0.0.0/0", "via": f"172.16.{i}.254"}],
                                 "ipsec": ipsec}
        nodes[f"spoke{i}-host"] = {"role": "host", "addresses": [f"10.0.{i}.10/24"],
                                   "routes": [{"to": "0.0.0.0/0", "via": f"10.0.{i}.1"}]}
        links[f"wan{i}"] = {"a": f"spoke{i}-gw", "b": "core", "bandwidth": "50Mbps", "delay": "10ms"}
        links[f"lan{i}"] = {"a": f"spoke{i}-host", "b": f"spoke{i}-gw", "bandwidth": "1Gbps",
                            "delay": "0.1ms"}
        traffic[f"ping{i}"] = {"type": "ping", "from": f"spoke{i}-host", "to": f"{hub_lan}.10",
                               "start": 1 + 0.01 * i, "rate": 2, "count": 2 * int(duration - 2)}
        traffic[f"down{i}"] = {"type": "cbr", "from": "server", "to": f"10.0.{i}.10",
                               "start": 1 + 0.01 * i, "stop": duration - 1, "rate": 20, "size": 200}
    if secrets:
        hub_ipsec["secrets"] = secrets
    nodes["hub"] = {"role": "gateway", "addresses": [f"{hub_lan}.1/24", f"{hub_wan}.1/24"],
                    "routes": [{"to": "0.0.0.0/0", "via": f"{hub_wan}.254"}], "ipsec": hub_ipsec}
    return copy.deepcopy({"name": "road-warrior-hub", "seed": seed, "duration": duration,
                          "nodes": nodes, "links": links, "traffic": traffic})
