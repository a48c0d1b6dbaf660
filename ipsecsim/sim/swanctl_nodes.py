"""Gateways configured by real strongSwan folders: a node's ``swanctl:`` (and ``strongswan_conf:``).

``swanctl: moon/etc/swanctl`` names a folder in swanctl's own layout (swanctl.conf and
the credential folders), relative to the topology file (to the working directory for a
topology given as a dict); ``strongswan_conf:`` a strongswan.conf whose modelled
``charon.*`` options apply. Names in them resolve through the topology's ``hosts:``.
:func:`ipsecsim.swanctl.load_swanctl` reads them into the same swanctl-shaped dict as a
YAML ``ipsec:`` block, so both spellings build the same gateway. What strongSwan knows
but the simulator does not model is a warning, ``FILE:LINE: path: ...``, never a key
accepted and ignored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError

_LOCATED = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+): (?P<msg>.*)$", re.S)


def base_dir(fname: str) -> Path:
    """Where a topology's relative paths start: its file's folder, or the working directory."""
    return Path(fname).parent if fname and not fname.startswith("<") else Path.cwd()


def load_node(node: dict[str, Any], hosts: dict[str, Any] | None, base: Path) -> Any:
    """A node's swanctl folder as a :class:`ipsecsim.swanctl.load.SwanctlConfig`; raises
    ConfigError ``FILE:LINE: message`` (the swanctl.conf line, or the file that is missing)."""
    from ..swanctl.load import load_swanctl

    folder = base / str(node["swanctl"])
    if not folder.is_dir():
        raise ConfigError(f"no such swanctl folder: {folder}")
    conf = node.get("strongswan_conf")
    sconf = str(base / str(conf)) if conf else None
    if sconf is not None and not Path(sconf).is_file():
        raise ConfigError(f"no such strongswan.conf: {sconf}")
    return load_swanctl(str(folder), hosts=hosts or None, strongswan_conf=sconf)


def located(exc: ConfigError, fname: str, line: int) -> tuple[str, int, str]:
    """(file, line, message) of a swanctl error: the swanctl.conf line it names, else the
    topology's ``swanctl:`` key (a missing folder or credential file names itself)."""
    m = _LOCATED.match(str(exc))
    if m:
        return m["file"], int(m["line"]), m["msg"]
    return fname, line, str(exc)


def ipsec_blocks(topo: dict[str, Any], fname: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Node name -> the ``ipsec:`` dict its swanctl folder stands for, and the warnings of
    every gateway (its swanctl folder's, or its YAML ``ipsec:`` block's: the same keys warn
    in both spellings). Raises ConfigError for the first folder that cannot be read."""
    from ..swanctl.unmodelled import unmodelled
    from .roadwarrior import pool_warnings
    from .topology import line_of

    blocks: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    base = base_dir(fname)
    for name, n in (topo.get("nodes") or {}).items():
        if not isinstance(n, dict):
            continue
        if n.get("swanctl"):
            cfg = load_node(n, topo.get("hosts"), base)
            blocks[name] = cfg.data
            warnings += [f"{w} (node {name})" for w in cfg.warnings]
        elif isinstance(n.get("ipsec"), dict):
            for path, why in unmodelled(n["ipsec"]):
                line = line_of(topo, ["nodes", name, "ipsec", *path])
                warnings.append(f"{fname}:{line}: nodes.{name}.ipsec.{'.'.join(path)}: "
                                f"not modelled by the simulator (ignored): {why}")
    warnings += pool_warnings(topo, blocks, fname)  # pools smaller than their clients
    return blocks, warnings
