"""Indices over an IKE configuration: connections by peer address, secrets by identity.

A hub with 10,000 connections (one per spoke) and 10,000 secrets used to compare every
connection's address lists for each IKE_SA_INIT and every secret's identities for each
AUTH payload. strongSwan looks both up by what the peer presents: ``backend_manager.c``
``create_ike_cfg_enumerator()`` matches the addresses, the credential sets find shared
keys by identity. Here each is a dict built once per configuration (the tuples in a frozen
:class:`~.config.IkeConfig` never change); answers are exactly those of the linear scans
(the same connections, in config order; the same best secret, the first of equal scores).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import ConnectionConfig, Secret


def _literal(pattern: str) -> bool:
    """A pattern that matches one address by string equality only: a canonical IPv4
    literal (not ``%any``, a prefix, a range or a name)."""
    try:
        return str(ipaddress.IPv4Address(pattern)) == pattern
    except ValueError:
        return False


class ConnIndex:
    """Connections by the literal remote addresses they list; the rest in a list."""

    __slots__ = ("connections", "by_remote", "rest")

    def __init__(self, connections: tuple[ConnectionConfig, ...]) -> None:
        self.connections = connections
        self.by_remote: dict[str, list[int]] = {}
        """Remote address -> numbers of the connections that list only literal addresses."""
        self.rest: list[int] = []
        """Connections with a pattern (``%any``, a prefix, a range) or no remote address."""
        for i, c in enumerate(connections):
            pats = c.remote_addrs
            if pats and all(_literal(p) for p in pats):
                for p in dict.fromkeys(pats):
                    self.by_remote.setdefault(p, []).append(i)
            else:
                self.rest.append(i)

    def candidates(self, remote: str) -> list[ConnectionConfig]:
        """The connections that may accept ``remote``, in config order (a superset of those
        whose ``remote_addrs`` do: the caller still checks)."""
        exact = self.by_remote.get(remote, ())
        nums = sorted((*exact, *self.rest)) if self.rest and exact else (exact or self.rest)
        conns = self.connections
        return [conns[i] for i in nums]


class SecretIndex:
    """Secrets by identity; those without identities apart."""

    __slots__ = ("secrets", "by_id", "sets", "anyone")

    def __init__(self, secrets: tuple[Secret, ...], kind: str = "ike") -> None:
        self.secrets = secrets
        self.by_id: dict[str, list[int]] = {}
        """Identity -> numbers of the secrets listing it, ascending."""
        self.anyone: int | None = None
        """The first secret with no identities (matches any, with score 0)."""
        for i, s in enumerate(secrets):
            if s.kind != kind or s.file:  # an EAP password or a key password: not this kind
                continue
            if not s.ids:
                if self.anyone is None:
                    self.anyone = i
                continue
            for ident in dict.fromkeys(s.ids):
                self.by_id.setdefault(ident, []).append(i)
        self.sets = {k: frozenset(v) for k, v in self.by_id.items()}

    def best(self, ids: tuple[str, ...]) -> bytes | None:
        """:meth:`IkeConfig.psk`: the secret listing most of ``ids`` (each occurrence counts),
        the first of equal scores; one without identities scores 0.

        A hub's own identity is in every secret: the lists are walked shortest first and
        the longest is not walked -- of the secrets only it lists, the first is the one
        that can win."""
        weight: dict[str, int] = {}
        for ident in ids:
            if ident and ident in self.by_id:
                weight[ident] = weight.get(ident, 0) + 1
        score: dict[int, int] = {}
        if weight:
            by_id, sets = self.by_id, self.sets
            order = sorted(weight, key=lambda k: len(by_id[k]))
            for ident in order[:-1]:
                for i in by_id[ident]:
                    if i not in score:
                        score[i] = sum(w for k, w in weight.items() if i in sets[k])
            longest = order[-1]
            for i in by_id[longest]:
                if i not in score:
                    score[i] = weight[longest]
                    break
        best, top = self.anyone, 0
        for i, hit in score.items():
            if hit > top or (hit == top and (best is None or i < best)):
                best, top = i, hit
        return None if best is None else self.secrets[best].secret


_SECRETS: dict[tuple[int, str], SecretIndex] = {}
_CONNS: dict[int, ConnIndex] = {}


def conn_index(connections: tuple[ConnectionConfig, ...]) -> ConnIndex:
    """The index of this tuple of connections (built on first use, shared by the endpoints
    of one configuration)."""
    idx = _CONNS.get(id(connections))
    if idx is None or idx.connections is not connections:
        if len(_CONNS) > 256:
            _CONNS.clear()
        idx = _CONNS[id(connections)] = ConnIndex(connections)
    return idx


def secret_index(secrets: tuple[Secret, ...], kind: str = "ike") -> SecretIndex:
    """The index of this tuple's secrets of ``kind`` (``ike``: pre-shared keys, ``eap``: EAP
    passwords; key passwords are in neither), built on first use, kept while in use."""
    key = (id(secrets), kind)
    idx = _SECRETS.get(key)
    if idx is None or idx.secrets is not secrets:
        if len(_SECRETS) > 256:
            _SECRETS.clear()
        idx = _SECRETS[key] = SecretIndex(secrets, kind)
    return idx
