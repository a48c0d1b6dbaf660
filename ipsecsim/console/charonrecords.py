"""What a :class:`~ipsecsim.console.charonlog.CharonLog` keeps between events: its lines
(maybe with a hole a later event fills) and what it knows of each IKE_SA and CHILD_SA."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.keys import ChildSaKeys
from .charonwords import ts_list

__all__ = ["HOLE", "ChildRec", "Held", "IkeRec", "Line", "hp", "split_sizes"]

HOLE = "\0"
"""Where a line names what a later event tells (see :meth:`Line.fill`)."""


class Line:
    """One daemon.log line: time, group and text (maybe with a hole still to be filled)."""

    __slots__ = ("group", "hole", "t", "text")

    def __init__(self, t: float, group: str, text: str, hole: str | None = None) -> None:
        self.t = t
        self.group = group
        self.text = text
        self.hole = hole
        """What fills the hole if no later event does (None: the text has no hole)."""

    def fill(self, value: str) -> None:
        if self.hole is not None:
            self.text = self.text.replace(HOLE, value)
            self.hole = None

    @property
    def message(self) -> str:
        """The text after ``NN[GRP] ``."""
        return self.text.replace(HOLE, self.hole) if self.hole is not None else self.text


@dataclass
class IkeRec:
    name: str
    """As charon prints it: ``connection[uniqueid]``."""
    conn: str
    initiator: bool
    local: tuple[str, int] = ("", 0)
    remote: tuple[str, int] = ("", 0)
    me: str = ""
    peer: str = ""
    state: str = "CREATED"
    ispi: bytes = b""
    """The initiator's SPI, once a message named it."""
    eap: bool = False
    """It authenticated with EAP: its authentication lines come from EapStep events."""

    @property
    def between(self) -> str:
        return f"{self.local[0]}[{self.me}]...{self.remote[0]}[{self.peer}]"


@dataclass
class ChildRec:
    keys: ChildSaKeys
    state: str = "INSTALLED"
    outbound_due: bool = False
    """Installed inbound only (a rekey): "outbound CHILD_SA ... established" is still to come."""
    sas: tuple[Any, Any] | None = None
    """The data plane's inbound and outbound SA objects (their byte counters), if a view gave them."""

    @property
    def label(self) -> str:
        return f"{self.keys.name}{{{self.keys.unique_id}}}"

    @property
    def spis_ts(self) -> str:
        k = self.keys
        return f"with SPIs {k.spi_in:08x}_i {k.spi_out:08x}_o and TS {ts_list(k.local_ts)} === {ts_list(k.remote_ts)}"


@dataclass
class Held:
    ike: str
    lines: list[Line] = field(default_factory=list)


def hp(addr: tuple[str, int]) -> str:
    """``%#H``: ``192.168.0.1[500]``."""
    return f"{addr[0]}[{addr[1]}]"


def split_sizes(size: int, frags: int) -> list[int]:
    """Datagram sizes of a message: one, or its fragments (the event has only their sum)."""
    if frags <= 1:
        return [size]
    each = size // frags
    return [each] * (frags - 1) + [size - each * (frags - 1)]
