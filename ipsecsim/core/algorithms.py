"""Algorithm descriptors keyed by IANA transform ID (RFC 7296 §3.3.2, IANA "IKEv2 Parameters").

One table feeds the ESP/AH codecs, IKE negotiation, the overhead calculator and
the Wireshark key export (as Scapy's ``CRYPT_ALGOS``/``AUTH_ALGOS`` do).

Sizes are in bytes. ``key_size`` excludes the salt; the keying material an SA
takes for an AEAD cipher is ``key_size + salt_size`` bytes (RFC 4106 §8.1,
RFC 7634 §4), which is also what Wireshark's ``esp_sa`` key field expects.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Transform types (RFC 7296 §3.3.2)
TRANSFORM_ENCR = 1
TRANSFORM_PRF = 2
TRANSFORM_INTEG = 3
TRANSFORM_DH = 4
TRANSFORM_ESN = 5

TRANSFORM_TYPE_NAMES = {1: "ENCR", 2: "PRF", 3: "INTEG", 4: "DH", 5: "ESN"}

# ENCR transform IDs
ENCR_3DES = 3
ENCR_NULL = 11
ENCR_AES_CBC = 12
ENCR_AES_CTR = 13
ENCR_AES_GCM_8 = 18
ENCR_AES_GCM_12 = 19
ENCR_AES_GCM_16 = 20
ENCR_CHACHA20_POLY1305 = 28

# INTEG transform IDs
AUTH_NONE = 0
AUTH_HMAC_MD5_96 = 1
AUTH_HMAC_SHA1_96 = 2
AUTH_AES_XCBC_96 = 5
AUTH_HMAC_SHA2_256_128 = 12
AUTH_HMAC_SHA2_384_192 = 13
AUTH_HMAC_SHA2_512_256 = 14

# PRF transform IDs
PRF_HMAC_MD5 = 1
PRF_HMAC_SHA1 = 2
PRF_HMAC_SHA2_256 = 5
PRF_HMAC_SHA2_384 = 6
PRF_HMAC_SHA2_512 = 7

# DH groups
MODP_768 = 1
MODP_1024 = 2
MODP_1536 = 5
MODP_2048 = 14
MODP_3072 = 15
MODP_4096 = 16
ECP_256 = 19
ECP_384 = 20
ECP_521 = 21
CURVE25519 = 31
CURVE448 = 32

# ESN
ESN_NO = 0
ESN_YES = 1

# IPsec protocols (RFC 7296 §3.3.1 Protocol ID) and IP protocol numbers
PROTO_IKE = 1
PROTO_AH = 2
PROTO_ESP = 3
IPPROTO_ESP = 50
IPPROTO_AH = 51


@dataclass(frozen=True, slots=True)
class EncrAlg:
    """An encryption transform at one key length."""

    iana: int
    """ENCR transform ID."""
    key_bits: int
    """Key length in bits, as the Key Length attribute carries it (0: none sent)."""
    name: str
    """strongSwan proposal keyword, e.g. ``aes128gcm16``."""
    iana_name: str
    """IANA name, e.g. ``ENCR_AES_GCM_16``."""
    key_size: int
    """Cipher key bytes, without salt."""
    salt_size: int
    """Salt bytes taken from the keying material after the key (AEAD)."""
    iv_size: int
    """Bytes of explicit IV on the wire."""
    icv_size: int
    """AEAD tag bytes (0 when a separate INTEG transform authenticates)."""
    block_size: int
    """Alignment of plaintext + trailer: cipher block, or 4 for stream/AEAD ciphers."""
    aead: bool
    send_key_length: bool
    """Whether the Key Length attribute is sent in SA payloads (RFC 7296 §3.3.5)."""
    wireshark_esp: str | None
    """Name in tshark 4.0's ``esp_sa`` UAT, or None where tshark cannot decrypt it."""
    wireshark_ikev2: str | None
    """Name in tshark 4.0's ``ikev2_decryption_table`` UAT."""

    @property
    def keymat_size(self) -> int:
        """Bytes of keying material one direction of an SA takes for this cipher."""
        return self.key_size + self.salt_size


