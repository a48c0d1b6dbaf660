"""Proposal selection (RFC 7296 §2.7, §3.3) and traffic selector narrowing (§2.9).

Each failure is a :class:`NegotiationError` carrying the notify it maps to and a
sentence a student can act on, e.g.::

    peer offered ENCR_AES_CBC_128/AUTH_HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024;
    we accept only ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384; no common ENCR, PRF, DH

The responder takes the first of the initiator's proposals that one of its own
proposals allows, transform type by transform type, taking the initiator's
first acceptable transform of each type (strongSwan's default, which prefers
the peer's order).

Proposals from the wire are read duck-typed: anything with ``.num``,
``.protocol``, ``.spi`` and ``.transforms`` (items with ``.type``, ``.id``,
``.key_bits``), so this module does not depend on the codec.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from .. import algorithms as A
from ..errors import IpsecSimError
from ..proposals import Proposal
from ..selectors import TrafficSelector
from .constants import PROTOCOL_IDS

if TYPE_CHECKING:
    from .payloads import SaProposal

T_ENCR, T_PRF, T_INTEG, T_DH, T_ESN = (
    A.TRANSFORM_ENCR, A.TRANSFORM_PRF, A.TRANSFORM_INTEG, A.TRANSFORM_DH, A.TRANSFORM_ESN,
)
_TYPE_ORDER = (T_ENCR, T_INTEG, T_PRF, T_DH, T_ESN)
_PROTO_NUM = PROTOCOL_IDS
_PROTO_NAME = {v: k for k, v in _PROTO_NUM.items()}


class NegotiationError(IpsecSimError):
    """No acceptable proposal or selectors; ``notify`` names the IKEv2 notify to send."""

    def __init__(self, notify: str, sentence: str) -> None:
        super().__init__(sentence)
        self.notify = notify
        self.sentence = sentence


@dataclass(frozen=True, slots=True)
class Suite:
    """The one transform of each type both sides agreed on."""

    protocol: str
    """``ike``, ``esp`` or ``ah``."""
    num: int
    """Proposal number of the initiator's proposal that was taken."""
    transforms: tuple[tuple[int, int, int], ...]
    """(type, id, key bits) in wire order, to echo back in the response."""
    spi: bytes = b""
    """SPI the proposer put in its proposal (the peer's inbound SPI for ESP/AH)."""
    encr: A.EncrAlg | None = None
    integ: A.IntegAlg | None = None
    prf: A.PrfAlg | None = None
    dh: int = 0
    """DH group (0: none)."""
    esn: bool = False

    def describe(self) -> str:
        return _describe_wire(self.transforms)


_make_suite = lru_cache(maxsize=4096)(Suite)
"""Suites are immutable values: the same choice (and SPI) gives the same object."""


def proposal_transforms(p: Proposal) -> list[tuple[int, int, int]]:
    """Wire transforms (type, id, key bits) of one configured proposal, in offer order."""
    out = [(T_ENCR, i, b) for i, b in p.encr]
    out += [(T_PRF, i, 0) for i in p.prf]
    out += [(T_INTEG, i, 0) for i in p.integ]
    out += [(T_DH, g, 0) for g in p.dh]
    if p.protocol != "ike":
        out += [(T_ESN, e, 0) for e in (p.esn or (A.ESN_NO,))]
    return out


@lru_cache(maxsize=1024)
def _ours_by_type(p: Proposal) -> dict[int, list[tuple[int, int]]]:
    return _by_type(proposal_transforms(p))


def _wire(prop: SaProposal) -> list[tuple[int, int, int]]:
    return [(t.type, t.id, getattr(t, "key_bits", 0) or 0) for t in prop.transforms]


def _by_type(ts: Iterable[tuple[int, int, int]]) -> dict[int, list[tuple[int, int]]]:
    out: dict[int, list[tuple[int, int]]] = {}
    for t, i, b in ts:
        out.setdefault(t, []).append((i, b))
    return out


@lru_cache(maxsize=1024)
def _describe_cached(ts: tuple[tuple[int, int, int], ...]) -> str:
    ordered = sorted(ts, key=lambda x: _TYPE_ORDER.index(x[0]) if x[0] in _TYPE_ORDER else 9)
    return "/".join(A.transform_name(t, i, b) for t, i, b in ordered)


def _describe_wire(ts: Sequence[tuple[int, int, int]]) -> str:
    """ENCR/INTEG/PRF/DH[/ESN] names, e.g. ``ENCR_AES_CBC_128/AUTH_HMAC_SHA1_96/PRF_HMAC_SHA1``."""
    return _describe_cached(tuple(ts))


