"""EAP methods as sans-IO state machines: EAP-Identity, EAP-MD5, EAP-MSCHAPv2.

A *peer* method answers requests: ``process(request) -> response``. A *server* method
asks: ``initiate() -> request``, then ``process(response) -> request | None`` (None: the
method succeeded; the authenticator then sends EAP-Success). Either raises
:class:`~.packet.EapError` with a sentence when the method fails; ``msk`` holds the Master
Session Key once there is one (None for methods without, EAP-MD5). Randomness (challenges,
identifiers) comes in as ``rand(n) -> bytes``; secrets come in as values (the peer) or through
``lookup(identity) -> secret | None`` (the server, which learns the identity on the way).

Formats and behaviour follow strongSwan 5.9's plugins (``eap_identity.c``, ``eap_md5.c``,
``eap_mschapv2.c``): EAP-MD5 per RFC 3748 §5.4 / RFC 1994 (a 16-octet challenge, the
response MD5(Identifier | secret | challenge)); EAP-MSCHAPv2 per draft-kamath-pppext-
eap-mschapv2-02 and RFC 2759 (server name ``strongSwan``, success message
``M=Welcome2strongSwan``), its MSK per RFC 3079 (:mod:`.mschapv2_crypto`).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Callable

from . import mschapv2_crypto as X
from .packet import IDENTITY, MD5, MSCHAPV2, REQUEST, RESPONSE, EapError, EapPacket

Rand = Callable[[int], bytes]
Lookup = Callable[[bytes], "bytes | None"]


class IdentityPeer:
    """Answers EAP-Identity (RFC 3748 §5.1) with our EAP identity."""

    type = IDENTITY
    msk: bytes | None = None

    def __init__(self, identity: bytes) -> None:
        self.identity = identity

    def process(self, req: EapPacket) -> EapPacket:
        return EapPacket(RESPONSE, req.ident, IDENTITY, self.identity)


class IdentityServer:
    """Asks for the peer's EAP identity (charon's eap_identity: identifier 0)."""

    type = IDENTITY
    msk: bytes | None = None

    def __init__(self) -> None:
        self.ident = 0
        self.identity = b""

    def initiate(self) -> EapPacket:
        return EapPacket(REQUEST, self.ident, IDENTITY)

    def process(self, resp: EapPacket) -> EapPacket | None:
        self.identity = resp.data
        return None


# ------------------------------------------------------------------ EAP-MD5


def md5_response(ident: int, secret: bytes, challenge: bytes) -> bytes:
    """RFC 1994 §4.1 (RFC 3748 §5.4): MD5(Identifier | secret | Challenge)."""
    return hashlib.md5(bytes([ident]) + secret + challenge).digest()


def _md5_value(p: EapPacket) -> bytes:
    d = p.data
    if len(d) < 1 or 1 + d[0] > len(d):
        raise EapError("received invalid EAP-MD5 message (its Value-Size overruns the packet)")
    return d[1:1 + d[0]]


class Md5Peer:
    type = MD5
    msk: bytes | None = None

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def process(self, req: EapPacket) -> EapPacket:
        value = md5_response(req.ident, self.secret, _md5_value(req))
        return EapPacket(RESPONSE, req.ident, MD5, bytes([len(value)]) + value)


class Md5Server:
    type = MD5
    msk: bytes | None = None

    def __init__(self, identity: bytes, lookup: Lookup, rand: Rand) -> None:
        self.identity, self.lookup = identity, lookup
        self.ident = rand(1)[0]
        self.challenge = rand(16)

    def initiate(self) -> EapPacket:
        return EapPacket(REQUEST, self.ident, MD5, bytes([16]) + self.challenge)

    def process(self, resp: EapPacket) -> EapPacket | None:
        if resp.ident != self.ident:
            raise EapError("received invalid EAP-MD5 message (wrong Identifier)")
        secret = self.lookup(self.identity)
        if secret is None:
            raise EapError(f"no EAP secret for '{self.identity.decode(errors='replace')}' "
                           "in secrets")
        want = md5_response(self.ident, secret, self.challenge)
        if not hmac.compare_digest(_md5_value(resp)[:16], want):
            raise EapError("EAP-MD5 verification failed: the response of "
                           f"'{self.identity.decode(errors='replace')}' does not match its "
                           "EAP secret (wrong password)")
        return None


# ------------------------------------------------------------------ EAP-MSCHAPv2

CHALLENGE, MS_RESPONSE, MS_SUCCESS, MS_FAILURE = 1, 2, 3, 4
SERVER_NAME = b"strongSwan"
SUCCESS_MESSAGE = "Welcome2strongSwan"
MS_ERRORS = {646: "ERROR_RESTRICTED_LOGON_HOURS", 647: "ERROR_ACCT_DISABLED",
             648: "ERROR_PASSWD_EXPIRED", 649: "ERROR_NO_DIALIN_PERMISSION",
             691: "ERROR_AUTHENTICATION_FAILURE", 709: "ERROR_CHANGING_PASSWORD"}


def _ms(code: int, ident: int, opcode: int, ms_id: int, data: bytes) -> EapPacket:
    """OpCode | MS-CHAPv2-ID | MS-Length (EAP length - 5) | data."""
    return EapPacket(code, ident, MSCHAPV2, struct.pack("!BBH", opcode, ms_id, 4 + len(data)) + data)


def username(identity: bytes) -> bytes:
    """The user part of ``DOMAIN\\user`` that enters the challenge hash (charon
    ``extract_username()``); the whole identity travels in the Name field."""
    return identity.split(b"\\", 1)[1] if b"\\" in identity else identity


class MsChapV2Peer:
    type = MSCHAPV2

    def __init__(self, identity: bytes, secret: bytes, rand: Rand) -> None:
        self.identity, self.secret, self.rand = identity, secret, rand
        self.msk: bytes | None = None
        self.message = ""
        """The server's ``M=`` text once it accepted us (charon logs it)."""
        self._expect = "challenge"
        self._auth_response = ""
        self._pending_msk = b""

    def process(self, req: EapPacket) -> EapPacket:
        d = req.data
        if len(d) < 1:
            raise EapError("received invalid EAP-MS-CHAPv2 message")
        op = d[0]
        if self._expect == "challenge" and op == CHALLENGE:
            if len(d) < 4 + 1 + 16 or d[4] != 16:
                raise EapError("received invalid EAP-MS-CHAPv2 message: invalid challenge size")
            ms_id, auth_ch = d[1], d[5:21]
            peer_ch = self.rand(16)
            user = username(self.identity)
            nt = X.generate_nt_response(auth_ch, peer_ch, user, self.secret)
            self._auth_response = X.authenticator_response(self.secret, nt, peer_ch, auth_ch, user)
            self._pending_msk = X.msk(self.secret, nt)
            value = peer_ch + bytes(8) + nt + b"\x00"
            self._expect = "success"
            return _ms(RESPONSE, req.ident, MS_RESPONSE, ms_id, bytes([49]) + value + self.identity)
        if self._expect == "success" and op == MS_SUCCESS:
            text = d[4:].rstrip(b"\x00").decode("ascii", "replace")
            fields = dict(t.split("=", 1) for t in text.split(" ") if "=" in t)
            if "S" not in fields:
                raise EapError("received invalid EAP-MS-CHAPv2 message: auth string missing")
            if not hmac.compare_digest(("S=" + fields["S"]).upper(), self._auth_response):
                raise EapError("EAP-MS-CHAPv2 verification failed: the server's authenticator "
                               "response does not prove it knows our password")
            self.message = text.split("M=", 1)[1] if "M=" in text else ""
            self.msk, self._expect = self._pending_msk, "done"
            return EapPacket(RESPONSE, req.ident, MSCHAPV2, bytes([MS_SUCCESS]))
        if self._expect == "success" and op == MS_FAILURE:
            text = d[4:].rstrip(b"\x00").decode("ascii", "replace")
            fields = dict(t.split("=", 1) for t in text.split(" ") if "=" in t)
            code = int(fields.get("E", "0") or 0) if fields.get("E", "").isdigit() else 0
            raise EapError(f"EAP-MS-CHAPv2 failed with error {MS_ERRORS.get(code, code)}: the "
                           "server refused our password (wrong EAP secret)")
        raise EapError(f"received unexpected EAP-MS-CHAPv2 message with OpCode {op}")


