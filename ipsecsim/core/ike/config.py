"""IKEv2 configuration: swanctl.conf's ``connections``/``secrets`` tree as frozen dataclasses.

:meth:`IkeConfig.from_dict` reads the swanctl-shaped block documented in README.md
(swanctl key names, YAML-shaped) and fills in strongSwan 5.9's defaults
(swanctl.conf(5)): IKE ``rekey_time`` 4 h, ``over_time`` 10 % of it,
``rand_time`` = ``over_time``; CHILD ``rekey_time`` 1 h, ``life_time`` 1.1 ×
``rekey_time``, ``rand_time`` = ``life_time - rekey_time`` (the same rule for
bytes and packets); ``dpd_delay`` 0 (off); ``mode`` tunnel; ``start_action``
none; ``local_ts``/``remote_ts`` ``dynamic``; retransmission timeout 4 s, base
1.8, 5 tries (strongswan.conf ``charon.retransmit_*``).

Every error is a :class:`ConfigError` naming the key path, e.g.
``connections.office-link.children.lan-lan.esp_proposals: unknown algorithm ...``.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..pools import PoolConfig, pools_from_dict
from ..proposals import Proposal, parse_proposals
from ..selectors import TrafficSelector
from .config_index import secret_index

RETRANSMIT_JITTER_MAX = 20
"""strongSwan's cap on ``retransmit_jitter`` (``task_manager.h``), in percent."""

_CONN_KEYS = (
    "local_addrs", "remote_addrs", "local_port", "remote_port", "proposals", "local", "remote",
    "rekey_time", "over_time", "rand_time", "reauth_time", "dpd_delay", "dpd_timeout", "encap",
    "mobike", "version", "children", "retransmit_timeout", "retransmit_base", "retransmit_tries",
    "retransmit_jitter", "retransmit_limit",
    "keyingtries", "unique", "fragmentation", "send_certreq", "send_cert", "aggressive",
    "make_before_break", "vips", "pools",
)
UNIQUE_POLICIES = ("no", "never", "keep", "replace")
"""swanctl.conf(5) ``connections.<conn>.unique`` values (default ``no``)."""
_AUTH_KEYS = ("auth", "id", "certs", "key", "cacerts", "pubkeys", "round", "eap_id")
AUTH_METHODS = ("psk", "pubkey", "eap", "eap-md5", "eap-mschapv2", "eap-tls")
"""swanctl ``auth`` values modelled (``eap`` alone: whichever method the EAP server asks)."""
_CHILD_KEYS = (
    "mode", "local_ts", "remote_ts", "esp_proposals", "ah_proposals", "rekey_time", "life_time",
    "rand_time", "rekey_bytes", "life_bytes", "rand_bytes", "rekey_packets", "life_packets",
    "rand_packets", "start_action", "dpd_action", "close_action", "replay_window", "ipcomp",
    "policies", "hw_offload", "tfc_padding",
)
_TOP_KEYS = ("connections", "secrets", "pools", "listen", "inner_addrs", "cookie_threshold", "nat_keepalive",
             "fragment_size", "block_threshold", "init_limit_half_open")


@dataclass(frozen=True)
class AuthConfig:
    """One side's authentication round (swanctl ``local``/``remote``)."""

    auth: str = "psk"
    """``psk``, ``pubkey``, or EAP (RFC 7296 §2.16): ``eap``, ``eap-md5``, ``eap-mschapv2``,
    ``eap-tls`` (``core/ike/eap/``)."""
    id: str = ""
    """Identity (IKE ID); empty means the IP address of that side."""
    certs: tuple[str, ...] = ()
    """PEM certificate files (``pubkey``, local side)."""
    key: str = ""
    """PEM private key file (``pubkey``, local side)."""
    cacerts: tuple[str, ...] = ()
    """PEM CA certificates to trust for the peer (``pubkey``, remote side)."""
    eap_id: str = ""
    """swanctl ``eap_id``: the EAP identity (default: the IKE identity); on the remote side
    of an EAP server any value (``%any``) makes it ask the peer with EAP-Identity first."""


