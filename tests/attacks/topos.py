"""Topologies for the attack tests: ``topologies/attacks.yaml`` with other attacks, and the
manually keyed site-to-site of :mod:`tests.helpers.sim_topos` with an attacker on its WAN."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import yaml

from ipsecsim.sim.runner import Simulation
from tests.helpers.paths import TOPOLOGIES
from tests.helpers.sim_topos import manual_site_to_site


@cache
def _attacks_yaml() -> dict[str, Any]:
    return yaml.safe_load((TOPOLOGIES / "attacks.yaml").read_text())


def ike_s2s(*attacks: dict[str, Any], duration: float = 10, script: bool = False,
            link: str = "wan-a", **victim: Any) -> dict[str, Any]:
    """attacks.yaml (IKE with PSK, CHILD_SA rekeyed every ~3 s, gw-b answering %any) with
    only ``attacks`` on ``link``; ``script``: keep gw-a's second initiate at 0.5 s;
    ``victim``: top-level keys of gw-b's ipsec block (cookie_threshold, ...)."""
    topo = copy.deepcopy(_attacks_yaml())
    topo["duration"] = duration
    if attacks:
        topo["attackers"] = {"mallory": {"link": link, "attacks": list(attacks)}}
    else:
        del topo["attackers"]
    if not script:
        del topo["script"]
    topo["nodes"]["gw-b"]["ipsec"].update(victim)
    return topo


def manual_s2s(*attacks: dict[str, Any], proto: str = "esp", duration: float = 4,
               traffic: dict[str, Any] | None = None) -> dict[str, Any]:
    """host-a - gw-a - internet - gw-b - host-b keyed by hand (ESP or AH), an attacker on wan-a."""
    topo = manual_site_to_site(duration=duration, traffic=traffic or {
        "u": {"type": "cbr", "from": "host-a", "to": "10.2.0.10", "start": 1, "rate": 50,
              "size": 300, "stop": duration - 0.5}})
    if proto == "ah":
        for gw in ("gw-a", "gw-b"):
            for m in topo["nodes"][gw]["ipsec"]["manual"]:
                del m["esp_proposal"]
                m["ah_proposal"] = "sha256"
    topo["attackers"] = {"mallory": {"link": "wan-a", "attacks": list(attacks)}}
    return topo


def run(topo: dict[str, Any]) -> Simulation:
    return Simulation.from_dict(topo).run()


def drops_at(sim: Simulation, node: str, reason: str) -> list[tuple]:
    """The drop records of ``reason`` at ``node``."""
    return [r for r in sim.trace.of("drop") if r[3] == node and r[5] == reason]


def attack_records(sim: Simulation, *actions: str) -> list[tuple]:
    return [r for r in sim.trace.of("attack") if not actions or r[5] in actions]


def mallory(sim: Simulation) -> dict[str, Any]:
    return sim.summary()["attacks"]["mallory"]  # type: ignore[no-any-return]
