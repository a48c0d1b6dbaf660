"""EAP-TLS (RFC 5216) over the standard library's ``ssl`` with memory BIOs.

TLS runs in an ``ssl.SSLObject`` on two ``ssl.MemoryBIO`` (no socket): the EAP-TLS
packets carry the TLS records, fragmented (Flags L/M/S, §3.1) at :data:`FRAGMENT` octets,
each fragment acknowledged by an empty packet (§2.1.5). TLS 1.2 only, as charon 5.9's eap-tls
plugin defaults to.

The MSK (§2.3) is ``TLS-PRF-128(master_secret, "client EAP encryption", client.random ||
server.random)[0..63]``. Python's ``ssl`` offers neither the master secret nor a keying
material exporter; the one stdlib route is ``SSLContext.keylog_filename`` (NSS key log
format, ``CLIENT_RANDOM <client random> <master secret>``), pointed here at the write end of
an OS pipe (``/dev/fd/N``: nothing touches the disk), and the server random read from the
ServerHello crossing the BIO. ``load_cert_chain()`` likewise only reads files, so our
certificate and key reach it through an anonymous in-memory file (``memfd_create``). Two consequences: this is the one EAP
method whose state machine holds file descriptors (closed when it ends), and OpenSSL draws the
TLS randoms itself, so an EAP-TLS run is not reproducible byte for byte from the seed.
"""

from __future__ import annotations

import hmac
import os
import ssl
import struct

from .packet import REQUEST, RESPONSE, TLS, EapError, EapPacket

FRAGMENT = 1024
"""TLS octets per EAP-TLS packet (charon's ``charon.plugins.eap-tls.fragment_size``)."""
L_FLAG, M_FLAG, S_FLAG = 0x80, 0x40, 0x20


def tls_prf(secret: bytes, label: bytes, seed: bytes, n: int, sha: str = "sha256") -> bytes:
    """RFC 5246 §5: P_hash(secret, label + seed), ``n`` octets."""
    out, a, s = b"", label + seed, label + seed
    while len(out) < n:
        a = hmac.new(secret, a, sha).digest()
        out += hmac.new(secret, a + s, sha).digest()
    return out[:n]


def _memory_file(data: bytes) -> tuple[str, int]:
    """``/dev/fd/N`` of an anonymous in-memory file holding ``data`` (Linux ``memfd_create``;
    ``load_cert_chain`` seeks, so a pipe will not do)."""
    fd = os.memfd_create("eap-tls-credential")
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return f"/dev/fd/{fd}", fd


class _Tls:
    """One TLS 1.2 endpoint on memory BIOs, with its key log."""

    def __init__(self, server: bool, chain_pem: bytes, cadata: bytes) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.check_hostname = False
        if not server:  # charon's libtls sends no renegotiation_info (RFC 5746), which OpenSSL 3
            # refuses by default; EAP-TLS never renegotiates, so accept the legacy server
            ctx.options |= getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0x4)
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=cadata.decode())
        path, fd = _memory_file(chain_pem)
        try:
            ctx.load_cert_chain(path)
        finally:
            os.close(fd)
        self._r, w = os.pipe()
        os.set_blocking(self._r, False)
        ctx.keylog_filename = f"/dev/fd/{w}"
        os.close(w)  # the context opened its own descriptor on the pipe
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self._in, self._out, server_side=server)
        self.ctx = ctx
        self.done = False
        self.server_random = b""
        self._seen = b""

    def close(self) -> None:
        """Close the key log's read end (once); the context closes its own write end."""
        if self._r >= 0:
            os.close(self._r)
            self._r = -1

    def __del__(self) -> None:  # a conversation that failed half-way must not leak the pipe
        self.close()

    def feed(self, data: bytes) -> bytes:
        """Records in, records out (the handshake advanced as far as it goes)."""
        if data:
            self._in.write(data)
            self._watch(data)
        try:
            self.obj.do_handshake()
            self.done = True
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as exc:
            raise EapError(f"EAP-TLS handshake failed: {exc.reason or exc}") from None
        out = self._out.read()
        self._watch(out)
        return out

    def _watch(self, data: bytes) -> None:
        """Keep the ServerHello's random (handshake type 2) from the records crossing."""
        if self.server_random:
            return
        self._seen += data
        b = self._seen
        off = 0
        while off + 5 <= len(b):
            ctype, _, rlen = struct.unpack_from("!BHH", b, off)
            body = b[off + 5:off + 5 + rlen]
            if ctype == 22 and len(body) >= 38 and body[0] == 2:
                self.server_random = bytes(body[6:38])
                self._seen = b""
                return
            off += 5 + rlen

    def msk(self) -> bytes:
        """RFC 5216 §2.3 MSK: the first 64 octets of the TLS PRF's key material."""
        try:
            log = os.read(self._r, 65536).decode()
        except BlockingIOError:
            log = ""
        finally:
            self.close()
        line = next((ln.split() for ln in log.splitlines() if ln.startswith("CLIENT_RANDOM")), None)
        if line is None or not self.server_random:
            raise EapError("EAP-TLS: the TLS key log gave no master secret (MSK not derived)")
        client_random, master = bytes.fromhex(line[1]), bytes.fromhex(line[2])
        cipher = self.obj.cipher()
        sha = "sha384" if cipher and cipher[0].endswith("SHA384") else "sha256"
        return tls_prf(master, b"client EAP encryption", client_random + self.server_random,
                       128, sha)[:64]


