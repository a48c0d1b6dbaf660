"""MS-CHAPv2's arithmetic (RFC 2759 §8) and its MPPE master keys (RFC 3079 §3).

OpenSSL 3 no longer offers MD4 by default, so :func:`md4` is RFC 1320's algorithm in
Python (it hashes one password per authentication). DES is the ``cryptography`` package's
TripleDES with the key repeated three times, which is single DES (EDE with K1 = K2 = K3).
Test vectors: RFC 2759 §9.2, RFC 3079 §3.5.3 (``tests/eap/``).
"""

from __future__ import annotations

import hashlib
import struct

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes


def _rotl(x: int, n: int) -> int:
    x &= 0xFFFFFFFF
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def md4(data: bytes) -> bytes:
    """RFC 1320 MD4 digest."""
    msg = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", len(data) * 8)
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    for off in range(0, len(msg), 64):
        x = struct.unpack_from("<16I", msg, off)
        aa, bb, cc, dd = a, b, c, d
        for i in range(16):  # round 1: F(x,y,z) = xy | ~x z
            k, s = i, (3, 7, 11, 19)[i % 4]
            a = _rotl(a + ((b & c) | (~b & d)) + x[k], s)
            a, b, c, d = d, a, b, c
        for i in range(16):  # round 2: G = xy | xz | yz, + 0x5A827999
            k, s = (i % 4) * 4 + i // 4, (3, 5, 9, 13)[i % 4]
            a = _rotl(a + ((b & c) | (b & d) | (c & d)) + x[k] + 0x5A827999, s)
            a, b, c, d = d, a, b, c
        for i in range(16):  # round 3: H = x ^ y ^ z, + 0x6ED9EBA1
            k = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)[i]
            s = (3, 9, 11, 15)[i % 4]
            a = _rotl(a + (b ^ c ^ d) + x[k] + 0x6ED9EBA1, s)
            a, b, c, d = d, a, b, c
        a, b, c, d = ((a + aa) & 0xFFFFFFFF, (b + bb) & 0xFFFFFFFF, (c + cc) & 0xFFFFFFFF,
                      (d + dd) & 0xFFFFFFFF)
    return struct.pack("<4I", a, b, c, d)


def nt_password_hash(password: str | bytes) -> bytes:
    """RFC 2759 §8.3: MD4 of the password in UTF-16LE (bytes: taken as UTF-8 text)."""
    text = password.decode("utf-8", "replace") if isinstance(password, bytes) else password
    return md4(text.encode("utf-16-le"))


def challenge_hash(peer_challenge: bytes, auth_challenge: bytes, username: bytes) -> bytes:
    """RFC 2759 §8.2: the first 8 octets of SHA1(PeerChallenge | AuthChallenge | UserName)."""
    return hashlib.sha1(peer_challenge + auth_challenge + username).digest()[:8]


def _des_key(key7: bytes) -> bytes:
    """RFC 2759 §8.6 DesEncrypt: 7 octets spread over 8 with a (ignored) parity bit."""
    n = int.from_bytes(key7, "big")
    return bytes((((n >> (49 - 7 * i)) & 0x7F) << 1) for i in range(8))


def _des(key7: bytes, block: bytes) -> bytes:
    enc = Cipher(TripleDES(_des_key(key7) * 3), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def challenge_response(challenge: bytes, password_hash: bytes) -> bytes:
    """RFC 2759 §8.5: three DES encryptions of the challenge under the zero-padded hash."""
    z = password_hash + b"\x00" * 5
    return _des(z[0:7], challenge) + _des(z[7:14], challenge) + _des(z[14:21], challenge)


def generate_nt_response(auth_challenge: bytes, peer_challenge: bytes, username: bytes,
                         password: str | bytes) -> bytes:
    """RFC 2759 §8.1 GenerateNTResponse (24 octets)."""
    ch = challenge_hash(peer_challenge, auth_challenge, username)
    return challenge_response(ch, nt_password_hash(password))


_MAGIC1 = b"Magic server to client signing constant"
_MAGIC2 = b"Pad to make it do more than one iteration"


def authenticator_response(password: str | bytes, nt_response: bytes, peer_challenge: bytes,
                           auth_challenge: bytes, username: bytes) -> str:
    """RFC 2759 §8.7 GenerateAuthenticatorResponse: ``S=`` and 40 upper-case hex digits."""
    hh = md4(nt_password_hash(password))
    digest = hashlib.sha1(hh + nt_response + _MAGIC1).digest()
    ch = challenge_hash(peer_challenge, auth_challenge, username)
    return "S=" + hashlib.sha1(digest + ch + _MAGIC2).hexdigest().upper()


# RFC 3079 §3.4 constants
_M1 = b"This is the MPPE Master Key"
_M2 = (b"On the client side, this is the send key; on the server side, it is the receive key.")
_M3 = (b"On the client side, this is the receive key; on the server side, it is the send key.")
_PAD1, _PAD2 = b"\x00" * 40, b"\xf2" * 40


def master_key(password: str | bytes, nt_response: bytes) -> bytes:
    """RFC 3079 §3.4 GetMasterKey: 16 octets of SHA1(PasswordHashHash | NT-Response | Magic1)."""
    return hashlib.sha1(md4(nt_password_hash(password)) + nt_response + _M1).digest()[:16]


def asymmetric_start_key(master: bytes, is_send: bool, is_server: bool) -> bytes:
    """RFC 3079 §3.4 GetAsymmetricStartKey for a 128-bit key."""
    magic = (_M3 if is_send else _M2) if is_server else (_M2 if is_send else _M3)
    return hashlib.sha1(master + _PAD1 + magic + _PAD2).digest()[:16]


def msk(password: str | bytes, nt_response: bytes) -> bytes:
    """The 64-octet MSK as strongSwan's eap_mschapv2.c ``GenerateMSK()`` builds it (and as
    Microsoft's RFC 3079 usage for EAP does): the Magic2 key (the client's send key, the
    server's receive key; charon's ``master_receive_key``), the Magic3 key, then 32 zero
    octets. Both ends compute the same octets."""
    m = master_key(password, nt_response)
    client_recv = asymmetric_start_key(m, is_send=False, is_server=False)
    client_send = asymmetric_start_key(m, is_send=True, is_server=False)
    return client_send + client_recv + b"\x00" * 32
