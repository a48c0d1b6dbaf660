"""Notebook 06: NAT traversal -- why AH breaks behind a NAT, how ESP in UDP gets through."""

from nbcells import SETUP, code, md

CELLS = [
    md("""
# 06 · NAT traversal

**What you will learn**

* what a NAT does to a packet (it rewrites the source address and port) and why that is a
  problem for IPsec;
* how IKEv2 *detects* a NAT with the `NAT_DETECTION_SOURCE_IP` / `NAT_DETECTION_DESTINATION_IP`
  payloads (RFC 7296 §2.23) and moves to UDP port 4500;
* how ESP is carried inside UDP (RFC 3948) so the NAT has a port to translate — and that
  the ESP bytes cross the NAT untouched;
* why **AH cannot** cross a NAT at all.

The network is `../topologies/nat-traversal.yaml`: branch gateway gw-a sits behind a
port-restricted NAT on a DSL line (private address 192.168.1.2), headquarters gw-b has a
public address. gw-a has two children: `lan-lan` with ESP, and `ah-lan` with AH.
"""),
    code(SETUP + """
import hashlib
from collections import Counter
import pandas as pd
from ipsecsim.core import algorithms as A
from ipsecsim.core import ip
from ipsecsim.core.errors import PacketDrop
from ipsecsim.sim.runner import Simulation
from ipsecsim.viz.anatomy import PacketView, draw_packet_anatomy, layout_packet, make_sa, example_packet
from ipsecsim.viz.ladder import draw_ike_ladder
from ipsecsim.viz.topology import draw_topology

sim = Simulation.from_file("../topologies/nat-traversal.yaml").run()
draw_topology(sim, title="A branch behind a NAT");"""),
    md("""
## IKE finds the NAT and floats to port 4500

The ladder shows gw-a's view and gw-b's view of the same four messages. Look at the `peer`
column below: gw-a talks to 203.0.113.1 port 500, but gw-b sees the request coming from
198.51.100.10 port 20000 — the NAT's public address and a port it picked. Both sides notice
it, and from `IKE_AUTH` on, IKE runs on port 4500 (a new NAT mapping, port 20001).
"""),
    code("""
draw_ike_ladder(sim, window=(0, 0.2), title="IKE_SA_INIT reveals the NAT; IKE_AUTH uses port 4500");"""),
    code("""
msgs = pd.DataFrame([{k: r[k] for k in ("t", "node", "direction", "peer", "exchange", "response")}
                     for r in sim.trace.dicts("ike_msg") if r["t"] < 0.2])
msgs"""),
    md("""
### How the detection works

Each side sends `SHA-1(SPIi | SPIr | IP address | port)` of the source it *thinks* it sends
from, and of the destination it sends to. The receiver computes the same hash over the
addresses it actually *sees*. The hashes below use the real SPIs of this run: gw-a hashed
its private source 192.168.1.2:500; gw-b sees 198.51.100.10:20000 and computes something
else — so gw-b knows that the initiator is behind a NAT (and gw-a learns it from gw-b's
`NAT_DETECTION_DESTINATION_IP` the same way).
"""),
    code("""
init = next(r for r in sim.trace.dicts("ike_msg") if r["exchange"] == "IKE_SA_INIT")
spi_i, spi_r = bytes.fromhex(init["ispi"]), bytes(8)   # SPIr is still zero in the request

def natd(addr, port):
    return hashlib.sha1(spi_i + spi_r + ip.addr(addr) + port.to_bytes(2, "big")).hexdigest()

sent = natd("192.168.1.2", 500)
seen_addr, seen_port = next(r["peer"] for r in sim.trace.dicts("ike_msg") if r["node"] == "gw-b").split(":")
seen = natd(seen_addr, int(seen_port))
print("gw-a sends NAT_DETECTION_SOURCE_IP =", sent)
print(f"gw-b computes over {seen_addr}:{seen_port}   =", seen)
print("NAT detected:", sent != seen)"""),
    md("""
## ESP in UDP through the NAT

Take one ping the simulation sent through the tunnel and look at it on the DSL line (before
the NAT) and on the ISP link (after it). The byte map is drawn from the captured bytes. The
NAT changed the outer source address and the UDP source port — and nothing else: the ESP
header, the ciphertext and the ICV are byte for byte the same, so gw-b decrypts it.
"""),
    code("""
enc = next(r for r in sim.trace.dicts("encrypt") if r["node"] == "gw-a")
hop = {(r["link"], r["src_node"]): bytes.fromhex(r["data"]) for r in sim.trace.dicts("link_tx")
       if r["pkt_id"] == enc["pkt_id"]}
inner, before, after = hop[("lan-a", "host-a")], hop[("dsl", "gw-a")], hop[("isp", "nat")]
gcm = A.encr(A.ENCR_AES_GCM_16, 128)
views = [PacketView(f"{name} ({ip.ntoa(pkt[12:16])}:{int.from_bytes(pkt[20:22], 'big')})", pkt,
                    tuple(layout_packet(pkt, inner, mode="tunnel", encr=gcm)), "ESP in UDP")
         for name, pkt in (("on dsl, before the NAT", before), ("on isp, after the NAT", after))]
draw_packet_anatomy([PacketView("inner packet on lan-a", inner, tuple(layout_packet(inner)))] + views,
                    title="One ping, before and after the NAT");
FIELDS = {1: "TOS", 2: "total length", 4: "identification", 6: "flags/fragment", 8: "TTL",
          9: "protocol", 10: "IP header checksum", 12: "source address", 16: "destination address",
          20: "UDP source port", 22: "UDP destination port", 24: "UDP length", 26: "UDP checksum"}
def field(i):
    return FIELDS[max(k for k in FIELDS if k <= i)] if i < 28 else "ESP (from byte 28)"
changed = [i for i in range(len(before)) if before[i] != after[i]]
print("bytes the NAT changed:", changed)
print("fields:", sorted({field(i) for i in changed}))
print("ESP part unchanged:", before[28:] == after[28:])"""),
    md("""
Every changed byte lies in the outer IP and UDP headers, which ESP does not protect (the TTL
and checksum changed too: the NAT is also a router). From byte 28 on — the ESP packet itself —
nothing changed.

## AH cannot follow

AH's ICV covers the outer source address (notebook 01). A NAT *must* rewrite that address,
so every AH packet would arrive with a bad ICV. And AH has no port for the NAT to translate
or to wrap it in UDP: RFC 3948 defines UDP encapsulation for ESP only. The engine therefore
refuses to install the `ah-lan` child once NAT is detected, and the hosts behind it have no
tunnel:
"""),
    code("""
for f in sim.summary()["ike"]["failures"]:
    print(f"{f['node']}: {f['notify']}: {f['reason']}")
flows = pd.DataFrame(sim.summary()["flows"]).T[["sent", "delivered"]]
flows["dropped (reason)"] = [dict(Counter(r["reason"] for r in sim.trace.dicts("drop")))
                             if name.startswith("ah") else {} for name in flows.index]
flows"""),
    md("""
And if one tried anyway: an AH packet built by a real SA, with its source address rewritten
the way the NAT does it (checksum fixed, as a NAT would), fails the receiver's integrity check.
"""),
    code("""
ah_tx = make_sa("ah", "tunnel", "sha256", seed=6, tunnel=("192.168.1.2", "203.0.113.1"))
ah_rx = make_sa("ah", "tunnel", "sha256", seed=6, tunnel=("192.168.1.2", "203.0.113.1"))
pkt = bytearray(ah_tx.encapsulate(example_packet(84, "10.1.1.10", "10.2.1.10")))
pkt[12:16] = ip.addr("198.51.100.10")
ip.set_ipv4_checksum(pkt)
try:
    ah_rx.decapsulate(bytes(pkt))
except PacketDrop as drop:
    print("AH packet after the NAT:", drop.reason)"""),
    md("""
## Exercises

1. In the byte map, which of the bytes the NAT changed are covered by the ESP ICV? Why does
   the UDP checksum not matter for ESP in UDP (RFC 3948 §2.1)?
2. The NAT's mapping `timeout` is 60 s. What keeps the mapping alive when no traffic flows
   for longer than that? Run the topology for 70 s with only a ping at the start, and list the
   one-byte UDP datagrams gw-a sends (`[r["t"] for r in sim.trace.dicts("link_tx") if
   r["src_node"] == "gw-a" and r["size"] == 29]`: 20 bytes IP, 8 UDP, one 0xFF). What is the
   interval? It is strongSwan's `charon.keep_alive` (20 s by default; `nat_keepalive:` in the
   topology's `ipsec:` block).
3. Change the NAT's `behaviour` to `symmetric` in a copy of the topology. Does the tunnel still
   come up? Why is the port change between IKE_SA_INIT (20000) and IKE_AUTH (20001) harmless?
4. Replace the `ah-lan` child's `ah_proposals` with `esp_proposals: [null-sha256]` (ESP with
   NULL encryption: integrity only). Does it work behind the NAT? What does it protect that AH
   protects, and what not?
5. gw-b's connection has `remote_addrs: ["%any"]`. Why would `remote_addrs: [192.168.1.2]`
   fail here?
"""),
]
