"""The configuration payload's attributes (RFC 7296 §3.15.1) as charon names and encodes them.

Value layouts: INTERNAL_IP4_ADDRESS 0 or 4 bytes (empty: "give me one"), INTERNAL_IP6_ADDRESS
0 or 17 (address and prefix length), INTERNAL_IP4_NETMASK/DNS/NBNS/DHCP 4, INTERNAL_IP6_DNS 16,
INTERNAL_IP4_SUBNET 8 (address and mask). Attributes of other types keep their bytes
(``payloads.CP.attributes``): a receiver ignores what it does not know (§3.15.1).
"""

from __future__ import annotations

import ipaddress

from . import constants as C
from .payloads import CP

ATTR_SHORT = dict(enumerate(
    ("ADDR", "MASK", "DNS", "NBNS", "EXP", "DHCP", "VER", "ADDR6", "MASK6", "DNS6", "NBNS6",
     "DHCP6", "SUBNET", "SUP", "SUBNET6"), start=1))
"""charon's ``configuration_attribute_type_short_names`` (``attributes/attributes.c``)."""

_V4 = {"dns": C.INTERNAL_IP4_DNS, "nbns": C.INTERNAL_IP4_NBNS, "dhcp": C.INTERNAL_IP4_DHCP,
       "netmask": C.INTERNAL_IP4_NETMASK, "subnet": C.INTERNAL_IP4_SUBNET}
_V6 = {"dns": C.INTERNAL_IP6_DNS, "nbns": 11, "dhcp": 12, "netmask": 9, "subnet": 15}
_FIXED = {C.INTERNAL_IP4_NETMASK: (4,), C.INTERNAL_IP4_DNS: (4,), C.INTERNAL_IP4_NBNS: (4,),
          C.INTERNAL_IP4_DHCP: (4,), C.INTERNAL_IP4_ADDRESS: (0, 4), C.INTERNAL_IP4_SUBNET: (8,),
          C.INTERNAL_IP6_ADDRESS: (0, 17), C.INTERNAL_IP6_DNS: (16,)}
"""Value lengths RFC 7296 §3.15.1 allows, per attribute type."""


def address_attr(addr: str) -> tuple[int, bytes]:
    """INTERNAL_IP4_ADDRESS / INTERNAL_IP6_ADDRESS for ``addr``; empty for 0.0.0.0 / ::.
    IPv6 carries a prefix length byte (§3.15.1; charon sends /64)."""
    ip = ipaddress.ip_address(addr)
    if ip.version == 4:
        return C.INTERNAL_IP4_ADDRESS, b"" if ip.is_unspecified else ip.packed
    return C.INTERNAL_IP6_ADDRESS, b"" if ip.is_unspecified else ip.packed + b"\x40"


def value_attr(key: str, value: str) -> tuple[int, bytes]:
    """A pool attribute (``dns``, ``netmask``, ``subnet``, ...) as (type, value)."""
    if key == "subnet":
        net = ipaddress.ip_network(value, strict=False)
        if net.version == 4:
            return C.INTERNAL_IP4_SUBNET, net.network_address.packed + net.netmask.packed
        return 15, net.network_address.packed + bytes((net.prefixlen,))
    ip = ipaddress.ip_address(value)
    return (_V4 if ip.version == 4 else _V6)[key], ip.packed


def attr_text(atype: int, value: bytes) -> str:
    """The address an attribute carries (``%any`` when empty), for logs."""
    if not value:
        return "%any6" if atype in (C.INTERNAL_IP6_ADDRESS, C.INTERNAL_IP6_DNS) else "%any"
    if len(value) in (4, 16):
        return str(ipaddress.ip_address(value))
    if len(value) == 17:
        return str(ipaddress.ip_address(value[:16]))
    if len(value) == 8:
        return f"{ipaddress.ip_address(value[:4])}/{ipaddress.ip_address(value[4:])}"
    return value.hex()


def well_formed(atype: int, value: bytes) -> bool:
    """Whether a known attribute has a length §3.15.1 allows (unknown types: any length)."""
    allowed = _FIXED.get(atype)
    return allowed is None or len(value) in allowed


def summary(cp: CP) -> str:
    """A CP payload as charon's ``message.c`` ``get_string()`` writes it: ``CPRQ(ADDR DNS)``,
    ``CPRP(ADDR DNS)``, ``CPS(...)``, ``CPA(...)``; ``CP`` alone without attributes."""
    if not cp.attributes:
        return "CP"
    pfx = {C.CFG_REQUEST: "RQ", C.CFG_REPLY: "RP", C.CFG_SET: "S", C.CFG_ACK: "A"}
    names = " ".join(ATTR_SHORT.get(t, f"({t})") for t, _ in cp.attributes)
    return f"CP{pfx.get(cp.cfg_type, '')}({names})"


def addresses(cp: CP) -> list[str]:
    """Addresses requested or assigned in ``cp`` (``0.0.0.0`` / ``::`` for an empty one)."""
    out = []
    for atype, value in cp.attributes:
        if atype == C.INTERNAL_IP4_ADDRESS and well_formed(atype, value):
            out.append(str(ipaddress.ip_address(value)) if value else "0.0.0.0")
        elif atype == C.INTERNAL_IP6_ADDRESS and well_formed(atype, value):
            out.append(str(ipaddress.ip_address(value[:16])) if value else "::")
    return out


def servers(cp: CP, atype: int) -> list[str]:
    """Non-empty, well-formed address values of ``atype`` (DNS servers of a reply)."""
    return [str(ipaddress.ip_address(v)) for t, v in cp.attributes
            if t == atype and v and well_formed(t, v)]
