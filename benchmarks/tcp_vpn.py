"""TCP goodput through ESP and through a TLS-over-TCP VPN over WAN loss (issue 16 item 3).

    python benchmarks/tcp_vpn.py [--json] [--duration 60]

The network is tests.helpers.sim_topos.manual_site_to_site: hosts 1 ms from their gateways,
20 ms per WAN link, the loss on one WAN link, MSS clamped to 1360 at the gateways; the inner
TCP uses a 0.2 s minimum RTO (Linux), the TLS VPN's outer TCP RFC 6298's 1 s ("tls") or 0.2 s
("tls-0.2"). Goodput in Mbit/s, with the inner TCP's timeouts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ipsecsim.sim.runner import Simulation  # noqa: E402
from tests.helpers.sim_topos import manual_site_to_site  # noqa: E402

LOSSES = (0.0, 0.005, 0.01, 0.02, 0.05)


def run(kind: str, loss: float, duration: float) -> dict[str, float]:
    topo = manual_site_to_site(traffic={"t": {"type": "tcp", "from": "host-a", "to": "10.2.0.10",
                                              "min_rto": 0.2, "start": 0.5}},
                               duration=duration, delay="20ms", loss=loss)
    for link in ("lan-a", "lan-b"):
        topo["links"][link]["delay"] = "1ms"
    for gw in ("gw-a", "gw-b"):
        topo["nodes"][gw]["mss_clamp"] = 1360
    if kind.startswith("tls"):
        rto = 0.2 if kind == "tls-0.2" else 1.0
        for gw, peer, remote in (("gw-a", "203.0.113.1", "10.2.0.0/16"),
                                 ("gw-b", "198.51.100.1", "10.1.0.0/16")):
            node = topo["nodes"][gw]
            del node["ipsec"]
            node["tlsvpn"] = {"peer": peer, "remote": [remote], "min_rto": rto}
    sim = Simulation(topo)
    sim.run()
    t = sim.summary()["flows"]["t"]["tcp"]
    return {"goodput_mbps": round(t["goodput_bps"] / 1e6, 3), "inner_timeouts": t["timeouts"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--duration", type=float, default=60)
    a = ap.parse_args()
    rows = [{"loss": p, **{k: run(k, p, a.duration) for k in ("esp", "tls", "tls-0.2")}}
            for p in LOSSES]
    if a.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{'loss':>6} | {'ESP Mbit/s':>10} | {'TLS (1 s) Mbit/s':>16} | {'TLS (0.2 s) Mbit/s':>18}")
    for r in rows:
        print(f"{r['loss']:>6.3f} | {r['esp']['goodput_mbps']:>10.3f} | "
              f"{r['tls']['goodput_mbps']:>9.3f} ({r['tls']['inner_timeouts']:>3} to) | "
              f"{r['tls-0.2']['goodput_mbps']:>11.3f} ({r['tls-0.2']['inner_timeouts']:>3} to)")


if __name__ == "__main__":
    main()
