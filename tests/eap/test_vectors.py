"""EAP method arithmetic against published vectors.

* MD4: RFC 1320 Appendix A.5 (the test suite).
* MS-CHAPv2: RFC 2759 §9.2 (UserName "User", Password "clientPass").
* MPPE keys: RFC 3079 §3.5.3 (the same exchange, 128-bit keys).
* EAP-MD5: RFC 1994 §4.1 / RFC 3748 §5.4 -- the response is MD5(Identifier | secret |
  challenge); checked against a value computed by hand from that definition.
"""

from __future__ import annotations

import hashlib

import pytest

from ipsecsim.core.ike.eap import methods as Mt
from ipsecsim.core.ike.eap import mschapv2_crypto as X
from ipsecsim.core.ike.eap import packet as P


@pytest.mark.parametrize("text, digest", [  # RFC 1320 A.5
    ("", "31d6cfe0d16ae931b73c59d7e0c089c0"),
    ("a", "bde52cb31de33e46245e05fbdbd6fb24"),
    ("abc", "a448017aaf21d8525fc10ae87aa6729d"),
    ("message digest", "d9130a8164549fe818874806e1c7014b"),
    ("abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
    ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
     "043f8582f241db351ce627e153e7f0e4"),
    ("1234567890" * 8, "e33b4ddc9c38f2199c3e7b164fcc0536"),
])
def test_md4_rfc1320_suite(text: str, digest: str) -> None:
    assert X.md4(text.encode()).hex() == digest


# RFC 2759 §9.2
USER, PASSWORD = b"User", "clientPass"
AUTH_CHALLENGE = bytes.fromhex("5B5D7C7D7B3F2F3E3C2C602132262628")
PEER_CHALLENGE = bytes.fromhex("21402324255E262A28295F2B3A337C7E")
CHALLENGE = bytes.fromhex("D02E4386BCE91226")
PASSWORD_HASH = bytes.fromhex("44EBBA8D5312B8D611474411F56989AE")
NT_RESPONSE = bytes.fromhex("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")
PASSWORD_HASH_HASH = bytes.fromhex("41C00C584BD2D91C4017A2A12FA59F3F")
AUTHENTICATOR_RESPONSE = "S=407A5589115FD0D6209F510FE9C04566932CDA56"


def test_mschapv2_rfc2759_section_9_2() -> None:
    assert X.challenge_hash(PEER_CHALLENGE, AUTH_CHALLENGE, USER) == CHALLENGE
    assert X.nt_password_hash(PASSWORD) == PASSWORD_HASH
    assert X.challenge_response(CHALLENGE, PASSWORD_HASH) == NT_RESPONSE
    assert X.generate_nt_response(AUTH_CHALLENGE, PEER_CHALLENGE, USER, PASSWORD) == NT_RESPONSE
    assert X.md4(PASSWORD_HASH) == PASSWORD_HASH_HASH
    assert X.authenticator_response(PASSWORD, NT_RESPONSE, PEER_CHALLENGE, AUTH_CHALLENGE,
                                    USER) == AUTHENTICATOR_RESPONSE


def test_mppe_keys_rfc3079_section_3_5_3() -> None:
    master = X.master_key(PASSWORD, NT_RESPONSE)
    assert master == bytes.fromhex("FDECE3717A8C838CB388E527AE3CDD31")
    # the server's send key (IsSend, IsServer: Magic3) = the client's receive key
    send = bytes.fromhex("8B7CDC149B993A1BA118CB153F56DCCB")
    assert X.asymmetric_start_key(master, is_send=True, is_server=True) == send
    assert X.asymmetric_start_key(master, is_send=False, is_server=False) == send
    # the MSK as strongSwan's eap_mschapv2.c lays it out: Magic2 key | Magic3 key | 32 zeros
    msk = X.msk(PASSWORD, NT_RESPONSE)
    assert len(msk) == 64 and msk[16:32] == send and msk[32:] == bytes(32)
    assert msk[:16] == X.asymmetric_start_key(master, is_send=True, is_server=False)


