"""IKEv2 message codec and SK payload (ipsecsim.core.ike.message / payloads / sk).

Oracles: real messages from strongSwan 5.9.8 (tests/vectors/charon_ike_*.json,
captured by tests/vectors/capture_charon_ike.py with the keys charon logged), and
tshark 4.0's IKEv2 dissector, which decrypts our SK payloads with an
``ikev2_decryption_table``.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipsecsim.core import algorithms as A
from ipsecsim.core.errors import DecodeError, IpsecSimError
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike.kdf import derive_ike_keys
from ipsecsim.core.ike.message import (
    CP,
    ID,
    KE,
    SA,
    TS,
    Auth,
    Cert,
    CertReq,
    Delete,
    EapPayload,
    Encrypted,
    IkeMessage,
    IntegrityError,
    InvalidMajorVersion,
    Nonce,
    Notify,
    SaProposal,
    SkCipher,
    Transform,
    Unknown,
    UnsupportedCriticalPayload,
    VendorID,
    decode,
    decode_header,
    encode,
    proposals_from_sa,
    sa_proposals_from,
)
from ipsecsim.core.proposals import Proposal, parse_proposals
from ipsecsim.core.rng import Rng
from ipsecsim.core.selectors import TrafficSelector
from tests.fuzz.budget import fuzz
from tests.helpers.oracles import need_tool
from tests.helpers.paths import VECTORS

CHARON = sorted(VECTORS.glob("charon_ike_*.json"))
SPI_I, SPI_R = bytes.fromhex("0123456789abcdef"), bytes.fromhex("fedcba9876543210")


def _msg(payloads, exchange=M.IKE_AUTH, msg_id=1, initiator=True, response=False):
    return IkeMessage(SPI_I, SPI_R, exchange, msg_id, initiator, response, payloads)


def _every_payload() -> list:
    props = parse_proposals(["aes256-sha256-ecp384", "aes128gcm16-prfsha256-x25519"])
    return [
        SA(sa_proposals_from(props, b"")),
        SA(sa_proposals_from(parse_proposals("aes128gcm16-esn", "esp"), b"\x11\x22\x33\x44")),
        KE(A.CURVE25519, bytes(range(32))),
        Nonce(b"\xaa" * 32),
        ID(True, M.ID_FQDN, b"gw-a.example"),
        ID(False, M.ID_IPV4_ADDR, bytes([192, 0, 2, 1])),
        Cert(M.CERT_X509_SIGNATURE, b"\x30\x82\x01\x00" + b"c" * 40),
        CertReq(M.CERT_X509_SIGNATURE, b"h" * 40),
        Auth(M.AUTH_SHARED_KEY_MIC, b"m" * 32),
        Notify(M.NAT_DETECTION_SOURCE_IP, data=b"s" * 20),
        Notify(M.REKEY_SA, A.PROTO_ESP, b"\x01\x02\x03\x04"),
        Notify(M.NO_PROPOSAL_CHOSEN),
        Delete(A.PROTO_ESP, [b"\x00\x00\x10\x01", b"\x00\x00\x10\x02"]),
        Delete(A.PROTO_IKE, []),
        VendorID(b"strongSwan"),
        TS(True, [TrafficSelector.parse("10.1.0.0/16"), TrafficSelector.parse("10.9.0.5[udp/53]")]),
        TS(False, [TrafficSelector.parse("0.0.0.0/0")],
           others=[struct.pack(">BBHHH", M.TS_IPV6_ADDR_RANGE, 0, 40, 0, 65535) + bytes(32)]),
        CP(M.CFG_REQUEST, [(M.INTERNAL_IP4_ADDRESS, b""), (M.INTERNAL_IP4_DNS, b"")]),
        CP(M.CFG_REPLY, [(M.INTERNAL_IP4_ADDRESS, bytes([10, 0, 0, 7]))]),
        EapPayload(b"\x01\x02\x00\x05\x01"),  # RFC 7296 §3.16: a Request/Identity
    ]


def test_every_payload_round_trips_in_one_message() -> None:
    msg = _msg(_every_payload())
    data = encode(msg)
    assert decode_header(data).length == len(data)
    assert decode(data) == msg
    assert encode(decode(data)) == data


@pytest.mark.parametrize("payload", _every_payload(), ids=lambda p: type(p).__name__)
def test_each_payload_round_trips_alone(payload) -> None:
    msg = _msg([payload])
    assert decode(encode(msg)) == msg


def test_summary_names_payloads_by_direction() -> None:
    msg = _msg([SA([]), KE(31, b"k" * 32), Nonce(b"n" * 32),
                Notify(M.NAT_DETECTION_SOURCE_IP, data=b"x" * 20),
                Notify(M.NAT_DETECTION_DESTINATION_IP, data=b"y" * 20)],
               exchange=M.IKE_SA_INIT, msg_id=0)
    assert msg.summary() == ("IKE_SA_INIT request { SA, KE, Ni, N(NAT_DETECTION_SOURCE_IP), "
                             "N(NAT_DETECTION_DESTINATION_IP) }")
    resp = _msg([ID(False, M.ID_FQDN, b"b"), Auth(2, b"a"), TS(True, []), TS(False, []),
                 Nonce(b"n" * 16), Notify(40000)], response=True, initiator=False)
    assert resp.summary() == "IKE_AUTH response { IDr, AUTH, TSi, TSr, Nr, N(40000) }"
    assert _msg([], exchange=M.INFORMATIONAL).summary() == "INFORMATIONAL request { }"


def test_find_helpers() -> None:
    payloads = _every_payload()
    msg = _msg(payloads)
    assert msg.find(KE) is payloads[2]
    assert msg.find(Encrypted) is None
    assert len(msg.find_all(Notify)) == 3
    assert msg.notify(M.REKEY_SA).spi == b"\x01\x02\x03\x04"
    assert msg.notify(M.COOKIE) is None
    assert msg.find_id(False).data == bytes([192, 0, 2, 1])
    assert msg.find_ts(True).selectors[1].port_start == 53
    assert msg.notify(M.NO_PROPOSAL_CHOSEN).is_error and not msg.notify(M.REKEY_SA).is_error


def test_id_body_is_what_auth_signs() -> None:
    # RFC 7296 §2.15: RestOfInitIDPayload = the ID payload without its generic header
    idi = ID(True, M.ID_FQDN, b"gw-a.example")
    wire = encode(_msg([idi]))
    assert wire[28 + 4:] == idi.body == bytes([M.ID_FQDN, 0, 0, 0]) + b"gw-a.example"


def test_proposal_conversion_both_ways() -> None:
    props = parse_proposals(["aes256-sha384-modp3072", "aes128gcm16-chacha20poly1305-prfsha512-x25519"])
    wire = sa_proposals_from(props, b"")
    assert [p.num for p in wire] == [1, 2]
    # Key Length attribute for AES (RFC 7296 §3.3.5), none for ChaCha20-Poly1305 (RFC 7634 §2)
    aes = wire[0].transforms[0]
    assert (aes.type, aes.id, aes.key_bits) == (A.TRANSFORM_ENCR, A.ENCR_AES_CBC, 256)
    chacha = [t for t in wire[1].transforms if t.id == A.ENCR_CHACHA20_POLY1305]
    assert chacha[0].key_bits == 0
    back = proposals_from_sa(decode(encode(_msg([SA(wire)]))).find(SA))
    for orig, got in zip(props, back, strict=True):
        assert (got.protocol, got.encr, got.integ, got.prf, got.dh) == \
            (orig.protocol, orig.encr, orig.integ, orig.prf, orig.dh)
    esp = sa_proposals_from(parse_proposals("aes128-sha256-esn", "esp"), b"\xc0\x00\x00\x01")
    assert esp[0].protocol == A.PROTO_ESP and esp[0].spi == b"\xc0\x00\x00\x01"
    assert proposals_from_sa(esp)[0].esn == (A.ESN_YES,)
    # ESN is mandatory in ESP/AH proposals (RFC 7296 §3.3.3): "no ESN" is sent when not chosen
    ah = sa_proposals_from([Proposal("ah", (), (A.AUTH_HMAC_SHA2_256_128,))], b"\0\0\1\0")
    assert [(t.type, t.id) for t in ah[0].transforms] == \
        [(A.TRANSFORM_INTEG, A.AUTH_HMAC_SHA2_256_128), (A.TRANSFORM_ESN, A.ESN_NO)]
    odd = SaProposal(1, A.PROTO_IKE, b"", [Transform(A.TRANSFORM_ENCR, 12, 128), Transform(9, 1)])
    assert odd.unknown_transform_types() == [9]


# ------------------------------------------------------------------ malformed input


def test_header_errors() -> None:
    data = encode(_msg([Nonce(b"n" * 16)]))
    with pytest.raises(DecodeError, match="shorter than its 28-byte header"):
        decode_header(data[:27])
    with pytest.raises(DecodeError, match="header says"):
        decode(data + b"\0")
    with pytest.raises(DecodeError, match="header says"):
        decode(data[:-1])
    h = decode_header(data)
    assert (h.major, h.minor, h.exchange, h.msg_id, h.initiator, h.response) == \
        (2, 0, M.IKE_AUTH, 1, True, False)
    v3 = bytearray(data)
    v3[17] = 0x30
    with pytest.raises(InvalidMajorVersion) as exc:
        decode(bytes(v3))
    assert exc.value.notify_type == M.INVALID_MAJOR_VERSION and exc.value.major == 3


def test_payload_length_errors() -> None:
    data = bytearray(encode(_msg([Nonce(b"n" * 16), VendorID(b"v" * 8)])))
    bad = bytearray(data)
    struct.pack_into(">H", bad, 28 + 2, 3)  # payload length below 4
    with pytest.raises(DecodeError, match="bad length"):
        decode(bytes(bad))
    bad = bytearray(data)
    struct.pack_into(">H", bad, 28 + 2, 200)  # runs past the end
    with pytest.raises(DecodeError, match="bad length"):
        decode(bytes(bad))
    bad = bytearray(data)
    bad[28] = 0  # Nonce's header now says "no next payload": VendorID left over
    with pytest.raises(DecodeError, match="after the last payload"):
        decode(bytes(bad))
    truncated_ke = encode(_msg([Unknown(M.PT_KE, False, b"\x00")]))
    with pytest.raises(DecodeError, match="KE payload"):
        decode(truncated_ke)


def test_unknown_payloads_critical_or_not() -> None:
    ok = decode(encode(_msg([Unknown(200, False, b"zz"), Nonce(b"n" * 16)])))
    assert ok.payloads[0] == Unknown(200, False, b"zz")
    with pytest.raises(UnsupportedCriticalPayload) as exc:
        decode(encode(_msg([Nonce(b"n" * 16), Unknown(201, True, b"zz")])))
    assert exc.value.payload_type == 201
    assert exc.value.notify_type == M.UNSUPPORTED_CRITICAL_PAYLOAD
    assert isinstance(exc.value, DecodeError)


def test_sa_substructure_errors() -> None:
    sa = SA(sa_proposals_from(parse_proposals("aes128-sha256-x25519"), b""))
    good = bytearray(encode(_msg([sa])))
    bad = bytearray(good)
    bad[28 + 4 + 7] += 1  # one transform more than the proposal holds
    with pytest.raises(DecodeError):
        decode(bytes(bad))
    bad = bytearray(good)
    bad[28 + 4 + 0] = 7  # last-substruc must be 0 or 2
    with pytest.raises(DecodeError, match="last-substruc"):
        decode(bytes(bad))


@fuzz(300)  # make fuzz scales it
@given(st.data())
def test_mutated_messages_raise_only_decode_errors(data) -> None:
    """Any byte flip, cut or insertion either decodes or raises DecodeError -- never anything else."""
    wire = bytearray(encode(_msg(_every_payload())))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(28, len(wire) - 1))
        wire[pos] = data.draw(st.integers(0, 255))
    try:
        decode(bytes(wire))
    except DecodeError:
        pass


@given(st.binary(max_size=120))
def test_garbage_raises_decode_error(blob: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(blob)


@given(
    st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
                       st.integers(0, 255), st.integers(0, 65535), st.integers(0, 65535)),
             max_size=8),
    st.booleans(),
)
def test_ts_round_trip_property(raw, initiator) -> None:
    sels = [TrafficSelector(min(a, b), max(a, b), p, min(x, y), max(x, y)) for a, b, p, x, y in raw]
    msg = _msg([TS(initiator, sels)])
    assert decode(encode(msg)) == msg


@given(st.integers(0, 65535), st.sampled_from([0, 1, 2, 3]), st.binary(max_size=8),
       st.binary(max_size=64))
def test_notify_round_trip_property(ntype, proto, spi, blob) -> None:
    msg = _msg([Notify(ntype, proto, spi, blob)])
    assert decode(encode(msg)) == msg


# ------------------------------------------------------------------ SK payload


def _suites():
    out = []
    for bits in (128, 192, 256):
        for integ in (A.AUTH_HMAC_SHA1_96, A.AUTH_HMAC_SHA2_256_128, A.AUTH_HMAC_SHA2_384_192,
                      A.AUTH_HMAC_SHA2_512_256):
            out.append((A.encr(A.ENCR_AES_CBC, bits), A.INTEG_ALGS[integ]))
        out.append((A.encr(A.ENCR_AES_GCM_16, bits), None))
    out.append((A.encr(A.ENCR_CHACHA20_POLY1305, 0), None))
    return out


SUITES = _suites()


def _ciphers(encr, integ, seed=1):
    r = Rng(seed, "keys")
    key_e = r.bytes(encr.keymat_size)
    key_a = r.bytes(integ.key_size) if integ else b""
    return SkCipher(encr, integ, key_e, key_a, Rng(seed, "iv")), key_e, key_a


@pytest.mark.parametrize("encr, integ", SUITES,
                         ids=[f"{e.name}-{i.name if i else 'aead'}" for e, i in SUITES])
def test_sk_seal_open_tamper_wrong_key(encr, integ) -> None:
    sk, key_e, key_a = _ciphers(encr, integ)
    msg = _msg([ID(True, M.ID_FQDN, b"gw-a.example"), Auth(2, b"a" * 32),
                TS(True, [TrafficSelector.parse("10.1.0.0/16")]), TS(False, [])])
    wire = encode(msg, sk)
    h = decode_header(wire)
    assert h.next_payload == M.SK and h.length == len(wire)
    assert wire[28] == M.IDi  # SK generic header names the first inner payload
    assert decode(wire, sk) == msg
    assert decode(wire, sk).encrypted and not decode(encode(msg), sk).encrypted
    assert decode(wire).payloads == [Encrypted(M.IDi, wire[32:])]
    if encr.aead:
        assert len(wire) == 28 + 4 + 8 + len(encode(msg)) - 28 + 1 + 16  # no alignment padding
    else:
        assert (len(wire) - 32 - 16 - integ.icv_size) % 16 == 0
    # a flipped bit anywhere in the authenticated bytes -- SPIs, exchange, flags, message ID,
    # the SK header, IV, ciphertext, ICV -- fails the ICV check
    for pos in (0, 8, 18, 19, 20, 23, 29, 33, len(wire) // 2, len(wire) - 1):
        bad = bytearray(wire)
        bad[pos] ^= 0x04
        with pytest.raises(IntegrityError):
            decode(bytes(bad), sk)
    # length fields are checked before the ICV: a DecodeError
    for pos in (27, 31):
        bad = bytearray(wire)
        bad[pos] ^= 0x04
        with pytest.raises(DecodeError):
            decode(bytes(bad), sk)
    other = Rng(99).bytes(encr.keymat_size)
    wrong = SkCipher(encr, integ, other, key_a, Rng(0)) if encr.aead else \
        SkCipher(encr, integ, key_e, Rng(98).bytes(integ.key_size), Rng(0))
    with pytest.raises(IntegrityError, match="does not verify"):
        decode(wire, wrong)
    assert not issubclass(IntegrityError, DecodeError) and issubclass(IntegrityError, IpsecSimError)


def test_sk_fresh_iv_per_message_and_seeded() -> None:
    encr, integ = A.encr(A.ENCR_AES_CBC, 128), A.INTEG_ALGS[A.AUTH_HMAC_SHA2_256_128]
    sk, key_e, key_a = _ciphers(encr, integ)
    msg = _msg([Nonce(b"n" * 16)])
    a, b = encode(msg, sk), encode(msg, sk)
    assert a[32:48] != b[32:48] and a != b
    again = SkCipher(encr, integ, key_e, key_a, Rng(1, "iv"))
    assert encode(msg, again) == a  # same seed, same bytes


def test_sk_padding_and_short_bodies() -> None:
    encr, integ = A.encr(A.ENCR_AES_CBC, 128), A.INTEG_ALGS[A.AUTH_HMAC_SHA2_256_128]
    sk, *_ = _ciphers(encr, integ)
    for n in range(0, 40):
        assert sk.open(b"aad", sk.seal(b"aad", bytes(range(n)))) == bytes(range(n))
        assert sk.sealed_size(n) == len(sk.seal(b"aad", bytes(n)))
    with pytest.raises(DecodeError, match="too short"):
        sk.open(b"aad", b"x" * 20)
    gcm, *_ = _ciphers(A.encr(A.ENCR_AES_GCM_16, 128), None)
    with pytest.raises(DecodeError, match="too short"):
        gcm.open(b"aad", b"x" * 24)


def test_sk_key_sizes_are_checked() -> None:
    encr, integ = A.encr(A.ENCR_AES_GCM_16, 256), A.INTEG_ALGS[A.AUTH_HMAC_SHA2_256_128]
    with pytest.raises(ValueError, match="36-byte SK_e"):
        SkCipher(encr, None, bytes(32), b"", Rng(0))
    with pytest.raises(ValueError, match="no integrity"):
        SkCipher(encr, integ, bytes(36), bytes(32), Rng(0))
    with pytest.raises(ValueError, match="needs an integrity"):
        SkCipher(A.encr(A.ENCR_AES_CBC, 128), None, bytes(16), b"", Rng(0))


# ------------------------------------------------------------------ strongSwan's messages


def _charon(path: Path):
    v = json.loads(path.read_text())
    return v, [bytes.fromhex(m["hex"]) for m in v["messages"]]


@pytest.mark.parametrize("path", CHARON, ids=lambda p: p.stem.removeprefix("charon_ike_"))
def test_strongswan_ike_sa_init_decodes(path: Path) -> None:
    v, msgs = _charon(path)
    req, resp = decode(msgs[0]), decode(msgs[1])
    assert req.summary() == (
        "IKE_SA_INIT request { SA, KE, Ni, N(NAT_DETECTION_SOURCE_IP), "
        "N(NAT_DETECTION_DESTINATION_IP), N(IKEV2_FRAGMENTATION_SUPPORTED), "
        "N(SIGNATURE_HASH_ALGORITHMS), N(REDIRECT_SUPPORTED) }")
    assert resp.summary().startswith("IKE_SA_INIT response { SA, KE, Nr, N(NAT_DETECTION_SOURCE_IP)")
    assert (req.msg_id, req.initiator, req.response, req.spi_r) == (0, True, False, bytes(8))
    assert (resp.initiator, resp.response, resp.spi_i) == (False, True, req.spi_i)
    # the offer is exactly the proposal string charon was configured with
    want = parse_proposals(v["ike_proposal"])[0]
    offered = proposals_from_sa(req.find(SA))
    assert len(offered) == 1
    assert (offered[0].encr, offered[0].integ, offered[0].prf, offered[0].dh) == \
        (want.encr, want.integ, want.prf, want.dh)
    ke = req.find(KE)
    assert ke.group == want.dh[0] and len(ke.data) == A.DH_GROUPS[ke.group].public_size
    assert len(req.find(Nonce).data) == 32
    assert len(req.notify(M.NAT_DETECTION_SOURCE_IP).data) == 20  # a SHA-1 hash (§2.23)
    # RFC 7427 §4: SIGNATURE_HASH_ALGORITHMS lists 2-byte hash identifiers
    hashes = req.notify(M.SIGNATURE_HASH_ALGORITHMS).data
    assert M.HASH_SHA2_256 in struct.unpack(f">{len(hashes) // 2}H", hashes)
    # and re-encoding gives charon's bytes back, byte for byte
    assert encode(req) == msgs[0] and encode(resp) == msgs[1]


@pytest.mark.parametrize("path", CHARON, ids=lambda p: p.stem.removeprefix("charon_ike_"))
def test_strongswan_sk_payloads_open_with_derived_keys(path: Path) -> None:
    v, msgs = _charon(path)
    req, resp = decode(msgs[0]), decode(msgs[1])
    chosen = resp.find(SA).proposals[0].to_proposal()
    encr = A.encr(*chosen.encr[0])
    integ = A.INTEG_ALGS[chosen.integ[0]] if chosen.integ else None
    keys = derive_ike_keys(A.PRF_ALGS[chosen.prf[0]], encr, integ, req.find(Nonce).data,
                           resp.find(Nonce).data, bytes.fromhex(v["shared_dh_secret"]),
                           resp.spi_i, resp.spi_r)
    sk_i = SkCipher(encr, integ, keys.sk_ei, keys.sk_ai, Rng(0))
    sk_r = SkCipher(encr, integ, keys.sk_er, keys.sk_ar, Rng(0))
    auth_req = decode(msgs[2], sk_i)
    assert auth_req.summary().startswith("IKE_AUTH request { IDi, N(INITIAL_CONTACT), IDr, AUTH, "
                                         "SA, TSi, TSr")
    assert auth_req.find_id(True).data == b"a.example"
    assert auth_req.find_id(True).id_type == M.ID_FQDN
    assert auth_req.find(Auth).method == M.AUTH_SHARED_KEY_MIC
    assert str(auth_req.find_ts(True).selectors[0]) == "192.168.10.1/32"
    assert str(auth_req.find_ts(False).selectors[0]) == "192.168.20.1/32"
    child = auth_req.find(SA).proposals[0]
    assert child.protocol == A.PROTO_ESP and len(child.spi) == 4
    auth_resp = decode(msgs[3], sk_r)
    assert auth_resp.summary().startswith("IKE_AUTH response { IDr, AUTH, SA, TSi, TSr")
    assert auth_resp.find_id(False).data == b"b.example"
    # keys for the wrong direction must not open it
    with pytest.raises(IntegrityError):
        decode(msgs[3], sk_i)
    # our encoder, given the same IV, reproduces charon's ciphertext and ICV
    if not encr.aead:
        iv = msgs[2][32:48]

        class FixedIv(Rng):
            def bytes(self, n: int) -> bytes:
                return iv

        again = encode(auth_req, SkCipher(encr, integ, keys.sk_ei, keys.sk_ai, FixedIv(0)))
        assert len(again) == len(msgs[2])
        assert decode(again, sk_i) == auth_req


def test_wireshark_published_ike_sa_init_decodes() -> None:
    """A real IKE_SA_INIT pair from Wireshark's test captures (see the vector file's source)."""
    v = json.loads((VECTORS / "wireshark_ikev2_aes128ccm12_sa_init.json").read_text())
    wire = [bytes.fromhex(m["hex"]) for m in v["messages"]]
    req, resp = decode(wire[0]), decode(wire[1])
    assert req.summary() == ("IKE_SA_INIT request { SA, KE, Ni, N(NAT_DETECTION_SOURCE_IP), "
                             "N(NAT_DETECTION_DESTINATION_IP), N(SIGNATURE_HASH_ALGORITHMS) }")
    assert resp.summary() == ("IKE_SA_INIT response { SA, KE, Nr, N(NAT_DETECTION_SOURCE_IP), "
                              "N(NAT_DETECTION_DESTINATION_IP), N(MULTIPLE_AUTH_SUPPORTED) }")
    assert req.spi_i == resp.spi_i == bytes.fromhex("ea684d21597afd36")
    assert resp.spi_r == bytes.fromhex("d9fe2ab22dac23ac") and req.spi_r == bytes(8)
    # one proposal: ENCR_AES_CCM_12 (id 15) with a 128-bit key, PRF_HMAC_SHA2_256, ECP_256
    (prop,) = req.find(SA).proposals
    assert [(t.type, t.id, t.key_bits) for t in prop.transforms] == \
        [(A.TRANSFORM_ENCR, 15, 128), (A.TRANSFORM_PRF, A.PRF_HMAC_SHA2_256, 0),
         (A.TRANSFORM_DH, A.ECP_256, 0)]
    assert resp.find(SA) == req.find(SA)
    for m in (req, resp):
        assert m.find(KE).group == A.ECP_256 and len(m.find(KE).data) == 64
        assert len(m.find(Nonce).data) == 32
    # RFC 7427 §4: SHA1, SHA2-256, SHA2-384, SHA2-512
    assert req.notify(M.SIGNATURE_HASH_ALGORITHMS).data == bytes.fromhex("0001000200030004")
    assert [encode(req), encode(resp)] == wire


# ------------------------------------------------------------------ tshark as the oracle


def _pcap(datagrams: list[bytes]) -> bytes:
    """pcap (LINKTYPE_RAW) of IPv4/UDP 500 packets carrying the given IKE messages."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)]
    for i, payload in enumerate(datagrams):
        udp = struct.pack(">HHHH", 500, 500, 8 + len(payload), 0) + payload
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                         bytes([192, 0, 2, 1 + i % 2]), bytes([192, 0, 2, 2 - i % 2]))
        csum = sum(struct.unpack(">10H", ip))
        csum = (csum & 0xFFFF) + (csum >> 16)
        csum = ~((csum & 0xFFFF) + (csum >> 16)) & 0xFFFF
        ip = ip[:10] + struct.pack(">H", csum) + ip[12:]
        pkt = ip + udp
        out.append(struct.pack("<IIII", i, 0, len(pkt), len(pkt)) + pkt)
    return b"".join(out)


