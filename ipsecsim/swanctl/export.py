"""Design to deploy: a gateway's configuration as a swanctl folder for real strongSwan.

:func:`export_node` writes ``DIR/<node>/`` in swanctl's layout: ``swanctl.conf`` in
swanctl's own syntax (sections, ``key = value``, comma lists, quoted strings), and the
credentials it references in ``x509/``, ``x509ca/``, ``private/`` -- the files the
topology names, or the certificates and keys the run mints where it names none (the same
ones: the simulation's CA issues per identity from its seeded stream, see
:meth:`~ipsecsim.core.ike.ca.CertificateAuthority.issue`). ``SWANCTL_DIR=DIR/<node> swanctl
--load-all`` then loads the gateway's connections unchanged, and a topology that gives the
node ``swanctl: DIR/<node>`` (and ``strongswan_conf: DIR/<node>/strongswan.conf`` when
written) runs as the original.

What the YAML spelling takes per connection but strongSwan sets in strongswan.conf
(``retransmit_*``, ``make_before_break``) and the top-level options (``cookie_threshold``,
``fragment_size``, ``nat_keepalive`` ...) go to ``strongswan.conf``'s ``charon`` section;
what has no strongSwan spelling at all (``manual:`` SAs) is reported, never dropped silently.
A node configured by a ``swanctl:`` folder already is copied as it is.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ..core.ike.ca import KEY_TYPES, CertificateAuthority, cert_pem, key_pem
from .keys import NOT_SWANCTL
from .strongswan_conf import TOP

__all__ = ["export_node", "swanctl_text"]

_TOP_OPTIONS = {ours: theirs for theirs, ours in TOP.items() if theirs != "fragment_size_v4"}
"""IkeConfig's top-level keys -> their ``charon.*`` option."""
_PER_CONNECTION = {k: v.split(".", 1)[1] for k, v in NOT_SWANCTL.items()}
_SPECIAL = ' \t"{}#,=\\'


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v)
    if s == "" or any(c in s for c in _SPECIAL):
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return s


def _block(d: dict[str, Any], indent: int) -> list[str]:
    pad = "   " * indent
    out: list[str] = []
    for k, v in d.items():
        if isinstance(v, dict):
            out.append(f"{pad}{k} {{")
            out += _block(v, indent + 1)
            out.append(f"{pad}}}")
        elif v is not None:
            out.append(f"{pad}{k} = {_value(v)}")
    return out


def swanctl_text(tree: dict[str, Any], header: str = "") -> str:
    """swanctl.conf (or strongswan.conf) syntax for a nested dict."""
    lines = [f"# {line}" for line in header.splitlines()]
    return "\n".join([*lines, *_block(tree, 0)]) + "\n"


