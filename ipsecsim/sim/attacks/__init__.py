"""The attacks an :class:`~ipsecsim.sim.attacker.Attacker` runs, by their ``type:``.

* :mod:`.dataplane` -- ``tamper`` (flip a bit of ESP/AH), ``replay`` (send captured ESP/AH
  again, later), ``inject`` (ESP under a forged SPI, or garbage under a live one), ``drop``
  (take chosen packets off the wire);
* :mod:`.ike` -- ``downgrade`` (strip the strong proposals from IKE_SA_INIT) and ``flood``
  (IKE_SA_INIT from spoofed sources, optionally echoing the cookies it is sent);
* :mod:`.eavesdrop` -- what a passive observer learns (built by the attacker itself).
"""

from __future__ import annotations

from .base import Attack
from .dataplane import Drop, Inject, Replay, Tamper
from .ike import Downgrade, Flood

ATTACKS: dict[str, type[Attack]] = {
    "tamper": Tamper, "replay": Replay, "inject": Inject, "drop": Drop,
    "downgrade": Downgrade, "flood": Flood,
}
"""``type:`` -> the attack (``eavesdrop`` is the attacker's :class:`.eavesdrop.Eavesdropper`)."""

__all__ = ["ATTACKS", "Attack"]
