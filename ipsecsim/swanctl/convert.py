"""swanctl.conf's tree -> the swanctl-shaped dict :meth:`IkeConfig.from_dict` reads.

Both spellings of a configuration (swanctl.conf, and the YAML block of
INTERFACES.md) must behave identically, so this module does what swanctl and
charon do before a connection is used (``src/swanctl/commands/load_conns.c``,
``load_creds.c``, ``src/libcharon/plugins/vici/vici_config.c``):

* lists are split at commas, words trimmed; ``key =`` (empty) leaves the default;
* names in ``local_addrs``/``remote_addrs`` resolve through ``hosts`` (like /etc/hosts);
* the first authentication round ``local``, ``local-1``, ... (ordered by ``round``,
  else by position) becomes ``local``, likewise ``remote``; ``auth`` defaults to
  ``pubkey`` as in swanctl.conf(5);
* ``certs = moonCert.pem`` names ``x509/moonCert.pem``, ``cacerts`` names ``x509ca/``
  files; the private key is the one of ``private/``, ``rsa/``, ``ecdsa/``,
  ``pkcs8/`` that matches the certificate (charon pairs them by public key); without
  ``cacerts`` every CA of ``x509ca/`` is trusted; without ``id`` a certificate's
  subject is the identity;
* ``0x`` (hex) and ``0s`` (base64) secrets are decoded (handed on as ``0x...``).

No key is dropped in silence: what IkeConfig models is handed on, what it does not
is a warning ``FILE:LINE: path: why (ignored)`` (:mod:`~ipsecsim.swanctl.keys`), and
a key strongSwan does not know either is a :class:`ConfigError` with a did-you-mean.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import ipaddress
import os
from collections.abc import Mapping, Sequence
from typing import Any

from ..core.errors import ConfigError
from ..core.ike.ids import dn_to_text
from . import keys as K
from .credentials import CertFile, Credentials
from .parser import Section, Setting

Hosts = Mapping[str, "str | Sequence[str]"]
"""Host names to addresses, like /etc/hosts (INTERFACES.md ``hosts:``)."""

_ANY_ADDRS = ("%any", "%any4", "%any6")


def _hint(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=2)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _split(value: str) -> list[str]:
    """A comma separated list, words trimmed, empty items dropped (swanctl's tokenizer)."""
    return [x.strip() for x in value.split(",") if x.strip()]


def _same(value: str, same_as: tuple[str, ...]) -> bool:
    n = K.normal(value)
    return n in same_as or (n == "0" and "no" in same_as)


class _Run:
    """One conversion: the warnings so far, the hosts, the credentials."""

    def __init__(self, hosts: Hosts | None, creds: Credentials) -> None:
        self.hosts = {k.lower(): v for k, v in (hosts or {}).items()}
        self.creds = creds
        self.warnings: list[str] = []

    def warn(self, where: str, path: str, why: str) -> None:
        self.warnings.append(f"{where}: {path}: {why}")

    @staticmethod
    def fail(where: str, path: str, why: str) -> ConfigError:
        return ConfigError(f"{where}: {path}: {why}")

    # ------------------------------------------------------------------ keys

    def check(self, sec: Section, path: str, table: Mapping[str, str | K.Unmodelled],
              sections: Sequence[str] = ()) -> dict[str, Setting]:
        """The settings of ``sec`` that are modelled; warn for the others, refuse unknown ones."""
        out: dict[str, Setting] = {}
        for key, s in sec.settings.items():
            entry = table.get(key)
            if entry is None:
                if key in K.NOT_SWANCTL:
                    raise self.fail(s.where, f"{path}.{key}", "not a swanctl.conf key (strongSwan "
                                    f"refuses it); set {K.NOT_SWANCTL[key]} in strongswan.conf")
                raise self.fail(s.where, f"{path}.{key}", "unknown key"
                                f"{_hint(key, [*table, *sections])}; swanctl.conf(5) has "
                                f"{', '.join(table)}")
            if s.value == "":
                continue  # an empty assignment leaves the default (strongswan.conf(5))
            if isinstance(entry, K.Unmodelled):
                if not _same(s.value, entry.same_as):
                    self.warn(s.where, f"{path}.{key}",
                              f"not modelled by the simulator (ignored): {entry.why}")
                if not entry.keep:
                    continue
            out[key] = s
        return out

    def value(self, key: str, s: Setting) -> Any:
        if key in K.LIST_KEYS:
            return _split(s.value)
        if key in K.BOOL_KEYS:
            n = K.normal(s.value)
            return {"0": "no"}.get(n, n)
        if key in K.ACTIONS:
            v = s.value.strip().lower()
            return K.ACTIONS[key].get(v, v)
        return s.value

    # ------------------------------------------------------------------ addresses

    def addrs(self, s: Setting, path: str) -> list[str]:
        out: list[str] = []
        for item in _split(s.value):
            if item.lower() in _ANY_ADDRS or _is_address_spec(item):
                out.append(item)
                continue
            got = self.hosts.get(item.lower())
            if got is None:
                raise self.fail(s.where, path, f"{item!r} is neither an address, a subnet or a "
                                "range nor a name in hosts"
                                f"{_hint(item.lower(), list(self.hosts))}")
            out += [got] if isinstance(got, str) else [str(a) for a in got]
        return out

    # ------------------------------------------------------------------ connections

    def connection(self, sec: Section, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, s in self.check(sec, path, K.CONNECTION, ("local", "remote", "children")).items():
            if key in ("local_addrs", "remote_addrs"):
                out[key] = self.addrs(s, f"{path}.{key}")
            else:
                out[key] = self.value(key, s)
        rounds = {side: auth_rounds(sec, side) for side in ("local", "remote")}
        for name, sub in sec.sections.items():  # in file order, so messages come in file order
            side = _round_prefix(name)
            if side:
                if sub is rounds[side][0]:
                    out[side] = self.auth(sub, f"{path}.{name}", side, sec.where, out)
                else:  # RFC 4739: further rounds as local-2, local-3 ... (core/ike/eap/)
                    more = self.auth(sub, f"{path}.{name}", side, sec.where, out)
                    if more["auth"].startswith("eap"):
                        out[f"{side}-{rounds[side].index(sub) + 1}"] = more
                    else:
                        self.warn(sub.where, f"{path}.{name}", "not modelled by the simulator "
                                  "(ignored): a further authentication round other than EAP "
                                  "(RFC 4739)")
                continue
            if name != "children":
                raise self.fail(sub.where, f"{path}.{name}", "unknown section"
                                f"{_hint(name, ['local', 'remote', 'children'])}; a connection "
                                "has local<suffix>, remote<suffix> and children")
            for key, s in sub.settings.items():
                raise self.fail(s.where, f"{path}.children.{key}",
                                "children holds CHILD_SA sections only (name { ... })")
            out["children"] = {n: self.child(child, f"{path}.children.{n}")
                               for n, child in sub.sections.items()}
        for side in ("local", "remote"):
            if side not in out:  # no such section: charon's default round
                out[side] = self.auth(None, f"{path}.{side}", side, sec.where, out)
        return out

    def child(self, sec: Section, path: str) -> dict[str, Any]:
        for n, sub in sec.sections.items():
            raise self.fail(sub.where, f"{path}.{n}", "unknown section; a CHILD_SA has settings "
                            "only")
        return {key: self.value(key, s) for key, s in self.check(sec, path, K.CHILD).items()}

    # ------------------------------------------------------------------ authentication

    def auth(self, sec: Section | None, path: str, side: str, conn_where: str,
             conn: dict[str, Any]) -> dict[str, Any]:
        settings = self.check(sec, path, K.AUTH) if sec is not None else {}
        where = sec.where if sec is not None else conn_where
        files: list[tuple[str, Setting]] = []  # (folder, setting naming a file)
        if sec is not None:
            for n, sub in sec.sections.items():
                kind = "cacert" if n.startswith("cacert") else "cert" if n.startswith("cert") else ""
                if not kind or (kind == "cacert" and side == "local"):
                    raise self.fail(sub.where, f"{path}.{n}", "unknown section; an authentication "
                                    "round has cert<suffix> and (remote) cacert<suffix> sections")
                got = self.check(sub, f"{path}.{n}", K.CERT_SECTION)
                if "file" in got:
                    files.append(("x509" if kind == "cert" else "x509ca", got["file"]))
        out: dict[str, Any] = {"auth": self.auth_method(settings.get("auth"), path, side, where)}
        if "id" in settings:
            out["id"] = settings["id"].value
        if "eap_id" in settings:
            out["eap_id"] = settings["eap_id"].value
        if out["auth"] != "pubkey":
            for key in ("certs", "cacerts"):
                if key in settings:
                    self.warn(settings[key].where, f"{path}.{key}", "not modelled by the "
                              "simulator (ignored): certificates with auth = psk")
            return out
        raw = sec.settings.get("pubkeys") if sec is not None else None
        if raw is not None and raw.value and "certs" not in settings and not files:
            raise self.fail(raw.where, f"{path}.pubkeys", "raw public key authentication is not "
                            "modelled by the simulator (only certificates and psk)")
        if side == "local":
            self.local_pubkey(settings, files, path, where, out, conn)
        else:
            self.remote_pubkey(settings, files, path, where, out)
        return out

    def auth_method(self, s: Setting | None, path: str, side: str, where: str) -> str:
        if s is None:
            if side == "remote":
                self.warn(where, f"{path}.auth", "not set: strongSwan then accepts any method, "
                          "the simulator requires pubkey (swanctl.conf's default)")
            return "pubkey"
        v = s.value.strip().lower()
        if v == "psk":
            return "psk"
        if v == "pubkey":
            return "pubkey"
        if v.startswith(("pubkey", "rsa", "ecdsa", "ike:")):
            self.warn(s.where, f"{path}.auth", f"not modelled by the simulator: the constraints "
                      f"of {s.value!r} (signature scheme, key strength) are ignored; taken as pubkey")
            return "pubkey"
        if v in _EAP_METHODS:
            return v
        if v.startswith("eap-") and v[4:] in _EAP_UNMODELLED:
            raise self.fail(s.where, f"{path}.auth", f"{s.value!r} is not modelled by the "
                            "simulator: its EAP methods are eap-md5, eap-mschapv2 and eap-tls")
        if v.startswith("xauth"):
            raise self.fail(s.where, f"{path}.auth", f"{s.value!r} is not modelled by the "
                            "simulator: XAuth is IKEv1 (only psk, pubkey and eap-*)")
        raise self.fail(s.where, f"{path}.auth", f"{s.value!r} is not an authentication method"
                        f"{_hint(v, ['psk', 'pubkey', *_EAP_METHODS, 'xauth'])}")

    def _usable_cert(self, cert: CertFile, where: str, path: str) -> str:
        return cert.path  # PEM or DER: the IKE engine reads both

    def _cert(self, folder: str, ref: str, s: Setting, path: str) -> CertFile:
        if ref[:2].lower() in ("0x", "0s"):
            raise self.fail(s.where, path, "certificate data inline in swanctl.conf is not "
                            "modelled (name a file)")
        try:
            return self.creds.cert(folder, ref)
        except ConfigError as exc:
            raise self.fail(s.where, path, str(exc)) from None

    def local_pubkey(self, settings: dict[str, Setting], files: list[tuple[str, Setting]],
                     path: str, where: str, out: dict[str, Any], conn: dict[str, Any]) -> None:
        named: list[tuple[CertFile, str]] = []
        if "certs" in settings:
            s = settings["certs"]
            named += [(self._cert("x509", ref, s, f"{path}.certs"), s.where)
                      for ref in _split(s.value)]
        named += [(self._cert(folder, f.value, f, f"{path}.{f.name}"), f.where)
                  for folder, f in files if folder == "x509"]
        if named:
            cert, at = named[0]
            for _, extra in named[1:]:
                self.warn(extra, f"{path}.certs", "not modelled by the simulator: only the "
                          "first certificate candidate is used (choosing one by CERTREQ is not)")
        else:
            ident = out.get("id") or next(iter(conn.get("local_addrs") or ()), "")
            cands = [c for c in self.creds.certs_for(ident) if self.creds.key_for(c)] if ident else []
            if not cands:
                raise self.fail(where, f"{path}", f"auth = pubkey, but no certificate in x509/ "
                                f"vouches for {ident!r} with its private key (give certs = FILE)")
            cert, at = cands[0], where
        out["certs"] = [self._usable_cert(cert, at, f"{path}.certs")]
        key = self.creds.key_for(cert)
        if key is None:
            more = self.creds.key_problems()
            raise self.fail(at, f"{path}.certs", f"{cert.path}: no private key in private/, "
                            "rsa/, ecdsa/ or pkcs8/ matches this certificate"
                            + (f" (could not read: {'; '.join(more)})" if more else ""))
        out["key"] = key.path  # PEM or DER; an encrypted one opens with secrets' private-x
        if "id" not in out:  # charon's identity then is the certificate's subject
            out["id"] = dn_to_text(cert.cert.subject)

    def remote_pubkey(self, settings: dict[str, Setting], files: list[tuple[str, Setting]],
                      path: str, where: str, out: dict[str, Any]) -> None:
        if "certs" in settings or any(folder == "x509" for folder, _ in files):
            s = settings.get("certs") or next(f for folder, f in files if folder == "x509")
            self.warn(s.where, f"{path}.certs", "not modelled by the simulator (ignored): "
                      "pinning the peer's certificate; it is checked against the trusted CAs")
        named: list[str] = []
        if "cacerts" in settings:
            s = settings["cacerts"]
            named += [self._usable_cert(self._cert("x509ca", ref, s, f"{path}.cacerts"), s.where,
                                        f"{path}.cacerts") for ref in _split(s.value)]
        for folder, f in files:
            if folder == "x509ca":
                named.append(self._usable_cert(self._cert(folder, f.value, f, f"{path}.{f.name}"),
                                               f.where, f"{path}.{f.name}"))
        if not named:  # every CA charon holds is a trust anchor
            named = [self._usable_cert(ca, where, f"{path} (trusting x509ca/)")
                     for ca in self.creds.anchors()]
            if not named:
                self.warn(where, path, "auth = pubkey, but no CA certificate in x509ca/ (nor "
                          "cacerts) can vouch for the peer's certificate")
        if named:
            out["cacerts"] = named

    # ------------------------------------------------------------------ secrets

    def secrets(self, sec: Section) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, s in sec.settings.items():
            raise self.fail(s.where, f"secrets.{key}", "secrets holds sections only "
                            "(ike-NAME { id = ..., secret = ... })")
        for name, sub in sec.sections.items():
            path = f"secrets.{name}"
            kind = secret_type(name)
            if kind is None:
                raise self.fail(sub.where, path, "unknown type of secret"
                                f"{_hint(name.split('-')[0], K.SECRET_TYPES)}; the name starts "
                                f"with one of {', '.join(K.SECRET_TYPES)}")
            for n, subsub in sub.sections.items():
                raise self.fail(subsub.where, f"{path}.{n}", "unknown section; a secret has "
                                "settings only")
            if kind in K.KEY_SECRET_FOLDERS:
                self._key_secret(sub, path)
                out.update(self._key_password(name, sub, K.KEY_SECRET_FOLDERS[kind]))
                continue
            if kind in K.SECRET_UNMODELLED:
                self.warn(sub.where, path, f"not modelled by the simulator (ignored): "
                          f"{K.SECRET_UNMODELLED[kind]}")
                continue
            entry: dict[str, Any] = {}
            for key, s in sub.settings.items():
                if key.startswith("id"):
                    if s.value:
                        entry[key] = s.value
                elif key == "secret":
                    if s.value:
                        entry["secret"] = decode_secret(s, f"{path}.secret")
                else:
                    raise self.fail(s.where, f"{path}.{key}", f"unknown key"
                                    f"{_hint(key, ['id', 'secret'])}; an IKE secret has "
                                    "id<suffix> and secret")
            if "secret" not in entry:
                self.warn(sub.where, path, "no secret (ignored, as swanctl does)")
                continue
            out[name] = entry
        return out

    def _key_secret(self, sub: Section, path: str) -> None:
        for key, s in sub.settings.items():
            if key != "file" and not key.startswith("secret"):
                raise self.fail(s.where, f"{path}.{key}", f"unknown key"
                                f"{_hint(key, ['file', 'secret'])}; a key password has file "
                                "and secret")
        if not sub.settings.get("file", Setting("", "", "", 0)).value:
            self.warn(sub.where, path, "no file: this password opens no key (ignored)")

    def _key_password(self, name: str, sub: Section, folder: str) -> dict[str, Any]:
        """The IKE engine's spelling of a key password: ``{file: <the key's path>, secret}``,
        one entry per ``secret*`` key (swanctl tries each, as given)."""
        f = sub.settings.get("file")
        if f is None or not f.value:
            return {}
        out = {}
        for key, s in sub.settings.items():
            if key.startswith("secret") and s.value:
                out[name if key == "secret" else f"{name}.{key}"] = {
                    "file": self.creds.path(folder, f.value), "secret": s.value}
        return out

    # ------------------------------------------------------------------ pools, authorities

    def pools(self, sec: Section) -> dict[str, Any]:
        """``pools { NAME { addrs = 10.3.0.0/28, dns = ... } }`` -> ``{NAME: {addrs, dns}}``
        (``core/pools.py`` reads it); attributes the simulator does not send are warnings."""
        out: dict[str, Any] = {}
        for key, s in sec.settings.items():
            raise self.fail(s.where, f"pools.{key}", "pools holds sections only "
                            "(NAME { addrs = ... })")
        for name, pool in sec.sections.items():
            path = f"pools.{name}"
            entry: dict[str, Any] = {}
            for key, s in pool.settings.items():
                if key == "addrs":
                    _check_pool_addrs(s, f"{path}.addrs")
                    if s.value.strip().lower() in ("dhcp", "radius"):
                        self.warn(s.where, f"{path}.addrs", f"{s.value.strip()}: addresses "
                                  "from a DHCP or RADIUS server are not modelled (pool ignored)")
                        entry = {}
                        break
                    entry["addrs"] = s.value.strip()
                elif key not in K.POOL_ATTRS and not key.isdigit():
                    raise self.fail(s.where, f"{path}.{key}", "unknown pool attribute"
                                    f"{_hint(key, ['addrs', *sorted(K.POOL_ATTRS)])}")
                elif key not in K.POOL_MODELLED:
                    self.warn(s.where, f"{path}.{key}", "not modelled by the simulator "
                              f"(ignored): a CFG_REPLY carries only "
                              f"{', '.join(K.POOL_MODELLED)}")
                elif s.value:
                    entry[key] = _split(s.value)
            if "addrs" not in pool.settings:
                raise self.fail(pool.where, path, "a pool needs addrs")
            if entry:
                out[name] = entry
        return out

    def authorities(self, sec: Section) -> None:
        for name, auth in sec.sections.items():
            path = f"authorities.{name}"
            got = self.check(auth, path, K.AUTHORITY)
            for key in ("cacert", "file"):
                if key in got:
                    self._cert("x509ca", got[key].value, got[key], f"{path}.{key}")


# --------------------------------------------------------------------------- helpers


def _is_address_spec(item: str) -> bool:
    """An address, a CIDR subnet or an ``a-b`` range (swanctl's local/remote_addrs forms)."""
    try:
        if "/" in item:
            ipaddress.ip_network(item, strict=False)
        elif "-" in item and not item.startswith("-"):
            lo, hi = item.split("-", 1)
            ipaddress.ip_address(lo.strip())
            ipaddress.ip_address(hi.strip())
        else:
            ipaddress.ip_address(item)
    except ValueError:
        return False
    return True


def _check_pool_addrs(s: Setting, path: str) -> None:
    for item in _split(s.value):
        if item.lower() in ("dhcp", "radius") or _is_address_spec(item):
            continue
        raise ConfigError(f"{s.where}: {path}: {item!r} is not a subnet or an address range")


_EAP_METHODS = ("eap", "eap-md5", "eap-mschapv2", "eap-tls")
"""swanctl ``auth`` values of EAP the simulator models (``core/ike/eap/``)."""
_EAP_UNMODELLED = ("radius", "ttls", "peap", "gtc", "aka", "sim", "tnc", "dynamic", "identity")
"""strongSwan's other EAP plugins (``auth = eap-NAME``)."""


def _round_prefix(name: str) -> str:
    low = name.lower()
    return "local" if low.startswith("local") else "remote" if low.startswith("remote") else ""


def auth_rounds(conn: Section, side: str) -> list[Section]:
    """The ``local*`` or ``remote*`` sections of a connection, ordered as charon orders
    them: by ``round`` where given, else by position (``vici_config.c``)."""
    found = [s for n, s in conn.sections.items() if _round_prefix(n) == side]

    def order(item: tuple[int, Section]) -> tuple[int, int]:
        pos, s = item
        r = s.settings.get("round")
        if r is None or not r.value:
            return (0, pos)
        try:
            return (int(r.value), pos)
        except ValueError:
            raise ConfigError(f"{r.where}: {s.name}.round: {r.value!r} is not a number") from None

    return [s for _, s in sorted(enumerate(found), key=order)]


def secret_type(name: str) -> str | None:
    """The type of a ``secrets`` section by its prefix (``ike-1`` -> ``ike``)."""
    for kind in K.SECRET_TYPES:
        if name.startswith(kind):
            return kind
    return None


def decode_secret(s: Setting, path: str) -> str:
    """``0x`` hex and ``0s`` base64 decoded and handed on as ``0x<hex>``; else the text."""
    v = s.value
    head = v[:2].lower()
    if head == "0x":
        try:
            return "0x" + bytes.fromhex(v[2:]).hex()
        except ValueError:
            raise ConfigError(f"{s.where}: {path}: 0x... must be hex digits") from None
    if head == "0s":
        try:
            return "0x" + base64.b64decode(v[2:], validate=True).hex()
        except (binascii.Error, ValueError):
            raise ConfigError(f"{s.where}: {path}: 0s... must be base64") from None
    return v


def key_passwords(tree: Section) -> dict[tuple[str, str], list[tuple[bytes, str]]]:
    """Passwords of key files from ``secrets { private-x { file = F, secret = S } }`` (also
    ``rsa-``, ``ecdsa-``, ``pkcs8-``): ``(folder, F lower-cased)`` -> ``[(S, where)]``.
    swanctl tries every ``secret*`` key of the section, as given (not 0x/0s decoded)."""
    out: dict[tuple[str, str], list[tuple[bytes, str]]] = {}
    secrets = tree.sections.get("secrets")
    for name, sub in (secrets.sections.items() if secrets else ()):
        kind = secret_type(name)
        f = sub.settings.get("file")
        if kind not in K.KEY_SECRET_FOLDERS or f is None or not f.value:
            continue
        for key, s in sub.settings.items():
            if key.startswith("secret"):
                out.setdefault((K.KEY_SECRET_FOLDERS[kind], f.value.lower()), []).append(
                    (s.value.encode(), f"{s.where} (secrets.{name}.{key})"))
    return out


def file_references(tree: Section) -> list[tuple[str, str]]:
    """``(folder, reference)`` of every credential file swanctl.conf names: ``certs``,
    ``cacerts``, ``pubkeys``, ``cert*``/``cacert*`` ``file``, ``authorities`` ``cacert``/``file``."""
    out: list[tuple[str, str]] = []
    conns = tree.sections.get("connections")
    for conn in (conns.sections.values() if conns else ()):
        for name, rnd in conn.sections.items():
            if not _round_prefix(name):
                continue
            for key, folder in (("certs", "x509"), ("cacerts", "x509ca"), ("pubkeys", "pubkey")):
                s = rnd.settings.get(key)
                if s is None:
                    continue
                out += [(folder, ref) for ref in _split(s.value)
                        if ref[:2].lower() not in ("0x", "0s")]
            for n, sub in rnd.sections.items():
                f = sub.settings.get("file")
                if f is not None and f.value and n.startswith(("cert", "cacert")):
                    out.append(("x509ca" if n.startswith("cacert") else "x509", f.value))
    auths = tree.sections.get("authorities")
    for auth in (auths.sections.values() if auths else ()):
        for key in ("cacert", "file"):
            s = auth.settings.get(key)
            if s is not None and s.value:
                out.append(("x509ca", s.value))
    return out


def convert(tree: Section, hosts: Hosts | None = None,
            creds: Credentials | None = None) -> tuple[dict[str, Any], list[str]]:
    """The swanctl-shaped dict of a parsed swanctl.conf, and the warnings.

    ``hosts`` resolves names in ``local_addrs``/``remote_addrs``; ``creds`` are the
    loaded credential folders (:func:`~ipsecsim.swanctl.credentials.build`; without
    them no certificate can be found). Raises :class:`ConfigError` ``FILE:LINE: path:
    why`` for what strongSwan refuses or the simulator cannot run.
    """
    run = _Run(hosts, creds if creds is not None else Credentials(os.path.dirname(tree.file)))
    # swanctl reads its four sections and nothing else; other top-level sections serve
    # as templates for references (strongswan.conf(5)), a typo is worth a warning
    templates = {ref.split(".", 1)[0] for ref in _all_refs(tree)}
    for key, s in tree.settings.items():
        run.warn(s.where, key, f"not read by swanctl (ignored){_hint(key, K.TOP_SECTIONS)}; "
                 f"swanctl.conf has the sections {', '.join(K.TOP_SECTIONS)}")
    for name, sec in tree.sections.items():
        if name not in K.TOP_SECTIONS and name not in templates:
            run.warn(sec.where, name, f"not read by swanctl (ignored){_hint(name, K.TOP_SECTIONS)}"
                     f": swanctl.conf has {', '.join(K.TOP_SECTIONS)}, other sections serve "
                     "only as templates (name : template { ... })")
    out: dict[str, Any] = {}
    if "authorities" in tree.sections:
        run.authorities(tree.sections["authorities"])
    conns = tree.sections.get("connections")
    if conns is not None:
        for key, s in conns.settings.items():
            raise run.fail(s.where, f"connections.{key}", "connections holds sections only "
                           "(NAME { ... })")
        out["connections"] = {name: run.connection(c, f"connections.{name}")
                              for name, c in conns.sections.items()}
    if "secrets" in tree.sections:
        out["secrets"] = run.secrets(tree.sections["secrets"])
    if "pools" in tree.sections:
        out["pools"] = run.pools(tree.sections["pools"])
    return out, run.warnings


def _all_refs(sec: Section) -> list[str]:
    out = list(sec.refs)
    for sub in sec.sections.values():
        out += _all_refs(sub)
    return out


def locate(tree: Section, path: str) -> str:
    """``FILE:LINE`` of the deepest part of a dotted key path the tree holds (for an
    IkeConfig error such as ``connections.gw.children.net.mode: ...``); ``local`` and
    ``remote`` stand for the first authentication round."""
    node = tree
    where = tree.where
    parts = path.split(".")
    for i, part in enumerate(parts):
        sub = node.sections.get(part)
        if sub is None and part in ("local", "remote") and i >= 2:
            rounds = auth_rounds(node, part)
            sub = rounds[0] if rounds else None
        if sub is not None:
            node, where = sub, sub.where
            continue
        s = node.settings.get(part)
        return s.where if s is not None else where
    return where
