"""Published ESP vectors: each test names where its numbers come from."""

from __future__ import annotations

import json
import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from ipsecsim.core import algorithms as A
from ipsecsim.core.errors import PacketDrop
from ipsecsim.core.esp import AeadTransform, CbcHmacTransform
from ipsecsim.core.ip import build_ipv4, header_checksum, parse_ipv4
from ipsecsim.core.rng import Rng
from ipsecsim.core.sa import SecurityAssociation
from tests.helpers.dataplane import CHACHA, SHA256, SHA384, SHA512
from tests.helpers.paths import VECTORS

MCGREW = json.loads((VECTORS / "esp_gcm_mcgrew.json").read_text())["vectors"]


def _gcm(key_salt: bytes) -> A.EncrAlg:
    return A.encr(A.ENCR_AES_GCM_16, (len(key_salt) - 4) * 8)


# ---------------------------------------------------------------- draft-mcgrew-gcm-test-01


@pytest.mark.parametrize("v", MCGREW, ids=[f"page{v['page']}-{i}" for i, v in enumerate(MCGREW)])
def test_mcgrew_gcm_esp_packets_open(v):
    """draft-mcgrew-gcm-test-01 §3-4: our AES-GCM ESP transform opens the draft's packets.

    The SPI and sequence number come from the AAD (12 bytes: ESN, RFC 4106 §5);
    the IV from the packet. A wrong nonce or AAD construction fails the tag.
    """
    key_salt = bytes.fromhex(v["key_salt"])
    aad = bytes.fromhex(v["aad"])
    esn = len(aad) == 12
    if esn:
        spi, hi, lo = struct.unpack("!III", aad)
    else:
        (spi, lo), hi = struct.unpack("!II", aad), 0
    t = AeadTransform(_gcm(key_salt), key_salt, esn)
    esp = struct.pack("!II", spi, lo) + bytes.fromhex(v["iv"] + v["ciphertext"] + v["tag"])
    payload, nh = t.open(esp, (hi << 32) | lo)
    # the draft's trailers carry next header 1; padding is 1, 2, ... (checked by open)
    assert nh == 1
    if payload[:1] == b"\x45":
        # an IPv4 header with a valid checksum (the draft's total lengths count the
        # trailer too, so the packet as a whole does not parse)
        assert header_checksum(payload) == 0
    tampered = bytearray(esp)
    tampered[-1] ^= 0x80
    with pytest.raises(PacketDrop) as exc:
        t.open(bytes(tampered), (hi << 32) | lo)
    assert exc.value.reason == "bad_icv"


def test_mcgrew_page7_through_a_transport_sa():
    """draft-mcgrew-gcm-test-01 page 7 (SPI 0xa5f8, seq 10, AES-128): the whole SA path,
    outer IPv4 header, replay window and trailer included."""
    v = next(x for x in MCGREW if x["page"] == 7)
    key_salt = bytes.fromhex(v["key_salt"])
    spi, seq = struct.unpack("!II", bytes.fromhex(v["aad"]))
    esp = struct.pack("!II", spi, seq) + bytes.fromhex(v["iv"] + v["ciphertext"] + v["tag"])
    wire = build_ipv4("192.168.1.2", "192.168.1.1", 50, esp)
    sa = SecurityAssociation("esp", spi, "transport", _gcm(key_salt), key_salt, None, b"", rng=Rng(0))
    out = sa.decapsulate(wire)
    h = parse_ipv4(out)  # header rebuilt: protocol from next header, length, checksum
    payload, nh = AeadTransform(_gcm(key_salt), key_salt, False).open(esp, seq)
    assert (h.proto, h.src_str, h.dst_str) == (nh, "192.168.1.2", "192.168.1.1")
    assert out[20:] == payload and h.total_length == len(out)
    with pytest.raises(PacketDrop) as exc:
        sa.decapsulate(wire)
    assert exc.value.reason == "replay"


# ---------------------------------------------------------------- RFC 7634 Appendix A

# RFC 7634 Appendix A ("ESP Example"): SPI 0x01020304, sequence 5, key 80..9f,
# salt a0a1a2a3, IV 1011121314151617; the plaintext is an 84-byte ICMP echo
# followed by padding 01 02, pad length 02 and next header 04.
RFC7634_KEY = bytes(range(0x80, 0xA0)) + bytes.fromhex("a0a1a2a3")
RFC7634_IV = bytes.fromhex("1011121314151617")
RFC7634_INNER = bytes.fromhex(
    "45000054a6f200004001e778c6336405c000020508005b7a3a080000553bec10"
    "0007362708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223"
    "2425262728292a2b2c2d2e2f3031323334353637")
RFC7634_CT = bytes.fromhex(
    "24039428b97f417e3c13753a4f05087b67c352e6a7fab1b982d466ef407ae5c6"
    "14ee8099d52844eb61aa95dfab4c02f72aa71e7c4c4f64c9befe2facc638e8f3"
    "cbec163fac469b502773f6fb94e664da9165b82829f641e0")
RFC7634_TAG = bytes.fromhex("76aaa8266b7fb0f7b11b369907e1ad43")


def test_rfc7634_appendix_a_opens():
    t = AeadTransform(CHACHA, RFC7634_KEY, esn=False)
    esp = bytes.fromhex("0102030400000005") + RFC7634_IV + RFC7634_CT + RFC7634_TAG
    assert t.open(esp, 5) == (RFC7634_INNER, 4)


