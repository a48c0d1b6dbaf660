"""Keying material for one child SA pair, as IKE hands it to the data plane.

This is the contract between the IKEv2 engine (which negotiates and derives)
and the IPsec stack (which installs SAs into the SAD and policies into the
SPD). Manual keying (tests, the data-plane demo) builds the same object.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .algorithms import EncrAlg, IntegAlg
from .selectors import TrafficSelector


@dataclass(frozen=True, slots=True)
class ChildSaKeys:
    """Both directions of one negotiated CHILD_SA, seen from the local endpoint."""

    name: str
    """Child config name (swanctl ``children`` key)."""
    proto: str
    """``esp`` or ``ah``."""
    mode: str
    """``tunnel`` or ``transport``."""
    spi_in: int
    """SPI the peer puts on packets it sends to us (we chose it)."""
    spi_out: int
    """SPI we put on packets we send (the peer chose it)."""
    encr: EncrAlg | None
    integ: IntegAlg | None
    key_in_encr: bytes
    """Inbound encryption key (key || salt for AEAD)."""
    key_in_integ: bytes
    key_out_encr: bytes
    key_out_integ: bytes
    local_addr: str
    """Our outer (tunnel endpoint / IKE) address."""
    remote_addr: str
    local_ts: tuple[TrafficSelector, ...]
    remote_ts: tuple[TrafficSelector, ...]
    esn: bool = False
    encap: tuple[int, int] | None = None
    """UDP encapsulation (RFC 3948): (local port, remote port); None for plain ESP."""
    replay_window: int = 32
    """strongSwan's default replay window is 32 packets."""
    lifetime: dict[str, int] = field(default_factory=dict)
    """Byte/packet limits: soft_bytes, hard_bytes, soft_packets, hard_packets (0 = none)."""
    ike_sa: str = ""
    """Identifier of the owning IKE_SA (for traces)."""
    unique_id: int = 0
    """Distinguishes the generations of a child across rekeys."""
    tfc_pad: int = 0
    """Tunnel mode: outbound inner packets padded with zeros to this many bytes (RFC 4303
    §2.4); 0: none."""
