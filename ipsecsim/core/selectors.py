"""Traffic selectors (RFC 7296 §3.13.1, RFC 4301 §4.4.1): address range, protocol, port range.

Shared by the SPD (policy matching), IKE (TSi/TSr payloads, narrowing) and the
configuration (``local_ts``/``remote_ts`` in swanctl syntax: ``10.1.0.0/16``,
``10.1.0.0/16[udp/500]``, ``192.0.2.1[tcp]``, ``dynamic``).

Addresses are held as integers so that matching on the packet path is integer
comparisons only.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .errors import ConfigError
from .ip import addr as _aton
from .ip import ntoa as _ntoa

TS_IPV4_ADDR_RANGE = 7
_PROTO_NAMES = {"icmp": 1, "tcp": 6, "udp": 17, "esp": 50, "ah": 51, "any": 0, "%any": 0}


def ip_to_int(addr: str | bytes) -> int:
    """Dotted quad or 4 bytes to an integer."""
    if isinstance(addr, bytes):
        return int.from_bytes(addr, "big")
    return int.from_bytes(_aton(addr), "big")


def int_to_ip(value: int) -> str:
    return _ntoa(value.to_bytes(4, "big"))


@dataclass(frozen=True, slots=True)
class TrafficSelector:
    """An IPv4 address range with a protocol (0 = any) and a port range."""

    start: int
    end: int
    proto: int = 0
    port_start: int = 0
    port_end: int = 65535

    @classmethod
    def parse(cls, text: str) -> TrafficSelector:
        """swanctl syntax: ``10.1.0.0/16``, ``10.1.0.5``, ``10.1.0.0/16[udp/500]``, ``0.0.0.0/0[tcp]``."""
        m = re.fullmatch(r"\s*([^\[\s]+)\s*(?:\[([^\]/]*)(?:/([^\]]*))?\])?\s*", text)
        if not m:
            raise ConfigError(f"traffic selector {text!r} is not of the form 10.1.0.0/16[udp/500]")
        net_s, proto_s, port_s = m.groups()
        try:
            if "-" in net_s:
                a, b = net_s.split("-", 1)
                start, end = ip_to_int(a), ip_to_int(b)
            else:
                net = ipaddress.IPv4Network(net_s, strict=False)
                start, end = int(net.network_address), int(net.broadcast_address)
        except (ValueError, OSError) as exc:
            raise ConfigError(f"traffic selector {text!r}: {net_s!r} is not an IPv4 prefix") from exc
        proto = 0
        if proto_s:
            p = proto_s.strip().lower()
            if p in _PROTO_NAMES:
                proto = _PROTO_NAMES[p]
            elif p.isdigit() and int(p) < 256:
                proto = int(p)
            else:
                raise ConfigError(f"traffic selector {text!r}: unknown protocol {proto_s!r}")
        ps, pe = 0, 65535
        if port_s:
            p = port_s.strip().lower()
            if p not in ("", "%any"):
                try:
                    if "-" in p:
                        a, b = p.split("-", 1)
                        ps, pe = int(a), int(b)
                    else:
                        ps = pe = int(p)
                except ValueError as exc:
                    raise ConfigError(f"traffic selector {text!r}: bad port {port_s!r}") from exc
        if start > end or ps > pe:
            raise ConfigError(f"traffic selector {text!r} is an empty range")
        return cls(start, end, proto, ps, pe)

    @classmethod
    def host(cls, addr: str) -> TrafficSelector:
        v = ip_to_int(addr)
        return cls(v, v)

    def contains_addr(self, addr: int) -> bool:
        return self.start <= addr <= self.end

    def matches(self, addr: int, proto: int, port: int) -> bool:
        """Address in range, protocol equal (or selector any), port in range (or no ports)."""
        if not (self.start <= addr <= self.end):
            return False
        if self.proto and proto != self.proto:
            return False
        if self.port_start == 0 and self.port_end == 65535:
            return True
        return self.port_start <= port <= self.port_end

    def is_subset_of(self, other: TrafficSelector) -> bool:
        return (
            other.start <= self.start
            and self.end <= other.end
            and (other.proto == 0 or other.proto == self.proto)
            and other.port_start <= self.port_start
            and self.port_end <= other.port_end
        )

    def intersect(self, other: TrafficSelector) -> TrafficSelector | None:
        """The narrowest selector both allow, or None (RFC 7296 §2.9 narrowing)."""
        start, end = max(self.start, other.start), min(self.end, other.end)
        if start > end:
            return None
        if self.proto and other.proto and self.proto != other.proto:
            return None
        proto = self.proto or other.proto
        ps, pe = max(self.port_start, other.port_start), min(self.port_end, other.port_end)
        if ps > pe:
            return None
        return TrafficSelector(start, end, proto, ps, pe)

    def __str__(self) -> str:
        net = None
        size = self.end - self.start + 1  # 0 or less: an empty range a peer sent (end < start)
        if size > 0 and size & (size - 1) == 0 and self.start % size == 0:
            net = f"{int_to_ip(self.start)}/{32 - size.bit_length() + 1}"
        addr = net or f"{int_to_ip(self.start)}-{int_to_ip(self.end)}"
        if self.proto == 0 and self.port_start == 0 and self.port_end == 65535:
            return addr
        proto = next((k for k, v in _PROTO_NAMES.items() if v == self.proto and k != "%any"), str(self.proto))
        if self.port_start == 0 and self.port_end == 65535:
            return f"{addr}[{proto}]"
        ports = str(self.port_start) if self.port_start == self.port_end else f"{self.port_start}-{self.port_end}"
        return f"{addr}[{proto}/{ports}]"