@pytest.mark.oracle
@pytest.mark.parametrize("encr, integ", [
    (A.encr(A.ENCR_AES_CBC, 256), A.INTEG_ALGS[A.AUTH_HMAC_SHA2_256_128]),
    (A.encr(A.ENCR_AES_CBC, 128), A.INTEG_ALGS[A.AUTH_HMAC_SHA2_512_256]),
    (A.encr(A.ENCR_AES_GCM_16, 256), None),
    (A.encr(A.ENCR_AES_GCM_16, 128), None),
], ids=["aes256-sha256", "aes128-sha512", "aes256gcm16", "aes128gcm16"])
def test_tshark_dissects_and_decrypts_our_messages(encr, integ) -> None:
    tshark = need_tool("tshark")
    r = Rng(5, "k")
    sk_ei, sk_er = r.bytes(encr.keymat_size), r.bytes(encr.keymat_size)
    sk_ai, sk_ar = (r.bytes(integ.key_size), r.bytes(integ.key_size)) if integ else (b"", b"")
    every = _every_payload()
    init = _msg([every[0], every[2], every[3], Notify(M.NAT_DETECTION_SOURCE_IP, data=b"s" * 20)],
                exchange=M.IKE_SA_INIT, msg_id=0)
    auth = _msg([ID(True, M.ID_FQDN, b"gw-a.example"), Notify(M.INITIAL_CONTACT),
                 Auth(M.AUTH_SHARED_KEY_MIC, b"m" * 32),
                 SA(sa_proposals_from(parse_proposals("aes128gcm16", "esp"), b"\xc1\x00\x00\x01")),
                 TS(True, [TrafficSelector.parse("10.1.0.0/16")]),
                 TS(False, [TrafficSelector.parse("10.2.0.0/16")])])
    reply = _msg([ID(False, M.ID_RFC822_ADDR, b"peer@b.example"), Auth(2, b"r" * 32)],
                 initiator=False, response=True)
    wire = [encode(init), encode(auth, SkCipher(encr, integ, sk_ei, sk_ai, Rng(1))),
            encode(reply, SkCipher(encr, integ, sk_er, sk_ar, Rng(2)))]
    integ_name = integ.wireshark_ikev2 if integ else "NONE [RFC4306]"
    uat = (f'{SPI_I.hex()},{SPI_R.hex()},{sk_ei.hex()},{sk_er.hex()},"{encr.wireshark_ikev2}",'
           f'{sk_ai.hex()},{sk_ar.hex()},"{integ_name}"')
    with tempfile.TemporaryDirectory() as d:
        Path(d, "ikev2_decryption_table").write_text(uat + "\n")
        Path(d, "ike.pcap").write_bytes(_pcap(wire))
        env = dict(os.environ, WIRESHARK_CONFIG_DIR=d)
        out = subprocess.run(
            [tshark, "-r", str(Path(d, "ike.pcap")), "-T", "fields", "-E", "separator=|",
             "-e", "isakmp.exchangetype", "-e", "isakmp.typepayload", "-e", "isakmp.id.data.fqdn",
             "-e", "isakmp.id.data.user_fqdn", "-e", "isakmp.notify.msgtype", "-e", "_ws.expert"],
            capture_output=True, text=True, env=env, timeout=60, check=True).stdout
    rows = [line.split("|") for line in out.strip().splitlines()]
    assert len(rows) == 3, out
    for row in rows:  # payload types only, not SA's proposal (2) and transform (3) substructures
        row[1] = ",".join(t for t in row[1].split(",") if int(t) >= 33)
    for row in rows:
        assert "Malformed" not in row[-1], row
    assert rows[0][0] == "34"
    assert rows[0][1].split(",") == ["33", "34", "40", "41"]
    # after decryption the SK payload's contents show up, in our order
    assert rows[1][1].split(",") == ["46", "35", "41", "39", "33", "44", "45"], rows[1]
    assert rows[1][2] == "gw-a.example"
    assert rows[1][4] == str(M.INITIAL_CONTACT)
    assert rows[2][1].split(",") == ["46", "36", "39"], rows[2]
    assert rows[2][3] == "peer@b.example"