@dataclass(frozen=True)
class ChildConfig:
    """One CHILD_SA configuration (swanctl ``children.<name>``)."""

    name: str
    """The key under ``children``."""
    mode: str = "tunnel"
    """``tunnel`` or ``transport``."""
    local_ts: tuple[str, ...] = ("dynamic",)
    """Our selectors in swanctl syntax; ``dynamic`` is our own address."""
    remote_ts: tuple[str, ...] = ("dynamic",)
    """The peer's selectors; ``dynamic`` is its address."""
    protocol: str = "esp"
    """``esp`` or ``ah`` (from which of ``esp_proposals``/``ah_proposals`` is given)."""
    proposals: tuple[Proposal, ...] = ()
    """Parsed ESP/AH proposals, in preference order."""
    rekey_time: float = 3600.0
    """Seconds until the CHILD_SA is rekeyed (minus jitter up to ``rand_time``)."""
    life_time: float = 3960.0
    """Seconds until the CHILD_SA expires hard."""
    rand_time: float = 360.0
    """Upper bound of the random amount subtracted from ``rekey_time``."""
    rekey_bytes: int = 0
    """Soft byte limit (0: none)."""
    life_bytes: int = 0
    """Hard byte limit (0: none)."""
    rekey_packets: int = 0
    """Soft packet limit (0: none)."""
    life_packets: int = 0
    """Hard packet limit (0: none)."""
    start_action: str = "none"
    """``none``, ``trap`` or ``start``."""
    dpd_action: str = "clear"
    """``clear``, ``trap`` or ``restart``: what a dead peer does to this child."""
    close_action: str = "none"
    """``none``, ``trap`` or ``start``: what the peer closing the child does."""
    replay_window: int = 32
    """Anti-replay window in packets."""
    tfc_padding: int = 0
    """Tunnel mode: pad each inner packet with zeros to at least this many bytes before
    encrypting it (RFC 4303 §2.4, TFC padding; swanctl ``tfc_padding``, 0: none)."""

    @property
    def pfs_groups(self) -> tuple[int, ...]:
        """DH groups of the proposals: a KE on rekey when not empty."""
        return tuple(dict.fromkeys(g for p in self.proposals for g in p.dh))


@dataclass(frozen=True)
class ConnectionConfig:
    """One IKE connection (swanctl ``connections.<name>``)."""

    name: str
    """The key under ``connections``."""
    local_addrs: tuple[str, ...] = ()
    """Our addresses (the first one is used to initiate)."""
    remote_addrs: tuple[str, ...] = ()
    """The peer's addresses; empty or ``%any`` means any peer may connect."""
    proposals: tuple[Proposal, ...] = ()
    """IKE proposals, in preference order."""
    local: AuthConfig = field(default_factory=AuthConfig)
    """How we authenticate."""
    remote: AuthConfig = field(default_factory=AuthConfig)
    """How the peer must authenticate."""
    children: tuple[ChildConfig, ...] = ()
    """CHILD_SA configurations."""
    local_rounds: tuple[AuthConfig, ...] = ()
    """Our further authentication rounds after ``local`` (RFC 4739; swanctl ``local-2 {...}``,
    in round order)."""
    remote_rounds: tuple[AuthConfig, ...] = ()
    """The peer's further rounds after ``remote``."""
    local_port: int = 500
    """Our IKE port."""
    remote_port: int = 500
    """The peer's IKE port."""
    rekey_time: float = 14400.0
    """Seconds until the IKE_SA is rekeyed (0: never)."""
    over_time: float = 1440.0
    """Seconds after ``rekey_time`` the IKE_SA is closed if the rekey did not happen."""
    rand_time: float = 1440.0
    """Upper bound of the jitter subtracted from ``rekey_time``."""
    reauth_time: float = 0.0
    """Seconds until the IKE_SA is reauthenticated (minus jitter up to ``rand_time``; 0: never):
    a new IKE_SA (IKE_SA_INIT + IKE_AUTH) with all CHILD_SAs replaces it (``tasks/ike_reauth.py``)."""
    make_before_break: bool = False
    """Reauthenticate make-before-break: new IKE_SA and CHILD_SAs first, then delete the old
    (strongswan.conf ``charon.make_before_break``, global in strongSwan, default no in 5.9);
    otherwise break-before-make: delete first, traffic in the gap is dropped."""
    unique: str = "no"
    """swanctl ``unique``: what a new IKE_SA with the same (local id, remote id) does to the
    old ones (strongSwan ``ike_sa_manager.c`` ``check_uniqueness()``). ``no``: only an
    N(INITIAL_CONTACT) replaces them (destroyed silently); ``never``: not even that, and we
    send no INITIAL_CONTACT; ``replace``: a new IKE_SA of this connection deletes the old
    ones (INFORMATIONAL DELETE); ``keep``: the new one is refused with AUTHENTICATION_FAILED.
    The responder decides (``tasks/ike_auth.py``)."""
    dpd_delay: float = 0.0
    """Seconds of silence before a liveness check (0: off)."""
    dpd_timeout: float = 0.0
    """IKEv1 only in strongSwan; kept for the record."""
    encap: bool = False
    """Force UDP encapsulation (port 4500) even without a NAT."""
    mobike: bool = True
    """MOBIKE is announced by strongSwan by default; ipsecsim does not implement it."""
    version: int = 2
    """IKE version; only 2 (and 0 = any) is supported."""
    retransmit_timeout: float = 4.0
    """First retransmission timeout in seconds."""
    retransmit_base: float = 1.8
    """Each retransmission waits ``retransmit_base`` times longer."""
    retransmit_tries: int = 5
    """Retransmissions before the exchange (and the IKE_SA) fails."""
    retransmit_jitter: int = 0
    """Percent (at most 20, strongSwan's ``RETRANSMIT_JITTER_MAX``) by which each timeout is
    shortened at random (``charon.retransmit_jitter``): peers that lost their requests
    together do not all retry together."""
    retransmit_limit: float = 0.0
    """Upper limit in seconds of a timeout (``charon.retransmit_limit``; 0: none)."""
    fragmentation: str = "yes"
    """IKEv2 fragmentation (RFC 7383), swanctl's values: ``yes`` (announce; fragment large
    messages if the peer announced it too), ``accept`` (announce, never send fragments),
    ``force`` (IKEv1 only in strongSwan; as ``yes`` here), ``no`` (do not announce)."""
    vips: tuple[str, ...] = ()
    """Virtual IPs to ask the peer for in a CFG_REQUEST (``0.0.0.0``: any; ``core/ike/cp.py``)."""
    pools: tuple[str, ...] = ()
    """Names of the ``pools`` that hand the peer its virtual IP, tried in order."""

    def child(self, name: str) -> ChildConfig:
        for c in self.children:
            if c.name == name:
                return c
        raise ConfigError(f"connection {self.name!r} has no child {name!r}")


