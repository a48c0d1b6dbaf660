"""Shared helpers of the data-plane tests: SA pairs from a seed, the algorithm matrix."""

from __future__ import annotations

from ipsecsim.core import algorithms as A
from ipsecsim.core.keys import ChildSaKeys
from ipsecsim.core.rng import Rng
from ipsecsim.core.sa import SecurityAssociation
from ipsecsim.core.selectors import TrafficSelector as TS

GCM128 = A.encr(A.ENCR_AES_GCM_16, 128)
GCM256 = A.encr(A.ENCR_AES_GCM_16, 256)
CHACHA = A.encr(A.ENCR_CHACHA20_POLY1305, 0)
CBC128 = A.encr(A.ENCR_AES_CBC, 128)
CBC256 = A.encr(A.ENCR_AES_CBC, 256)
NULL = A.encr(A.ENCR_NULL, 0)
SHA256 = A.INTEG_ALGS[A.AUTH_HMAC_SHA2_256_128]
SHA384 = A.INTEG_ALGS[A.AUTH_HMAC_SHA2_384_192]
SHA512 = A.INTEG_ALGS[A.AUTH_HMAC_SHA2_512_256]

#: every ESP algorithm pair of the issue: AEADs, and CBC x each HMAC
ESP_ALGS = [(GCM128, None), (GCM256, None), (CHACHA, None)] + [
    (c, i) for c in (CBC128, CBC256) for i in (SHA256, SHA384, SHA512)]
AH_ALGS = [SHA256, SHA384, SHA512]
MODES = ("tunnel", "transport")

TUNNEL_SRC, TUNNEL_DST = "198.51.100.1", "203.0.113.9"


def alg_id(encr: A.EncrAlg | None, integ: A.IntegAlg | None) -> str:
    return "-".join(x.name for x in (encr, integ) if x is not None)


def sa_pair(proto: str, mode: str, encr: A.EncrAlg | None, integ: A.IntegAlg | None, *,
            seed: int = 1, spi: int = 0x11223344, **kw) -> tuple[SecurityAssociation, SecurityAssociation]:
    """Sender and receiver SAs sharing keys drawn from ``seed``."""
    rng = Rng(seed, "keys")
    ek = rng.bytes(encr.keymat_size) if encr else b""
    ik = rng.bytes(integ.key_size) if integ else b""
    args = dict(proto=proto, spi=spi, mode=mode, encr=encr, encr_key=ek, integ=integ, integ_key=ik,
                tunnel_src=TUNNEL_SRC, tunnel_dst=TUNNEL_DST)
    args.update(kw)
    tx = SecurityAssociation(rng=Rng(seed, "tx"), **args)
    rx = SecurityAssociation(rng=Rng(seed, "rx"), **args)
    tx.test_keys = rx.test_keys = (ek, ik)  # for building an oracle's SA with the same keys
    return tx, rx


GW_A, GW_B = "198.51.100.1", "203.0.113.1"
LAN_A, LAN_B = (TS.parse("10.1.0.0/16"),), (TS.parse("10.2.0.0/16"),)


def child_keys(gen: int = 1, proto: str = "esp", mode: str = "tunnel", encr=GCM128, integ=None,
               encap=None, **kw) -> tuple[ChildSaKeys, ChildSaKeys]:
    """A's and B's view of one negotiated child SA (generation ``gen``)."""
    r = Rng(gen, "child")
    ab, ba = (r.bytes(encr.keymat_size) if encr else b"" for _ in range(2))
    iab, iba = (r.bytes(integ.key_size) if integ else b"" for _ in range(2))
    spi_a, spi_b = 0xA000 + gen, 0xB000 + gen  # inbound SPIs chosen by A and by B
    a = ChildSaKeys("lan-lan", proto, mode, spi_a, spi_b, encr, integ, ba, iba, ab, iab,
                    GW_A, GW_B, LAN_A, LAN_B, encap=encap, unique_id=gen, **kw)
    b = ChildSaKeys("lan-lan", proto, mode, spi_b, spi_a, encr, integ, ab, iab, ba, iba,
                    GW_B, GW_A, LAN_B, LAN_A, encap=encap and (encap[1], encap[0]), unique_id=gen, **kw)
    return a, b