def _split(data: bytes) -> list[bytes]:
    """EAP-TLS Flags | [TLS Message Length] | fragment, for each fragment of ``data``."""
    if len(data) <= FRAGMENT:
        return [b"\x00" + data]
    parts = [data[i:i + FRAGMENT] for i in range(0, len(data), FRAGMENT)]
    out = []
    for i, part in enumerate(parts):
        flags = (M_FLAG if i < len(parts) - 1 else 0) | (L_FLAG if i == 0 else 0)
        head = bytes([flags]) + (struct.pack("!I", len(data)) if i == 0 else b"")
        out.append(head + part)
    return out


def _parse(p: EapPacket) -> tuple[int, bytes]:
    d = p.data
    if not d:
        raise EapError("received invalid EAP-TLS message (no Flags)")
    flags, off = d[0], 1
    if flags & L_FLAG:
        off = 5
    return flags, bytes(d[off:])


class _Side:
    """What peer and server share: reassembly and fragments waiting for acks."""

    code = RESPONSE

    def __init__(self) -> None:
        self.tls: _Tls | None = None
        self.pending: list[bytes] = []
        self.buffer = b""
        self.msk: bytes | None = None

    def _packet(self, ident: int, body: bytes) -> EapPacket:
        return EapPacket(self.code, ident, TLS, body)

    def _take(self, p: EapPacket, ident: int) -> EapPacket | bytes:
        """A whole TLS flight (bytes), or the packet to answer a fragment with (an ack)."""
        flags, data = _parse(p)
        self.buffer += data
        if flags & M_FLAG:
            return self._packet(ident, b"\x00")
        whole, self.buffer = self.buffer, b""
        return whole

    def _send(self, ident: int, records: bytes) -> EapPacket:
        self.pending = _split(records)
        return self._packet(ident, self.pending.pop(0))


class TlsPeer(_Side):
    """The EAP-TLS peer (client): our certificate chain and key as PEM, the CAs we trust."""

    type = TLS
    code = RESPONSE

    def __init__(self, chain_pem: bytes, cadata: bytes) -> None:
        super().__init__()
        self.chain_pem, self.cadata = chain_pem, cadata

    def process(self, req: EapPacket) -> EapPacket:
        flags, data = _parse(req)
        if flags & S_FLAG:
            self.tls = _Tls(False, self.chain_pem, self.cadata)
            return self._send(req.ident, self.tls.feed(b""))
        if self.tls is None:
            raise EapError("EAP-TLS request before the Start packet")
        if not data and not flags and self.pending:  # the server acknowledged a fragment
            return self._packet(req.ident, self.pending.pop(0))
        got = self._take(req, req.ident)
        if isinstance(got, EapPacket):
            return got
        out = self.tls.feed(got)
        if self.tls.done and not out:
            self.msk = self.tls.msk()
            return self._packet(req.ident, b"\x00")  # acknowledges the server's Finished
        return self._send(req.ident, out)


class TlsServer(_Side):
    """The EAP-TLS server: our chain and key as PEM, the CAs that vouch for the peer."""

    type = TLS
    code = REQUEST

    def __init__(self, chain_pem: bytes, cadata: bytes, rand) -> None:  # noqa: ANN001
        super().__init__()
        self.ident = rand(1)[0]
        self.tls = _Tls(True, chain_pem, cadata)
        self._finished_sent = False

    def initiate(self) -> EapPacket:
        return EapPacket(REQUEST, self.ident, TLS, bytes([S_FLAG]))

    def _next(self) -> int:
        self.ident = (self.ident + 1) & 0xFF
        return self.ident

    def process(self, resp: EapPacket) -> EapPacket | None:
        assert self.tls is not None
        if resp.ident != self.ident:
            raise EapError("received invalid EAP-TLS message (wrong Identifier)")
        flags, data = _parse(resp)
        if not data and not flags:
            if self.pending:  # the peer acknowledged a fragment
                return self._packet(self._next(), self.pending.pop(0))
            if self._finished_sent and self.tls.done:
                self.msk = self.tls.msk()
                return None
            raise EapError("EAP-TLS: the peer sent an empty response mid-handshake")
        nxt = self._next()
        got = self._take(resp, nxt)
        if isinstance(got, EapPacket):
            return got
        out = self.tls.feed(got)
        if self.tls.done:
            self._finished_sent = True
        if not out:
            raise EapError("EAP-TLS: the peer's records did not advance the handshake")
        return self._send(nxt, out)


def pem_chain(certs_der: tuple[bytes, ...], key: object) -> bytes:
    """PEM of our certificates and our private key, for ``load_cert_chain``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem = b"".join(x509.load_der_x509_certificate(c).public_bytes(serialization.Encoding.PEM)
                   for c in certs_der)
    return pem + key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


def ca_pem(anchors: tuple[object, ...]) -> bytes:
    """The trust anchors (DER bytes or certificates) as ``cadata`` (PEM text as bytes)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    out = b""
    for a in anchors:
        cert = x509.load_der_x509_certificate(a) if isinstance(a, bytes) else a
        out += cert.public_bytes(serialization.Encoding.PEM)  # type: ignore[attr-defined]
    return out
