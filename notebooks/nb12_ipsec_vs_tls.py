"""Notebook 12: IPsec vs a TLS VPN -- header bytes computed, then TCP goodput under loss measured."""

from nbcells import SETUP, code, md

CELLS = [
    md("""
# 12 · IPsec or a TLS VPN? Bytes, then behaviour under loss

**What you will learn**

* how many bytes each tunnel adds to a packet: ESP (tunnel mode, AES-GCM) against a TLS 1.3
  VPN over TCP (OpenConnect, SSTP, OpenVPN in TCP mode) and over UDP (DTLS);
* why header bytes are *not* the whole story: a TLS VPN carries your TCP connection inside
  its own TCP connection, and under packet loss the two fight — **TCP meltdown**;
* how to measure that in simulation rather than argue it: the same network, the same TCP
  flow, only the tunnel changes.

Explainers say "IPsec can be faster than a TLS VPN". By the end you can say *when* and *by how
much*, and also when it is not.
"""),
    code(SETUP + """
import pandas as pd
from ipsecsim.core.overhead import overhead
from ipsecsim.core.tlsvpn import tls_vpn_overhead
from ipsecsim.sim.runner import Simulation"""),
    md("""
## The bytes

For an inner packet of each size: what ESP in tunnel mode (AES-GCM-128) puts on the wire, and
what a TLS 1.3 record in TCP (with the TCP timestamps Linux sends) or a DTLS 1.3 record in
UDP does. These come from the record formats (RFC 4303, RFC 8446 §5.2, RFC 9147 §4) — and for
ESP from a real SA that encrypted a real packet.
"""),
    code("""
rows = []
for size in (64, 200, 576, 1000, 1400):
    rows.append({"inner packet": size,
                 "ESP tunnel (GCM)": overhead("esp", "tunnel", "aes128gcm16", size)["overhead_bytes"],
                 "ESP in UDP (NAT-T)": overhead("esp", "tunnel", "aes128gcm16", size, nat_t=True)["overhead_bytes"],
                 "TLS 1.3 over TCP": tls_vpn_overhead(size, "tcp")["overhead_bytes"],
                 "DTLS 1.3 over UDP": tls_vpn_overhead(size, "udp")["overhead_bytes"]})
bytes_table = pd.DataFrame(rows).set_index("inner packet")
ax = bytes_table.plot.bar(figsize=(9, 3.5), rot=0, title="Bytes each tunnel adds to one packet")
ax.set_ylabel("overhead (bytes)")
bytes_table"""),
    md("""
ESP and DTLS are within a few bytes of each other; TLS over TCP pays for its TCP header
(32 bytes with timestamps). At 1400 bytes that is 4 % against 5 %: not much. If this were all,
the choice would hardly matter.

## The behaviour: the same TCP flow through both tunnels

The network: `site-to-site.yaml` with hosts 1 ms from their gateways, 20 ms per WAN link,
and packet loss on one WAN link. A TCP flow (NewReno, as `type: tcp` in a topology) from host-a to host-b.
The gateways clamp the MSS to 1360 so nothing fragments. The tunnel is either ESP, or a TLS
VPN whose gateways write every packet as a TLS record into their own TCP connection
(`tlsvpn:` in the topology). The inner TCP uses Linux's 0.2 s minimum retransmission timeout;
the TLS VPN's outer TCP the 1 s RFC 6298 recommends.
"""),
    code("""
import copy
import yaml

BASE = yaml.safe_load(open("../topologies/site-to-site.yaml"))

def run(kind, loss, outer_rto=1.0, duration=20):
    topo = copy.deepcopy(BASE)
    topo["duration"] = duration
    topo["traffic"] = {"t": {"type": "tcp", "from": "host-a", "to": "10.2.0.10",
                             "min_rto": 0.2, "start": 0.5}}
    for link in ("lan-a", "lan-b"):
        topo["links"][link]["delay"] = "1ms"
    for link in ("wan-a", "wan-b"):
        topo["links"][link]["delay"] = "20ms"
    topo["links"]["wan-a"]["loss"] = loss
    for gw in ("gw-a", "gw-b"):
        topo["nodes"][gw]["mss_clamp"] = 1360
    if kind == "TLS VPN":
        for gw, peer, remote in (("gw-a", "203.0.113.1", "10.2.0.0/16"),
                                 ("gw-b", "198.51.100.1", "10.1.0.0/16")):
            del topo["nodes"][gw]["ipsec"]
            topo["nodes"][gw]["tlsvpn"] = {"peer": peer, "remote": [remote], "min_rto": outer_rto}
    sim = Simulation(topo).run()
    t = sim.summary()["flows"]["t"]["tcp"]
    return {"tunnel": kind, "loss": loss, "goodput Mbit/s": t["goodput_bps"] / 1e6,
            "inner timeouts": t["timeouts"], "inner fast recoveries": t["fast_recoveries"]}

measured = pd.DataFrame([run(kind, loss) for loss in (0.0, 0.01, 0.02)
                         for kind in ("ESP", "TLS VPN")])
measured"""),
    code("""
pivot = measured.pivot(index="loss", columns="tunnel", values="goodput Mbit/s")
ax = pivot.plot(marker="o", figsize=(7, 3.8), logy=True,
                title="TCP goodput through each tunnel (measured, 20 s per point)")
ax.set_xlabel("loss rate on one WAN link")
ax.set_ylabel("goodput (Mbit/s, log scale)")
pivot.assign(ratio=pivot["ESP"] / pivot["TLS VPN"])"""),
    md("""
Without loss the two are the same — the header bytes really don't matter. With loss, ESP wins
by a large factor (how large varies from run to run: each point is one 20-second connection
with its own random losses). Look at the columns: over ESP the inner TCP sees
every loss itself and repairs it with a fast retransmit, one round trip. Over the TLS VPN it
sees *no* loss at all — the outer TCP repairs them — and yet it times out. That is TCP
meltdown: when the outer connection stalls on a lost segment (and, when its retransmission is
lost too, waits a whole second), every inner packet behind it waits; the inner TCP's own
timer, which knows nothing of the outer one, fires, halves its window, and resends data that
was never lost into the same stalled stream.

## Is it always so? The timers decide

Give the outer TCP the same 0.2 s minimum timeout as the inner one, and measure again at 2 %.
"""),
    code("""
same_timers = pd.DataFrame([run("ESP", 0.02), run("TLS VPN", 0.02, outer_rto=0.2)])
same_timers"""),
    md("""
With matched timers the TLS VPN keeps up — here it is even a little faster, because the outer
TCP repairs losses over the short gateway-to-gateway path and the inner one never slows down.
Meltdown is real, but it comes from the interaction of two retransmission timers, not from
TLS itself. What the measurement supports: **ESP (or DTLS, which has no inner TCP problem)
never couples your connection's fate to a second TCP's timers**; a TLS-over-TCP VPN may be as
fast on a clean line and much slower on a lossy one, depending on settings you often can't see.

## Exercises

1. Add rows for 0.5 % and 5 % loss. Is ESP ahead at every loss rate? Which column tells you
   why the TLS VPN falls behind?
2. The bytes table: at which inner packet size is TLS over TCP's extra overhead, compared with
   ESP, largest *as a percentage*? Why do small packets (VoIP, IoT) care most?
3. Run the 1 % point again with `topo["seed"] = 2` (add the line in `run`) and with
   `duration=40`: how much do the measured goodputs move? How would you report such a
   measurement honestly? (`ipsecsim sweep` runs a grid of seeds for you.)
4. In `run`, give the inner flow `"min_rto": 1.0` too. Does meltdown get worse or better? Explain
   with the two timers.
5. DTLS carries each packet in its own UDP datagram, like ESP in UDP. Which of the two
   behaviours above would you expect from a DTLS VPN under loss, and why?
"""),
]
