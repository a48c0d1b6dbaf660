"""What charon knows that a node's events do not carry, read from the live node.

:class:`~.charonlog.CharonLog` asks a :class:`NodeView` for the few facts of its lines that
no event holds: the signature scheme each end authenticated with, the IKE_SA's rekey
schedule (``scheduling rekeying in 13814s``), an SA's byte counters (``closing CHILD_SA ...
(21600 bytes)``). It reads only when an event is logged, never on the packet path.
"""

from __future__ import annotations

from typing import Any

from ..core.keys import ChildSaKeys
from . import charonwords as W

__all__ = ["NodeView"]


class NodeView:
    """What charon knows that the events do not carry, read from a live node
    (``node``: an :class:`~ipsecsim.core.node.IpsecNode`).

    :meth:`~.charonlog.CharonLog.feed` keeps references while it is fed (an IKE_SA object by
    SPI, the SA objects of a CHILD_SA, the rekey schedule as the IKE_SA came up: dictionary
    lookups, no search), and the lines are rendered from them later, when the log is read.
    """

    def __init__(self, node: Any) -> None:
        self.node = node

    @property
    def endpoint(self) -> Any:
        return self.node.ike

    def ike_sa(self, spi: bytes) -> Any:
        """The live IKE_SA whose SPI (ours) is ``spi``, or None."""
        ike = self.node.ike
        return ike.ike_sas.get(spi) if ike is not None else None

    def schedule(self, sa: Any) -> tuple[float | None, float | None, float | None]:
        """(rekey, reauthentication, hard end) times of an IKE_SA, as set when it came up."""
        return sa.rekey_at, sa.reauth_at, sa.expire_at

    def auth(self, sa: Any) -> tuple[str, str]:
        """(how we authenticate, how the peer did) as charon names them (``pre-shared key``,
        ``ECDSA_WITH_SHA256_DER``, ...; "" where it cannot be told)."""
        from ..core.ike import auth as A

        ike = self.node.ike
        try:
            cred = ike.local_credential(sa)
            if cred.psk is not None or cred.key is None:
                ours = W.AUTH_METHOD_TEXT[2]
            else:
                method, scheme = A.choose_method(cred.key, set(sa.peer_hashes), cred.method, cred.rsa_pss)
                ours = W.scheme_text(method, scheme.key, scheme.hash_id, scheme.pss)
        except Exception:  # noqa: BLE001 - a credential we cannot reload: say what the config says
            ours = ""
        theirs = W.AUTH_METHOD_TEXT[2] if sa.peer_id is not None else ""
        if sa.peer_cert is not None:
            # the peer signs as we would with its key, given the hashes we announced (RFC 7427)
            try:
                method, scheme = A.choose_method(sa.peer_cert.public_key(), set(A.SUPPORTED_HASHES))  # type: ignore[arg-type]
                theirs = W.scheme_text(method, scheme.key, scheme.hash_id, scheme.pss)
            except Exception:  # noqa: BLE001
                theirs = W.AUTH_METHOD_TEXT[14]
        return ours, theirs

    def sas(self, keys: ChildSaKeys) -> tuple[Any, Any] | None:
        """The installed inbound and outbound SA objects of ``keys`` (for their counters)."""
        sad = self.node.stack.sad
        e_in = sad.inbound.get(keys.spi_in)
        e_out = sad.outbound.get(keys.spi_out)
        if e_in is None or e_out is None:
            return None
        return e_in.sa, e_out.sa