def _feed(*chunks: bytes):
    it = iter(chunks)
    return lambda n: next(it)


def test_mschapv2_peer_and_server_agree_on_the_rfc_exchange() -> None:
    """The state machines, fed the RFC 2759 §9.2 challenges, send its NT-Response and accept its
    authenticator response; both ends hold the same 64-octet MSK."""
    server = Mt.MsChapV2Server(USER, lambda who: PASSWORD.encode() if who == USER else None,
                               _feed(b"\x07", AUTH_CHALLENGE))
    peer = Mt.MsChapV2Peer(USER, PASSWORD.encode(), lambda n: PEER_CHALLENGE)
    # EAP-Request/MSCHAPv2 Challenge -->   (draft-kamath-pppext-eap-mschapv2 §2)
    challenge = server.initiate()
    assert P.encode(challenge)[:10] == bytes.fromhex("01070024" "1a" "01" "07" "001f" "10")
    # Length 36 = 4 + Type + OpCode, MS-CHAPv2-ID, MS-Length (= Length - 5 = 31) + 1 + 16 + "strongSwan"
    # <-- EAP-Response/MSCHAPv2 Response { Peer-Challenge, 8 zeros, NT-Response, Flags, Name }
    response = peer.process(challenge)
    assert response.data[29:53] == NT_RESPONSE and response.data[5:21] == PEER_CHALLENGE
    # EAP-Request/MSCHAPv2 Success { S=<authenticator response> M=... } -->
    success = server.process(response)
    assert success is not None and AUTHENTICATOR_RESPONSE.encode() in success.data
    # <-- EAP-Response/MSCHAPv2 Success
    assert peer.process(success).data == bytes([Mt.MS_SUCCESS])
    assert server.process(P.EapPacket(P.RESPONSE, success.ident, P.MSCHAPV2,
                                      bytes([Mt.MS_SUCCESS]))) is None
    assert peer.msk == server.msk == X.msk(PASSWORD, NT_RESPONSE)
    assert peer.message == "Welcome2strongSwan"


def test_eap_md5_response_is_rfc1994_hash() -> None:
    req = P.EapPacket(P.REQUEST, 0x5A, P.MD5, bytes([16]) + bytes(range(16)))
    resp = Mt.Md5Peer(b"tuxmux").process(req)
    want = hashlib.md5(b"\x5a" + b"tuxmux" + bytes(range(16))).digest()
    assert resp == P.EapPacket(P.RESPONSE, 0x5A, P.MD5, bytes([16]) + want)
    assert P.encode(resp).hex() == "025a0016041" + "0" + want.hex()


def test_eap_packet_codec_rfc3748_section_4() -> None:
    # Request/Identity with Identifier 0: Code 1, Id 0, Length 5, Type 1
    assert P.encode(P.EapPacket(P.REQUEST, 0, P.IDENTITY)) == bytes.fromhex("0100000501")
    assert P.decode(bytes.fromhex("0200000a01" + b"carol".hex())) == \
        P.EapPacket(P.RESPONSE, 0, P.IDENTITY, b"carol")
    assert P.encode(P.EapPacket(P.SUCCESS, 9)) == bytes.fromhex("03090004")
    assert P.decode(bytes.fromhex("04090004")).name == "EAP_FAILURE"
    # legacy Nak (§5.3.1) naming MSCHAPv2 (26)
    assert P.encode(P.nak(3, P.MSCHAPV2)) == bytes.fromhex("020300060" "31a")
    # bytes past Length are padding (§4.1) and dropped
    assert P.decode(bytes.fromhex("0100000501ffff")).data == b""


@pytest.mark.parametrize("raw, why", [
    ("0100", "shorter than its 4-byte header"),
    ("05000004", "EAP code 5 is not Request"),
    ("01000009010203", "Length 9 does not fit the 7 bytes"),
    ("01000004", "EAP_REQUEST without a Type"),
])
def test_malformed_eap_packets_say_why(raw: str, why: str) -> None:
    with pytest.raises(P.EapError, match=why):
        P.decode(bytes.fromhex(raw))
