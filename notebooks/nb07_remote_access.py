"""Notebook 07: remote access -- virtual IPs from a pool, the CP exchange, split vs full tunnel,
the DNS leak measured and seen in a pcap, EAP's extra round trips."""

from nbcells import SETUP, code, md

CELLS = [
    md("""
# 07 · Remote access: virtual IPs, split tunnels and the DNS leak

**What you will learn**

* how a road warrior gets an address *inside* the corporate network: the configuration
  payload (`CP`, RFC 7296 §3.15) in IKE_AUTH, the gateway's address pool and its leases
  (`swanctl --list-pools --leases`);
* the difference between a **split tunnel** (only the company's subnets go through the VPN)
  and a **full tunnel** (`remote_ts = 0.0.0.0/0`: everything does), seen in the packets;
* why a split tunnel can **leak DNS**: the names you look up leave your laptop in the clear
  — measured by counting packets, and shown in the capture of the client's own link;
* what EAP (here EAP-MSCHAPv2, RFC 7296 §2.16) costs in IKE round trips compared with a
  certificate or a pre-shared key.

The network is `../topologies/remote-access.yaml`: gateway **moon** protects 10.1.0.0/16
(a server 10.1.0.10 and the company's resolver **ns** 10.1.53.53). Three road warriors connect
over the internet: **carol** (certificate, split tunnel, pool `split_pool` which hands out no
DNS server), **dave** (pre-shared key, behind a NAT, full tunnel, pool `rw_pool` which hands
out ns as the DNS server) and **alice** (EAP-MSCHAPv2, full tunnel, `rw_pool`). An ISP
resolver **isp-dns** sits on the internet. carol and dave both look up
`intranet.strongswan.org` and `www.strongswan.org` six times in all.
"""),
    code(SETUP + """
import tempfile
from pathlib import Path
import pandas as pd
from scapy.layers.dns import DNS
from scapy.layers.inet import IP, UDP
from scapy.utils import rdpcap
from ipsecsim.core import ip
from ipsecsim.sim.output import write_all
from ipsecsim.sim.runner import Simulation
from ipsecsim.viz.ladder import draw_ike_ladder
from ipsecsim.viz.topology import draw_topology

sim = Simulation.from_file("../topologies/remote-access.yaml").run()
out = Path(tempfile.mkdtemp()) / "remote-access"
write_all(sim, out, figures=False)       # pcap/, wireshark/, summary.json ... as `ipsecsim run` does
summary = sim.summary()
draw_topology(sim, title="moon and three road warriors");"""),
    md("""
## Virtual IPs from a pool

Each client's connection says `vips: [0.0.0.0]`: "give me any address". moon's connections
name a pool each. The pool remembers who got which address (a *lease*, kept by identity:
the same client gets the same address when it reconnects). This is the console of moon after
the run, as `swanctl` prints it on a real strongSwan gateway:
"""),
    code("""
moon = sim.node("moon")
print(moon.sh("swanctl --list-pools --leases"))"""),
    code("""
pd.DataFrame([{"pool": pool, **lease} for pool, p in summary["pools"]["moon"].items()
              for lease in p["leases"]])"""),
    md("""
## The CP exchange in the IKE ladder

The address travels inside the encrypted IKE_AUTH exchange. carol's request carries
`CPRQ(ADDR DNS)` — a CFG_REQUEST asking for an INTERNAL_IP4_ADDRESS and an INTERNAL_IP4_DNS
server — and moon's response carries `CPRP(ADDR ...)`, the CFG_REPLY with the lease. Her
traffic selector `TSi` then narrows to that one address.
"""),
    code("""
draw_ike_ladder(sim, nodes=["carol", "moon"], window=(0, 0.3),
                title="carol asks for an address (CPRQ), moon assigns one (CPRP)");"""),
    code("""
for r in sim.trace.dicts("ike_msg"):
    if r["exchange"] == "IKE_AUTH" and r["direction"] == "out" and "CP" in r["payloads"]:
        print(f'{r["node"]:>5} -> {r["payloads"]}')"""),
    md("""
The replies differ: moon's `rw_pool` has `dns = 10.1.53.53`, so dave's and alice's replies
carry `CPRP(ADDR DNS)`; carol's `split_pool` has no DNS server, her reply is `CPRP(ADDR)`.
strongSwan's *resolve* plugin writes a DNS server it receives ahead of the others in
`/etc/resolv.conf`; the trace notes it on the client, in charon's words:
"""),
    code("""
for r in sim.trace.dicts("note"):
    if "virtual IP" in r["text"] or "DNS server" in r["text"]:
        print(f'{r["t"]:.3f}  {r["node"]:>5}  {r["text"]}')"""),
    md("""
## EAP's extra round trips

A certificate or a pre-shared key authenticates in one IKE_AUTH round trip. With EAP the
gateway first authenticates itself, then runs the EAP method through the IKE_AUTH exchange,
one round trip per EAP message — identity, MS-CHAPv2 challenge and response, success, and a
last round trip with the AUTH payloads computed from the EAP key (MSK). Each round trip
costs one round-trip time of alice's path (2 × 15 ms + 2 × 10 ms here):
"""),
    code("""
rows = []
for client in ("carol", "dave", "alice"):
    auth = [r for r in sim.trace.dicts("ike_msg") if r["node"] == client and r["exchange"] == "IKE_AUTH"
            and r["direction"] == "out"]
    up = min(r["t"] for r in sim.trace.dicts("ike_state")
             if r["node"] == client and "ESTABLISHED" in str(r["new_state"]))
    rows.append({"client": client, "IKE_AUTH round trips": len(auth),
                 "IKE_SA established at (ms)": round(1e3 * up, 1)})
pd.DataFrame(rows).set_index("client")"""),
    code("""
draw_ike_ladder(sim, nodes=["alice", "moon"], window=(0, 0.35),
                title="alice: EAP-MSCHAPv2 inside IKE_AUTH");"""),
    md("""
## Split tunnel vs full tunnel

carol's child has `remote_ts = 10.1.0.0/16`: only the company's network goes into the tunnel,
and her pings to the web server on the internet leave from her own address, directly. dave's
and alice's children have `remote_ts = 0.0.0.0/0`: everything goes to moon first, and the web
server sees them by their virtual IPs, coming from moon. The web server's link shows it:
"""),
    code("""
seen = {}
for r in sim.trace.dicts("link_tx"):
    if r["link"] == "web-net" and r["data"]:
        pkt = bytes.fromhex(r["data"])
        if pkt[9] == ip.IPPROTO_ICMP and ip.ntoa(pkt[16:20]) == "203.0.114.80":
            seen[ip.ntoa(pkt[12:16])] = seen.get(ip.ntoa(pkt[12:16]), 0) + 1
leases = {le["address"]: le["identity"] for p in summary["pools"]["moon"].values() for le in p["leases"]}
pd.DataFrame([{"source the web server sees": a, "who": leases.get(a, "carol's own address"),
               "pings": n} for a, n in sorted(seen.items())])"""),
    code("""
print(sim.node("carol").sh("swanctl --list-sas"))"""),
    md("""
## The DNS leak, counted

Now the names. carol's resolver is her ISP's (`dns: {resolver: 203.0.115.53}` in the topology,
her `/etc/resolv.conf`), and 203.0.115.53 is outside her tunnel's selectors — so every query
goes out in the clear, *including the internal name* `intranet.strongswan.org`, which the ISP
answers with NXDOMAIN. dave has the same ISP resolver configured, but the CFG_REPLY gave him
ns, inside the protected network: his queries go into the tunnel.

`summary.json`'s `dns` section counts, for each query, the first link it took out of the
client's host, and whether it was plain UDP 53 (`in_clear`) or inside ESP (`in_tunnel`):
"""),
    code("""
dns = pd.DataFrame(summary["dns"]).T
dns[["queries", "answered", "nxdomain", "in_clear", "in_tunnel", "leaked_names", "resolvers"]]"""),
    code("""
ax = dns[["in_clear", "in_tunnel"]].astype(int).plot.bar(color=["tab:red", "tab:green"], rot=0,
                                                         figsize=(5, 3))
ax.set_ylabel("DNS queries")
ax.set_title("Where each client's DNS queries went");"""),
    md("""
## The leak in the pcap

The counts come from the same bytes the captures are written from. Read carol's link capture
with Scapy, an independent dissector: the names are there for anyone on her path — the café's
Wi-Fi, her ISP — to read.
"""),
    code("""
def dns_packets(link):
    return [p for p in rdpcap(str(out / "pcap" / f"{link}.pcap"))
            if p.haslayer(UDP) and 53 in (p[UDP].sport, p[UDP].dport)]

pd.DataFrame([{"time": float(p.time), "src": p[IP].src, "dst": p[IP].dst,
               "kind": "response" if p[DNS].qr else "query",
               "name": p[DNS].qd[0].qname.decode(), "rcode": p[DNS].rcode if p[DNS].qr else ""}
              for p in dns_packets("carol-net")])"""),
    md("""
On dave's side of the NAT there is no DNS packet in the clear at all — only ESP in UDP. With
the run's keys (the `wireshark/` folder, as `ipsecsim run` writes it), Wireshark or tshark can
decrypt the ESP and find the queries inside; without the keys, nobody on the path can:
"""),
    code("""
print("DNS packets in the clear on dave-lan:", len(dns_packets("dave-lan")))
print("DNS packets in the clear on nat-up:  ", len(dns_packets("nat-up")))
print("DNS packets on moon's side (dns-lan), after decryption:", len(dns_packets("dns-lan")))"""),
    md("""
## Exercises

1. In a copy of `remote-access.yaml`, give moon's `split_pool` a DNS server
   (`split_pool: {addrs: 10.3.0.16/28, dns: [10.1.53.53]}`) and run it with `ipsecsim run`.
   What do `dns.carol.in_clear` and `in_tunnel` in `summary.json` become, and why does her
   split tunnel carry the queries now? Which resolver does `dns.carol.resolvers` name?
2. Undo that, and instead make carol's tunnel full: `remote_ts: [0.0.0.0/0]` in her child and
   `local_ts: [0.0.0.0/0]` in moon's `rw-cert` child. Do her queries still go to the ISP's
   resolver? Are they still readable on `carol-net`? What could the ISP still learn?
3. Open `pcap/carol-net.pcap` in Wireshark with the display filter `dns`. Which two names
   leaked, and what did the ISP answer for the internal one? What does that tell an observer
   about carol's employer?
4. Count the IKE_AUTH messages alice sends in `trace.jsonl` (or in `figures/ike_ladder.png`).
   Which of them carry EAP, which carry AUTH? Double the delay of `alice-net`: by how much is
   her IKE_SA later established, and why is that larger than for carol?
5. In the topology's `script:`, add `{at: 8, node: dave, run: "swanctl --terminate --ike
   home"}` and `{at: 8.5, node: dave, run: "swanctl --initiate --child home"}`, then
   `swanctl --list-pools --leases` on moon at 9 s. Does dave get the same virtual IP back?
   Why does a pool keep leases by identity?
"""),
]
