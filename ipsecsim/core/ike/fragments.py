"""IKEv2 message fragmentation (RFC 7383): the SKF payload, splitting and reassembly.

Negotiation (§2.3) lives in ``tasks/ike_init.py``: both IKE_SA_INIT messages carry
N(IKEV2_FRAGMENTATION_SUPPORTED) unless a side says ``fragmentation: no``. Once both
announced it, an encrypted message (IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL; never
IKE_SA_INIT, §2.5) whose datagram would exceed the fragment size is split here.

Each fragment is a whole IKE message (same header fields and message ID, its own
length) with one Encrypted Fragment payload (§2.5)::

    IKE header (next payload SKF=53) | Next Payload | C | Length |
    Fragment Number | Total Fragments | IV | E(content | padding | pad length) | ICV

Next Payload is the first inner payload's type in fragment 1 and 0 in the others
(§2.5); each fragment is encrypted with its own IV, padding and ICV (§2.5.3), the
associated data / integrity covering the IKE header through Total Fragments.

The fragment size is the whole IP datagram, as strongswan.conf's ``charon.fragment_size``
(default 1280): a fragment's IKE message is that minus the IPv4 (20) and UDP (8)
headers and the non-ESP marker (4) on port 4500 (strongSwan ``message.c`` ``fragment()``).

Reassembly (§2.6): per IKE_SA and direction (request / response) one message at a
time; a fragment is decrypted and its ICV verified before it is kept; a duplicate is
ignored, a fragment with a larger Total Fragments restarts the message, one with a
smaller one is dropped (§2.6); invalid ones are dropped and counted
(``IkeEndpoint.drops``). Memory is bounded like strongSwan's ``message.c``
``add_fragment_v2()``: at most :data:`MAX_FRAGMENTS` fragments and
:data:`MAX_PACKET` bytes of content per message.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import DecodeError
from ..natt import NON_ESP_MARKER
from . import message as M
from .constants import FLAG_INITIATOR, FLAG_RESPONSE, IKE_HEADER_LEN, SKF
from .message import _chain, _parse_chain
from .sk import IntegrityError, SkCipher

if TYPE_CHECKING:
    from .context import TaskContext
    from .endpoint import IkeEndpoint
    from .ikesa import IkeSa

DEFAULT_FRAGMENT_SIZE = 1280
"""strongswan.conf ``charon.fragment_size``: bytes of a fragment's whole IP datagram."""
MIN_FRAGMENT_SIZE = 576
"""The smallest fragment size accepted in a config (RFC 791's minimum datagram every host takes)."""
MAX_FRAGMENTS = 255
"""strongSwan ``message.c`` ``MAX_FRAGMENTS``: a larger Total Fragments is refused."""
MAX_PACKET = 10000
"""strongswan.conf ``charon.max_packet`` (default 10000): bytes a reassembled message may have."""
IP_UDP_OVERHEAD = 28
"""IPv4 header (20, no options) and UDP header (8)."""

_HDR = struct.Struct(">8s8sBBBBII")
_SKF = struct.Struct(">BBHHH")
SKF_HEADER_LEN = IKE_HEADER_LEN + _SKF.size
"""IKE header and the SKF payload up to Total Fragments: a fragment's associated data."""


def max_message_len(fragment_size: int, natt: bool) -> int:
    """Bytes of IKE message that fit in a ``fragment_size`` IP datagram (``natt``: port 4500)."""
    return fragment_size - IP_UDP_OVERHEAD - (4 if natt else 0)


def is_fragment(data: bytes) -> bool:
    """Whether an IKE message (non-ESP marker removed) starts with an SKF payload."""
    return len(data) > 16 and data[16] == SKF


def fragment_number(data: bytes) -> int:
    """The Fragment Number of an SKF message (0 if too short to have one)."""
    return int.from_bytes(data[32:34], "big") if len(data) >= SKF_HEADER_LEN else 0


