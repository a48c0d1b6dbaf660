"""Fuzz properties of the IKEv2 codec: messages, payloads, sealed messages and fragments
(issue 15: "IKE messages and payloads incl. sealed ones, fragments").

Inputs start from strongSwan 5.9.8's own messages (tests/vectors/charon_ike_*.json, with
the keys charon logged), so the damage lands in real payload chains:

* ``message.decode`` without keys: :class:`DecodeError` or a message, never anything else;
* with the SK keys, damaged ciphertext: :class:`IntegrityError` (RFC 7296 §3.14: the ICV
  covers the whole message), never a message;
* plaintext damaged and then sealed again with the real keys, so it passes the ICV and
  reaches the payload decoders: :class:`DecodeError` only;
* every payload decoder on its own, on random bodies;
* RFC 7383 fragments sealed with an established IKE_SA's keys, damaged, in any order:
  ``IkeEndpoint.receive_datagram`` never raises.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ipsecsim.core import algorithms as A
from ipsecsim.core.errors import DecodeError
from ipsecsim.core.ike import fragments as F
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike.kdf import derive_ike_keys
from ipsecsim.core.ike.payloads import DECODERS
from ipsecsim.core.ike.sk import IntegrityError, SkCipher
from ipsecsim.core.rng import Rng
from tests.fuzz.budget import fuzz, only
from tests.fuzz.strategies import mutated
from tests.ike.test_sealed_fuzz import target

VECTORS = sorted((Path(__file__).parents[1] / "vectors").glob("charon_ike_*.json"))


def _charon() -> list[tuple[bytes, SkCipher | None, bytes | None]]:
    """(message, the SK cipher that opens it or None, its inner payload chain) for every
    message of every capture."""
    out: list[tuple[bytes, SkCipher | None, bytes | None]] = []
    for path in VECTORS:
        v = json.loads(path.read_text())
        msgs = [bytes.fromhex(m["hex"]) for m in v["messages"]]
        req, resp = M.decode(msgs[0]), M.decode(msgs[1])
        chosen = resp.find(M.SA).proposals[0].to_proposal()
        encr = A.encr(*chosen.encr[0])
        integ = A.INTEG_ALGS[chosen.integ[0]] if chosen.integ else None
        keys = derive_ike_keys(A.PRF_ALGS[chosen.prf[0]], encr, integ, req.find(M.Nonce).data,
                               resp.find(M.Nonce).data, bytes.fromhex(v["shared_dh_secret"]),
                               resp.spi_i, resp.spi_r)
        sks = {True: SkCipher(encr, integ, keys.sk_ei, keys.sk_ai, Rng(0)),
               False: SkCipher(encr, integ, keys.sk_er, keys.sk_ar, Rng(0))}
        for m in msgs:
            h = M.decode_header(m)
            if h.next_payload != 46:
                out.append((m, None, None))
                continue
            sk = sks[bool(h.flags & M.FLAG_INITIATOR)]
            try:
                inner = sk.open(m[:M.IKE_HEADER_LEN + 4], m[M.IKE_HEADER_LEN + 4:])
            except IntegrityError:
                continue  # a later IKE_SA's message (the rekey capture): keys we did not derive
            out.append((m, sk, inner))
    return out


CHARON = _charon()
SEALED = [c for c in CHARON if c[1] is not None]


def test_the_captures_give_plain_and_sealed_messages() -> None:
    assert len(CHARON) - len(SEALED) >= 8 and len(SEALED) >= 8


@fuzz(300)
@given(st.one_of(st.binary(max_size=200), st.sampled_from(CHARON).flatmap(
    lambda c: mutated(c[0]))))
def test_decode_raises_only_decode_error(wire: bytes) -> None:
    with only("ike.message.decode", DecodeError):
        msg = M.decode(wire)
        assert msg.exchange == wire[18]


@fuzz(200)
@given(st.data())
def test_damaged_sealed_messages_fail_their_icv(data) -> None:  # noqa: ANN001
    m, sk, _inner = data.draw(st.sampled_from(SEALED))
    wire = data.draw(mutated(m, start=M.IKE_HEADER_LEN + 4))
    accepted = None
    with only("ike.message.decode (sealed, damaged)", DecodeError, IntegrityError):
        accepted = M.decode(wire, sk)
    assert accepted is None or wire == m, "a damaged sealed message was accepted"


@fuzz(300)
@given(st.data())
def test_resealed_damaged_plaintext_raises_only_decode_error(data) -> None:  # noqa: ANN001
    m, sk, inner = data.draw(st.sampled_from(SEALED))
    assert sk is not None and inner is not None
    h = M.decode_header(m)
    bent = data.draw(mutated(inner))
    first = m[M.IKE_HEADER_LEN]
    sk_len = 4 + sk.sealed_size(len(bent))
    aad = struct.pack("!8s8sBBBBII", h.spi_i, h.spi_r, 46, 0x20, h.exchange, h.flags, h.msg_id,
                      M.IKE_HEADER_LEN + sk_len) + struct.pack("!BBH", first, 0, sk_len)
    with only("ike.message.decode (sealed, real keys)", DecodeError):
        M.decode(aad + sk.seal(aad, bent), sk)


@fuzz(300)
@given(st.sampled_from(sorted(DECODERS)), st.binary(max_size=120), st.booleans())
def test_every_payload_decoder_raises_only_decode_error(ptype: int, body: bytes,
                                                        critical: bool) -> None:
    """One payload of each known type with a random body, in an IKE_AUTH-shaped message
    (the decoders are internal: ``decode`` is their contract and turns a short read into a
    DecodeError)."""
    payload = struct.pack("!BBH", 0, 0x80 if critical else 0, 4 + len(body)) + body
    wire = struct.pack("!8s8sBBBBII", b"\1" * 8, b"\2" * 8, ptype, 0x20, M.IKE_AUTH, 0x08, 1,
                       M.IKE_HEADER_LEN + len(payload)) + payload
    with only(f"ike payload {M.PAYLOAD_NAMES.get(ptype, ptype)}", DecodeError):
        [p] = M.decode(wire).payloads
        assert p.ptype == ptype


def _fragments(sk: SkCipher, spi_i: bytes, spi_r: bytes, mid: int, first: int,
               chunks: list[bytes], total: int) -> list[bytes]:
    """SKF messages (RFC 7383 §2.5) carrying ``chunks``, each sealed with ``sk``."""
    out = []
    for num, chunk in enumerate(chunks, 1):
        plen = 8 + sk.sealed_size(len(chunk))
        aad = struct.pack("!8s8sBBBBII", spi_i, spi_r, F.SKF, 0x20, M.CREATE_CHILD_SA, 0x08, mid,
                          M.IKE_HEADER_LEN + plen) + struct.pack(
                              ">BBHHH", first if num == 1 else 0, 0, plen, num, total)
        out.append(aad + sk.seal(aad, chunk))
    return out


@fuzz(120)
@given(st.integers(1, 5), st.permutations(range(5)), st.integers(-1, 2), st.data())
def test_sealed_fragments_in_any_order_never_raise(parts: int, order: list[int], skew: int,
                                                   data) -> None:  # noqa: ANN001
    """A real rekey request cut into ``parts`` fragments, sealed with the live keys, some
    damaged, the Total Fragments field skewed, delivered in any order."""
    t = target()
    sa_b = t.sa_b()
    assert sa_b is not None and t.sa_a.sk_out is not None
    inner = t.rekey_inner
    if data.draw(st.booleans()):
        inner = data.draw(mutated(inner))
    step = max(1, -(-len(inner) // parts))
    chunks = [inner[i:i + step] for i in range(0, len(inner), step)] or [b""]
    frags = _fragments(t.sa_a.sk_out, t.sa_a.spi_i, t.sa_a.spi_r, sa_b.next_recv_mid,
                       t.rekey_first, chunks, max(0, len(chunks) + skew))
    if data.draw(st.booleans()):
        k = data.draw(st.integers(0, len(frags) - 1))
        frags[k] = data.draw(mutated(frags[k]))
    ep = t.pair.b.ike
    assert ep is not None
    for i in [o for o in order if o < len(frags)]:
        with only("IkeEndpoint.receive_datagram (fragments)"):
            ep.receive_datagram(frags[i], (t.sa_a.local[0], 500), (t.sa_a.remote[0], 500), 2.0)
            ep.datagrams_to_send(2.0)
            while ep.next_event() is not None:
                pass
