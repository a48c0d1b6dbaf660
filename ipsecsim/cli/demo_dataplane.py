"""Data-plane demonstration: ``python -m ipsecsim.cli.demo_dataplane [--seed N]``.

Builds an SA pair from a seed, protects one ping in each mode (ESP tunnel,
ESP transport, ESP in UDP, AH tunnel, AH transport), checks that the peer's SA
gets the original back, and prints where every byte of the protected packet
went.
"""

from __future__ import annotations

import argparse
import sys

from ..core import algorithms as A
from ..core.ip import icmp_echo_packet
from ..core.rng import Rng
from ..core.sa import SecurityAssociation

CASES = (
    ("esp", "tunnel", (A.ENCR_AES_GCM_16, 128), None, None),
    ("esp", "transport", (A.ENCR_AES_GCM_16, 128), None, None),
    ("esp", "tunnel", (A.ENCR_AES_CBC, 256), A.AUTH_HMAC_SHA2_256_128, (4500, 4500)),
    ("ah", "tunnel", None, A.AUTH_HMAC_SHA2_256_128, None),
    ("ah", "transport", None, A.AUTH_HMAC_SHA2_256_128, None),
)


def layout(sa: SecurityAssociation, wire: bytes, original: int) -> list[tuple[str, int]]:
    """(part, bytes) of a packet built by ``sa`` from an original of ``original`` bytes."""
    parts: list[tuple[str, int]] = [("IPv4 header" + (" (outer)" if sa.mode == "tunnel" else ""), 20)]
    if sa.encap:
        parts.append(("UDP (RFC 3948)", 8))
    if sa.esp is not None:
        t = sa.esp
        body = original if sa.mode == "tunnel" else original - 20
        pad = len(wire) - sum(n for _, n in parts) - 8 - t.iv_size - body - 2 - t.icv_size
        parts += [("ESP header (SPI, seq)", 8), ("IV", t.iv_size),
                  ("inner packet (encrypted)" if sa.mode == "tunnel" else "payload (encrypted)", body),
                  ("padding", pad), ("pad length, next header", 2), ("ICV", t.icv_size)]
    else:
        assert sa.ah is not None
        parts += [("AH header", 12), ("ICV", sa.ah.icv_field),
                  ("inner packet" if sa.mode == "tunnel" else "payload", original - (0 if sa.mode == "tunnel" else 20))]
    return [(name, n) for name, n in parts if n]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    rng = Rng(args.seed, "demo")
    ping = icmp_echo_packet("10.1.0.10", "10.2.0.20", ident=7, seq=1, data=b"ipsecsim ping!!!" * 2)
    print(f"original: ICMP echo 10.1.0.10 -> 10.2.0.20, {len(ping)} bytes\n")
    for proto, mode, enc, integ_id, encap in CASES:
        encr = A.encr(*enc) if enc else None
        integ = A.INTEG_ALGS[integ_id] if integ_id else None
        ek = rng.bytes(encr.keymat_size) if encr else b""
        ik = rng.bytes(integ.key_size) if integ else b""
        spi = rng.spi()
        sender, receiver = (
            SecurityAssociation(proto, spi, mode, encr, ek, integ, ik, tunnel_src="198.51.100.1",
                                tunnel_dst="203.0.113.1", encap=encap, rng=rng.child(side))
            for side in ("tx", "rx"))
        wire = sender.encapsulate(ping)
        ok = receiver.decapsulate(wire) == ping
        alg = "/".join(x.name for x in (encr, integ) if x is not None)
        title = f"{proto.upper()} {mode} {alg}" + (" + NAT-T" if encap else "")
        print(f"{title}  SPI 0x{spi:08x}: {len(wire)} bytes on the wire "
              f"(+{len(wire) - len(ping)}), peer recovers the ping: {'yes' if ok else 'NO'}")
        for name, n in layout(sender, wire, len(ping)):
            print(f"    {name:<28}{n:>5}")
        print(f"    first bytes: {wire[:36].hex(' ', 4)}\n")
        if not ok:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
