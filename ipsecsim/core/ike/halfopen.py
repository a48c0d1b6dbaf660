"""The responder's half-open IKE_SAs (IKE_SA_INIT answered, IKE_AUTH not yet done), and the
limits strongSwan's receiver.c ``drop_ike_sa_init()`` puts on them.

Keyed by (initiator SPI, peer address) as RFC 7296 §2.1 matches a retransmitted
IKE_SA_INIT; counted per peer address for ``block_threshold``.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import IkeConfig
    from .ikesa import IkeSa

Address = tuple[str, int]


class HalfOpen(dict[tuple[bytes, Address], "IkeSa"]):
    """(initiator SPI, peer address) -> the half-open IKE_SA; add with :meth:`add`."""

    def __init__(self) -> None:
        super().__init__()
        self.by_ip: Counter[str] = Counter()
        """Half-open IKE_SAs per peer address."""
        self._keys: dict[int, list[tuple[bytes, Address]]] = {}
        """id(IKE_SA) -> the keys it was added under (a hub's thousands are not walked)."""

    def add(self, key: tuple[bytes, Address], sa: IkeSa) -> None:
        self[key] = sa
        self.by_ip[key[1][0]] += 1
        self._keys.setdefault(id(sa), []).append(key)

    def discard(self, sa: IkeSa) -> None:
        """Forget ``sa`` under every key it has (the peer may have floated to 4500)."""
        for key in self._keys.pop(id(sa), ()):
            if self.get(key) is not sa:
                continue
            del self[key]
            left = self.by_ip[key[1][0]] - 1
            if left > 0:
                self.by_ip[key[1][0]] = left
            else:
                del self.by_ip[key[1][0]]

    def refusal(self, src: Address, cfg: IkeConfig) -> tuple[str, str] | None:
        """(drop reason, strongSwan's sentence) when an IKE_SA_INIT from ``src`` must be
        dropped unanswered: ``block_threshold`` half-open IKE_SAs from that address, or
        ``init_limit_half_open`` in all; None when it may be answered."""
        n = self.by_ip.get(src[0], 0)
        if cfg.block_threshold and n >= cfg.block_threshold:
            return "block_threshold", (f"ignoring IKE_SA setup from {src[0]}, per-IP half-open "
                                       f"IKE_SA limit of {cfg.block_threshold} reached")
        if cfg.init_limit_half_open and len(self) >= cfg.init_limit_half_open:
            return "half_open_limit", (f"ignoring IKE_SA setup from {src[0]}, half open IKE_SA "
                                       f"count of {len(self)} exceeds limit of "
                                       f"{cfg.init_limit_half_open}")
        return None
