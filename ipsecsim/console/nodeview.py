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
    """What charon knows that the events do not carry, read from a live node: the schemes
    that authenticated an IKE_SA, its rekey schedule, an SA's byte counters. Only read when
    an event is logged; ``node`` is an :class:`~ipsecsim.core.node.IpsecNode`."""

    def __init__(self, node: Any) -> None:
        self.node = node

    @property
    def endpoint(self) -> Any:
        return self.node.ike

    def ike_sa(self, name: str) -> Any:
        ike = self.node.ike
        if ike is None:
            return None
        return next((sa for sa in list(ike.ike_sas.values()) if sa.name == name), None)

    def auth(self, name: str) -> tuple[str, str] | None:
        """(how we authenticate, how the peer did) as charon names them, for IKE_SA ``name``."""
        sa = self.ike_sa(name)
        if sa is None:
            return None
        from ..core.ike import auth as A

        try:
            cred = self.node.ike.local_credential(sa)
            if cred.psk is not None or cred.key is None:
                ours = W.AUTH_METHOD_TEXT[2]
            else:
                method, scheme = A.choose_method(cred.key, set(sa.peer_hashes), cred.method, cred.rsa_pss)
                ours = W.scheme_text(method, scheme.key, scheme.hash_id, scheme.pss)
        except Exception:  # noqa: BLE001 - a credential we cannot reload: say what the config says
            ours = ""
        theirs = W.AUTH_METHOD_TEXT[2]
        if sa.peer_cert is not None:
            pub = sa.peer_cert.public_key()
            try:
                method, scheme = A.choose_method(pub, set(A.SUPPORTED_HASHES))  # type: ignore[arg-type]
                theirs = W.scheme_text(method, scheme.key, scheme.hash_id, scheme.pss)
            except Exception:  # noqa: BLE001
                theirs = W.AUTH_METHOD_TEXT[14]
        return ours, theirs

    def schedule(self, name: str, now: float) -> list[str]:
        """``scheduling rekeying in Ns`` / ``maximum IKE_SA lifetime Ns`` (ike_sa.c ``set_state()``)."""
        sa = self.ike_sa(name)
        if sa is None:
            return []
        out = []
        if sa.rekey_at is not None:
            out.append(f"scheduling rekeying in {int(sa.rekey_at - now)}s")
        if sa.reauth_at is not None:
            out.append(f"scheduling reauthentication in {int(sa.reauth_at - now)}s")
        if sa.expire_at is not None:
            out.append(f"maximum IKE_SA lifetime {int(sa.expire_at - now)}s")
        return out

    def sas(self, keys: ChildSaKeys) -> tuple[Any, Any] | None:
        """The installed inbound and outbound SA objects of ``keys`` (kept for their counters)."""
        sad = self.node.stack.sad
        e_in = sad.inbound.get(keys.spi_in)
        e_out = sad.outbound.get(keys.spi_out)
        if e_in is None or e_out is None:
            return None
        return e_in.sa, e_out.sa
