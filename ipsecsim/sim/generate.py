"""Generated topologies: hub-and-spoke of any size (the shipped file and the 1,000-spoke benchmark)
and a road-warrior hub (one ``%any`` connection for every spoke).

``python -m ipsecsim.sim.generate hub-and-spoke 10 > topologies/hub-and-spoke.yaml`` and
``python -m ipsecsim.sim.generate road-warriors 3 > topologies/road-warriors.yaml`` wrote the
shipped files.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

HUB_WAN, HUB_LAN = "192.0.2", "10.255.0"
"""The hub's WAN (192.0.2.1, the core router .254) and LAN (10.255.0.1, a server .10) prefixes."""
IKE_PROPOSAL = "aes128gcm16-prfsha256-x25519"


def _lan(i: int) -> str:
    """Spoke ``i``'s LAN prefix: 10.{i//250}.{i%250}."""
    return f"10.{i // 250}.{i % 250}"


def _wan(i: int) -> str:
    """Spoke ``i``'s WAN prefix: 172.16+{i//250}.{i%250} (wrapping into 173.x past 4,000 spokes)."""
    return f"{172 + i // 250 // 16}.{16 + (i // 250) % 16}.{i % 250}"


def _add_spoke(nodes: dict[str, Any], secrets: dict[str, Any], i: int, auth: str,
               jitter: int = 0) -> None:
    """Spoke ``i``'s gateway (one connection to the hub, its LAN's CHILD_SA started at once) and
    host; with PSK its secret goes into ``secrets`` too (the hub's side)."""
    sid = f"spoke{i}.example"
    ipsec: dict[str, Any] = {"connections": {"hub": {
        "local_addrs": [f"{_wan(i)}.1"], "remote_addrs": [f"{HUB_WAN}.1"],
        "proposals": [IKE_PROPOSAL],
        "local": {"auth": auth, "id": sid}, "remote": {"auth": auth, "id": "hub.example"},
        "children": {"to-hub": {"local_ts": [f"{_lan(i)}.0/24"], "remote_ts": [f"{HUB_LAN}.0/24"],
                                "esp_proposals": ["aes128gcm16"], "start_action": "start"}},
    }}}
    if jitter:
        ipsec["connections"]["hub"]["retransmit_jitter"] = jitter
    if auth == "psk":
        s = {"id-1": "hub.example", "id-2": sid, "secret": f"spoke {i} shared secret"}
        secrets[f"spoke{i}"] = s
        ipsec["secrets"] = {"hub": dict(s)}
    nodes[f"spoke{i}-gw"] = {"role": "gateway", "addresses": [f"{_lan(i)}.1/24", f"{_wan(i)}.1/24"],
                             "routes": [{"to": "0.0.0.0/0", "via": f"{_wan(i)}.254"}], "ipsec": ipsec}
    nodes[f"spoke{i}-host"] = {"role": "host", "addresses": [f"{_lan(i)}.10/24"],
                               "routes": [{"to": "0.0.0.0/0", "via": f"{_lan(i)}.1"}]}


def hub_and_spoke(n: int = 10, auth: str = "pubkey", pings: int = 5, duration: float = 10.0,
                  seed: int = 3, ping_start: float = 1.0, retransmit_jitter: int = 0) -> dict[str, Any]:
    """A hub gateway and ``n`` spoke gateways across a core router, each spoke with one host.

    Spoke *i* (1-based) has LAN 10.{i//250}.{i%250}.0/24 behind gateway .1 and WAN
    172.16+{i//250}.{i%250}.1/24; the hub's LAN is 10.255.0.0/24 with a server at .10.
    Every spoke starts its IKE_SA at t=0 and its host pings the server ``pings`` times.
    Authentication is by certificates from the run's CA (``auth: pubkey``) or PSK.
    ``ping_start`` moves the first pings (spoke *i*'s at ``ping_start`` + 0.01 × (i mod 100));
    ``retransmit_jitter`` (percent) sets the spokes' ``charon.retransmit_jitter``.
    """
    hub_wan, hub_lan, lan, wan = HUB_WAN, HUB_LAN, _lan, _wan
    secrets: dict[str, Any] = {}

    def side(ident: str) -> dict[str, Any]:
        return {"auth": auth, "id": ident}

    hub_conns: dict[str, Any] = {}
    nodes: dict[str, Any] = {}
    links: dict[str, Any] = {}
    traffic: dict[str, Any] = {}
    core_addrs = [f"{hub_wan}.254/24"]
    for i in range(1, n + 1):
        hub_conns[f"spoke{i}"] = {
            "local_addrs": [f"{hub_wan}.1"], "remote_addrs": [f"{wan(i)}.1"],
            "proposals": [IKE_PROPOSAL],
            "local": side("hub.example"), "remote": side(f"spoke{i}.example"),
            "children": {f"spoke{i}": {"local_ts": [f"{hub_lan}.0/24"], "remote_ts": [f"{lan(i)}.0/24"],
                                       "esp_proposals": ["aes128gcm16"]}},
        }
        _add_spoke(nodes, secrets, i, auth, retransmit_jitter)
        core_addrs.append(f"{wan(i)}.254/24")
        links[f"wan{i}"] = {"a": f"spoke{i}-gw", "b": "core", "bandwidth": "50Mbps", "delay": "15ms"}
        links[f"lan{i}"] = {"a": f"spoke{i}-host", "b": f"spoke{i}-gw", "bandwidth": "1Gbps", "delay": "0.1ms"}
        traffic[f"ping{i}"] = {"type": "ping", "from": f"spoke{i}-host", "to": f"{hub_lan}.10",
                               "start": round(ping_start + 0.01 * (i % 100), 3), "rate": 1,
                               "count": pings}
    hub_ipsec: dict[str, Any] = {"connections": hub_conns}
    if secrets:
        hub_ipsec["secrets"] = secrets
    nodes = {
        "server": {"role": "host", "addresses": [f"{hub_lan}.10/24"],
                   "routes": [{"to": "0.0.0.0/0", "via": f"{hub_lan}.1"}]},
        "hub": {"role": "gateway", "addresses": [f"{hub_lan}.1/24", f"{hub_wan}.1/24"],
                "routes": [{"to": "0.0.0.0/0", "via": f"{hub_wan}.254"}], "ipsec": hub_ipsec},
        "core": {"role": "router", "addresses": core_addrs},
        **nodes,
    }
    links = {"hub-lan": {"a": "server", "b": "hub", "bandwidth": "1Gbps", "delay": "0.1ms"},
             "hub-wan": {"a": "hub", "b": "core", "bandwidth": "1Gbps", "delay": "5ms"}, **links}
    return {"name": "hub-and-spoke" if n == 10 else f"hub-and-spoke-{n}", "seed": seed,
            "duration": duration, "nodes": nodes, "links": links, "traffic": traffic}


