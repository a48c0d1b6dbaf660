"""ESP data-plane benchmarks: one 1400-byte packet through the SA objects of ipsecsim.core."""

from __future__ import annotations

from registry import benchmark, best_time_per_call

from ipsecsim.core import algorithms as A
from ipsecsim.core.ip import udp_packet
from ipsecsim.core.rng import Rng
from ipsecsim.core.sa import SecurityAssociation

# many short batches: on a shared machine the best of them is the figure least disturbed by
# other processes (a 2000-call batch is almost always preempted somewhere)
NUMBER, REPEAT = 200, 400

PACKET = udp_packet("10.1.0.1", "10.2.0.1", 40000, 40001, bytes(1400 - 28))


def _pair(encr: A.EncrAlg, integ: A.IntegAlg | None) -> tuple[SecurityAssociation, SecurityAssociation]:
    rng = Rng(1, "bench")
    ek = rng.bytes(encr.keymat_size)
    ik = rng.bytes(integ.key_size) if integ else b""
    kw = dict(proto="esp", spi=0x1001, mode="tunnel", encr=encr, encr_key=ek, integ=integ,
              integ_key=ik, tunnel_src="192.0.2.1", tunnel_dst="192.0.2.2")
    return (SecurityAssociation(rng=Rng(2), **kw),
            SecurityAssociation(rng=Rng(3), replay_window=32, **kw))


def _roundtrip_us(encr: A.EncrAlg, integ: A.IntegAlg | None) -> float:
    out, inn = _pair(encr, integ)
    enc, dec, pkt = out.encapsulate, inn.decapsulate, PACKET

    def once() -> None:
        dec(enc(pkt))
    return best_time_per_call(once, NUMBER, REPEAT) * 1e6


@benchmark("esp_roundtrip_us", "us")
def esp_roundtrip() -> float:
    """Encrypt + decrypt of a 1400-byte packet, AES-GCM-128, tunnel mode, replay window on."""
    return _roundtrip_us(A.encr(A.ENCR_AES_GCM_16, 128), None)


@benchmark("esp_roundtrip_cbc_sha256_us", "us")
def esp_roundtrip_cbc() -> float:
    """The same with AES-CBC-128 + HMAC-SHA-256-128."""
    return _roundtrip_us(A.encr(A.ENCR_AES_CBC, 128), A.INTEG_ALGS[A.AUTH_HMAC_SHA2_256_128])


@benchmark("aesgcm_call_roundtrip_us", "us")
def aesgcm_baseline() -> float:
    """The floor: cryptography's AESGCM encrypt + decrypt of the same 1400 bytes, nothing else."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    g = AESGCM(bytes(16))
    nonce, aad = bytes(12), bytes(8)

    def once() -> None:
        g.decrypt(nonce, g.encrypt(nonce, PACKET, aad), aad)
    return best_time_per_call(once, NUMBER, REPEAT) * 1e6


@benchmark("stack_roundtrip_us", "us")
def stack_roundtrip() -> float:
    """The same packet through two IPsecStacks (SPD lookup, SAD lookup, selector check)."""
    from ipsecsim.core.keys import ChildSaKeys
    from ipsecsim.core.selectors import TrafficSelector
    from ipsecsim.core.stack import IPsecStack

    encr = A.encr(A.ENCR_AES_GCM_16, 128)
    rng = Rng(4, "bench")
    k1, k2 = rng.bytes(20), rng.bytes(20)
    lan_a, lan_b = (TrafficSelector.parse("10.1.0.0/16"),), (TrafficSelector.parse("10.2.0.0/16"),)
    a = IPsecStack(Rng(5), "a")
    b = IPsecStack(Rng(6), "b")
    a.install_child(ChildSaKeys("c", "esp", "tunnel", 0x2001, 0x2002, encr, None, k1, b"", k2, b"",
                                "192.0.2.1", "192.0.2.2", lan_a, lan_b))
    b.install_child(ChildSaKeys("c", "esp", "tunnel", 0x2002, 0x2001, encr, None, k2, b"", k1, b"",
                                "192.0.2.2", "192.0.2.1", lan_b, lan_a))
    out, inn, pkt = a.outbound, b.inbound, PACKET

    def once() -> None:
        inn(out(pkt))
    return best_time_per_call(once, NUMBER, REPEAT) * 1e6
