"""A Wireshark configuration folder kept up to date by ``ipsecsim peer`` (``wireshark: DIR``).

Each IKE_SA (``IkeSaUp``, also after an IKE rekey) adds an ``ikev2_decryption_table``
line and each CHILD_SA (``ChildSaUp``) two ``esp_sa`` lines; the whole folder is
rewritten every time, so ``WIRESHARK_CONFIG_DIR=DIR tshark -r capture.pcap`` decrypts
a capture taken on the wire at any moment. Lines come from :mod:`ipsecsim.export.wireshark`.
"""

from __future__ import annotations

from ..core import algorithms as A
from ..core.ike.events import ChildSaUp, IkeSaRekeyed, IkeSaUp
from . import wireshark


def _encr(name: str) -> A.EncrAlg:
    for alg in A.ENCR_ALGS.values():
        if alg.name == name:
            return alg
    raise KeyError(f"no encryption algorithm named {name!r}")


def _integ(name: str) -> A.IntegAlg | None:
    if not name:
        return None
    for alg in A.INTEG_ALGS.values():
        if alg.name == name:
            return alg
    raise KeyError(f"no integrity algorithm named {name!r}")


class WiresharkExport:
    """Collects key lines from engine events and writes them to ``folder``."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.esp: list[str] = []
        self.ikev2: list[str] = []
        wireshark.write_config(folder)

    def event(self, ev: object) -> str | None:
        """Record the keys an event carries; a sentence if they cannot be exported, else None."""
        try:
            match ev:
                case IkeSaUp() | IkeSaRekeyed(new=IkeSaUp()):
                    up = ev.new if isinstance(ev, IkeSaRekeyed) else ev
                    self.ikev2.append(wireshark.ikev2_decryption_table(
                        up.ispi, up.rspi, up.sk_ei, up.sk_er, _encr(up.encr), up.sk_ai, up.sk_ar,
                        _integ(up.integ)))
                case ChildSaUp():
                    self.esp += wireshark.esp_sa_lines(ev.keys)
                case _:
                    return None
        except (KeyError, ValueError) as exc:
            return f"wireshark export: {exc}"
        wireshark.write_config(self.folder, self.esp, self.ikev2)
        return None