@dataclass(frozen=True)
class Secret:
    """A shared secret (swanctl ``secrets.ike<suffix>``)."""

    name: str
    """The key under ``secrets``."""
    ids: tuple[str, ...]
    """Identities this secret belongs to (empty: any)."""
    secret: bytes
    """The key itself (``0x``-prefixed hex is decoded)."""
    kind: str = "ike"
    """``ike`` (a pre-shared key) or ``eap`` (swanctl ``secrets.eap<suffix>``: an EAP password)."""
    file: str = ""
    """A key password instead (``secrets.private-x {file, secret}``, also ``rsa-``, ``ecdsa-``,
    ``pkcs8-``): the encrypted private key file it opens."""


@dataclass(frozen=True)
class IkeConfig:
    """A whole swanctl-shaped configuration for one endpoint."""

    connections: tuple[ConnectionConfig, ...] = ()
    """All connections, in file order."""
    secrets: tuple[Secret, ...] = ()
    """All IKE shared secrets."""
    pools: tuple[PoolConfig, ...] = ()
    """Virtual IP pools (swanctl's ``pools`` section, ``core/pools.py``)."""
    cookie_threshold: int = 10
    """Half-open IKE_SAs above which IKE_SA_INIT requests must carry a COOKIE (§2.6)."""
    block_threshold: int = 5
    """Half-open IKE_SAs one peer address may have; its further IKE_SA_INIT requests are
    dropped unanswered (strongswan.conf ``charon.block_threshold``, default 5): a client that
    echoes cookies cannot make the responder compute a DH per request without end."""
    init_limit_half_open: int = 0
    """Half-open IKE_SAs in all above which IKE_SA_INIT requests are dropped unanswered
    (``charon.init_limit_half_open``; 0, strongSwan's default: no limit)."""
    nat_keepalive: float = 20.0
    """Seconds between NAT keepalives when behind a NAT (strongSwan's ``keep_alive``)."""
    fragment_size: int = 1280
    """Bytes of the whole IP datagram of an IKE fragment (strongswan.conf
    ``charon.fragment_size``, default 1280): larger encrypted messages are fragmented."""
    source: str = "<dict>"
    """Where the configuration came from (for messages)."""

    def connection(self, name: str) -> ConnectionConfig:
        for c in self.connections:
            if c.name == name:
                return c
        known = [c.name for c in self.connections]
        raise ConfigError(f"no connection {name!r}{_hint(name, known)}; known: {', '.join(known)}")

    def key_passwords(self, path: str) -> list[bytes]:
        """The passwords given for the key file ``path`` (by path, else by file name without
        case, as swanctl matches ``file =``)."""
        base = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
        return [s.secret for s in self.secrets if s.file and (
            s.file == path or s.file.replace("\\", "/").rsplit("/", 1)[-1].lower() == base)]

    def psk(self, *ids: str) -> bytes | None:
        """The best secret for these identities: all ids listed beats one listed beats none
        (the first of equal ones; found by identity, :mod:`.config_index`)."""
        return secret_index(self.secrets, "ike").best(ids)

    def eap_secret(self, *ids: str) -> bytes | None:
        """The EAP password (``eap<suffix>`` secrets) for these identities, chosen as :meth:`psk`."""
        return secret_index(self.secrets, "eap").best(ids)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "<dict>") -> IkeConfig:
        """Read a swanctl-shaped dict; raise :class:`ConfigError` naming the key path."""
        if not isinstance(d, dict):
            raise ConfigError(f"{source}: expected a mapping with 'connections' and 'secrets'")
        _check_keys(d, _TOP_KEYS, "")
        conns_d = d.get("connections") or {}
        _need_map(conns_d, "connections")
        conns = tuple(_connection(str(n), c, f"connections.{n}") for n, c in conns_d.items())
        secrets_d = d.get("secrets") or {}
        _need_map(secrets_d, "secrets")
        secrets = tuple(_secret(str(n), s, f"secrets.{n}") for n, s in secrets_d.items())
        pools = pools_from_dict(d.get("pools"))
        _check_pool_names(conns, pools)
        extra: dict[str, Any] = {}
        for key in ("cookie_threshold", "block_threshold", "init_limit_half_open"):
            if key in d:
                extra[key] = _int(d[key], key)
        if "nat_keepalive" in d:
            extra["nat_keepalive"] = _time(d["nat_keepalive"], "nat_keepalive")
        if "fragment_size" in d:
            size = _int(d["fragment_size"], "fragment_size")
            if not 576 <= size <= 65535:
                raise ConfigError(f"fragment_size: {size} is not an IP datagram size "
                                  "between 576 and 65535 bytes")
            extra["fragment_size"] = size
        return cls(conns, secrets, pools, source=source, **extra)


