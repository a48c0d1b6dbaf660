"""Notebook 04: designing a site-to-site network -- two sites, MTU, throughput cost, hub and spoke."""

from nbcells import SETUP, code, md

CELLS = [
    md("""
# 04 · Designing a site-to-site VPN

**What you will learn**

* how two offices are joined by one IPsec tunnel between their gateways, and what the
  Internet in between sees;
* why a packet that fits the LAN may not fit the tunnel: **MTU and fragmentation** after
  encryption, and how to avoid it;
* the **throughput cost** of the overhead: a link that carries a video stream in the clear
  can overflow once the same stream is encrypted;
* how a **hub-and-spoke** design scales to many branches, one IKE SA per spoke.

All results come from simulations of topology files in `../topologies/`, modified in the
cells below; nothing is drawn by hand.
"""),
    code(SETUP + """
import copy
from collections import Counter
import pandas as pd
import yaml
from ipsecsim.sim.runner import Simulation
from ipsecsim.viz.animation import animate_packets
from ipsecsim.viz.ladder import draw_ike_ladder
from ipsecsim.viz.throughput import throughput_figure
from ipsecsim.viz.topology import draw_topology

base = yaml.safe_load(open("../topologies/site-to-site.yaml"))"""),
    md("""
## Two sites

Each office has a LAN (10.1.0.0/16 and 10.2.0.0/16) and a gateway with a public address.
The gateways negotiate one IKE SA and one CHILD_SA (`lan-lan`, ESP tunnel mode) that
carries everything between the two LANs. Three flows run for eight seconds: pings, a
50-packet/s "voice" stream and Poisson "web" traffic in the other direction. The link
labels show the load each link carried.
"""),
    code("""
sim = Simulation.from_dict(base).run()
print(sim.summary()["packets"])
draw_topology(sim, title="site-to-site after 10 s");"""),
    md("""
### What each link carries

Between the gateways every data packet is ESP; on the LANs the hosts' own packets travel in
the clear. The animation replays 40 ms of the run in 16 frames (press play): green dots are plain packets,
dark blue ESP.
"""),
    code("""
from IPython.display import HTML
HTML(animate_packets(sim, (2.0, 2.04), frames=16).to_jshtml())"""),
    md("""
## MTU and fragmentation

A 1400-byte packet fits any Ethernet LAN, but ESP tunnel mode with AES-GCM adds 56 bytes.
If the provider's link to gw-b has an MTU of only 1400 (a PPPoE or an extra tunnel layer
below, say), the 1456-byte ESP packet must be *fragmented* by the router in front of it and
reassembled by gw-b before it can be decrypted. ipsecsim's tunnel SAs send the outer header
with DF clear, so the router fragments instead of dropping.
"""),
    code("""
def mtu_run(size):
    d = copy.deepcopy(base)
    d["links"]["wan-b"]["mtu"] = 1400
    d["traffic"] = {"big": {"type": "cbr", "from": "host-a", "to": "10.2.0.10", "start": 1,
                            "stop": 3, "rate": 20, "size": size}}
    d["duration"] = 4
    return Simulation.from_dict(d).run()

rows = []
for size in (1400, 1344):
    s = mtu_run(size)
    kinds = Counter(r[2] for r in s.trace.of("fragment", "reassemble"))
    big = {r["pkt_id"] for r in s.trace.dicts("encrypt")}   # the ESP packets gw-a built
    wan_b = Counter(r["size"] for r in s.trace.dicts("link_tx") if r["link"] == "wan-b"
                    and r["pkt_id"] in big)
    rows.append({"original packet": size, "delivered": s.summary()["packets"]["delivered"],
                 "ESP packets fragmented": kinds["fragment"],
                 "reassembled at gw-b": kinds["reassemble"],
                 "frames on wan-b (bytes: count)": dict(sorted(wan_b.items()))})
pd.DataFrame(rows)"""),
    md("""
With 1400-byte packets every ESP packet is split in two — a first fragment whose payload is
a multiple of 8 bytes and a small second one with its own 20-byte header — doubling the
packet count on that link and making gw-b hold fragments until the last one arrives. Sending 1344-byte packets instead (1500 − 56 − 100 of
margin; for TCP, clamping the MSS at the gateway does this automatically) keeps every ESP
packet at exactly 1400 bytes.

## The throughput cost of the overhead

Now a "video" stream of 880 packets/s × 1400 bytes = 9.86 Mbit/s crosses 10 Mbit/s WAN
links. In the clear it fits. Encrypted, each packet is 56 bytes longer: 10.25 Mbit/s, more
than the link can carry. The queue in front of the link fills, latency climbs to the queue's
limit and then packets are dropped.
"""),
    code("""
def video_run(ipsec):
    d = copy.deepcopy(base)
    for link in ("wan-a", "wan-b"):
        d["links"][link]["bandwidth"] = "10Mbps"
    d["links"]["wan-a"]["queue"] = 50
    d["traffic"] = {"video": {"type": "cbr", "from": "host-a", "to": "10.2.0.10",
                              "start": 1, "stop": 6, "rate": 880, "size": 1400}}
    d["duration"] = 7
    if not ipsec:  # the same network with the gateways as plain routers
        for gw in ("gw-a", "gw-b"):
            d["nodes"][gw]["role"] = "router"
            del d["nodes"][gw]["ipsec"]
    return Simulation.from_dict(d).run()

clear, protected = video_run(False), video_run(True)
pd.DataFrame({"in the clear": clear.summary()["packets"], "IPsec": protected.summary()["packets"]}).T"""),
    code("""
throughput_figure(protected, bin_s=0.5, title="9.86 Mbit/s of video through ESP on a 10 Mbit/s link");"""),
    md("""
## Hub and spoke

Ten branches each have a gateway with one tunnel to a central hub; a server sits behind
the hub. Each spoke authenticates with a certificate from the run's CA (`auth: pubkey`).
Every spoke's tunnel is drawn along the links it crosses. The hub holds one IKE SA per
spoke, so its number of SAs grows with the number of branches while each spoke keeps one.
"""),
    code("""
hub = Simulation.from_file("../topologies/hub-and-spoke.yaml").run()
print(hub.summary()["packets"], hub.summary()["ike"]["established"], "IKE SAs established")
draw_topology(hub, title="hub and spoke: 10 branches");"""),
    code("""
sas = hub.dataframes()["sas"]
per_node = (sas[(sas.event == "installed") & (sas.proto != "ike")].groupby("node").size()
            .rename("CHILD_SA halves installed").sort_values(ascending=False))
per_node.head(4)"""),
    code("""
draw_ike_ladder(hub, nodes=["spoke1-gw", "hub", "spoke2-gw"], max_messages=8,
                title="The hub answers each spoke's IKE_SA_INIT and IKE_AUTH");"""),
    md("""
## Exercises

1. In the MTU experiment, set `wan-b`'s MTU to 1300. How many fragments does each packet
   need now, and what is the largest original packet that avoids fragmentation?
2. Repeat the video experiment with `aes256-sha512` as the ESP proposal on both gateways
   (`children.lan-lan.esp_proposals`). How many packets are dropped now, and why more?
3. Lower the video rate until nothing is dropped with IPsec. Compare with the "largest packet
   that fits" table of notebook 02: what link capacity would you buy for 9.86 Mbit/s of
   1400-byte packets?
4. In the hub-and-spoke network, branch 1 wants to talk to branch 2. With the selectors as
   configured (each spoke's `remote_ts` is only the server's /24) what happens? What would
   you change so that spoke-to-spoke traffic goes through the hub?
5. The hub keeps one IKE SA and two ESP SAs per branch. With rekeying every hour, how many
   CREATE_CHILD_SA exchanges per minute does a hub with 1000 branches handle?
"""),
]