@dataclass(frozen=True, slots=True)
class IntegAlg:
    """An integrity (MAC) transform."""

    iana: int
    name: str
    iana_name: str
    key_size: int
    icv_size: int
    """Truncated MAC length on the wire."""
    hash_name: str
    """hashlib name of the underlying hash."""
    wireshark_esp: str | None
    wireshark_ikev2: str | None


@dataclass(frozen=True, slots=True)
class PrfAlg:
    iana: int
    name: str
    iana_name: str
    hash_name: str
    key_size: int
    """Preferred key size (output size of the hash)."""


@dataclass(frozen=True, slots=True)
class DhGroup:
    iana: int
    name: str
    iana_name: str
    kind: str
    """``modp``, ``ecp`` or ``curve``."""
    public_size: int
    """Bytes of the KE payload's key exchange data."""


def _enc(iana, bits, name, iana_name, key, salt, iv, icv, block, aead, klen, ws_esp, ws_ike):
    return EncrAlg(iana, bits, name, iana_name, key, salt, iv, icv, block, aead, klen, ws_esp, ws_ike)


ENCR_ALGS: dict[tuple[int, int], EncrAlg] = {
    (a.iana, a.key_bits): a
    for a in (
        _enc(ENCR_NULL, 0, "null", "ENCR_NULL", 0, 0, 0, 0, 4, False, False, "NULL", None),
        _enc(ENCR_AES_CBC, 128, "aes128", "ENCR_AES_CBC", 16, 0, 16, 0, 16, False, True,
             "AES-CBC [RFC3602]", "AES-CBC-128 [RFC3602]"),
        _enc(ENCR_AES_CBC, 192, "aes192", "ENCR_AES_CBC", 24, 0, 16, 0, 16, False, True,
             "AES-CBC [RFC3602]", "AES-CBC-192 [RFC3602]"),
        _enc(ENCR_AES_CBC, 256, "aes256", "ENCR_AES_CBC", 32, 0, 16, 0, 16, False, True,
             "AES-CBC [RFC3602]", "AES-CBC-256 [RFC3602]"),
        _enc(ENCR_AES_GCM_16, 128, "aes128gcm16", "ENCR_AES_GCM_16", 16, 4, 8, 16, 4, True, True,
             "AES-GCM with 16 octet ICV [RFC4106]", "AES-GCM-128 with 16 octet ICV [RFC5282]"),
        _enc(ENCR_AES_GCM_16, 192, "aes192gcm16", "ENCR_AES_GCM_16", 24, 4, 8, 16, 4, True, True,
             "AES-GCM with 16 octet ICV [RFC4106]", "AES-GCM-192 with 16 octet ICV [RFC5282]"),
        _enc(ENCR_AES_GCM_16, 256, "aes256gcm16", "ENCR_AES_GCM_16", 32, 4, 8, 16, 4, True, True,
             "AES-GCM with 16 octet ICV [RFC4106]", "AES-GCM-256 with 16 octet ICV [RFC5282]"),
        _enc(ENCR_CHACHA20_POLY1305, 0, "chacha20poly1305", "ENCR_CHACHA20_POLY1305",
             32, 4, 8, 16, 4, True, False, None, None),
    )
}

INTEG_ALGS: dict[int, IntegAlg] = {
    a.iana: a
    for a in (
        IntegAlg(AUTH_HMAC_SHA1_96, "sha1", "AUTH_HMAC_SHA1_96", 20, 12, "sha1",
                 "HMAC-SHA-1-96 [RFC2404]", "HMAC_SHA1_96 [RFC2404]"),
        IntegAlg(AUTH_HMAC_SHA2_256_128, "sha256", "AUTH_HMAC_SHA2_256_128", 32, 16, "sha256",
                 "HMAC-SHA-256-128 [RFC4868]", "HMAC_SHA2_256_128 [RFC4868]"),
        IntegAlg(AUTH_HMAC_SHA2_384_192, "sha384", "AUTH_HMAC_SHA2_384_192", 48, 24, "sha384",
                 "HMAC-SHA-384-192 [RFC4868]", "HMAC_SHA2_384_192 [RFC4868]"),
        IntegAlg(AUTH_HMAC_SHA2_512_256, "sha512", "AUTH_HMAC_SHA2_512_256", 64, 32, "sha512",
                 "HMAC-SHA-512-256 [RFC4868]", "HMAC_SHA2_512_256 [RFC4868]"),
    )
}