def road_warriors(n: int = 3, auth: str = "pubkey", duration: float = 8,
                  seed: int = 5) -> dict[str, Any]:
    """A hub with ONE connection for every spoke (``remote_addrs: [%any]``, remote id
    ``*.example``): the strongSwan road-warrior / hub shape. Spoke *i* (1-based) has LAN
    10.0.i.0/24 (host .10 behind gateway .1) and WAN 172.16.i.1; the hub's LAN is
    10.255.0.0/24 with a server at .10. The hub's child ``rw`` allows 10.0.0.0/16 and each
    spoke proposes its own /24, so the hub narrows every CHILD_SA to one spoke's LAN
    (RFC 7296 §2.9). Each spoke pings the server, and the server sends a CBR flow to each
    spoke host (hub -> spoke is where a shared outbound policy would pick the wrong SA)."""
    hub_wan, hub_lan = HUB_WAN, HUB_LAN
    nodes: dict[str, Any] = {
        "server": {"role": "host", "addresses": [f"{hub_lan}.10/24"],
                   "routes": [{"to": "0.0.0.0/0", "via": f"{hub_lan}.1"}]},
        "core": {"role": "router", "addresses": [f"{hub_wan}.254/24"]
                 + [f"{_wan(i)}.254/24" for i in range(1, n + 1)]},
    }
    rw: dict[str, Any] = {
        "local_addrs": [f"{hub_wan}.1"], "remote_addrs": ["%any"], "proposals": [IKE_PROPOSAL],
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
        _add_spoke(nodes, secrets, i, auth)
        links[f"wan{i}"] = {"a": f"spoke{i}-gw", "b": "core", "bandwidth": "50Mbps", "delay": "10ms"}
        links[f"lan{i}"] = {"a": f"spoke{i}-host", "b": f"spoke{i}-gw", "bandwidth": "1Gbps",
                            "delay": "0.1ms"}
        traffic[f"ping{i}"] = {"type": "ping", "from": f"spoke{i}-host", "to": f"{hub_lan}.10",
                               "start": 1 + 0.01 * i, "rate": 2, "count": 2 * int(duration - 2)}
        traffic[f"down{i}"] = {"type": "cbr", "from": "server", "to": f"{_lan(i)}.10",
                               "start": 1 + 0.01 * i, "stop": duration - 1, "rate": 20, "size": 200}
    if secrets:
        hub_ipsec["secrets"] = secrets
    nodes["hub"] = {"role": "gateway", "addresses": [f"{hub_lan}.1/24", f"{hub_wan}.1/24"],
                    "routes": [{"to": "0.0.0.0/0", "via": f"{hub_wan}.254"}], "ipsec": hub_ipsec}
    return {"name": "road-warriors", "seed": seed, "duration": duration,
            "nodes": nodes, "links": links, "traffic": traffic}


class _NoAliases(yaml.SafeDumper):
    """Spell shared lists out: a topology file is read by people, not only by the loader."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def main(argv: list[str]) -> int:
    kinds = {"hub-and-spoke": 10, "road-warriors": 3}
    if len(argv) < 1 or argv[0] not in kinds:
        print("usage: python -m ipsecsim.sim.generate hub-and-spoke|road-warriors N [psk]", file=sys.stderr)
        return 2
    kind = argv[0]
    n = int(argv[1]) if len(argv) > 1 else kinds[kind]
    auth = argv[2] if len(argv) > 2 else "pubkey"
    how = "certificates from the run CA" if auth == "pubkey" else "PSK"
    if kind == "hub-and-spoke":
        print(f"# A hub and {n} spokes, IKEv2 with {how}.")
        topo = hub_and_spoke(n, auth)
    else:
        print(f"# A hub with ONE connection for {n} spokes (remote_addrs: [%any], remote id *.example),\n"
              f"# the strongSwan road-warrior shape; each CHILD_SA is narrowed to one spoke's LAN.\n"
              f"# IKEv2 with {how}.")
        topo = road_warriors(n, auth)
    print(f"# Generated by: python -m ipsecsim.sim.generate {kind} {n}{' psk' if auth == 'psk' else ''}")
    print(yaml.dump(topo, Dumper=_NoAliases, sort_keys=False, default_flow_style=None, width=110), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