def _protocol_name(p: int | str) -> str:
    if isinstance(p, str):
        return p
    return _PROTO_NAME.get(p) or str(p)


_ABSENT = [(0, 0)]
"""A transform type a proposal lacks: no DH, no INTEG (AEAD), NO_ESN (ESN_NO is 0)."""


def _match(offered: dict[int, list[tuple[int, int]]], ours: dict[int, list[tuple[int, int]]],
           strip_dh: bool) -> dict[int, tuple[int, int]] | None:
    chosen: dict[int, tuple[int, int]] = {}
    for t in _TYPE_ORDER:
        if t not in offered and t not in ours or (strip_dh and t == T_DH):
            continue
        theirs = offered.get(t) or _ABSENT
        mine = ours.get(t) or _ABSENT
        if t == T_INTEG and (A.AUTH_NONE, 0) in theirs:  # AEAD: NONE = no INTEG (RFC 5282 §8)
            theirs = [x for x in theirs if x[0] != A.AUTH_NONE] or _ABSENT
        pick = next((x for x in theirs if x in mine), None)
        if pick is None:
            return None
        chosen[t] = pick
    return chosen


def _suite_parts(chosen: dict[int, tuple[int, int]]) -> tuple:
    """(transforms, encr, integ, prf, dh, esn) of a Suite for the chosen transforms."""
    transforms = tuple(
        (t, chosen[t][0], chosen[t][1]) for t in _TYPE_ORDER
        if t in chosen and not (t in (T_DH, T_INTEG) and chosen[t] == (0, 0))
    )
    encr = A.encr(*chosen[T_ENCR]) if T_ENCR in chosen else None
    integ_id = chosen.get(T_INTEG, (0, 0))[0]
    integ = A.INTEG_ALGS.get(integ_id) if integ_id else None
    prf = A.PRF_ALGS.get(chosen[T_PRF][0]) if T_PRF in chosen else None
    return (transforms, encr, integ, prf, chosen.get(T_DH, (0, 0))[0],
            chosen.get(T_ESN, (0, 0))[0] == A.ESN_YES)


@lru_cache(maxsize=4096)
def _choose(wire: tuple[tuple[int, int, int], ...], ours: tuple[Proposal, ...], protocol: str,
            strip_dh: bool) -> tuple | None:
    """Suite parts for one offered proposal against all of ours (pure, so cached)."""
    offered_t = _by_type(x for x in wire if _known(*x))
    for p in ours:
        if p.protocol == protocol:
            chosen = _match(offered_t, _ours_by_type(p), strip_dh)
            if chosen is not None:
                return _suite_parts(chosen)
    return None


def _known(t: int, i: int, b: int) -> bool:
    if t == T_ENCR:
        return (i, b) in A.ENCR_ALGS
    if t == T_INTEG:
        return i in A.INTEG_ALGS or i == A.AUTH_NONE
    if t == T_PRF:
        return i in A.PRF_ALGS
    if t == T_DH:
        return i in A.DH_GROUPS
    return t == T_ESN and i in (A.ESN_NO, A.ESN_YES)


def select_proposal(offered: Sequence[SaProposal], ours: Sequence[Proposal], protocol: str,
                    strip_dh: bool = False) -> Suite:
    """The responder's choice among the initiator's ``offered`` proposals (wire objects).

    ``strip_dh``: ignore DH transforms (the first CHILD_SA, negotiated in IKE_AUTH,
    has no KE; RFC 7296 §1.2). Raises :class:`NegotiationError` (NO_PROPOSAL_CHOSEN).
    """
    want = _PROTO_NUM[protocol]
    ours_t = tuple(ours)
    for prop in offered:
        if _protocol_name(prop.protocol) != protocol and prop.protocol != want:
            continue
        wire = tuple((t.type, t.id, t.key_bits or 0) for t in prop.transforms)
        parts = _choose(wire, ours_t, protocol, strip_dh)
        if parts is not None:
            transforms, encr, integ, prf, dh, esn = parts
            return _make_suite(protocol, prop.num, transforms, bytes(prop.spi or b""), encr,
                               integ, prf, dh, esn)
    raise NegotiationError("NO_PROPOSAL_CHOSEN", explain_mismatch(offered, ours, protocol, strip_dh))


