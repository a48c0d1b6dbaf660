"""UDP encapsulation of ESP for NAT traversal (RFC 3948).

On UDP port 4500 three things share the port, told apart by the first bytes
of the UDP payload (RFC 3948 §2):

* a single byte 0xFF: a NAT-keepalive (§2.3), consumed and counted;
* four zero bytes (the *non-ESP marker*, §2.2): an IKE message follows;
* anything else: an ESP packet whose first 4 bytes are its (non-zero) SPI (§2.1).

ESP-in-UDP is sent with UDP checksum 0 (§3.1.1: the ESP ICV protects the data).
"""

from __future__ import annotations

import struct

from .ip import IPPROTO_UDP, build_ipv4

NATT_PORT = 4500
IKE_PORT = 500
NON_ESP_MARKER = b"\x00\x00\x00\x00"
KEEPALIVE = b"\xff"

KIND_ESP = "esp"
KIND_IKE = "ike"
KIND_KEEPALIVE = "keepalive"
KIND_MALFORMED = "malformed"

_UDP = struct.Struct("!HHHH")


def classify(udp_payload: bytes) -> str:
    """``esp``, ``ike``, ``keepalive`` or ``malformed`` for a UDP-4500 payload."""
    n = len(udp_payload)
    if n == 1 and udp_payload[0] == 0xFF:
        return KIND_KEEPALIVE
    if n >= 4 and udp_payload[:4] == NON_ESP_MARKER:
        return KIND_IKE
    if n >= 8:
        return KIND_ESP
    return KIND_MALFORMED


def udp_header(sport: int, dport: int, payload_len: int) -> bytes:
    """An 8-byte UDP header with checksum 0 for ESP-in-UDP."""
    return _UDP.pack(sport, dport, 8 + payload_len, 0)


def keepalive_packet(src: str | bytes, dst: str | bytes, sport: int = NATT_PORT,
                     dport: int = NATT_PORT) -> bytes:
    """An IPv4 NAT-keepalive packet (RFC 3948 §2.3)."""
    return build_ipv4(src, dst, IPPROTO_UDP, udp_header(sport, dport, 1) + KEEPALIVE)


def add_non_esp_marker(ike_message: bytes) -> bytes:
    """The UDP payload that carries an IKE message on port 4500."""
    return NON_ESP_MARKER + ike_message


def strip_non_esp_marker(udp_payload: bytes) -> bytes:
    """The IKE message inside a port-4500 UDP payload (ValueError if the marker is absent)."""
    if udp_payload[:4] != NON_ESP_MARKER:
        raise ValueError("UDP-4500 payload does not start with the non-ESP marker")
    return udp_payload[4:]
