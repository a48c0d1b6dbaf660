"""IKEv2 key derivation: prf, prf+ (RFC 7296 §2.13), IKE SA keys (§2.14, §2.18), KEYMAT (§2.17).

Only the HMAC PRFs are implemented (PRF_HMAC_SHA1 and SHA2-256/384/512,
RFC 2104 / RFC 4868), so the PRF key for SKEYSEED is the whole ``Ni | Nr``
(the half-nonce rule of §2.14 applies to fixed-key PRFs such as AES-XCBC only).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from ..algorithms import EncrAlg, IntegAlg, PrfAlg


def prf(alg: PrfAlg, key: bytes, data: bytes) -> bytes:
    """prf(K, S): HMAC with the PRF's hash."""
    return hmac.digest(key, data, alg.hash_name)


def prf_plus(alg: PrfAlg, key: bytes, seed: bytes, n: int) -> bytes:
    """prf+(K, S) truncated to ``n`` bytes (RFC 7296 §2.13).

    T1 = prf(K, S | 0x01), Ti = prf(K, Ti-1 | S | i); at most 255 blocks.
    """
    h = alg.hash_name
    digest = hmac.digest
    out = []
    t = b""
    got = 0
    i = 1
    while got < n:
        if i > 255:
            raise ValueError(f"prf+ can produce at most 255 blocks; {n} bytes asked")
        t = digest(key, t + seed + bytes((i,)), h)
        out.append(t)
        got += len(t)
        i += 1
    return b"".join(out)[:n]


@dataclass(frozen=True, slots=True)
class IkeKeys:
    """The keys of one IKE SA (RFC 7296 §2.14). For AEAD ciphers ``sk_ai``/``sk_ar`` are empty
    and ``sk_ei``/``sk_er`` end with the 4-byte salt (RFC 5282 §7.1)."""

    skeyseed: bytes
    sk_d: bytes
    """Derives CHILD_SA keys and the next IKE SA's SKEYSEED."""
    sk_ai: bytes
    """Integrity key, initiator -> responder."""
    sk_ar: bytes
    """Integrity key, responder -> initiator."""
    sk_ei: bytes
    """Encryption key (|| salt for AEAD), initiator -> responder."""
    sk_er: bytes
    """Encryption key (|| salt for AEAD), responder -> initiator."""
    sk_pi: bytes
    """Used in the initiator's AUTH payload (§2.15)."""
    sk_pr: bytes
    """Used in the responder's AUTH payload."""


def derive_ike_keys(prf_alg: PrfAlg, encr: EncrAlg, integ: IntegAlg | None, ni: bytes,
                    nr: bytes, shared: bytes, spi_i: bytes, spi_r: bytes,
                    old_sk_d: bytes | None = None, old_prf: PrfAlg | None = None) -> IkeKeys:
    """SKEYSEED and SK_d/ai/ar/ei/er/pi/pr.

    Initial IKE SA (§2.14): SKEYSEED = prf(Ni | Nr, g^ir).
    IKE SA rekey (§2.18), when ``old_sk_d`` is given: SKEYSEED = prf(SK_d(old),
    g^ir(new) | Ni | Nr) with the *old* SA's PRF (``old_prf``, default
    ``prf_alg``); the nonces and SPIs are those of the CREATE_CHILD_SA exchange
    and the new SA.
    Then {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} =
    prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
    """
    if old_sk_d is None:
        skeyseed = prf(prf_alg, ni + nr, shared)
    else:
        skeyseed = prf(old_prf or prf_alg, old_sk_d, shared + ni + nr)
    lp = prf_alg.key_size
    la = 0 if encr.aead or integ is None else integ.key_size
    le = encr.keymat_size
    km = prf_plus(prf_alg, skeyseed, ni + nr + spi_i + spi_r, 3 * lp + 2 * la + 2 * le)
    o = 0
    sk_d, o = km[o:o + lp], o + lp
    sk_ai, o = km[o:o + la], o + la
    sk_ar, o = km[o:o + la], o + la
    sk_ei, o = km[o:o + le], o + le
    sk_er, o = km[o:o + le], o + le
    sk_pi, o = km[o:o + lp], o + lp
    sk_pr = km[o:o + lp]
    return IkeKeys(skeyseed, sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr)


def child_keymat(prf_alg: PrfAlg, sk_d: bytes, ni: bytes, nr: bytes, encr: EncrAlg | None,
                 integ: IntegAlg | None, shared: bytes | None = None
                 ) -> tuple[bytes, bytes, bytes, bytes]:
    """CHILD_SA keys (RFC 7296 §2.17): (i2r_encr, i2r_integ, r2i_encr, r2i_integ).

    KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr); the initiator-to-responder SA
    takes its keys first, encryption before integrity. An AEAD key includes its
    salt (RFC 4106 §8.1, RFC 7634 §4); AH has ``encr=None``.
    """
    le = encr.keymat_size if encr is not None else 0
    la = integ.key_size if integ is not None and not (encr is not None and encr.aead) else 0
    seed = (shared or b"") + ni + nr
    km = prf_plus(prf_alg, sk_d, seed, 2 * (le + la))
    return (km[:le], km[le:le + la], km[le + la:2 * le + la], km[2 * le + la:])
