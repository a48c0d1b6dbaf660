"""Bytes on the wire for one IPv4 packet through ESP or AH -- measured, not computed.

:func:`overhead` builds a real SA for the proposal (keys from a fixed seed),
protects a real IPv4 packet of the requested size, checks that the result
decapsulates back to the original, and reports the length of what it built.
The breakdown itemises the headers; the padding is what is left, so the
parts always add up to the packet that was actually built.
"""

from __future__ import annotations

import functools
from typing import Any

from . import algorithms as A
from .errors import ConfigError, PacketDrop
from .ip import build_ipv4, udp_packet
from .proposals import parse_proposal
from .rng import Rng
from .sa import SecurityAssociation

MIN_SIZE = 20
MAX_SIZE = 65535
_EXPERIMENTAL_PROTO = 253  # RFC 3692: for packets too short for a UDP header


def sample_packet(size: int) -> bytes:
    """An IPv4 packet of exactly ``size`` bytes: UDP when there is room for it, else raw IP."""
    if size >= 28:
        return udp_packet("192.0.2.1", "198.51.100.1", 40000, 40001, bytes(size - 28))
    return build_ipv4("192.0.2.1", "198.51.100.1", _EXPERIMENTAL_PROTO, bytes(size - 20))


def sa_for(proto: str, mode: str, proposal: str, nat_t: bool = False, seed: int = 0,
           spi: int = 0x1000) -> SecurityAssociation:
    """An SA for the first algorithms of ``proposal`` with seeded keys."""
    if proto not in ("esp", "ah"):
        raise ConfigError(f"protocol {proto!r} must be esp or ah")
    if mode not in ("tunnel", "transport"):
        raise ConfigError(f"mode {mode!r} must be tunnel or transport")
    if nat_t and proto == "ah":
        raise ConfigError("AH cannot traverse NAT: RFC 3948 UDP encapsulation is for ESP only")
    p = parse_proposal(proposal, proto)[0]
    encr = A.encr(*p.encr[0]) if p.encr else None
    integ = A.INTEG_ALGS[p.integ[0]] if p.integ else None
    rng = Rng(seed, f"overhead/{proposal}")
    return SecurityAssociation(
        proto, spi, mode, encr, rng.bytes(encr.keymat_size) if encr else b"",
        integ, rng.bytes(integ.key_size) if integ else b"",
        tunnel_src="203.0.113.1", tunnel_dst="203.0.113.2",
        esn=bool(p.esn and p.esn[0] == A.ESN_YES),
        encap=(4500, 4500) if nat_t else None, rng=rng, replay_window=0)


@functools.lru_cache(maxsize=64)
def _pair(proto: str, mode: str, proposal: str, nat_t: bool) -> tuple[SecurityAssociation, SecurityAssociation]:
    """Sender and receiver for one configuration, kept for repeated calls (sizes do not
    depend on the sequence number or the IV, only on the algorithms)."""
    return sa_for(proto, mode, proposal, nat_t), sa_for(proto, mode, proposal, nat_t)


def overhead(proto: str, mode: str, proposal: str, size: int, nat_t: bool = False) -> dict[str, Any]:
    """Wire size of an original IPv4 packet of ``size`` bytes (header included).

    Returns ``wire_bytes``, ``overhead_bytes``, ``breakdown`` (bytes per part,
    summing to ``overhead_bytes``) and the algorithms used. Raises
    :class:`ConfigError` for a size below 20 or above 65535, or a bad proposal.
    """
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ConfigError(f"size {size} must be between {MIN_SIZE} (an IPv4 header) and {MAX_SIZE}")
    sa, receiver = _pair(proto, mode, proposal, nat_t)
    pkt = sample_packet(size)
    try:
        wire = sa.encapsulate(pkt)
    except PacketDrop as exc:
        raise ConfigError(f"size {size}: {exc.detail}") from None
    # the same seed gives the receiving side the same keys: the packet must come back intact
    if receiver.decapsulate(wire) != pkt:
        raise AssertionError(f"overhead: {proposal} {mode} packet did not decapsulate to the original")
    wire_bytes = len(wire)
    parts: dict[str, int] = {}
    if mode == "tunnel":
        parts["outer IPv4"] = 20
    if nat_t:
        parts["UDP (NAT-T)"] = 8
    if sa.esp is not None:
        t = sa.esp
        parts["ESP header"] = 8
        parts["IV"] = t.iv_size
        fixed = sum(parts.values()) + 2 + t.icv_size
        parts["padding"] = wire_bytes - size - fixed
        parts["pad length + next header"] = 2
        parts["ICV"] = t.icv_size
    else:
        assert sa.ah is not None
        parts["AH header"] = 12
        parts["ICV"] = sa.ah.icv_field
        extra = wire_bytes - size - sum(parts.values())
        if extra:
            parts["other"] = extra
    return {
        "proto": proto,
        "mode": mode,
        "proposal": proposal,
        "algorithms": _describe(sa),
        "nat_t": nat_t,
        "size": size,
        "wire_bytes": wire_bytes,
        "overhead_bytes": wire_bytes - size,
        "breakdown": parts,
    }


def _describe(sa: SecurityAssociation) -> str:
    names = []
    if sa.encr is not None:
        names.append(A.transform_name(A.TRANSFORM_ENCR, sa.encr.iana, sa.encr.key_bits))
    if sa.integ is not None:
        names.append(sa.integ.iana_name)
    return "/".join(names)
