"""The record layer of a TLS 1.3 VPN tunnel, sans-IO: inner IP packets in, a byte stream
out, and back (RFC 8446 §5).

A TLS VPN (OpenConnect, OpenVPN in TCP mode, SSTP) writes each inner packet as one
``application_data`` record: the 5-byte header (type 23, legacy version 0x0303, length),
then the AEAD-sealed ``TLSInnerPlaintext`` -- the packet and its real content type (one
byte) -- with AES-128-GCM's 16-byte tag. The nonce is the write IV XOR the record's
sequence number (§5.3). The framing is :mod:`ipsecsim.core.tlsvpn`'s, here as real bytes;
the handshake that would produce the keys is not run (the keys come from the caller).

:class:`RecordReader` takes the stream in arbitrary pieces, as TCP hands it over, and
yields whole inner packets in order.
"""

from __future__ import annotations

import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import DecodeError

APPLICATION_DATA = 23
LEGACY_VERSION = 0x0303
HEADER = 5
TAG = 16
MAX_CIPHERTEXT = 2**14 + 256
"""RFC 8446 §5.2: a record's length must not exceed 2^14 + 256."""


def _nonce(iv: bytes, seq: int) -> bytes:
    return (int.from_bytes(iv, "big") ^ seq).to_bytes(12, "big")


class RecordWriter:
    """Seals inner packets into records with one direction's key and IV."""

    def __init__(self, key: bytes, iv: bytes) -> None:
        self._aead = AESGCM(key)
        self._iv = iv
        self.seq = 0

    def seal(self, inner: bytes) -> bytes:
        hdr = struct.pack("!BHH", APPLICATION_DATA, LEGACY_VERSION, len(inner) + 1 + TAG)
        ct = self._aead.encrypt(_nonce(self._iv, self.seq), inner + bytes([APPLICATION_DATA]), hdr)
        self.seq += 1
        return hdr + ct


class RecordReader:
    """Opens the records of one direction from a TCP byte stream."""

    def __init__(self, key: bytes, iv: bytes) -> None:
        self._aead = AESGCM(key)
        self._iv = iv
        self.seq = 0
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The inner packets that ``data`` completes; :class:`DecodeError` for a record that
        is not application data, too long, or fails authentication (TLS then closes the
        connection: RFC 8446 §5.2, ``bad_record_mac``)."""
        buf = self._buf
        buf += data
        out = []
        while len(buf) >= HEADER:
            typ, _ver, ln = struct.unpack_from("!BHH", buf)
            if typ != APPLICATION_DATA or ln > MAX_CIPHERTEXT or ln < 1 + TAG:
                raise DecodeError(f"TLS record type {typ} length {ln} is not application data")
            if len(buf) < HEADER + ln:
                break
            hdr = bytes(buf[:HEADER])
            ct = bytes(buf[HEADER:HEADER + ln])
            del buf[:HEADER + ln]
            try:
                pt = self._aead.decrypt(_nonce(self._iv, self.seq), ct, hdr)
            except Exception as exc:  # noqa: BLE001 - InvalidTag
                raise DecodeError("TLS record fails authentication (bad_record_mac)") from exc
            self.seq += 1
            out.append(pt[:-1])
        return out
