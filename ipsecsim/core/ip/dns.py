"""DNS messages in RFC 1035 wire format (§4.1): the codec of the simulator's resolver and of
its clients' queries. Sans-IO: bytes in, dataclasses out, and back.

A message is a 12-byte header (§4.1.1: ID, flags QR/OPCODE/AA/TC/RD/RA/RCODE, four
counts), then the question section (§4.1.2: QNAME as length-prefixed labels ending in a
zero byte, QTYPE, QCLASS) and the resource records (§4.1.3: NAME, TYPE, CLASS, TTL,
RDLENGTH, RDATA). Names in a message may end in a compression pointer (§4.1.4: two bytes
``11`` + a 14-bit offset); :func:`decode` follows pointers (backwards only, so a loop
cannot be built) and :func:`encode` writes the answers' owner names as a pointer to the
question's name at offset 12, as BIND and Unbound do.

Only what the simulator needs is modelled: A records (type 1) in class IN, NOERROR and
NXDOMAIN; other record types are carried as opaque RDATA. Every malformed input -- a
truncated header or record, a label over 63 bytes, a name over 255, a pointer that does
not point backwards, counts that promise more than the bytes hold, trailing bytes --
raises :class:`~ipsecsim.core.errors.DecodeError` and nothing else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..errors import DecodeError

__all__ = [
    "CLASS_IN", "DNS_PORT", "NOERROR", "FORMERR", "NXDOMAIN", "NOTIMP", "TYPE_A",
    "Message", "Question", "Record", "a_record", "answer", "decode", "encode", "query",
    "check_name",
]

DNS_PORT = 53
TYPE_A = 1
CLASS_IN = 1
NOERROR = 0
FORMERR = 1
NXDOMAIN = 3
NOTIMP = 4
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}

_HDR = struct.Struct("!HHHHHH")
_Q = struct.Struct("!HH")
_RR = struct.Struct("!HHIH")
MAX_NAME = 255
"""Octets of a name on the wire, length bytes and the root's zero included (§2.3.4)."""
MAX_LABEL = 63


@dataclass(frozen=True, slots=True)
class Question:
    """One entry of the question section (§4.1.2)."""

    name: str
    """The QNAME, dotted, without the trailing dot (``""``: the root)."""
    qtype: int = TYPE_A
    qclass: int = CLASS_IN


@dataclass(frozen=True, slots=True)
class Record:
    """One resource record (§4.1.3)."""

    name: str
    rtype: int
    rclass: int
    ttl: int
    rdata: bytes

    @property
    def address(self) -> str:
        """The dotted quad of an A record's RDATA (``""`` for any other record)."""
        if self.rtype != TYPE_A or len(self.rdata) != 4:
            return ""
        return ".".join(str(b) for b in self.rdata)


@dataclass(frozen=True, slots=True)
class Message:
    """A DNS message: the header's fields and its sections."""

    id: int
    """The 16-bit ID that pairs a response with its query."""
    qr: bool = False
    """False: a query; True: a response."""
    opcode: int = 0
    """0: a standard query (QUERY)."""
    aa: bool = False
    tc: bool = False
    rd: bool = True
    ra: bool = False
    rcode: int = NOERROR
    questions: tuple[Question, ...] = ()
    answers: tuple[Record, ...] = ()
    authority: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()

    @property
    def flags(self) -> int:
        return ((self.qr << 15) | ((self.opcode & 0xF) << 11) | (self.aa << 10) | (self.tc << 9)
                | (self.rd << 8) | (self.ra << 7) | (self.rcode & 0xF))

    @property
    def rcode_name(self) -> str:
        return RCODE_NAMES.get(self.rcode, str(self.rcode))


def check_name(name: str) -> str:
    """``name`` without a trailing dot, or a :class:`DecodeError` saying why it can't be
    a QNAME: an empty label, a label over 63 octets, a name over 255 on the wire, or a
    character outside ASCII."""
    n = name[:-1] if name.endswith(".") else name
    if not n:
        return ""
    try:
        raw = n.encode("ascii")
    except UnicodeEncodeError:
        raise DecodeError(f"DNS name {name!r} is not ASCII (IDNA is not modelled)") from None
    labels = raw.split(b".")
    for lab in labels:
        if not lab:
            raise DecodeError(f"DNS name {name!r} has an empty label")
        if len(lab) > MAX_LABEL:
            raise DecodeError(f"DNS name {name!r} has a label of {len(lab)} octets (at most 63)")
    if sum(len(x) + 1 for x in labels) + 1 > MAX_NAME:
        raise DecodeError(f"DNS name {name!r} is over {MAX_NAME} octets")
    return n


def _name(name: str) -> bytes:
    n = check_name(name)
    if not n:
        return b"\x00"
    return b"".join(bytes([len(x)]) + x for x in n.encode("ascii").split(b".")) + b"\x00"


def _record(r: Record, qname: str) -> bytes:
    owner = b"\xc0\x0c" if qname and r.name.lower() == qname.lower() else _name(r.name)
    return owner + _RR.pack(r.rtype, r.rclass, r.ttl, len(r.rdata)) + r.rdata


