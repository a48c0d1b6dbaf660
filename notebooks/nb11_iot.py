"""Notebook 11: IoT -- hundreds of sensors with small readings through one gateway."""

from nbcells import SETUP, code, md

CELLS = [
    md("""
# 11 · IoT: hundreds of sensors, 64-byte readings, one IPsec gateway

**What you will learn**

* why IPsec's fixed per-packet cost dominates when packets are small: the same tunnel that
  adds 4 % to a 1400-byte download adds about **60 %** to a sensor reading;
* how to *measure* that on a simulated plant network: 200 sensors on one switched LAN, each
  sending a reading every second to a collector at head office, through an IPsec gateway;
* which choices move the number: tunnel or transport mode, AES-GCM, ChaCha20-Poly1305 or
  AES-CBC with HMAC, NAT traversal, batching readings;
* AES-GCM against ChaCha20-Poly1305 on the CPU, measured here, and why the answer on a sensor
  without AES instructions is different (the **AES-NI caveat**).
"""),
    code(SETUP + """
import copy
import time
import pandas as pd
from ipsecsim.core.overhead import overhead
from ipsecsim.sim.runner import Simulation

READING = 64                 # bytes of sensor data (a timestamp, an id, a few values)
PACKET = 20 + 8 + READING    # in UDP over IPv4: the packet the sensor sends
PACKET"""),
    md("""
## The bytes of one reading

`overhead()` seals a real packet with a real SA and counts the bytes (the same function as
`ipsecsim overhead`). Each column is one design; the `efficiency` row is the share of the wire
bytes that are the sensor's own packet.
"""),
    code("""
designs = {
    "ESP tunnel, AES-GCM": ("esp", "tunnel", "aes128gcm16", False),
    "ESP tunnel, ChaCha20": ("esp", "tunnel", "chacha20poly1305", False),
    "ESP tunnel, AES-CBC+SHA256": ("esp", "tunnel", "aes128-sha256", False),
    "ESP transport, AES-GCM": ("esp", "transport", "aes128gcm16", False),
    "ESP tunnel + NAT-T": ("esp", "tunnel", "aes128gcm16", True),
    "AH tunnel, SHA256": ("ah", "tunnel", "sha256", False),
}
rows = {}
for name, (proto, mode, prop, nat_t) in designs.items():
    o = overhead(proto, mode, prop, PACKET, nat_t=nat_t)
    rows[name] = {"wire bytes": o["wire_bytes"], "added": o["overhead_bytes"],
                  "added %": round(100 * o["overhead_bytes"] / PACKET, 1),
                  "efficiency %": round(100 * PACKET / o["wire_bytes"], 1)}
per_reading = pd.DataFrame(rows).T
per_reading"""),
    code("""
sizes = [92, 200, 576, 1400]
eff = pd.DataFrame({name: [100 * s / overhead(p, m, prop, s, nat_t=n)["wire_bytes"] for s in sizes]
                    for name, (p, m, prop, n) in designs.items()}, index=sizes)
ax = eff.plot(marker="o", figsize=(8, 3.8), logx=True,
              title="Share of the wire that is the original packet")
ax.set_xlabel("original IPv4 packet (bytes, log scale)")
ax.set_ylabel("efficiency (%)")
ax.axvline(PACKET, color="grey", linestyle=":")
ax.legend(fontsize=8, loc="lower right")
eff.round(1)"""),
    md("""
The added bytes are almost constant — an outer IPv4 header (tunnel mode), the ESP header, an
IV, padding, a 16-byte ICV — so the *smaller* the packet, the larger their share. At a 92-byte
reading, ESP in tunnel mode costs over half as much again; CBC with HMAC costs more (a 16-byte
IV, block padding); transport mode saves the 20-byte outer header. Note that ChaCha20-Poly1305
and AES-GCM put the same number of bytes on the wire: the difference between them is CPU, not
bytes.

## The plant network, simulated

Sensors `s1` … `s200` on one switched LAN (`field`, 10.1.0.0/22) with the gateway `gw-a`;
across the Internet the head-office gateway `gw-b` and the collector 10.2.0.10. Each sensor
sends one reading a second for 30 s (start times spread over the first second). The tunnel
between the gateways is an ordinary site-to-site one (`site-to-site.yaml`).
"""),
    code("""
import yaml

BASE = yaml.safe_load(open("../topologies/site-to-site.yaml"))

def plant(sensors=200, esp="aes128gcm16", mode="tunnel", duration=30, per_packet=1):
    topo = copy.deepcopy(BASE)
    topo["name"], topo["duration"] = "iot-plant", duration
    nodes, links = topo["nodes"], topo["links"]
    del nodes["host-a"], links["lan-a"]
    nodes["field"] = {"role": "switch", "subnets": ["10.1.0.0/22"]}  # room for 800 sensors
    nodes["gw-a"]["addresses"][0] = "10.1.0.1/22"
    links["gw-a-field"] = {"a": "gw-a", "b": "field", "bandwidth": "100Mbps", "delay": "0.1ms"}
    for gw in ("gw-a", "gw-b"):
        c = nodes[gw]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"]
        c["esp_proposals"] = [esp]
    topo["traffic"] = {}
    for i in range(1, sensors + 1):
        name = f"s{i}"
        nodes[name] = {"role": "host", "addresses": [f"10.1.{i // 200}.{i % 200 + 2}/22"],
                       "routes": [{"to": "0.0.0.0/0", "via": "10.1.0.1"}]}
        links[f"{name}-field"] = {"a": name, "b": "field", "bandwidth": "1Mbps", "delay": "1ms"}
        topo["traffic"][name] = {"type": "cbr", "from": name, "to": "10.2.0.10",
                                 "start": 1 + i / sensors, "stop": duration - 1,
                                 "rate": 1 / per_packet, "size": 20 + 8 + READING * per_packet}
    return topo

t0 = time.perf_counter()
sim = Simulation(plant()).run()
s = sim.summary()
print(f"simulated {s['time']} s of {len(s['flows'])} sensors in {time.perf_counter() - t0:.1f} s")
{k: s["packets"][k] for k in ("sent", "delivered", "in_flight")}, s["packets"]["dropped"]"""),
    md("""
Every reading arrived (`sent = delivered`). Now the bytes: `lan-b` carries the readings in the
clear from gw-b to the collector, `wan-a` the same readings inside ESP (plus a few IKE
messages). Their ratio is what the tunnel costs this plant.
"""),
    code("""
def cost(summary):
    clear, wire = summary["links"]["lan-b"]["bytes"], summary["links"]["wan-a"]["bytes"]
    return {"readings delivered": summary["packets"]["delivered"],
            "clear bytes (lan-b)": clear, "tunnel bytes (wan-a)": wire,
            "tunnel / clear": round(wire / clear, 3),
            "WAN kbit/s": round(8 * wire / summary["time"] / 1e3, 1)}

cost(s)"""),
    md("""
The measured ratio is the per-packet one from the table above (a little more: the IKE_SA and
CHILD_SA set-up messages ride on the same link). For 200 sensors that is a real difference in
a metered uplink, a cellular data plan, or a radio link's duty cycle.

### What the designer can change

Two levers: fewer bytes per packet (transport mode between the sensor and the collector, when
the sensor itself speaks IPsec; a smaller ICV), or fewer packets (batch several readings into
one packet). Measure both in the simulator:
"""),
    code("""
variants = {
    "GCM, 1 reading per packet": dict(),
    "ChaCha20, 1 reading per packet": dict(esp="chacha20poly1305"),
    "CBC+SHA256, 1 reading per packet": dict(esp="aes128-sha256"),
    "GCM, 5 readings per packet": dict(per_packet=5),
    "GCM, 20 readings per packet": dict(per_packet=20),
}
measured = pd.DataFrame({name: cost(Simulation(plant(**kw)).run().summary())
                         for name, kw in variants.items()}).T
measured"""),
    code("""
ax = measured["tunnel / clear"].plot.barh(figsize=(7, 3), color="#4c72b0",
                                          title="WAN bytes per byte of sensor data (measured)")
ax.axvline(1, color="grey", linestyle=":")
ax.set_xlabel("tunnel bytes / clear bytes")
ax.invert_yaxis()"""),
    md("""
Batching is the big lever: five readings per packet pay the ESP cost once instead of five
times. The algorithm choice moves the bytes only for CBC (IV and padding); GCM and ChaCha20
cost the same on the wire.

## AES-GCM or ChaCha20-Poly1305 on the CPU

Bytes are the same, so the question is time. Measure both on *this* machine: seal 64-byte
readings with a real SA (OpenSSL via `cryptography` does the cipher work).
"""),
    code("""
from ipsecsim.core import ip
from ipsecsim.core.rng import Rng
from ipsecsim.core.proposals import parse_proposals
from ipsecsim.core.sa import SecurityAssociation
from ipsecsim.core import algorithms as A

def sa_for(esp):
    encr = A.encr(*parse_proposals(esp, "esp")[0].encr[0])
    rng = Rng(1, esp)
    return SecurityAssociation(proto="esp", spi=0x1000, mode="tunnel", encr=encr,
                               encr_key=rng.bytes(encr.keymat_size), integ=None, integ_key=b"",
                               tunnel_src="198.51.100.1", tunnel_dst="203.0.113.1", rng=rng)

reading = ip.udp_packet("10.1.0.2", "10.2.0.10", 5683, 5683, bytes(READING))

def us_per_packet(esp, n=20000):
    sa = sa_for(esp)
    t0 = time.perf_counter()
    for _ in range(n):
        sa.encapsulate(reading)
    return 1e6 * (time.perf_counter() - t0) / n

cpu = pd.DataFrame({esp: {"µs per reading": round(min(us_per_packet(esp) for _ in range(3)), 2)}
                    for esp in ("aes128gcm16", "aes256gcm16", "chacha20poly1305")}).T
import os
cpuinfo = open("/proc/cpuinfo").read().split() if os.path.exists("/proc/cpuinfo") else []
print("AES instructions on this CPU (the 'aes' flag of /proc/cpuinfo):", "aes" in cpuinfo)
cpu"""),
    md("""
On a server or laptop CPU with AES instructions (x86's AES-NI, ARMv8's crypto extensions),
AES-GCM is as fast as ChaCha20 or faster: each takes a microsecond or two per reading here,
about half of it the cipher (OpenSSL), the rest Python building the packet. **The caveat:** a sensor's microcontroller
(a Cortex-M0/M4, an ESP32 without its AES block in use, an older ARM) has no such
instructions. AES in software is slow and, done naively with lookup tables, leaks timing;
ChaCha20 uses only additions, rotations and XORs, so it is fast and constant-time in software
and typically several times faster than a software AES-GCM on such chips. That is
why RFC 7539/8439 and RFC 7634 (ChaCha20-Poly1305 for IKE and ESP) exist, and why WireGuard
chose it. Measure on *your* device: the number above answers for this machine only.

## Exercises

1. In the first table, what does a 92-byte reading cost with ESP in tunnel mode plus NAT-T,
   in bytes and in percent? Which line of the breakdown (`overhead(...)["breakdown"]`) makes up
   the difference to plain ESP?
2. With `plant(per_packet=k)`, find the smallest `k` for which the tunnel adds less than 10 %
   to the sensor data. What does the plant give up in exchange (think of latency and of losing
   one packet)?
3. Run `plant(sensors=400)`. Does `tunnel / clear` change? Does the WAN rate? Why does one
   scale and not the other?
4. Change `READING` to 16 bytes (a single temperature) and re-run the first table. What is the
   efficiency of ESP tunnel mode now, and what would you recommend to this plant?
5. The CPU table: re-run it on another machine you have (a Raspberry Pi, say) and compare the
   GCM/ChaCha20 ratio. What does `grep -o -w aes /proc/cpuinfo | head -1` print there?
"""),
]
