"""What ``ipsecsim peer CONFIG`` is made of: its YAML and the node built from it.

The YAML is swanctl's tree plus the socket shell's own keys; :func:`make_node` builds the
:class:`~ipsecsim.core.node.IpsecNode` with key material from the operating system.

CONFIG is the swanctl-shaped YAML (``connections``, ``secrets``) plus ``listen`` (the
address to bind UDP 500 and 4500 on) and ``inner_addrs`` (addresses answered inside
the CHILD_SAs: ICMP echo and UDP echo on port 7). See INTERFACES.md. Optional
``wireshark: DIR`` keeps a Wireshark configuration folder there with the keys of
every IKE_SA and CHILD_SA (:mod:`ipsecsim.export.keylog`); ``daemon_log: FILE`` writes the
peer's IKE daemon log there in charon's wording (:mod:`ipsecsim.console.charonlog`) when it
stops.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ..core.errors import ConfigError

PEER_ONLY_KEYS = ("wireshark", "daemon_log")
"""Keys of the peer's YAML that are not part of the IKE configuration."""


def load(path: str) -> tuple[dict[str, Any], str, list[str]]:
    """The YAML as a dict, its ``listen`` address and its ``inner_addrs``; ConfigError if unusable."""
    import yaml

    try:
        with open(path) as f:
            d = yaml.safe_load(f)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not YAML: {exc}") from exc
    if not isinstance(d, dict):
        raise ConfigError(f"{path}: expected a mapping with 'connections', 'secrets' and 'listen'")
    listen = d.get("listen")
    if not listen:
        raise ConfigError(f"{path}: 'listen' is missing: the address to bind UDP 500 and 4500 on")
    inner = d.get("inner_addrs") or []
    if isinstance(inner, str):
        inner = [inner]
    for a in [listen, *inner]:
        try:
            ipaddress.IPv4Address(str(a))
        except ValueError as exc:
            raise ConfigError(f"{path}: {a!r} is not an IPv4 address") from exc
    return d, str(listen), [str(a) for a in inner]


def make_node(config: Any, listen: str) -> Any:
    """The peer's node: every key, nonce and SPI from the operating system (``SystemRng``)."""
    from ..core.node import IpsecNode
    from ..core.rng import SystemRng

    return IpsecNode("peer", SystemRng("peer"), [listen], config)
