"""Bytes on the wire of a TLS-based ("SSL") VPN, to set beside IPsec.

A TLS VPN (OpenConnect, OpenVPN in TLS mode, SSTP, ...) carries each inner IP
packet in a TLS record over TCP, or in a DTLS record over UDP. This module
models that framing from the record formats alone -- it does not run TLS:

* **TLS 1.3 over TCP** -- RFC 8446 §5.2: a ``TLSCiphertext`` is
  ``opaque_type`` (1 byte) + ``legacy_record_version`` (2) + ``length`` (2) =
  5 header bytes, followed by the AEAD-protected ``TLSInnerPlaintext``, which
  is the content, then its real ``ContentType`` (1 byte), then optional zero
  padding (none here). AES-GCM and ChaCha20-Poly1305 add a 16-byte tag
  (RFC 5116 §5.1, RFC 8439 §2.8). Under it a TCP header of 20 bytes
  (RFC 9293 §3.1) plus options -- 12 bytes when timestamps are on, as Linux
  does by default (RFC 7323 §3: 10-byte TSopt + 2 NOP) -- and an IPv4 header of 20
  bytes.
* **DTLS 1.3 over UDP** -- RFC 9147 §4 (Figure 3, the unified header): one
  ``001CSLEE`` byte, an optional Connection ID, an 8- or 16-bit sequence
  number (S bit) and an optional 16-bit length (L bit). The common form
  (16-bit sequence number, length present, no CID) is 5 bytes; the shortest
  (8-bit sequence number, no length, last record in the datagram) is 2. The
  inner plaintext again carries a 1-byte content type, and the AEAD adds its
  16-byte tag. Under it UDP (8 bytes, RFC 768) and IPv4 (20).

``vpn_header`` adds the VPN product's own framing inside the record (e.g. 8
bytes for OpenConnect's CSTP data header); it is 0 by default, which favours
TLS. One inner packet per record, no record padding, no TCP segmentation (the
inner packet is assumed to fit the path MTU).

The result has the same shape as :func:`ipsecsim.core.overhead.overhead`:
``wire_bytes``, ``overhead_bytes`` and a ``breakdown`` by header.
"""

from __future__ import annotations

from typing import Any

IPV4_HEADER = 20
"""RFC 791 §3.1, no options."""
TCP_HEADER = 20
"""RFC 9293 §3.1, without options."""
TCP_TIMESTAMPS = 12
"""RFC 7323 §3: TSopt (kind 8, length 10) padded to a 4-byte boundary with two NOPs."""
UDP_HEADER = 8
"""RFC 768."""
TLS13_RECORD_HEADER = 5
"""RFC 8446 §5.2: opaque_type(1) + legacy_record_version(2) + length(2)."""
TLS13_CONTENT_TYPE = 1
"""RFC 8446 §5.2: TLSInnerPlaintext.type, encrypted with the content."""
AEAD_TAG = 16
"""AES-GCM (RFC 5116 §5.1) and ChaCha20-Poly1305 (RFC 8439 §2.8) tag length."""
DTLS13_HEADER_LONG = 5
"""RFC 9147 §4 Figure 3: 001CSLEE byte + 16-bit sequence number + 16-bit length."""
DTLS13_HEADER_SHORT = 2
"""RFC 9147 §4 Figure 3: 001CSLEE byte + 8-bit sequence number, length omitted."""


def tls_vpn_overhead(size: int, transport: str = "tcp", *, tcp_timestamps: bool = True,
                     dtls_header: str = "long", cid_bytes: int = 0,
                     vpn_header: int = 0) -> dict[str, Any]:
    """Bytes on the wire for an inner IPv4 packet of ``size`` bytes sent through a TLS VPN.

    ``transport`` is ``"tcp"`` (TLS 1.3 records) or ``"udp"`` (DTLS 1.3 records).
    """
    if size <= 0:
        raise ValueError("size must be positive")
    breakdown: dict[str, int] = {"outer IPv4": IPV4_HEADER}
    if transport == "tcp":
        breakdown["TCP"] = TCP_HEADER + (TCP_TIMESTAMPS if tcp_timestamps else 0)
        breakdown["TLS record header"] = TLS13_RECORD_HEADER
    elif transport == "udp":
        if dtls_header not in ("long", "short"):
            raise ValueError("dtls_header is 'long' or 'short'")
        breakdown["UDP"] = UDP_HEADER
        breakdown["DTLS unified header"] = (
            DTLS13_HEADER_LONG if dtls_header == "long" else DTLS13_HEADER_SHORT
        ) + cid_bytes
    else:
        raise ValueError("transport is 'tcp' or 'udp'")
    if vpn_header:
        breakdown["VPN framing"] = vpn_header
    breakdown["inner content type"] = TLS13_CONTENT_TYPE
    breakdown["AEAD tag"] = AEAD_TAG
    over = sum(breakdown.values())
    return {
        "proto": "tls" if transport == "tcp" else "dtls",
        "transport": transport,
        "size": size,
        "wire_bytes": size + over,
        "overhead_bytes": over,
        "breakdown": breakdown,
    }