PRF_ALGS: dict[int, PrfAlg] = {
    a.iana: a
    for a in (
        PrfAlg(PRF_HMAC_SHA1, "prfsha1", "PRF_HMAC_SHA1", "sha1", 20),
        PrfAlg(PRF_HMAC_SHA2_256, "prfsha256", "PRF_HMAC_SHA2_256", "sha256", 32),
        PrfAlg(PRF_HMAC_SHA2_384, "prfsha384", "PRF_HMAC_SHA2_384", "sha384", 48),
        PrfAlg(PRF_HMAC_SHA2_512, "prfsha512", "PRF_HMAC_SHA2_512", "sha512", 64),
    )
}

DH_GROUPS: dict[int, DhGroup] = {
    g.iana: g
    for g in (
        DhGroup(MODP_1024, "modp1024", "MODP_1024", "modp", 128),
        DhGroup(MODP_1536, "modp1536", "MODP_1536", "modp", 192),
        DhGroup(MODP_2048, "modp2048", "MODP_2048", "modp", 256),
        DhGroup(MODP_3072, "modp3072", "MODP_3072", "modp", 384),
        DhGroup(MODP_4096, "modp4096", "MODP_4096", "modp", 512),
        DhGroup(ECP_256, "ecp256", "ECP_256", "ecp", 64),
        DhGroup(ECP_384, "ecp384", "ECP_384", "ecp", 96),
        DhGroup(ECP_521, "ecp521", "ECP_521", "ecp", 132),
        DhGroup(CURVE25519, "x25519", "CURVE25519", "curve", 32),
        DhGroup(CURVE448, "x448", "CURVE448", "curve", 56),
    )
}

# Names of transforms we know of but do not implement, so that error sentences
# about a peer's offer can name them ("peer offered ENCR_3DES ...").
_FOREIGN_NAMES: dict[tuple[int, int], str] = {
    (TRANSFORM_ENCR, ENCR_3DES): "ENCR_3DES",
    (TRANSFORM_ENCR, ENCR_AES_CTR): "ENCR_AES_CTR",
    (TRANSFORM_ENCR, ENCR_AES_GCM_8): "ENCR_AES_GCM_8",
    (TRANSFORM_ENCR, ENCR_AES_GCM_12): "ENCR_AES_GCM_12",
    (TRANSFORM_INTEG, AUTH_NONE): "NONE",
    (TRANSFORM_INTEG, AUTH_HMAC_MD5_96): "AUTH_HMAC_MD5_96",
    (TRANSFORM_INTEG, AUTH_AES_XCBC_96): "AUTH_AES_XCBC_96",
    (TRANSFORM_PRF, PRF_HMAC_MD5): "PRF_HMAC_MD5",
    (TRANSFORM_DH, MODP_768): "MODP_768",
    (TRANSFORM_ESN, ESN_NO): "NO_ESN",
    (TRANSFORM_ESN, ESN_YES): "ESN",
}


def encr(iana: int, key_bits: int = 0) -> EncrAlg:
    """The encryption descriptor for a transform ID and key length; KeyError if unknown."""
    return ENCR_ALGS[(iana, key_bits)]


def transform_name(ttype: int, tid: int, key_bits: int = 0) -> str:
    """A readable IANA name for any transform, known or not (for explanations)."""
    if ttype == TRANSFORM_ENCR:
        alg = ENCR_ALGS.get((tid, key_bits))
        if alg is not None:
            return f"{alg.iana_name}_{key_bits}" if key_bits else alg.iana_name
    elif ttype == TRANSFORM_INTEG and tid in INTEG_ALGS:
        return INTEG_ALGS[tid].iana_name
    elif ttype == TRANSFORM_PRF and tid in PRF_ALGS:
        return PRF_ALGS[tid].iana_name
    elif ttype == TRANSFORM_DH and tid in DH_GROUPS:
        return DH_GROUPS[tid].iana_name
    name = _FOREIGN_NAMES.get((ttype, tid))
    if name is None:
        name = f"{TRANSFORM_TYPE_NAMES.get(ttype, f'T{ttype}')}_{tid}"
    return f"{name}_{key_bits}" if key_bits else name


def hash_size(hash_name: str) -> int:
    return hashlib.new(hash_name).digest_size
