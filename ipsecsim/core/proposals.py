"""strongSwan proposal strings (``aes128gcm16-prfsha256-x25519``) as typed proposals.

A proposal string is a ``-`` separated list of keywords, each naming one
transform; several keywords of one type are alternatives (strongSwan's
``proposal_keywords``). ``default`` expands to the defaults below, a subset of
strongSwan 5.9's defaults limited to what ipsecsim implements.

Rules followed from strongSwan:

* For IKE, integrity keywords also give the PRF of the same hash unless a
  ``prf*`` keyword is present. With an AEAD cipher, ``sha*`` keywords are read
  as PRFs (there is no separate integrity algorithm).
* For ESP with an AEAD cipher there is no integrity transform; with a
  non-AEAD cipher an integrity keyword is required.
* For ESP/AH a DH group means PFS on rekey (CREATE_CHILD_SA with KE).
* ``esn`` / ``noesn`` select Extended Sequence Numbers; absent means ``noesn``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from . import algorithms as A
from .errors import ConfigError


@dataclass(frozen=True, slots=True)
class Proposal:
    """One proposal: alternatives per transform type, in preference order."""

    protocol: str
    """``ike``, ``esp`` or ``ah``."""
    encr: tuple[tuple[int, int], ...] = ()
    """(ENCR transform ID, key bits) pairs; empty for AH."""
    integ: tuple[int, ...] = ()
    prf: tuple[int, ...] = ()
    dh: tuple[int, ...] = ()
    esn: tuple[int, ...] = ()
    text: str = ""
    """The string it was parsed from."""

    @property
    def aead(self) -> bool:
        return bool(self.encr) and A.encr(*self.encr[0]).aead

    def describe(self) -> str:
        """IANA-style summary, e.g. ``ENCR_AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE25519``."""
        parts = [A.transform_name(A.TRANSFORM_ENCR, i, b) for i, b in self.encr]
        parts += [A.transform_name(A.TRANSFORM_INTEG, i) for i in self.integ]
        parts += [A.transform_name(A.TRANSFORM_PRF, i) for i in self.prf]
        parts += [A.transform_name(A.TRANSFORM_DH, i) for i in self.dh]
        if self.protocol != "ike" and self.esn:
            parts += [A.transform_name(A.TRANSFORM_ESN, i) for i in self.esn]
        return "/".join(parts)


_ENCR_KW: dict[str, tuple[int, int]] = {a.name: (a.iana, a.key_bits) for a in A.ENCR_ALGS.values()}
_ENCR_KW.update(
    {
        "aes": (A.ENCR_AES_CBC, 128),
        "aes128gcm": (A.ENCR_AES_GCM_16, 128),
        "aes192gcm": (A.ENCR_AES_GCM_16, 192),
        "aes256gcm": (A.ENCR_AES_GCM_16, 256),
        "aes128gcm128": (A.ENCR_AES_GCM_16, 128),
        "aes192gcm128": (A.ENCR_AES_GCM_16, 192),
        "aes256gcm128": (A.ENCR_AES_GCM_16, 256),
        "chacha20poly1305compat": (A.ENCR_CHACHA20_POLY1305, 0),
    }
)
_INTEG_KW: dict[str, int] = {a.name: a.iana for a in A.INTEG_ALGS.values()}
_INTEG_KW.update({"sha": A.AUTH_HMAC_SHA1_96, "sha2_256": A.AUTH_HMAC_SHA2_256_128,
                  "sha2_384": A.AUTH_HMAC_SHA2_384_192, "sha2_512": A.AUTH_HMAC_SHA2_512_256})
_PRF_KW: dict[str, int] = {a.name: a.iana for a in A.PRF_ALGS.values()}
_DH_KW: dict[str, int] = {g.name: g.iana for g in A.DH_GROUPS.values()}
_DH_KW.update({"curve25519": A.CURVE25519, "curve448": A.CURVE448})
_ESN_KW = {"esn": A.ESN_YES, "noesn": A.ESN_NO}

# integrity keyword -> PRF of the same hash (used when no prf keyword is given)
_INTEG_TO_PRF = {
    A.AUTH_HMAC_SHA1_96: A.PRF_HMAC_SHA1,
    A.AUTH_HMAC_SHA2_256_128: A.PRF_HMAC_SHA2_256,
    A.AUTH_HMAC_SHA2_384_192: A.PRF_HMAC_SHA2_384,
    A.AUTH_HMAC_SHA2_512_256: A.PRF_HMAC_SHA2_512,
}

ALL_KEYWORDS: tuple[str, ...] = tuple(
    sorted({*_ENCR_KW, *_INTEG_KW, *_PRF_KW, *_DH_KW, *_ESN_KW, "default"})
)

# strongSwan 5.9's defaults, restricted to the transforms ipsecsim implements.
DEFAULT_IKE = (
    "aes128-aes192-aes256-sha256-sha384-sha512-x25519-ecp256-ecp384-ecp521-modp3072-modp4096-modp2048",
    "aes128gcm16-aes192gcm16-aes256gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512"
    "-x25519-ecp256-ecp384-ecp521-modp3072-modp4096-modp2048",
)
DEFAULT_ESP = ("aes128gcm16-aes256gcm16-chacha20poly1305", "aes128-aes192-aes256-sha256-sha384-sha512")
DEFAULT_AH = ("sha256-sha384-sha512",)


def _unknown(token: str, text: str) -> ConfigError:
    close = difflib.get_close_matches(token, ALL_KEYWORDS, n=3)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return ConfigError(
        f"unknown algorithm {token!r} in proposal {text!r}{hint}; "
        f"valid keywords: {', '.join(ALL_KEYWORDS)}"
    )


def parse_proposal(text: str, protocol: str = "ike") -> list[Proposal]:
    """Parse one proposal string for ``ike``, ``esp`` or ``ah``.

    Returns a list because ``default`` may expand to several proposals.
    Raises :class:`ConfigError` naming the bad keyword and the valid ones.
    """
    if protocol not in ("ike", "esp", "ah"):
        raise ConfigError(f"unknown protocol {protocol!r}; expected ike, esp or ah")
    text = text.strip().lower()
    if text == "default":
        defaults = {"ike": DEFAULT_IKE, "esp": DEFAULT_ESP, "ah": DEFAULT_AH}[protocol]
        return [p for d in defaults for p in parse_proposal(d, protocol)]
    if not text:
        raise ConfigError("empty proposal string")
    encr: list[tuple[int, int]] = []
    integ: list[int] = []
    prf: list[int] = []
    dh: list[int] = []
    esn: list[int] = []
    for token in text.split("-"):
        if token in _ENCR_KW:
            encr.append(_ENCR_KW[token])
        elif token in _INTEG_KW:
            integ.append(_INTEG_KW[token])
        elif token in _PRF_KW:
            prf.append(_PRF_KW[token])
        elif token in _DH_KW:
            dh.append(_DH_KW[token])
        elif token in _ESN_KW:
            esn.append(_ESN_KW[token])
        elif token == "none":
            continue
        else:
            raise _unknown(token, text)

    aead = [e for e in encr if A.encr(*e).aead]
    if aead and len(aead) != len(encr):
        raise ConfigError(
            f"proposal {text!r} mixes AEAD and non-AEAD ciphers; split them into two proposals"
        )
    is_aead = bool(aead)

    if protocol == "ah":
        if encr:
            raise ConfigError(f"AH proposal {text!r} cannot have an encryption algorithm")
        if not integ:
            raise ConfigError(f"AH proposal {text!r} needs an integrity algorithm such as sha256")
        return [Proposal("ah", (), tuple(integ), (), tuple(dh), tuple(esn or [A.ESN_NO]), text)]

    if not encr:
        raise ConfigError(f"proposal {text!r} needs an encryption algorithm such as aes128gcm16")

    if protocol == "esp":
        if is_aead:
            integ = []
        elif not integ:
            raise ConfigError(
                f"ESP proposal {text!r} uses a non-AEAD cipher without integrity; add e.g. -sha256"
            )
        if prf:
            raise ConfigError(f"ESP proposal {text!r} cannot have a PRF")
        return [Proposal("esp", tuple(encr), tuple(integ), (), tuple(dh),
                         tuple(esn or [A.ESN_NO]), text)]

    # IKE
    if esn:
        raise ConfigError(f"IKE proposal {text!r} cannot carry esn/noesn")
    if is_aead:
        if not prf:
            prf = [_INTEG_TO_PRF[i] for i in integ]
        integ = []
        if not prf:
            raise ConfigError(
                f"IKE proposal {text!r} with an AEAD cipher needs a PRF, e.g. -prfsha256"
            )
    else:
        if not integ:
            raise ConfigError(f"IKE proposal {text!r} needs an integrity algorithm such as sha256")
        if not prf:
            prf = [_INTEG_TO_PRF[i] for i in integ]
    if not dh:
        raise ConfigError(f"IKE proposal {text!r} needs a DH group such as x25519")
    return [Proposal("ike", tuple(encr), tuple(integ), tuple(dict.fromkeys(prf)), tuple(dh), (), text)]


def parse_proposals(texts: list[str] | tuple[str, ...] | str, protocol: str = "ike") -> list[Proposal]:
    """Parse a swanctl ``proposals``/``esp_proposals``/``ah_proposals`` list."""
    if isinstance(texts, str):
        texts = [texts]
    out: list[Proposal] = []
    for t in texts:
        out.extend(parse_proposal(t, protocol))
    return out
