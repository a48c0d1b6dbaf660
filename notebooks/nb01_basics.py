"""Notebook 01: IPsec basics -- AH vs ESP, what each protects, a tampered packet caught."""

from nbcells import SETUP, code, md

CELLS = [
    md("""
# 01 · IPsec basics: what AH and ESP protect

**What you will learn**

* how one ordinary IPv4 packet looks after IPsec has processed it in each of the
  standard ways — ESP and AH, transport and tunnel mode, and ESP inside UDP;
* which bytes an eavesdropper can read, which are encrypted, and which are only
  *authenticated* (readable, but any change is detected);
* that a single flipped bit is caught by the receiver's integrity check, and why AH
  survives a router but not a NAT.

Every packet below is built by ipsecsim's data plane with real cryptography
(AES-GCM and HMAC-SHA-256 from the `cryptography` package); the byte map is read
from those packets, not drawn by hand.
"""),
    code(SETUP + """
import pandas as pd
from ipsecsim.core import ip
from ipsecsim.core.errors import PacketDrop
from ipsecsim.viz.palette import BYTE_CLASSES
from ipsecsim.viz.anatomy import build_views, class_totals, draw_packet_anatomy, example_packet, make_sa"""),
    md("""
## The original packet

A host at 10.1.0.5 sends 72 bytes of data over UDP to 10.2.0.7: a 20-byte IPv4 header,
an 8-byte UDP header and the data, 100 bytes in all.
"""),
    code("""
original = example_packet(100, src="10.1.0.5", dst="10.2.0.7")
h = ip.parse_ipv4(original)
print(f"{len(original)} bytes, {h.src_str} -> {h.dst_str}, protocol {h.proto} (UDP)")
print(original[:28].hex(" "))"""),
    md("""
## Two protocols, two modes

* **ESP** (Encapsulating Security Payload, RFC 4303) *encrypts* what it carries and
  appends an *Integrity Check Value* (ICV) that covers its own header and the ciphertext.
* **AH** (Authentication Header, RFC 4302) encrypts nothing. Its ICV covers the whole
  packet — including the outer IP addresses — except the few header fields routers
  change on the way (TOS, fragment flags/offset, TTL, checksum).
* **Transport mode** keeps the original IP header and protects what follows it.
  **Tunnel mode** wraps the whole original packet in a new IP header between the two
  gateways (198.51.100.1 → 203.0.113.1 here).
* **ESP in UDP** (RFC 3948) puts an 8-byte UDP header (port 4500) in front of ESP so
  that NAT devices can handle it (notebook 06).

Each row below is the *same* 100-byte packet after one kind of processing.
"""),
    code("""
views = build_views(original, esp_proposal="aes128gcm16", ah_proposal="sha256")
draw_packet_anatomy(views, title="One 100-byte packet, six ways (lengths in bytes)");"""),
    md("""
Read the colours: grey bytes travel in clear, light blue bytes are readable but
protected against change, dark blue bytes are encrypted *and* protected, orange is the
ICV itself. Hatched white bytes in the AH rows are the outer header's mutable fields,
left out of the ICV so that routers may change them.

The same numbers as a table — note that AH has no encrypted bytes at all, and that
ESP never protects the outer IP header:
"""),
    code("""
table = pd.DataFrame([class_totals(v.segments) for v in views], index=[v.name for v in views])
table = table.reindex(columns=[c for c in BYTE_CLASSES if c in table]).fillna(0).astype(int)
table["total bytes"] = [len(v.data) for v in views]
table"""),
    md("""
## A tampered packet is caught

The sender and the receiver share keys (here both SAs are made from the same seed, as
IKE would give both ends the same keys). An attacker flips one bit in the middle of the
ESP ciphertext. AES-GCM's tag no longer verifies, and the receiver drops the packet with
the reason `bad_icv` — it never decrypts a forged packet into something usable.
"""),
    code("""
sender = make_sa("esp", "tunnel", "aes128gcm16", seed=7)
receiver = make_sa("esp", "tunnel", "aes128gcm16", seed=7)

wire = sender.encapsulate(original)
forged = bytearray(wire)
forged[60] ^= 0x01                      # one bit, inside the encrypted payload
try:
    receiver.decapsulate(bytes(forged))
except PacketDrop as drop:
    print("forged packet dropped:", drop.reason)

wire2 = sender.encapsulate(original)    # an honest packet still goes through
print("honest packet decrypted back to the original:", receiver.decapsulate(wire2) == original)
print("receiver's drop counters:", dict(receiver.drops))"""),
    md("""
### AH: a router may change the TTL, a NAT may not change the address

AH's ICV skips the mutable fields, so a router decrementing the TTL (and fixing the
header checksum) does not break it. A NAT rewriting the source address does: the
address is covered by the ICV. This is why AH cannot cross a NAT.
"""),
    code("""
ah_tx = make_sa("ah", "transport", "sha256", seed=8)
ah_rx = make_sa("ah", "transport", "sha256", seed=8)

routed = ip.decrement_ttl(ah_tx.encapsulate(original))
out = ah_rx.decapsulate(routed)
print(f"after a router: accepted, TTL {original[8]} -> {out[8]}, payload intact: {out[20:] == original[20:]}")

natted = bytearray(ah_tx.encapsulate(original))
natted[12:16] = ip.addr("192.0.2.99")   # what a NAT does to the source address
ip.set_ipv4_checksum(natted)            # ... and it fixes the header checksum
try:
    ah_rx.decapsulate(bytes(natted))
except PacketDrop as drop:
    print("after a NAT (new source address):", "dropped,", drop.reason)"""),
    md("""
## What an eavesdropper learns

With ESP in tunnel mode the inner addresses 10.1.0.5 → 10.2.0.7 are inside the
ciphertext: an observer sees only the two gateways. With AH (or ESP in transport mode)
the hosts' addresses are visible.
"""),
    code("""
inner_src = ip.addr("10.1.0.5")
for v in views:
    visible = inner_src in v.data
    data_visible = original[28:] in v.data
    print(f"{v.name:22s} host address visible: {str(visible):5s}  data visible: {data_visible}")"""),
    md("""
## Exercises

1. Rebuild the byte map with `esp_proposal="aes256-sha256"` (AES-CBC + HMAC). Where does
   the padding grow, and why is the IV twice as long as with AES-GCM?
2. Change the packet size (`example_packet(101)`, `example_packet(113)`). How many
   padding bytes does ESP add with AES-GCM, and with AES-CBC? Explain the rule
   (RFC 4303 §2.4).
3. Flip a bit in the *ESP header* (byte 25 of `wire`) instead of the ciphertext. Is the
   packet still caught? Which drop reason do you get if you change the SPI (bytes 20–23)?
4. Send `wire2` to the receiver a second time. What happens, and which mechanism is
   responsible?
5. Why does ESP in transport mode *not* break when a router decrements the TTL,
   even though ESP has no notion of mutable fields?
"""),
]