# --------------------------------------------------------------------------- readers


def _hint(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=2)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _need_map(v: Any, path: str) -> None:
    if not isinstance(v, dict):
        raise ConfigError(f"{path}: expected a mapping, got {type(v).__name__}")


def _check_keys(d: dict, allowed: tuple[str, ...], path: str) -> None:
    for k in d:
        if k not in allowed:
            where = f"{path}.{k}" if path else str(k)
            raise ConfigError(
                f"{where}: unknown key{_hint(str(k), allowed)}; expected one of {', '.join(allowed)}"
            )


def _list(v: Any, path: str) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return tuple(x.strip() for x in v.split(",") if x.strip())
    if isinstance(v, list | tuple):
        return tuple(str(x).strip() for x in v)
    raise ConfigError(f"{path}: expected a list or a comma separated string, got {v!r}")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _time(v: Any, path: str) -> float:
    """swanctl time values: ``3600``, ``60m``, ``4h``, ``1d``."""
    if isinstance(v, bool):
        raise ConfigError(f"{path}: expected a time such as 3600 or 1h, got {v!r}")
    if isinstance(v, int | float):
        out = float(v)
    else:
        s = str(v).strip().lower()
        mult = _UNITS.get(s[-1:], None)
        try:
            out = float(s[:-1]) * mult if mult else float(s)
        except ValueError:
            raise ConfigError(f"{path}: expected a time such as 3600, 60m or 4h, got {v!r}") from None
    if out < 0:
        raise ConfigError(f"{path}: a time cannot be negative ({v!r})")
    return out


