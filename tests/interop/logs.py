"""Keys out of charon's log (``ike = 4``, ``chd = 4``).

charon prints every secret it derives as a named hex dump::

    05:38:18 12[IKE] Sk_ei secret => 36 bytes @ 0x7f1a18012be0
    05:38:18 12[IKE]    0: 92 45 E7 C2 80 5C 9D BB AF F7 28 44 66 80 8D 41  .E...\\....(Df..A
    05:38:18 11[CHD] encryption initiator key => 20 bytes @ 0x7f1a14003060

:func:`hexdumps` returns them in order; :func:`ike_keys` and :func:`child_keys`
pick out the IKE_SA keys (SKEYSEED, SK_d/ei/er/ai/ar/pi/pr) and the CHILD_SA keys.
"""

from __future__ import annotations

import re

_HEAD = re.compile(r"^\S+ (\d+)\[(\w+)\] (.+?) => (\d+) bytes @ 0x[0-9a-f]+$")
_LINE = re.compile(r"^\S+ (\d+)\[(\w+)\]\s+\d+: ((?:[0-9A-F]{2} ?)+)")


def hexdumps(log: str) -> list[tuple[str, bytes]]:
    """(name, bytes) of each hex dump in the log, in order."""
    out: list[tuple[str, bytes]] = []
    cur: tuple[str, str, int, bytearray] | None = None  # thread, name, length, data
    for line in log.splitlines():
        m = _HEAD.match(line)
        if m:
            if cur:
                out.append((cur[1], bytes(cur[3])))
            cur = (m.group(1), m.group(3), int(m.group(4)), bytearray())
            if cur[2] == 0:
                out.append((cur[1], b""))
                cur = None
            continue
        if cur:
            m = _LINE.match(line)
            if m and m.group(1) == cur[0]:
                cur[3].extend(bytes.fromhex(m.group(3).replace(" ", "")))
                if len(cur[3]) >= cur[2]:
                    out.append((cur[1], bytes(cur[3][: cur[2]])))
                    cur = None
    if cur:
        out.append((cur[1], bytes(cur[3])))
    return out


_IKE_NAMES = {
    "SKEYSEED": "SKEYSEED",
    "Sk_d secret": "SK_d",
    "Sk_ai secret": "SK_ai",
    "Sk_ar secret": "SK_ar",
    "Sk_ei secret": "SK_ei",
    "Sk_er secret": "SK_er",
    "Sk_pi secret": "SK_pi",
    "Sk_pr secret": "SK_pr",
}


def ike_keys(log: str) -> list[dict[str, bytes]]:
    """One dict per IKE key derivation (SKEYSEED first), keys named ``SK_d`` ... ``SK_pr``."""
    out: list[dict[str, bytes]] = []
    for name, data in hexdumps(log):
        key = _IKE_NAMES.get(name)
        if key is None:
            continue
        if key == "SKEYSEED" or not out:
            out.append({})
        out[-1][key] = data
    return out


_CHILD_NAMES = {
    "encryption initiator key": "encr_i",
    "encryption responder key": "encr_r",
    "integrity initiator key": "integ_i",
    "integrity responder key": "integ_r",
}


def child_keys(log: str) -> list[dict[str, bytes]]:
    """One dict per CHILD_SA derivation: ``encr_i``, ``encr_r`` (key||salt for AEAD), ``integ_*``."""
    out: list[dict[str, bytes]] = []
    for name, data in hexdumps(log):
        key = _CHILD_NAMES.get(name)
        if key is None:
            continue
        if key == "encr_i" or not out or key in out[-1]:
            out.append({})
        out[-1][key] = data
    return out


def child_spis(log: str) -> list[tuple[str, int, int]]:
    """(child name, inbound SPI, outbound SPI) of each ``CHILD_SA ... established`` line."""
    pat = re.compile(r"CHILD_SA (\S+)\{\d+\} established with SPIs ([0-9a-f]+)_i ([0-9a-f]+)_o")
    return [(m.group(1), int(m.group(2), 16), int(m.group(3), 16)) for m in pat.finditer(log)]