def explain_mismatch(offered: Sequence[SaProposal], ours: Sequence[Proposal], protocol: str,
                     strip_dh: bool = False) -> str:
    """The sentence for NO_PROPOSAL_CHOSEN: what each side offered, what had nothing in common."""
    mine = [p for p in ours if p.protocol == protocol]
    theirs = [p for p in offered if _protocol_name(p.protocol) == protocol]
    if not theirs:
        got = ", ".join(sorted({_protocol_name(p.protocol).upper() for p in offered})) or "nothing"
        return f"peer offered {got} proposals; we accept only {protocol.upper()}"
    offered_all = _by_type(x for p in theirs for x in _wire(p))
    ours_all = _by_type(x for p in mine for x in proposal_transforms(p))
    missing = []
    for t in _TYPE_ORDER:
        if strip_dh and t == T_DH:
            continue
        a = set(offered_all.get(t, ()))
        b = set(ours_all.get(t, ()))
        if t == T_INTEG:  # (0, 0): a proposal without INTEG (AEAD), as in _match
            a = {x for x in a if x[0] != A.AUTH_NONE}
            a |= {(0, 0) for p in theirs if not any(
                x[0] == T_INTEG and x[1] != A.AUTH_NONE for x in _wire(p))}
            b |= {(0, 0) for p in mine if not p.integ}
        if t == T_ESN:
            a = a or {(A.ESN_NO, 0)}
            b = b or {(A.ESN_NO, 0)}
        if (a or b) and not (a & b):
            if t == T_INTEG and ((0, 0) in a or (0, 0) in b):
                if "ENCR" not in missing:  # else implied by ENCR: AEAD on one side only
                    missing.append("INTEG (AEAD cipher on one side only)")
            else:
                missing.append(A.TRANSFORM_TYPE_NAMES[t])
    strip = (lambda ts: [x for x in ts if x[0] != T_DH]) if strip_dh else (lambda ts: ts)
    peer = ", ".join(_describe_wire(strip(_wire(p))) for p in theirs)
    we = ", ".join(_describe_wire(strip(proposal_transforms(p))) for p in mine) or "nothing"
    why = (f"no common {', '.join(missing)}" if missing
           else "each transform type has something in common, but no single proposal "
                "has all of them together")
    return f"peer offered {peer}; we accept only {we}; {why}"


# --------------------------------------------------------------------------- traffic selectors


def resolve_ts(items: Sequence[str], own_addr: str) -> list[TrafficSelector]:
    """swanctl selectors to TrafficSelectors; ``dynamic`` becomes ``own_addr``/32."""
    return list(_resolve_ts(tuple(items), own_addr))


@lru_cache(maxsize=1024)
def _resolve_ts(items: tuple[str, ...], own_addr: str) -> tuple[TrafficSelector, ...]:
    return tuple(TrafficSelector.host(own_addr) if it.lower() == "dynamic"
                 else TrafficSelector.parse(it) for it in items)


def narrow(offered: Sequence[TrafficSelector], allowed: Sequence[TrafficSelector]
           ) -> list[TrafficSelector]:
    """RFC 7296 §2.9: the parts of the peer's selectors that our policy allows (may be empty)."""
    out: list[TrafficSelector] = []
    for o in offered:
        for a in allowed:
            x = o.intersect(a)
            if x is not None and x not in out:
                out.append(x)
    return out


def _ts_text(ts: Sequence[TrafficSelector]) -> str:
    return ", ".join(str(t) for t in ts) or "nothing"


def narrow_pair(tsi: Sequence[TrafficSelector], tsr: Sequence[TrafficSelector],
                our_remote: Sequence[TrafficSelector], our_local: Sequence[TrafficSelector]
                ) -> tuple[list[TrafficSelector], list[TrafficSelector]]:
    """Responder narrowing of (TSi, TSr) against (its remote_ts, its local_ts).

    Raises :class:`NegotiationError` (TS_UNACCEPTABLE) naming the refused selectors.
    """
    ni = narrow(tsi, our_remote)
    nr = narrow(tsr, our_local)
    if ni and nr:
        return ni, nr
    parts = []
    if not ni:
        parts.append(f"TSi {_ts_text(tsi)} is outside our remote_ts {_ts_text(our_remote)}")
    if not nr:
        parts.append(f"TSr {_ts_text(tsr)} is outside our local_ts {_ts_text(our_local)}")
    raise NegotiationError("TS_UNACCEPTABLE", "refused selectors: " + "; ".join(parts))


def check_narrowed(proposed: Sequence[TrafficSelector], answered: Sequence[TrafficSelector],
                   side: str) -> None:
    """Initiator check: the responder may only narrow (§2.9), never widen."""
    for a in answered:
        if not any(a.is_subset_of(p) for p in proposed):
            raise NegotiationError(
                "TS_UNACCEPTABLE",
                f"responder answered {side} {a}, which is not inside what we proposed "
                f"({_ts_text(proposed)})",
            )