def _int(v: Any, path: str) -> int:
    if isinstance(v, bool):
        raise ConfigError(f"{path}: expected a number, got {v!r}")
    if isinstance(v, int):
        out = v
    else:
        s = str(v).strip().lower()
        mult = 1
        for suffix, m in (("k", 1024), ("m", 1024**2), ("g", 1024**3)):
            if s.endswith(suffix):
                s, mult = s[:-1], m
        try:
            out = int(float(s) * mult)
        except ValueError:
            raise ConfigError(f"{path}: expected a number, got {v!r}") from None
    if out < 0:
        raise ConfigError(f"{path}: cannot be negative ({v!r})")
    return out


def _bool(v: Any, path: str) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("yes", "true", "1", "on"):
        return True
    if s in ("no", "false", "0", "off"):
        return False
    raise ConfigError(f"{path}: expected yes or no, got {v!r}")


def _choice(v: Any, choices: tuple[str, ...], path: str) -> str:
    s = str(v).strip().lower()
    if s not in choices:
        raise ConfigError(f"{path}: {v!r} is not one of {', '.join(choices)}{_hint(s, choices)}")
    return s


def _proposals(v: Any, protocol: str, path: str) -> tuple[Proposal, ...]:
    texts = _list(v, path) or ("default",)
    try:
        return tuple(parse_proposals(list(texts), protocol))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _selectors(v: Any, path: str) -> tuple[str, ...]:
    items = _list(v, path) or ("dynamic",)
    for item in items:
        if item.lower() != "dynamic":
            try:
                TrafficSelector.parse(item)
            except ConfigError as exc:
                raise ConfigError(f"{path}: {exc}") from None
    return items


def _auth(d: Any, path: str) -> AuthConfig:
    if d is None:
        return AuthConfig()
    _need_map(d, path)
    _check_keys(d, _AUTH_KEYS, path)
    return AuthConfig(
        auth=_choice(d.get("auth", "psk"), AUTH_METHODS, f"{path}.auth"),
        id=str(d.get("id", "") or ""),
        certs=_list(d.get("certs"), f"{path}.certs"),
        key=str(d.get("key", "") or ""),
        cacerts=_list(d.get("cacerts"), f"{path}.cacerts"),
        eap_id=str(d.get("eap_id", "") or ""),
    )


def _round_keys(d: dict, side: str) -> list[str]:
    """The connection's ``local``/``local-N`` (``remote``...) keys, in round order (swanctl:
    by the ``round`` setting, then in file order)."""
    keys = [k for k in d if k == side or re.fullmatch(side + r"(-[\w-]+|\d+)", str(k))]
    return sorted(keys, key=lambda k: int((d[k] or {}).get("round", 0) or 0)
                  if isinstance(d[k], dict) else 0)


def _rounds(d: dict, side: str, path: str) -> tuple[AuthConfig, tuple[AuthConfig, ...]]:
    keys = _round_keys(d, side)
    rounds = [_auth(d[k], f"{path}.{k}") for k in keys] or [AuthConfig()]
    for k, r in zip(keys[1:], rounds[1:], strict=True):
        if not r.auth.startswith("eap"):
            raise ConfigError(f"{path}.{k}.auth: a further authentication round must be EAP "
                              f"(eap, eap-md5, eap-mschapv2, eap-tls); {r.auth} is only modelled "
                              "in the first round")
    return rounds[0], tuple(rounds[1:])


