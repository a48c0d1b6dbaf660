"""One tunnel between charon (left namespace) and ``ipsecsim peer`` (right namespace)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .charon import Charon, established_child
from .fixtures import Interop, PeerProcess
from .swanctl import site_config


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """``a`` updated by ``b``, merging the nested ``child_extra``/``conn_extra`` dicts."""
    out = dict(a)
    for k, v in b.items():
        out[k] = {**out.get(k, {}), **v} if isinstance(v, dict) else v
    return out


CHARON_ID, PEER_ID = "charon.example", "ipsecsim.example"


def start_tunnel(env: Interop, initiator: str, ike: list[str], esp: list[str],
                 peer_ike: list[str] | None = None, peer_esp: list[str] | None = None,
                 expect_up: bool = True, peer_extra: dict[str, Any] | None = None,
                 charon_extra: dict[str, Any] | None = None,
                 edit_charon: Callable[[dict[str, Any]], None] | None = None,
                 edit_peer: Callable[[dict[str, Any]], None] | None = None,
                 charon_settings: dict[str, Any] | None = None,
                 **extra: Any) -> tuple[Charon, PeerProcess]:
    """charon in ``env.left``, ipsecsim peer in ``env.right``; ``initiator`` is who starts.

    ``extra`` goes to both sides' :func:`site_config`, ``charon_extra`` only to charon's,
    ``peer_extra`` are top-level keys of the peer's YAML (e.g. ``wireshark``);
    ``edit_charon``/``edit_peer`` may change each side's dict in place before it is used;
    ``charon_settings`` are strongswan.conf ``charon.*`` options.
    With ``expect_up`` it returns once both sides have the CHILD_SA installed.
    """
    charon = env.charon(env.left, "charon", charon_settings)
    cconf = site_config(env.left.addr, env.right.addr, env.left.inner, env.right.inner,
                        CHARON_ID, PEER_ID, ike, esp, **_merge(extra, charon_extra or {}))
    if edit_charon:
        edit_charon(cconf)
    charon.load(cconf)
    conf = site_config(env.right.addr, env.left.addr, env.right.inner, env.left.inner,
                       PEER_ID, CHARON_ID, peer_ike or ike, peer_esp or esp,
                       start_action="start" if initiator == "ipsecsim" else None, **extra)
    conf.update(listen=env.right.addr, inner_addrs=env.right.inner, **(peer_extra or {}))
    if edit_peer:
        edit_peer(conf)
    peer = env.peer(env.right, conf)
    assert peer.wait_log("listening on", timeout=15), "ipsecsim peer did not start"
    if initiator == "charon":
        charon.initiate("net", "interop", check=expect_up, timeout=10)
    if expect_up:
        child = charon.wait_for(lambda sas: established_child(sas, "net"), timeout=10)
        assert child is not None, "charon has no INSTALLED CHILD_SA with ipsecsim"
        assert peer.wait_log("ChildSaUp", timeout=5)
    return charon, peer
