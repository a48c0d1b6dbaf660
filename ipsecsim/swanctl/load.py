"""The one place that reads files: swanctl folders and strongswan.conf from disk.

:func:`load_swanctl` reads a folder in swanctl's own layout (``swanctl.conf`` and the
credential folders, INTERFACES.md "Real strongSwan configurations"), converts it
and builds the :class:`IkeConfig`; an error of IkeConfig is given the ``FILE:LINE``
of the key it names. Everything else in this package works on text and bytes.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import ConfigError
from ..core.ike.config import IkeConfig
from .convert import convert, file_references, key_passwords, locate
from .credentials import FOLDERS, UNMODELLED_FOLDERS, Credentials, build
from .parser import Section, parse
from .strongswan_conf import apply_charon_options, charon_options


def _read(path: str) -> bytes | None:
    """A file's bytes; None if it does not exist; ConfigError if it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a folder, not a file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _text(path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _include(pattern: str) -> list[tuple[str, str]]:
    """The regular files a glob pattern matches, sorted as glob(3) sorts them."""
    out = []
    for path in sorted(glob.glob(pattern)):
        if os.path.isfile(path):
            data = _read(path)
            if data is not None:
                out.append((path, _text(path, data)))
    return out


def read_settings(path: str) -> tuple[Section, list[str]]:
    """Parse a swanctl.conf or strongswan.conf file with its includes."""
    data = _read(path)
    if data is None:
        raise ConfigError(f"{path}: no such file")
    return parse(_text(path, data), path, _include)


def read_credentials(root: str, tree: Section) -> Credentials:
    """Every file of swanctl's credential folders under ``root``, and every file the
    configuration names elsewhere, with the key passwords its ``secrets`` give."""
    files: list[tuple[str, str, bytes | None]] = []
    for folder in FOLDERS:
        d = os.path.join(root, folder)
        if os.path.isdir(d):
            for name in sorted(os.listdir(d)):
                p = os.path.normpath(os.path.join(d, name))
                if os.path.isfile(p):
                    files.append((folder, p, _read(p)))
    index = Credentials(root)
    seen = {p for _, p, _ in files}
    for folder, ref in file_references(tree):
        p = index.path(folder, ref)
        if p not in seen:
            seen.add(p)
            files.append((folder, p, _read(p)))
    creds = build(root, files, key_passwords(tree))
    for folder, why in UNMODELLED_FOLDERS.items():
        d = os.path.join(root, folder)
        if os.path.isdir(d) and any(os.path.isfile(os.path.join(d, n)) for n in os.listdir(d)):
            creds.warnings.append(f"{d}: not modelled by the simulator (ignored): {why}")
    return creds


@dataclass(frozen=True)
class SwanctlConfig:
    """A swanctl folder, read and converted."""

    config: IkeConfig
    """The configuration the simulator runs."""
    data: dict[str, Any]
    """The swanctl-shaped dict it was built from (the YAML spelling of the same config)."""
    warnings: tuple[str, ...]
    """What the simulator does not model, one ``FILE:LINE: path: why`` per line."""
    credentials: Credentials
    """The certificates and keys the folders hold."""
    tree: Section
    """swanctl.conf as parsed."""


def load_swanctl(swanctl_dir: str, hosts: Mapping[str, str | Sequence[str]] | None = None,
                 strongswan_conf: str | None = None, file: str | None = None) -> SwanctlConfig:
    """Read ``swanctl_dir`` (``swanctl.conf`` or ``file``, and the credential folders),
    and optionally a strongswan.conf whose ``charon.*`` options apply; build the
    IkeConfig. Raises :class:`ConfigError` ``FILE:LINE: message``."""
    conf = file or os.path.join(swanctl_dir, "swanctl.conf")
    tree, warnings = read_settings(conf)
    creds = read_credentials(swanctl_dir, tree)
    warnings += creds.warnings
    data, more = convert(tree, hosts, creds)
    warnings += more
    if strongswan_conf is not None:
        stree, swarn = read_settings(strongswan_conf)
        options, owarn = charon_options(stree)
        warnings += swarn + owarn
        data = apply_charon_options(data, options)
    try:
        config = IkeConfig.from_dict(data, source=conf)
    except ConfigError as exc:
        msg = str(exc)
        head = msg.split(": ", 1)[0]
        if head.split(".", 1)[0] in ("connections", "secrets", "pools"):
            raise ConfigError(f"{locate(tree, head)}: {msg}") from None
        raise ConfigError(f"{conf}: {msg}") from None
    return SwanctlConfig(config, data, tuple(warnings), creds, tree)


def load_strongswan_conf(path: str) -> tuple[dict[str, Any], list[str]]:
    """The modelled ``charon.*`` options of a strongswan.conf file, and warnings."""
    tree, warnings = read_settings(path)
    options, more = charon_options(tree)
    return options, warnings + more