def _child(name: str, d: Any, path: str) -> ChildConfig:
    d = d or {}
    _need_map(d, path)
    _check_keys(d, _CHILD_KEYS, path)
    if "esp_proposals" in d and "ah_proposals" in d:
        raise ConfigError(f"{path}: give esp_proposals or ah_proposals, not both")
    protocol = "ah" if "ah_proposals" in d else "esp"
    key = f"{protocol}_proposals"
    proposals = _proposals(d.get(key), protocol, f"{path}.{key}")
    rekey = _time(d.get("rekey_time", 3600), f"{path}.rekey_time")
    life = _time(d["life_time"], f"{path}.life_time") if "life_time" in d else round(rekey * 1.1, 6)
    rand = (_time(d["rand_time"], f"{path}.rand_time") if "rand_time" in d
            else round(max(life - rekey, 0), 6))
    if rekey and life and life < rekey:
        raise ConfigError(f"{path}.life_time: {life:g} s is shorter than rekey_time {rekey:g} s")
    rb = _int(d.get("rekey_bytes", 0), f"{path}.rekey_bytes")
    lb = _int(d["life_bytes"], f"{path}.life_bytes") if "life_bytes" in d else int(rb * 1.1)
    rp = _int(d.get("rekey_packets", 0), f"{path}.rekey_packets")
    lp = _int(d["life_packets"], f"{path}.life_packets") if "life_packets" in d else int(rp * 1.1)
    window = _int(d.get("replay_window", 32), f"{path}.replay_window")
    tfc_d = d.get("tfc_padding", 0)
    if str(tfc_d).strip().lower() == "mtu":
        raise ConfigError(f"{path}.tfc_padding: 'mtu' (pad to the path MTU) is not modelled; "
                          "give the bytes to pad each inner packet to, 0 to 1500")
    tfc = _int(tfc_d, f"{path}.tfc_padding")
    if not 0 <= tfc <= 1500:
        raise ConfigError(f"{path}.tfc_padding: {tfc} is not 0 to 1500 bytes")
    return ChildConfig(
        name=name,
        mode=_choice(d.get("mode", "tunnel"), ("tunnel", "transport"), f"{path}.mode"),
        local_ts=_selectors(d.get("local_ts"), f"{path}.local_ts"),
        remote_ts=_selectors(d.get("remote_ts"), f"{path}.remote_ts"),
        protocol=protocol,
        proposals=proposals,
        rekey_time=rekey,
        life_time=life,
        rand_time=rand,
        rekey_bytes=rb,
        life_bytes=lb,
        rekey_packets=rp,
        life_packets=lp,
        start_action=_choice(d.get("start_action", "none"), ("none", "trap", "start"),
                             f"{path}.start_action"),
        dpd_action=_choice(d.get("dpd_action", "clear"), ("clear", "trap", "restart"),
                           f"{path}.dpd_action"),
        close_action=_choice(d.get("close_action", "none"), ("none", "trap", "start"),
                             f"{path}.close_action"),
        replay_window=window,
        tfc_padding=tfc,
    )


def _connection(name: str, d: Any, path: str) -> ConnectionConfig:
    d = d or {}
    _need_map(d, path)
    _check_keys({k: v for k, v in d.items() if k not in
                 _round_keys(d, "local") + _round_keys(d, "remote")}, _CONN_KEYS, path)
    version = _int(d.get("version", 2), f"{path}.version")
    if version not in (0, 2):
        raise ConfigError(f"{path}.version: only IKEv2 is implemented (got {version})")
    children_d = d.get("children") or {}
    _need_map(children_d, f"{path}.children")
    children = tuple(_child(str(n), c, f"{path}.children.{n}") for n, c in children_d.items())
    # strongSwan vici_config.c: the default rekey_time (4 h) applies only when neither
    # rekey_time nor reauth_time is given; over_time defaults to 10 % of the longer one, and
    # rand_time to over_time, but at most half of the shorter (non-zero) one
    reauth = _time(d.get("reauth_time", 0), f"{path}.reauth_time")
    rekey = _time(d.get("rekey_time", 0 if "reauth_time" in d else 14400), f"{path}.rekey_time")
    over = (_time(d["over_time"], f"{path}.over_time") if "over_time" in d
            else round(max(rekey, reauth) * 0.1, 6))
    if "rand_time" in d:
        rand = _time(d["rand_time"], f"{path}.rand_time")
    else:
        base = min(rekey, reauth) if rekey and reauth else max(rekey, reauth)
        rand = min(over, round(base / 2, 6))
    local, local_rounds = _rounds(d, "local", path)
    remote, remote_rounds = _rounds(d, "remote", path)
    remote_addrs = tuple(a for a in _list(d.get("remote_addrs"), f"{path}.remote_addrs")
                         if a.lower() not in ("%any", "0.0.0.0/0"))
    conn = ConnectionConfig(
        name=name,
        local_addrs=_list(d.get("local_addrs"), f"{path}.local_addrs"),
        remote_addrs=remote_addrs,
        proposals=_proposals(d.get("proposals"), "ike", f"{path}.proposals"),
        local=local,
        remote=remote,
        children=children,
        local_rounds=local_rounds,
        remote_rounds=remote_rounds,
        local_port=_int(d.get("local_port", 500), f"{path}.local_port"),
        remote_port=_int(d.get("remote_port", 500), f"{path}.remote_port"),
        rekey_time=rekey,
        over_time=over,
        rand_time=rand,
        reauth_time=reauth,
        make_before_break=_bool(d.get("make_before_break", False), f"{path}.make_before_break"),
        unique=_choice(d.get("unique", "no"), UNIQUE_POLICIES, f"{path}.unique"),
        dpd_delay=_time(d.get("dpd_delay", 0), f"{path}.dpd_delay"),
        dpd_timeout=_time(d.get("dpd_timeout", 0), f"{path}.dpd_timeout"),
        encap=_bool(d.get("encap", False), f"{path}.encap"),
        mobike=_bool(d.get("mobike", True), f"{path}.mobike"),
        version=version,
        retransmit_timeout=_time(d.get("retransmit_timeout", 4.0), f"{path}.retransmit_timeout"),
        retransmit_base=float(d.get("retransmit_base", 1.8)),
        retransmit_tries=_int(d.get("retransmit_tries", 5), f"{path}.retransmit_tries"),
        retransmit_jitter=min(_int(d.get("retransmit_jitter", 0), f"{path}.retransmit_jitter"),
                              RETRANSMIT_JITTER_MAX),
        retransmit_limit=_time(d.get("retransmit_limit", 0), f"{path}.retransmit_limit"),
        fragmentation=_fragmentation(d.get("fragmentation", "yes"), f"{path}.fragmentation"),
        vips=_vips(d.get("vips"), f"{path}.vips"),
        pools=_list(d.get("pools"), f"{path}.pools"),
    )
    if not conn.local_addrs and not conn.vips:  # with vips, dynamic is the virtual IP
        for child in children:
            if any(t.lower() == "dynamic" for t in child.local_ts):
                raise ConfigError(
                    f"{path}.children.{child.name}.local_ts: 'dynamic' needs local_addrs")
    return conn