class _Folder:
    """The files of one exported folder, named as swanctl looks them up."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: dict[str, str] = {}
        """source (path or minted name) -> file name in its folder"""

    def copy(self, folder: str, src: str) -> str:
        key = f"{folder}:{os.path.abspath(src)}"
        if key not in self.written:
            name = self._free(folder, os.path.basename(src))
            shutil.copyfile(src, self.root / folder / name)
            self.written[key] = name
        return self.written[key]

    def put(self, folder: str, name: str, data: bytes, private: bool = False) -> str:
        key = f"{folder}:minted:{name}"
        if key not in self.written:
            name = self._free(folder, name)
            path = self.root / folder / name
            path.write_bytes(data)
            if private:
                path.chmod(0o600)
            self.written[key] = name
        return self.written[key]

    def _free(self, folder: str, name: str) -> str:
        (self.root / folder).mkdir(parents=True, exist_ok=True)
        stem, ext = os.path.splitext(name)
        n, cand = 1, name
        while (self.root / folder / cand).exists():
            n += 1
            cand = f"{stem}-{n}{ext}"
        return cand


def _file_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text).strip("_") or "local"


def export_node(node: str, ipsec: dict[str, Any], out: str | Path, ca: CertificateAuthority | None,
                base: Path, swanctl_dir: Path | None = None,
                strongswan_conf: Path | None = None) -> list[str]:
    """Write ``out/<node>/``; returns what could not be expressed (one sentence each).

    ``ipsec`` is the node's swanctl-shaped block, ``ca`` the simulation's CA (None when no
    connection mints certificates), ``base`` where relative file names start; a node read
    from ``swanctl_dir`` is copied from there (with its ``strongswan_conf``)."""
    root = Path(out) / node
    if root.exists():
        shutil.rmtree(root)
    if swanctl_dir is not None:
        shutil.copytree(swanctl_dir, root)
        if strongswan_conf is not None:
            shutil.copyfile(strongswan_conf, root / "strongswan.conf")
        return []
    root.mkdir(parents=True)
    files = _Folder(root)
    notes: list[str] = []
    charon: dict[str, Any] = {}
    tree: dict[str, Any] = {}
    for key, value in ipsec.items():
        if key in _TOP_OPTIONS:
            charon[_TOP_OPTIONS[key]] = value
        elif key == "manual":
            notes.append(f"{node}: manual: SAs (static keys) have no swanctl.conf spelling; "
                         "not exported")
        elif key in ("connections", "secrets", "pools"):
            pass
        else:
            notes.append(f"{node}: {key}: no swanctl.conf spelling; not exported")
    conns: dict[str, Any] = {}
    minted_ca = False
    for cname, conn in (ipsec.get("connections") or {}).items():
        c: dict[str, Any] = {}
        for key, value in conn.items():
            if key in _PER_CONNECTION:
                opt = _PER_CONNECTION[key]
                if opt in charon and charon[opt] != value:
                    notes.append(f"{node}: connections.{cname}.{key}: strongswan.conf has one "
                                 f"charon.{opt} for all connections; {charon[opt]!r} kept")
                charon.setdefault(opt, value)
            elif key in ("local", "remote") or key.startswith(("local-", "remote-")):
                side, mint = _auth(node, cname, key, dict(value or {}), conn, files, ca, base)
                c[key] = side
                minted_ca |= mint
            else:
                c[key] = value
        conns[cname] = c
    if minted_ca and ca is not None:
        files.put("x509ca", f"{_file_name(ca.name)}.pem", cert_pem(ca.cert))
    tree["connections"] = conns
    if ipsec.get("pools"):
        tree["pools"] = ipsec["pools"]
    secrets = {}
    for sname, sec in (ipsec.get("secrets") or {}).items():
        s = dict(sec)
        if "file" in s:
            folder = sname.split("-", 1)[0].lower()
            s["file"] = files.copy(folder if folder in ("rsa", "ecdsa", "pkcs8") else "private",
                                   str(base / s["file"]))
        secrets[sname] = s
    if secrets:
        tree["secrets"] = secrets
    (root / "swanctl.conf").write_text(swanctl_text(
        tree, f"{node}: exported by ipsecsim export-swanctl\n"
              f"SWANCTL_DIR={root} swanctl --load-all"))
    if charon:
        (root / "strongswan.conf").write_text(swanctl_text(
            {"charon": charon}, f"{node}: the charon options of the topology (strongswan.conf)"))
    return notes


def _auth(node: str, conn_name: str, key: str, side: dict[str, Any], conn: dict[str, Any],
          files: _Folder, ca: CertificateAuthority | None, base: Path) -> tuple[dict[str, Any], bool]:
    """One authentication round in swanctl's spelling; whether it needs the minted CA."""
    if side.get("auth") != "pubkey":
        return side, False
    out = {k: v for k, v in side.items() if k not in ("certs", "key", "cacerts")}
    if key.startswith("remote"):
        if side.get("cacerts"):
            out["cacerts"] = [files.copy("x509ca", str(base / p)) for p in side["cacerts"]]
            return out, ca is not None  # the run trusts its own CA too
        return out, ca is not None  # every CA of x509ca/ is trusted: the minted one
    certs, keyfile = side.get("certs") or [], side.get("key") or ""
    if certs and keyfile and keyfile not in KEY_TYPES:
        out["certs"] = [files.copy("x509", str(base / p)) for p in certs]
        files.copy("private", str(base / keyfile))  # charon pairs it with the certificate
        return out, False
    if ca is None:
        raise ValueError(f"{node}: connections.{conn_name}.{key}: auth = pubkey without "
                         "certs needs the simulation's CA")
    ident = side.get("id") or next(iter(conn.get("local_addrs") or ()), "")
    key_type = keyfile or "ecdsa"
    issued = ca.issue(str(ident), key_type)
    stem = _file_name(str(ident))
    out.setdefault("id", str(ident))  # else charon's identity would be the certificate's DN
    out["certs"] = [files.put("x509", f"{stem}Cert.pem", issued.cert_pem())]
    files.put("private", f"{stem}Key.pem", key_pem(issued.key), private=True)
    return out, True
