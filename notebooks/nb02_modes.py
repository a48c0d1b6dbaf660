"""Notebook 02: tunnel vs transport -- overhead by mode, algorithm and size; IPsec vs a TLS VPN."""

from nbcells import SETUP, code, md

CELLS = [
    md("""
# 02 · Tunnel vs transport mode, and what IPsec costs on the wire

**What you will learn**

* how many bytes ESP and AH add in transport and in tunnel mode, and where each byte goes;
* why the overhead *changes with the packet size* — padding steps of 4 bytes with AES-GCM,
  16 bytes with AES-CBC — and what that means for payload efficiency;
* the largest packet that still fits a 1500-byte link once it is protected (the reason
  VPN gateways clamp the TCP MSS);
* how IPsec compares with a TLS-based ("SSL") VPN that carries packets in TLS 1.3
  records over TCP, or in DTLS 1.3 records over UDP.

The IPsec numbers come from `ipsecsim.core.overhead.overhead`, the function behind the
`ipsecsim overhead` command: it builds a real SA, protects a real packet of each size and
measures the result. The TLS/DTLS numbers come from the record formats of RFC 8446 §5.2
and RFC 9147 §4 (see `ipsecsim.core.tlsvpn`).
"""),
    code(SETUP + """
import pandas as pd
from ipsecsim.core.overhead import overhead
from ipsecsim.viz.anatomy import build_views, draw_packet_anatomy, example_packet
from ipsecsim.viz.overhead import config_label, draw_efficiency_facets, draw_overhead, draw_overhead_breakdown, overhead_frame"""),
    md("""
## The two modes side by side

Transport mode keeps the host's own IP header and slides the ESP header in after it; it is
used end to end between two hosts. Tunnel mode puts the whole original packet, header and
all, inside ESP and adds a new header between two gateways — a site-to-site VPN.
"""),
    code("""
views = build_views(example_packet(100), which=("plain", "esp-transport", "esp-tunnel"))
draw_packet_anatomy(views, title="ESP (AES-GCM-128): transport vs tunnel, 100-byte packet");"""),
    md("""
## One packet, one command

`ipsecsim overhead --proto esp --mode tunnel --proposal aes128gcm16 --size 1400 --json`
prints the same dictionary as the function call below.
"""),
    code("""
overhead("esp", "tunnel", "aes128gcm16", 1400)"""),
    md("""
## Overhead changes with the packet size

ESP pads the payload so that *payload + padding + 2 trailer bytes* is a multiple of the
cipher's block: 16 bytes for AES-CBC, 4 bytes for AES-GCM (RFC 4303 §2.4). Growing the
packet one byte at a time therefore makes the overhead fall by one byte per step until the
padding runs out and jumps back up: a sawtooth 16 bytes wide for CBC, 4 bytes wide for GCM.
AH has no padding at all (its header is a fixed size), and neither do the TLS and DTLS
records modelled here.
"""),
    code("""
configs = [
    {"proto": "esp", "mode": "tunnel", "proposal": "aes128gcm16"},
    {"proto": "esp", "mode": "transport", "proposal": "aes128gcm16"},
    {"proto": "esp", "mode": "tunnel", "proposal": "aes256-sha256"},
    {"proto": "esp", "mode": "transport", "proposal": "aes256-sha256"},
    {"proto": "esp", "mode": "tunnel", "proposal": "aes128gcm16", "nat_t": True},
    {"proto": "ah", "mode": "tunnel", "proposal": "sha256"},
    {"proto": "ah", "mode": "transport", "proposal": "sha256"},
]
zoom = overhead_frame(configs, range(100, 165))
draw_overhead(zoom, title="Bytes added, 100–164-byte packets: the padding steps");"""),
    md("""
Over the whole range the sawtooth is a small ripple; what matters is that a fixed 36–77
bytes weigh heavily on small packets (voice, ACKs, DNS) and hardly at all on full-size
ones.
"""),
    code("""
tls = [{"proto": "tls"}, {"proto": "dtls"}]
full = overhead_frame(configs + tls, range(40, 1501, 4))
draw_efficiency_facets(full, title="Payload efficiency = original size / bytes on the wire (one panel each, the others in grey)");"""),
    md("""
## What still fits in a 1500-byte MTU?

The largest original packet whose protected form is at most 1500 bytes. A TCP segment
inside must be 40 bytes smaller again (IPv4 + TCP headers): that is the MSS a gateway
should clamp to.
"""),
    code("""
fit = overhead_frame(configs + tls, range(1300, 1501))
largest = (fit[fit.wire_bytes <= 1500].groupby("label", sort=False)["size"].max()
           .rename("largest original packet").to_frame())
largest["TCP MSS inside"] = largest["largest original packet"] - 40
largest"""),
    md("""
## IPsec vs a TLS VPN

A TLS VPN (OpenConnect, OpenVPN's TLS mode, SSTP) wraps each inner packet in a TLS record.
Over TCP that is an outer IPv4 header (20), a TCP header (20, plus 12 of timestamps as
Linux sends them), the 5-byte TLS 1.3 record header, one encrypted content-type byte and a
16-byte AEAD tag. DTLS 1.3 over UDP replaces TCP with UDP (8) and the record header with a
5-byte unified header. ESP in tunnel mode with AES-GCM needs 56 bytes — between the two;
with AES-CBC + HMAC the IV and padding make it larger than either, depending on the size.
"""),
    code("""
compare = [configs[0], configs[2], configs[4], configs[5], {"proto": "tls"}, {"proto": "dtls"},
           {"proto": "tls", "vpn_header": 8, "label": "TLS VPN + 8-byte CSTP framing"}]
draw_overhead_breakdown(compare, 1000, title="Where the added bytes go, 1000-byte packet");"""),
    code("""
sizes = [64, 201, 576, 1001, 1400]
table = overhead_frame(compare, sizes).pivot(index="label", columns="size", values="overhead_bytes")
table.reindex([config_label(c) for c in compare])  # bytes added, by original packet size"""),
    md("""
Bytes are not the whole story. A TLS VPN over TCP carries the inner TCP connections inside
another TCP connection: when the outer one loses a packet, it stalls *every* inner flow until
the retransmission arrives, and both layers back off ("TCP meltdown"). IPsec and DTLS carry
datagrams, so a loss costs only the packet that was lost. On the other hand TLS on port 443
crosses almost any firewall, where ESP (IP protocol 50) is often blocked and even ESP in
UDP 4500 is sometimes filtered.

If `ipywidgets` is available, the slider below redraws the breakdown for any packet size
(in a headless run it draws once, at 1000 bytes).
"""),
    code("""
try:
    from ipywidgets import IntSlider, interact
    interact(lambda size: draw_overhead_breakdown(compare, size) and None,
             size=IntSlider(value=1000, min=40, max=1500, step=1, description="packet size"))
except ImportError:
    print("ipywidgets is not installed: change the size in the cell above instead")"""),
    md("""
## Exercises

1. Add `{"proto": "esp", "mode": "tunnel", "proposal": "chacha20poly1305"}` to `configs`.
   Where does its line fall, and why is it identical to AES-GCM's?
2. Using the sawtooth chart, find the packet sizes at which AES-CBC + HMAC-SHA-256 tunnel mode
   adds the fewest bytes. Check one with `overhead("esp", "tunnel", "aes256-sha256", SIZE)`.
3. With `aes256-sha512` the ICV grows to 32 bytes. Recompute the largest packet that fits a
   1500-byte MTU and the MSS to clamp to.
4. A voice call sends 200-byte packets 50 times a second in each direction. How many kbit/s
   does ESP tunnel mode (AES-GCM) add, and how many a TLS VPN over TCP?
5. Why is the efficiency of *transport* mode better, and why can't two offices' LANs be
   joined with transport mode alone?
"""),
]