def test_rfc7634_appendix_a_seal_builds_the_same_plaintext_and_aad():
    """Our seal pads the example's 84 bytes exactly as the RFC does; decrypting what we
    sent with the RFC's nonce construction (salt || our IV) and AAD gives the RFC plaintext."""
    t = AeadTransform(CHACHA, RFC7634_KEY, esn=False)
    esp = t.seal(0x01020304, 5, RFC7634_INNER, 4)
    assert esp[:8] == bytes.fromhex("0102030400000005")
    assert len(esp) == 8 + 8 + len(RFC7634_CT) + 16
    pt = ChaCha20Poly1305(RFC7634_KEY[:32]).decrypt(RFC7634_KEY[32:] + esp[8:16], esp[16:], esp[:8])
    assert pt == RFC7634_INNER + bytes.fromhex("01020204")


# ---------------------------------------------------------------- RFC 4106 (GCM) seal side


def test_gcm_seal_follows_rfc4106_nonce_and_aad():
    """RFC 4106 §3.1/§4/§5: nonce = salt || IV, AAD = SPI || seq, or SPI || seq-hi || seq-lo with ESN."""
    v = next(x for x in MCGREW if x["page"] == 6)  # its key, with our own packet
    key_salt = bytes.fromhex(v["key_salt"])
    for esn, seq in ((False, 7), (True, (0x87654321 << 32) | 7)):
        t = AeadTransform(_gcm(key_salt), key_salt, esn)
        esp = t.seal(0x4321, seq, b"payload!", 4)
        iv = esp[8:16]
        assert int.from_bytes(iv, "big") == seq  # the IV is the 64-bit sequence number
        aad = struct.pack("!III", 0x4321, seq >> 32, seq & 0xFFFFFFFF) if esn else esp[:8]
        pt = AESGCM(key_salt[:16]).decrypt(key_salt[16:] + iv, esp[16:], aad)
        assert pt == b"payload!" + bytes.fromhex("01020204")


# ---------------------------------------------------------------- RFC 4868 §2.7.2 HMAC-SHA2 ICVs

# RFC 4868 §2.7.2 authenticator test cases: key = 0x0b repeated (key length =
# hash length), data "Hi There" (AUTH-1), and key "Jefe" repeated, data
# "what do ya want for nothing?" (AUTH-2); the ICV is the truncated HMAC.
RFC4868 = [
    (SHA256, b"\x0b" * 32, b"Hi There",
     "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7"),
    (SHA384, b"\x0b" * 48, b"Hi There",
     "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee9737a959796489bddbc"
     "4c5df61d5b3297b4fb68dab9f1b582c2"),
    (SHA512, b"\x0b" * 64, b"Hi There",
     "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"
     "ac2878ebd5803f6f0b61dbce5e251ff8789a4722c1be65aea45fd464e89f8f5b"),
    (SHA256, b"Jefe" * 8, b"what do ya want for nothing?",
     "167f928588c5cc2eef8e3093caa0e87c9ff566a14794aa61648d81621a2a40c6"),
    (SHA384, b"Jefe" * 12, b"what do ya want for nothing?",
     "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184da86a368e9b8e16f5"
     "349524ca4e82400cbde0686d403371c9"),
]


@pytest.mark.parametrize("integ,key,data,full", RFC4868, ids=[f"{r[0].name}-{i}" for i, r in enumerate(RFC4868)])
def test_rfc4868_truncated_icv(integ, key, data, full):
    t = CbcHmacTransform(A.encr(A.ENCR_NULL, 0), b"", integ, key, esn=False, rng=None)
    icv = t.icv(data, 0)
    assert len(icv) == integ.icv_size == {32: 16, 48: 24, 64: 32}[len(key)]
    assert icv == bytes.fromhex(full)[:integ.icv_size]


# ---------------------------------------------------------------- RFC 3602 §4 (AES-CBC)

RFC3602 = json.loads((VECTORS / "esp_cbc_rfc3602.json").read_text())["vectors"]


class _FixedIv:
    """An Rng stand-in that hands out the vector's IV."""

    def __init__(self, iv: bytes) -> None:
        self.iv = iv

    def bytes(self, n: int) -> bytes:
        assert n == len(self.iv)
        return self.iv


@pytest.mark.parametrize("v", RFC3602, ids=[f"case{v['case']}" for v in RFC3602])
def test_rfc3602_cbc_cases(v):
    """RFC 3602 §4 cases #5-#8: with the RFC's IV our CBC transform sends the RFC's bytes
    (padding 1, 2, ... included); the RFC packets have no ICV, so ours is appended to open them."""
    key, esp = bytes.fromhex(v["key"]), bytes.fromhex(v["esp"])
    payload = bytes.fromhex(v["payload"])
    t = CbcHmacTransform(A.encr(A.ENCR_AES_CBC, 128), key, SHA256, bytes(32), esn=False,
                         rng=_FixedIv(bytes.fromhex(v["iv"])))
    sealed = t.seal(v["spi"], v["seq"], payload, v["next_header"])
    assert sealed[:-16] == esp and sealed[-16:] == t.icv(esp, v["seq"])
    assert t.open(esp + t.icv(esp, v["seq"]), v["seq"]) == (payload, v["next_header"])