def encode(m: Message) -> bytes:
    """The wire bytes of ``m`` (answer owner names equal to the first question's name are
    a pointer to it, §4.1.4)."""
    out = [_HDR.pack(m.id & 0xFFFF, m.flags, len(m.questions), len(m.answers),
                     len(m.authority), len(m.additional))]
    for q in m.questions:
        out.append(_name(q.name) + _Q.pack(q.qtype, q.qclass))
    qname = m.questions[0].name if m.questions else ""
    for r in (*m.answers, *m.authority, *m.additional):
        out.append(_record(r, check_name(qname) if qname else ""))
    return b"".join(out)


def _read_name(data: bytes, pos: int) -> tuple[str, int]:
    """(name, offset after it in the message), following compression pointers."""
    labels: list[str] = []
    end = -1
    wire = 0
    limit = pos  # a pointer must point before the name that uses it (no loops)
    while True:
        if pos >= len(data):
            raise DecodeError(f"DNS name runs past the end of the message at offset {pos}")
        n = data[pos]
        if n & 0xC0 == 0xC0:
            if pos + 1 >= len(data):
                raise DecodeError("DNS compression pointer is truncated")
            target = ((n & 0x3F) << 8) | data[pos + 1]
            if target >= limit:
                raise DecodeError(f"DNS compression pointer to offset {target} does not point "
                                  "backwards")
            if end < 0:
                end = pos + 2
            pos = limit = target
            continue
        if n & 0xC0:
            raise DecodeError(f"DNS label type 0x{n & 0xC0:02x} is not defined (RFC 6891 §5)")
        if n == 0:
            wire += 1
            if wire > MAX_NAME:
                raise DecodeError(f"DNS name is over {MAX_NAME} octets")
            return ".".join(labels), (end if end >= 0 else pos + 1)
        if pos + 1 + n > len(data):
            raise DecodeError(f"DNS label of {n} octets is truncated")
        raw = data[pos + 1:pos + 1 + n]
        wire += n + 1
        if wire > MAX_NAME:
            raise DecodeError(f"DNS name is over {MAX_NAME} octets")
        try:
            labels.append(raw.decode("ascii"))
        except UnicodeDecodeError:
            labels.append(raw.decode("latin-1"))
        pos += 1 + n


def decode(data: bytes) -> Message:
    """Parse a whole DNS message; :class:`DecodeError` for anything malformed."""
    data = bytes(data)
    if len(data) < _HDR.size:
        raise DecodeError(f"DNS message of {len(data)} bytes is shorter than its 12-byte header")
    ident, flags, qd, an, ns, ar = _HDR.unpack_from(data)
    pos = _HDR.size
    questions = []
    for _ in range(qd):
        name, pos = _read_name(data, pos)
        if pos + 4 > len(data):
            raise DecodeError("DNS question is truncated after its name")
        qtype, qclass = _Q.unpack_from(data, pos)
        pos += 4
        questions.append(Question(name, qtype, qclass))
    sections: list[list[Record]] = [[], [], []]
    for sec, count in zip(sections, (an, ns, ar), strict=True):
        for _ in range(count):
            name, pos = _read_name(data, pos)
            if pos + _RR.size > len(data):
                raise DecodeError("DNS resource record is truncated after its name")
            rtype, rclass, ttl, rdlen = _RR.unpack_from(data, pos)
            pos += _RR.size
            if pos + rdlen > len(data):
                raise DecodeError(f"DNS RDATA of {rdlen} bytes is truncated")
            rdata = data[pos:pos + rdlen]
            if rtype == TYPE_A and rclass == CLASS_IN and rdlen != 4:
                raise DecodeError(f"DNS A record with {rdlen} bytes of RDATA (must be 4)")
            pos += rdlen
            sec.append(Record(name, rtype, rclass, ttl, rdata))
    if pos != len(data):
        raise DecodeError(f"{len(data) - pos} bytes after the DNS message's last record")
    return Message(id=ident, qr=bool(flags >> 15), opcode=(flags >> 11) & 0xF,
                   aa=bool(flags & 0x400), tc=bool(flags & 0x200), rd=bool(flags & 0x100),
                   ra=bool(flags & 0x80), rcode=flags & 0xF, questions=tuple(questions),
                   answers=tuple(sections[0]), authority=tuple(sections[1]),
                   additional=tuple(sections[2]))


def query(ident: int, name: str, qtype: int = TYPE_A) -> bytes:
    """A standard recursive query (RD set) for ``name`` -- what ``dig name`` sends, without
    the EDNS OPT record."""
    return encode(Message(id=ident, rd=True, questions=(Question(check_name(name), qtype),)))


def a_record(name: str, address: str, ttl: int = 300) -> Record:
    """An A record for ``name`` (``address`` a dotted quad)."""
    parts = address.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise DecodeError(f"{address!r} is not an IPv4 address for an A record")
    return Record(check_name(name), TYPE_A, CLASS_IN, ttl, bytes(int(p) for p in parts))


def answer(q: Message, records: tuple[Record, ...] = (), rcode: int = NOERROR,
           aa: bool = True) -> bytes:
    """The response to query ``q``: same ID and question, QR and RA set, RD copied
    (§4.1.1), ``records`` in the answer section."""
    return encode(Message(id=q.id, qr=True, opcode=q.opcode, aa=aa, rd=q.rd, ra=True,
                          rcode=rcode, questions=q.questions, answers=records))