def split(msg: M.IkeMessage, sk: SkCipher, max_len: int) -> list[bytes]:
    """``msg`` as SKF fragments of at most ``max_len`` bytes each (RFC 7383 §2.5)."""
    inner = _chain(msg.payloads)
    first = msg.payloads[0].ptype if msg.payloads else 0
    b = sk._block
    room = max_len - SKF_HEADER_LEN - sk.iv_size - sk.icv_size  # for padded ciphertext
    per = room // b * b - 1  # content bytes per fragment (at least the pad-length byte)
    if per < 1:
        raise ValueError(f"a {max_len}-byte IKE message leaves no room for fragment content")
    chunks = [inner[i:i + per] for i in range(0, len(inner), per)] or [b""]
    total = len(chunks)
    if total > MAX_FRAGMENTS:
        raise ValueError(f"{len(inner)} bytes need {total} fragments, more than {MAX_FRAGMENTS}")
    flags = (FLAG_INITIATOR if msg.initiator else 0) | (FLAG_RESPONSE if msg.response else 0)
    out = []
    for num, chunk in enumerate(chunks, 1):
        plen = _SKF.size + sk.sealed_size(len(chunk))
        aad = _HDR.pack(msg.spi_i, msg.spi_r, SKF, 0x20, msg.exchange, flags, msg.msg_id,
                        IKE_HEADER_LEN + plen) + _SKF.pack(first if num == 1 else 0, 0, plen,
                                                          num, total)
        out.append(aad + sk.seal(aad, chunk))
    return out


def sends_fragments(sa: IkeSa) -> bool:
    """Whether we fragment this IKE_SA's large messages: both announced support, and our
    ``fragmentation`` is ``yes`` or ``force`` (``accept`` announces but never sends them)."""
    return sa.peer_fragmentation and sa.conn.fragmentation in ("yes", "force")


def marked(sa: IkeSa, data: bytes) -> bytes:
    """The UDP payload for IKE message ``data`` of ``sa``: behind a non-ESP marker on port
    4500 (RFC 3948 §2.2), as is on 500."""
    return NON_ESP_MARKER + data if sa.local[1] == 4500 else data


def encode(ep: TaskContext, sa: IkeSa, msg: M.IkeMessage) -> list[bytes]:
    """The UDP payloads of an encrypted message: one, or its fragments when it is too big.

    Sets ``msg.fragments`` to the number of fragments (0: sent whole)."""
    sk = sa.sk_out
    assert sk is not None, "encrypted message before IKE_SA_INIT made keys"
    natt = sa.local[1] == 4500
    limit = max_message_len(ep.config.fragment_size, natt)
    inner = _chain(msg.payloads)
    whole = IKE_HEADER_LEN + 4 + sk.sealed_size(len(inner))
    if whole <= limit or not sends_fragments(sa):
        return [marked(sa, M.encode_chained(msg, sk, inner))]
    parts = split(msg, sk, limit)
    msg.fragments = len(parts)
    return [marked(sa, p) for p in parts]


@dataclass
class Reassembly:
    """The fragments received so far of one message (RFC 7383 §2.6)."""

    msg_id: int
    exchange: int
    total: int
    parts: dict[int, bytes] = field(default_factory=dict)
    """Fragment Number -> decrypted content."""
    first_payload: int = 0
    """Next Payload of fragment 1: the type of the first inner payload."""
    first: bytes = b""
    """Fragment 1 as received (the responder's retransmission check compares it)."""
    content: int = 0
    """Content bytes kept so far (bounded by :data:`MAX_PACKET`)."""
    wire: int = 0
    """IKE bytes of the fragments kept (without non-ESP markers)."""
    done: bool = False