def _vips(v: Any, path: str) -> tuple[str, ...]:
    """``vips``: addresses to request, ``0.0.0.0`` / ``::`` (or ``%any``) for any."""
    out = []
    for item in _list(v, path):
        if item.lower() in ("%any", "%any4"):
            item = "0.0.0.0"
        elif item.lower() == "%any6":
            item = "::"
        try:
            ipaddress.ip_address(item)
        except ValueError:
            raise ConfigError(f"{path}: {item!r} is not an IP address (0.0.0.0 asks for any)"
                              ) from None
        out.append(item)
    return tuple(out)


def _check_pool_names(conns: tuple[ConnectionConfig, ...], pools: tuple[PoolConfig, ...]) -> None:
    known = [p.name for p in pools]
    for c in conns:
        for name in c.pools:
            if name not in known:
                raise ConfigError(f"connections.{c.name}.pools: unknown pool {name!r}"
                                  f"{_hint(name, known)}; pools: {', '.join(known) or 'none'}")


def _fragmentation(v: Any, path: str) -> str:
    """swanctl ``fragmentation``: yes | accept | force | no (YAML booleans mean yes/no)."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    return _choice(v, ("yes", "accept", "force", "no"), path)


def _secret(name: str, d: Any, path: str) -> Secret:
    _need_map(d, path)
    ids: list[str] = []
    secret = None
    file = ""
    for k, v in d.items():
        if k == "secret":
            secret = str(v)
        elif k == "file" and name.lower().startswith(("private", "rsa", "ecdsa", "pkcs8")):
            file = str(v)
        elif k.startswith("id"):  # id, id-1, id_2, id2 ... (swanctl: any suffix)
            ids.append(str(v))
        else:
            raise ConfigError(
                f"{path}.{k}: unknown key{_hint(str(k), ('id', 'id-1', 'secret'))}; "
                "expected id, id-1, id-2 ... and secret"
            )
    if secret is None:
        raise ConfigError(f"{path}: missing 'secret'")
    kind = "eap" if name.lower().startswith("eap") else "ike"
    if secret.startswith("0x") and not file:  # a key password is taken as given (swanctl)
        try:
            raw = bytes.fromhex(secret[2:])
        except ValueError:
            raise ConfigError(f"{path}.secret: 0x... must be hex") from None
    else:
        raw = secret.encode()
    if file and ids:
        raise ConfigError(f"{path}: a key password has file and secret, no ids")
    return Secret(name, tuple(ids), raw, kind, file)
