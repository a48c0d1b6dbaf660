"""Blocking policies: traps and discards that stand in for a CHILD_SA while it has no SA.

An :class:`~ipsecsim.core.node.IpsecNode` keeps one :class:`Blocks`. A block covers one
config or one CHILD_SA instance, never every CHILD_SA of a name (a hub has one per peer):

* a ``start_action: trap`` trap covers the config's selectors for the config's life;
* a refused child's DISCARD covers the config's selectors until a CHILD_SA of that name
  installs;
* a break-before-make reauthentication's trap covers that CHILD_SA's negotiated selectors
  until one with the same :func:`~ipsecsim.core.stack.child_key` is back.

Each addition and removal is an event (:class:`BlockAdded`, :class:`BlockLifted`) on the
node's queue; a block that cannot be installed is a :class:`Note`.
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple

from .ike.config import ChildConfig, ConnectionConfig, IkeConfig
from .keys import ChildSaKeys
from .node_events import BlockAdded, BlockLifted, Note
from .selectors import TrafficSelector
from .spd import Policy, specificity
from .stack import ChildKey, IPsecStack, child_key

__all__ = ["TRAP", "Block", "Blocks"]

TRAP = "trap"
"""Scope of a config's start trap: it stays while CHILD_SAs come and go."""


class Block(NamedTuple):
    """A blocking policy (trap or discard) and what it stands in for: :data:`TRAP` (the
    config, for its life), None (the config until a CHILD_SA of its name installs), or a
    :func:`~ipsecsim.core.stack.child_key` (that CHILD_SA instance, until it is back)."""

    policy: Policy
    scope: ChildKey | str | None
    why: str = ""
    """What the block is for (see :class:`~ipsecsim.core.node_events.BlockAdded`)."""


class Blocks:
    """The blocks of one node, by child name, in its stack's SPD."""

    def __init__(self, stack: IPsecStack, config: IkeConfig | None, local_addrs: list[str],
                 events: deque[Any]) -> None:
        self.stack = stack
        self.config = config
        self.local_addrs = local_addrs
        self.events = events
        self.by_child: dict[str, list[Block]] = {}
        """Child name -> its blocks, one per config or CHILD_SA instance they stand in for."""

    def child_config(self, name: str) -> tuple[ConnectionConfig, ChildConfig] | None:
        """The connection and child config named ``name`` (None if there is none)."""
        if self.config is None:
            return None
        for conn in self.config.connections:
            for ch in conn.children:
                if ch.name == name:
                    return conn, ch
        return None

    def add(self, name: str, action: str, why: str, keys: ChildSaKeys | None = None) -> bool:
        """Cover a child's traffic with an outbound policy while it has no SA; False if none
        was installed. ``protect`` without SA is a trap (packets raise ``no_sa`` and start
        IKE), ``discard`` drops them with ``why`` as the detail (a child IKE refused must not
        leak in the clear).

        Without ``keys`` the policy covers the child *config*'s selectors. A start trap
        (``why == "trap"``) is strongSwan's ``trap_manager.c`` ``install()``: it stays for the
        config's life, its priority one step below a CHILD_SA policy with the same selectors
        (``kernel_netlink_ipsec.c`` ``get_priority()`` subtracts one unless
        ``POLICY_PRIORITY_ROUTED``), so installed CHILD_SAs carry their own (narrowed) traffic
        and the trap keeps covering the rest, also after they go. With a remote address
        of ``%any`` strongSwan installs no trap for a tunnel-mode child ("installing trap
        failed, remote address unknown": it could not initiate) and neither does the node;
        a discard for such a connection's refused child is not installed either, as the
        config's selectors cover every other peer's traffic too. Either refusal is a
        :class:`Note`. Any other config-level block (a refused child's discard) goes when a
        CHILD_SA of that name installs.

        With ``keys`` (a break-before-make reauthentication's gap) the policy covers that
        CHILD_SA's negotiated selectors and goes when a CHILD_SA with the same
        :func:`~ipsecsim.core.stack.child_key` installs: on a hub, one peer's gap leaves the
        other peers' CHILD_SAs and blocks alone.
        """
        found = self.child_config(name)
        if found is None:
            return False
        conn, ch = found
        scope: ChildKey | str | None
        if keys is not None:
            lsel, rsel = tuple(keys.local_ts), tuple(keys.remote_ts)
            lts, rts = [str(t) for t in lsel], [str(t) for t in rsel]
            scope = child_key(keys)
        else:
            local = conn.local_addrs[0] if conn.local_addrs else self.local_addrs[0]
            remote = conn.remote_addrs[0] if conn.remote_addrs else "%any"
            wildcard = "%" in remote or remote in ("0.0.0.0/0", "0.0.0.0")
            if wildcard and (action == "discard" or ch.mode != "transport"):
                what = ("installing trap failed, remote address unknown" if action == "protect"
                        else f"no discard policy for a refused child ({why}): the config's "
                             "selectors cover every peer's traffic")
                self.events.append(Note(f"child {name} of %any connection {conn.name}: {what}"))
                return False
            if wildcard:
                remote = "0.0.0.0/0"
            lts = [local if t == "dynamic" else t for t in ch.local_ts]
            rts = [remote if t == "dynamic" else t for t in ch.remote_ts]
            lsel = tuple(TrafficSelector.parse(t) for t in lts)
            rsel = tuple(TrafficSelector.parse(t) for t in rts)
            scope = TRAP if action == "protect" and why == "trap" else None
        prio: float = specificity(lsel, rsel)
        if scope == TRAP:
            prio += 0.5  # below a CHILD_SA policy with the same selectors, above any broader one
        pol = self.stack.add_policy("out", action, lts, rts,
                                    name=name if action == "protect" else f"{name}: {why}",
                                    priority=prio)
        self.by_child.setdefault(name, []).append(Block(pol, scope, why))
        self.events.append(BlockAdded(name, action, why, tuple(lts), tuple(rts)))
        return True

    def lift(self, keys: ChildSaKeys) -> None:
        """A CHILD_SA is being installed: lift the blocks standing in for it (not the traps)."""
        blocks = self.by_child.get(keys.name)
        if not blocks:
            return
        key = child_key(keys)
        keep = []
        for b in blocks:
            if b.scope == TRAP or (b.scope is not None and b.scope != key):
                keep.append(b)
            else:
                self.stack.spd.remove(b.policy)
                self.events.append(BlockLifted(keys.name, b.policy.action, b.why))
        if keep:
            self.by_child[keys.name] = keep
        else:
            del self.by_child[keys.name]
