"""Bytes on the wire for one IPv4 or IPv6 packet through ESP or AH -- measured, not computed.

:func:`overhead` builds a real SA for the proposal (keys from a fixed seed),
protects a real IPv4 packet of the requested size, checks that the result
decapsulates back to the original, and reports the length of what it built.
The breakdown itemises the headers; the padding is what is left, so the
parts always add up to the packet that was actually built.

``ip`` is the outer family and ``inner`` the protected packet's (tunnel mode may mix
them: 4in6, 6in4; transport mode keeps one). An IPv4-only SA is the
:class:`~ipsecsim.core.sa.SecurityAssociation` it always was; any IPv6 makes a
:class:`~ipsecsim.core.sa6.DualStackSA`.
"""

from __future__ import annotations

import functools
from typing import Any

from . import algorithms as A
from .errors import ConfigError, PacketDrop
from .ip import build_ipv4, udp_packet
from .ip.ipv6 import build_ipv6, build_udp6
from .proposals import parse_proposal
from .rng import Rng
from .sa import SecurityAssociation
from .sa6 import make_sa

MIN_SIZE = 20
MAX_SIZE = 65535
_EXPERIMENTAL_PROTO = 253  # RFC 3692: for packets too short for a UDP header


MIN_SIZE_V6 = 40
_TUNNEL_ADDRS = {4: ("203.0.113.1", "203.0.113.2"), 6: ("2001:db8::1", "2001:db8::2")}


def sample_packet(size: int, family: int = 4) -> bytes:
    """An IP packet of ``family`` of exactly ``size`` bytes: UDP when there is room for it,
    else raw IP."""
    if family == 6:
        if size >= 48:
            return build_udp6("2001:db8:1::1", "2001:db8:2::1", 40000, 40001, bytes(size - 48))
        return build_ipv6("2001:db8:1::1", "2001:db8:2::1", _EXPERIMENTAL_PROTO, bytes(size - 40))
    if size >= 28:
        return udp_packet("192.0.2.1", "198.51.100.1", 40000, 40001, bytes(size - 28))
    return build_ipv4("192.0.2.1", "198.51.100.1", _EXPERIMENTAL_PROTO, bytes(size - 20))


def _families(mode: str, ip: int, inner: int | None) -> tuple[int, int]:
    if ip not in (4, 6) or inner not in (None, 4, 6):
        raise ConfigError(f"IP families must be 4 or 6, got --ip {ip} --inner {inner}")
    fam = (ip, ip if inner is None else inner)
    if mode == "transport" and fam[0] != fam[1]:
        raise ConfigError("transport mode keeps the packet's own header: --inner must equal --ip")
    return fam


def sa_for(proto: str, mode: str, proposal: str, nat_t: bool = False, seed: int = 0,
           spi: int = 0x1000, ip: int = 4, inner: int | None = None) -> SecurityAssociation:
    """An SA for the first algorithms of ``proposal`` with seeded keys; ``ip``/``inner``
    are the outer and inner families (inner defaults to ``ip``)."""
    if proto not in ("esp", "ah"):
        raise ConfigError(f"protocol {proto!r} must be esp or ah")
    if mode not in ("tunnel", "transport"):
        raise ConfigError(f"mode {mode!r} must be tunnel or transport")
    if nat_t and proto == "ah":
        raise ConfigError("AH cannot traverse NAT: RFC 3948 UDP encapsulation is for ESP only")
    p = parse_proposal(proposal, proto)[0]
    encr = A.encr(*p.encr[0]) if p.encr else None
    integ = A.INTEG_ALGS[p.integ[0]] if p.integ else None
    fam = _families(mode, ip, inner)
    rng = Rng(seed, f"overhead/{proposal}")
    src, dst = _TUNNEL_ADDRS[fam[0]]
    return make_sa(
        proto, spi, mode, encr, rng.bytes(encr.keymat_size) if encr else b"",
        integ, rng.bytes(integ.key_size) if integ else b"",
        tunnel_src=src, tunnel_dst=dst, families=fam,
        esn=bool(p.esn and p.esn[0] == A.ESN_YES),
        encap=(4500, 4500) if nat_t else None, rng=rng, replay_window=0)


@functools.lru_cache(maxsize=64)
def _pair(proto: str, mode: str, proposal: str, nat_t: bool, ip: int = 4,
          inner: int | None = None) -> tuple[SecurityAssociation, SecurityAssociation]:
    """Sender and receiver for one configuration, kept for repeated calls (sizes do not
    depend on the sequence number or the IV, only on the algorithms)."""
    return (sa_for(proto, mode, proposal, nat_t, ip=ip, inner=inner),
            sa_for(proto, mode, proposal, nat_t, ip=ip, inner=inner))


def overhead(proto: str, mode: str, proposal: str, size: int, nat_t: bool = False,
             ip: int = 4, inner: int | None = None) -> dict[str, Any]:
    """Wire size of an original packet of ``size`` bytes (header included), IPv4 unless
    ``inner`` (or, in transport mode or by default, ``ip``) says 6; the outer header is
    IPv4 or IPv6 by ``ip``.

    Returns ``wire_bytes``, ``overhead_bytes``, ``breakdown`` (bytes per part,
    summing to ``overhead_bytes``) and the algorithms used (and ``ip``/``inner`` when a
    family is 6). Raises :class:`ConfigError` for a size below the inner header (20 or
    40) or above 65535, a bad proposal, NAT-T with IPv6, or transport mode with mixed
    families.
    """
    outer_f, inner_f = _families(mode, ip, inner)
    low = MIN_SIZE_V6 if inner_f == 6 else MIN_SIZE
    if not low <= size <= MAX_SIZE:
        raise ConfigError(f"size {size} must be between {low} (an IPv{inner_f} header) and {MAX_SIZE}")
    sa, receiver = _pair(proto, mode, proposal, nat_t, outer_f, inner_f)
    pkt = sample_packet(size, inner_f)
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
        parts[f"outer IPv{outer_f}"] = 40 if outer_f == 6 else 20
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
        parts["ICV"] = sa.ah.icv_size
        if sa.ah.icv_field > sa.ah.icv_size:  # IPv6: AH is a multiple of 8 bytes (RFC 4302 §3.3.3.2.1)
            parts["ICV padding"] = sa.ah.icv_field - sa.ah.icv_size
        extra = wire_bytes - size - sum(parts.values())
        if extra:
            parts["other"] = extra
    r: dict[str, Any] = {
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
    if (outer_f, inner_f) != (4, 4):
        r["ip"], r["inner"] = outer_f, inner_f
    return r


def _describe(sa: SecurityAssociation) -> str:
    names = []
    if sa.encr is not None:
        names.append(A.transform_name(A.TRANSFORM_ENCR, sa.encr.iana, sa.encr.key_bits))
    if sa.integ is not None:
        names.append(sa.integ.iana_name)
    return "/".join(names)