class MsChapV2Server:
    type = MSCHAPV2

    def __init__(self, identity: bytes, lookup: Lookup, rand: Rand) -> None:
        self.identity, self.lookup = identity, lookup
        self.msk: bytes | None = None
        self.ident = rand(1)[0] or 1  # charon: a non-zero identifier, MS-CHAPv2-ID the same
        self.ms_id = self.ident
        self.challenge = rand(16)
        self.username = b""
        self._expect = "response"
        self._pending_msk = b""

    def initiate(self) -> EapPacket:
        return _ms(REQUEST, self.ident, CHALLENGE, self.ms_id,
                   bytes([16]) + self.challenge + SERVER_NAME)

    def process(self, resp: EapPacket) -> EapPacket | None:
        d = resp.data
        if resp.ident != self.ident:
            raise EapError("received invalid EAP-MS-CHAPv2 message: unexpected identifier")
        if not d:
            raise EapError("received invalid EAP-MS-CHAPv2 message: too short")
        if self._expect == "response" and d[0] == MS_RESPONSE:
            if len(d) < 4 + 1 + 49:
                raise EapError("received invalid EAP-MS-CHAPv2 message: too short")
            peer_ch, nt = d[5:21], d[29:53]
            self.username = bytes(d[54:54 + 255])
            secret = self.lookup(self.username)
            name = self.username.decode(errors="replace")
            if secret is None:
                raise EapError(f"no EAP secret for '{name}' in secrets")
            user = username(self.username)
            want = X.generate_nt_response(self.challenge, peer_ch, user, secret)
            if not hmac.compare_digest(nt, want):
                raise EapError(f"EAP-MS-CHAPv2 verification failed: the NT-Response of "
                               f"'{name}' does not match its EAP secret (wrong password)")
            auth = X.authenticator_response(secret, nt, peer_ch, self.challenge, user)
            self._pending_msk = X.msk(secret, nt)
            self._expect = "success"
            self.ident = (self.ident + 1) & 0xFF
            return _ms(REQUEST, self.ident, MS_SUCCESS, self.ms_id,
                       f"{auth} M={SUCCESS_MESSAGE}".encode())
        if self._expect == "success" and d[0] == MS_SUCCESS:
            self.msk = self._pending_msk
            return None
        if d[0] == MS_FAILURE:
            raise EapError("the EAP-MS-CHAPv2 peer aborted with a Failure packet")
        raise EapError(f"received unexpected EAP-MS-CHAPv2 message with OpCode {d[0]}")