def receive(ep: IkeEndpoint, sa: IkeSa, data: bytes) -> M.IkeMessage | None:
    """Take one SKF message (marker removed) of ``sa``; the whole message once complete.

    Returns None while fragments are missing and for a fragment dropped (counted in
    ``ep.drops`` with a reason). Message ID and I/R flags were checked by the caller.
    """
    if sa.conn.fragmentation == "no":
        ep.drop("fragment_not_negotiated",
                "SKF fragment, but we did not announce IKEV2_FRAGMENTATION_SUPPORTED")
        return None
    if len(data) < SKF_HEADER_LEN:
        ep.drop("malformed", f"SKF message of {len(data)} bytes is too short")
        return None
    spi_i, spi_r, _, _, exch, flags, msg_id, _ = _HDR.unpack_from(data)
    nxt, _, plen, num, total = _SKF.unpack_from(data, IKE_HEADER_LEN)
    if plen != len(data) - IKE_HEADER_LEN:
        ep.drop("malformed", "SKF payload is not the only payload of its message")
        return None
    if not 1 <= num <= total:
        ep.drop("bad_fragment", f"fragment #{num} of {total}")
        return None
    if total > MAX_FRAGMENTS:
        ep.drop("bad_fragment", f"{total} fragments, more than {MAX_FRAGMENTS}")
        return None
    assert sa.sk_in is not None  # the endpoint drops SK messages that come before the keys
    try:
        content = sa.sk_in.open(data[:SKF_HEADER_LEN], data[SKF_HEADER_LEN:])
    except IntegrityError as exc:
        ep.drop("integrity", f"fragment #{num} of {total} of {sa.name} failed its check: {exc}")
        return None
    except DecodeError as exc:
        ep.drop("malformed", f"fragment #{num} of {total}: {exc}")
        return None
    response = bool(flags & FLAG_RESPONSE)
    r = sa.reassembly.get(response)
    if r is not None and r.msg_id == msg_id and not r.done:
        if total < r.total:
            ep.drop("bad_fragment", f"fragment #{num} says {total} fragments, "
                    f"earlier ones {r.total} (RFC 7383 §2.6: discarded)")
            return None
        if num in r.parts and total == r.total:
            ep.drop("duplicate_fragment", f"fragment #{num} of {total}, message ID {msg_id}")
            return None
        if r.exchange != exch:
            ep.drop("bad_fragment", f"fragment #{num} of message ID {msg_id} changes the "
                    "exchange type")
            return None
    if r is None or r.msg_id != msg_id or r.done or total > r.total:
        r = sa.reassembly[response] = Reassembly(msg_id, exch, total)  # new, or restarted
    r.parts[num] = content
    r.content += len(content)
    r.wire += len(data)
    if num == 1:
        r.first_payload, r.first = nxt, data
    if r.content > MAX_PACKET:
        del sa.reassembly[response]
        ep.drop("fragment_too_large", f"message ID {msg_id} exceeds {MAX_PACKET} bytes")
        return None
    if len(r.parts) < r.total:
        return None
    r.done = True
    plain = b"".join(r.parts[i] for i in range(1, r.total + 1))
    r.parts.clear()
    payloads: list = []
    try:
        _parse_chain(plain, 0, len(plain), r.first_payload, payloads, None, False)
    except (struct.error, IndexError, DecodeError) as exc:
        ep.drop("malformed", f"reassembled message ID {msg_id}: {exc}")
        return None
    msg = M.IkeMessage(spi_i, spi_r, exch, msg_id, bool(flags & FLAG_INITIATOR), response,
                       payloads, True)
    msg.fragments = r.total
    return msg


def received_as(sa: IkeSa, msg: M.IkeMessage, data: bytes) -> bytes:
    """The bytes that stand for ``msg`` in the retransmission check: fragment 1 when it came
    in fragments (RFC 7383 §2.6.1: only a retransmitted fragment 1 is answered)."""
    if msg.fragments:
        r = sa.reassembly.get(msg.response)
        if r is not None and r.done and r.msg_id == msg.msg_id:
            return r.first
    return data


def wire_size(sa: IkeSa, msg: M.IkeMessage, data: bytes, natt: bool) -> int:
    """UDP payload bytes ``msg`` arrived in (all fragments, with their non-ESP markers)."""
    if msg.fragments:
        r = sa.reassembly.get(msg.response)
        if r is not None and r.done and r.msg_id == msg.msg_id:
            return r.wire + (4 * r.total if natt else 0)
    return len(data) + (4 if natt else 0)
