"""Shared pieces of the IPv6 tests: dual-stack SA pairs from a seed, Scapy's SA for them."""

from __future__ import annotations

from ipsecsim.core import algorithms as A
from ipsecsim.core.ip import icmpv6, ipv6, udp_packet
from ipsecsim.core.rng import Rng
from ipsecsim.core.sa import SecurityAssociation
from ipsecsim.core.sa6 import make_sa

T6_SRC, T6_DST = "2001:db8:a::1", "2001:db8:b::9"
T4_SRC, T4_DST = "198.51.100.1", "203.0.113.9"
H6_A, H6_B = "2001:db8:1::5", "2001:db8:2::7"

#: name -> (mode, (outer family, inner family))
LAYOUTS = {"6in6": ("tunnel", (6, 6)), "4in6": ("tunnel", (6, 4)), "6in4": ("tunnel", (4, 6)),
           "transport6": ("transport", (6, 6))}

SCAPY_CRYPT = {"aes128gcm16": "AES-GCM", "aes256gcm16": "AES-GCM", "chacha20poly1305": "CHACHA20-POLY1305",
               "aes128": "AES-CBC", "aes256": "AES-CBC"}
SCAPY_AUTH = {"sha256": "SHA2-256-128", "sha384": "SHA2-384-192", "sha512": "SHA2-512-256"}


def tunnel_addrs(outer: int) -> tuple[str, str]:
    return (T6_SRC, T6_DST) if outer == 6 else (T4_SRC, T4_DST)


def inner_packets(family: int) -> list[bytes]:
    """A few packets of ``family``: ICMPv6 echo / UDP (1308 bytes) / empty UDP."""
    if family == 4:
        return [udp_packet("10.1.0.5", "10.2.0.7", 40000, 40001, b"v4 inside " * 5),
                udp_packet("10.1.0.5", "10.2.0.7", 40000, 40001, bytes(range(256)) * 5),
                udp_packet("10.1.0.5", "10.2.0.7", 40000, 40001, b"")]
    a, b = ipv6.aton6(H6_A), ipv6.aton6(H6_B)
    return [icmpv6.echo6_packet(a, b, 3, 9, b"scapy over v6 " * 3),
            ipv6.build_udp6(a, b, 40000, 40001, bytes(range(256)) * 5),
            ipv6.build_udp6(a, b, 40000, 40001, b"")]


def pair6(proto: str, layout: str, encr: A.EncrAlg | None, integ: A.IntegAlg | None, *, seed: int = 1,
          spi: int = 0x66000001, **kw) -> tuple[SecurityAssociation, SecurityAssociation]:
    """Sender and receiver for ``layout`` with keys drawn from ``seed`` (as tests/helpers/dataplane.sa_pair)."""
    mode, fam = LAYOUTS[layout]
    rng = Rng(seed, "keys6")
    ek = rng.bytes(encr.keymat_size) if encr else b""
    ik = rng.bytes(integ.key_size) if integ else b""
    src, dst = tunnel_addrs(fam[0])
    sas = [make_sa(proto, spi, mode, encr, ek, integ, ik, src if mode == "tunnel" else None,
                   dst if mode == "tunnel" else None, families=fam, rng=Rng(seed, side), **kw)
           for side in ("tx", "rx")]
    for sa in sas:
        sa.test_keys = (ek, ik)  # type: ignore[attr-defined]
    return sas[0], sas[1]


def scapy_sa(ours, outer: int):
    """Scapy's SecurityAssociation with our SA's algorithms, keys and tunnel."""
    from scapy.layers import ipsec as S
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6

    kw = {}
    if ours.mode == "tunnel":
        src, dst = tunnel_addrs(outer)
        kw["tunnel_header"] = IPv6(src=src, dst=dst) if outer == 6 else IP(src=src, dst=dst)
    if ours.proto == "esp":
        e = ours.encr
        kw.update(crypt_algo=SCAPY_CRYPT[e.name], crypt_key=ours.test_keys[0])
        if e.aead:
            kw["crypt_icv_size"] = 16
        else:
            kw.update(auth_algo=SCAPY_AUTH[ours.integ.name], auth_key=ours.test_keys[1])
        return S.SecurityAssociation(S.ESP, spi=ours.spi, **kw)
    kw.update(auth_algo=SCAPY_AUTH[ours.integ.name], auth_key=ours.test_keys[1])
    return S.SecurityAssociation(S.AH, spi=ours.spi, **kw)


def scapy_ip(pkt: bytes):
    """The Scapy packet for raw IPv4 or IPv6 bytes."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6

    return IPv6(pkt) if pkt[0] >> 4 == 6 else IP(pkt)
