"""Indices over an endpoint's IKE_SAs, kept up to date as the tasks change the SAs.

The tasks fill in :class:`~.ikesa.IkeSa` and :class:`~.ikesa.ChildSa` fields directly (that
is their design), so instead of asking every task to report what it changed, the fields the
index depends on are descriptors (:func:`watch`) that tell the endpoint's :class:`SaIndex`
when they are set -- reads stay plain attribute reads -- and an IKE_SA's ``children`` is a
:class:`ChildList` that knows its owner. The index keeps:

* the timer heap (:mod:`.timers`): which IKE_SA is due when;
* inbound SPI -> CHILD_SA, for the data plane's questions (limits, use times) and for
  drawing an unused SPI -- strongSwan's ``child_sa_manager`` holds the same table;
* (our identity, peer identity) -> IKE_SAs, strongSwan's ``connected_peers`` table
  (``ike_sa_manager.c``), for the uniqueness checks of IKE_AUTH.

Answers are the same as walking ``ike_sas`` (in its order) would give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, SupportsIndex

from . import states as S
from .timers import TimerHeap

if TYPE_CHECKING:
    from .ids import Identity
    from .ikesa import ChildSa, IkeSa

_IKE_WATCHED = frozenset({"pending", "rekey_at", "reauth_at", "expire_at", "keepalive_at",
                          "dpd_at", "children", "local_id", "peer_id"})
_CHILD_WATCHED = frozenset({"state", "rekey_at", "expire_at", "down_at", "down", "spi_in"})
_set = object.__setattr__
"""Sets the index's own attributes (``_n``, ``_index``, ``_owner``), which are not fields."""


class WatchedIkeSa:
    """Mixin: an IKE_SA's index (set when the endpoint takes it in); see :func:`watch`."""

    __slots__ = ()
    _index: SaIndex | None = None
    _n = -1


class WatchedChild:
    """Mixin: the IKE_SA whose ``children`` hold this CHILD_SA; see :func:`watch`."""

    __slots__ = ()
    _owner: IkeSa | None = None


class _IkeField:
    """A watched IKE_SA field. It has ``__set__`` and no ``__get__``: reading the field
    finds the instance's ``__dict__`` at C speed, only writes call Python."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __set__(self, sa: Any, value: Any) -> None:
        name = self.name
        d = sa.__dict__
        if name == "children":
            if not (type(value) is ChildList and value.owner is sa):
                value = ChildList(value, sa)
            before = d.get("children")
            d[name] = value
            if before:  # CHILD_SAs the new list does not hold have left this IKE_SA
                for c in before:
                    if c._owner is sa and not any(x is c for x in value):
                        before._left(c)
        else:
            d[name] = value
        index = sa._index
        if index is not None:
            index.changed(sa, name)


class _ChildField:
    """A watched CHILD_SA field (as :class:`_IkeField`): tells its IKE_SA's index."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __set__(self, child: Any, value: Any) -> None:
        child.__dict__[self.name] = value
        owner = child._owner
        if owner is not None and owner._index is not None:
            owner._index.child_changed(owner, child, self.name)


def watch(ike_cls: type, child_cls: type) -> None:
    """Put the watched fields' descriptors on the (already decorated) dataclasses: their
    generated ``__init__`` keeps its defaults and assigns through them."""
    for name in _IKE_WATCHED:
        setattr(ike_cls, name, _IkeField(name))
    for name in _CHILD_WATCHED:
        setattr(child_cls, name, _ChildField(name))


class ChildList(list["ChildSa"]):
    """An IKE_SA's CHILD_SAs: a list that tells the index what joins and leaves it."""

    owner: IkeSa | None = None

    def __init__(self, items: Iterable[ChildSa] = (), owner: Any = None) -> None:
        super().__init__(items)
        self.owner = owner
        for c in self:
            self._joined(c)

    def _joined(self, c: ChildSa) -> None:
        owner = self.owner
        if owner is None:
            return
        _set(c, "_owner", owner)
        if owner._index is not None:
            owner._index.child_changed(owner, c, "")

    def _left(self, c: ChildSa) -> None:
        owner = self.owner
        if owner is None or c._owner is not owner:
            return
        _set(c, "_owner", None)
        if owner._index is not None:
            owner._index.child_left(owner, c)

    def append(self, c: ChildSa) -> None:
        super().append(c)
        self._joined(c)

    def insert(self, i: SupportsIndex, c: ChildSa) -> None:
        super().insert(i, c)
        self._joined(c)

    def extend(self, items: Iterable[ChildSa]) -> None:
        items = list(items)
        super().extend(items)
        for c in items:
            self._joined(c)

    def __iadd__(self, items: Iterable[ChildSa]) -> ChildList:  # type: ignore[override,misc]
        self.extend(items)
        return self

    def remove(self, c: ChildSa) -> None:
        i = next((i for i, x in enumerate(self) if x == c), None)
        if i is None:
            raise ValueError("ChildList.remove(x): x not in list")
        gone = self[i]
        super().__delitem__(i)
        self._left(gone)

    def pop(self, i: SupportsIndex = -1) -> ChildSa:
        c = super().pop(i)
        self._left(c)
        return c

    def clear(self) -> None:
        gone = list(self)
        super().clear()
        for c in gone:
            self._left(c)

    def __setitem__(self, i: Any, value: Any) -> None:
        gone = list(self)
        super().__setitem__(i, value)
        for c in gone:
            if not any(x is c for x in self):
                self._left(c)
        for c in self:
            self._joined(c)

    def __delitem__(self, i: Any) -> None:
        gone = list(self)
        super().__delitem__(i)
        for c in gone:
            if not any(x is c for x in self):
                self._left(c)


class SaIndex:
    """The timer heap, SPI table and identity table of one endpoint's IKE_SAs."""

    def __init__(self, live: Callable[[IkeSa], bool]) -> None:
        self.live = live
        """Whether an IKE_SA is still one of the endpoint's (in ``ike_sas``)."""
        self.timers = TimerHeap(live)
        self.count = 0
        """IKE_SAs numbered so far (an IKE_SA's number is its place in ``ike_sas``)."""
        self.spis: dict[int, ChildSa] = {}
        """Inbound SPI -> the CHILD_SA that has it (checked on use)."""
        self.ids: dict[tuple[Identity | None, Identity | None], dict[int, IkeSa]] = {}
        """(local_id, peer_id) -> number -> IKE_SA."""
        self._id_of: dict[int, tuple[Identity | None, Identity | None]] = {}

    # ------------------------------------------------------------------ membership

    def add(self, sa: IkeSa) -> None:
        """Index a new IKE_SA (just put into ``ike_sas``)."""
        n = self.count
        self.count += 1
        _set(sa, "_n", n)
        _set(sa, "_index", self)
        for c in sa.children:
            _set(c, "_owner", sa)
            self._spi_of(c)
        self._ids_of(sa)
        self.timers.touch(sa, n)

    def remove(self, sa: IkeSa) -> None:
        """Forget an IKE_SA gone from ``ike_sas``."""
        n = sa._n
        self.timers.forget(n)
        key = self._id_of.pop(n, None)
        if key is not None:
            group = self.ids[key]
            group.pop(n, None)
            if not group:
                del self.ids[key]
        for c in sa.children:
            if self.spis.get(c.spi_in) is c:
                del self.spis[c.spi_in]
        _set(sa, "_index", None)

    # ------------------------------------------------------------------ notifications

    def changed(self, sa: IkeSa, name: str) -> None:
        if name == "local_id" or name == "peer_id":
            self._ids_of(sa)
        elif name == "children":
            for c in sa.children:
                self._spi_of(c)
                self._check_prune(sa, c)
        self.timers.touch(sa, sa._n)

    def child_changed(self, sa: IkeSa, c: ChildSa, name: str) -> None:
        if name == "spi_in" or name == "":
            self._spi_of(c)
        if name in ("down", "state", ""):
            self._check_prune(sa, c)
        self.timers.touch(sa, sa._n)

    def child_left(self, sa: IkeSa, c: ChildSa) -> None:
        if self.spis.get(c.spi_in) is c:
            del self.spis[c.spi_in]
        self.timers.touch(sa, sa._n)

    def _check_prune(self, sa: IkeSa, c: ChildSa) -> None:
        if c.down and c.state == S.C_DELETED:
            self.timers.prune[sa._n] = sa

    def _spi_of(self, c: ChildSa) -> None:
        self.spis[c.spi_in] = c

    def _ids_of(self, sa: IkeSa) -> None:
        n = sa._n
        key = (sa.local_id, sa.peer_id)
        old = self._id_of.get(n)
        if old == key:
            return
        if old is not None:
            group = self.ids[old]
            group.pop(n, None)
            if not group:
                del self.ids[old]
        self._id_of[n] = key
        self.ids.setdefault(key, {})[n] = sa

    # ------------------------------------------------------------------ questions

    def child(self, spi_in: int) -> tuple[IkeSa, ChildSa] | None:
        """The IKE_SA and CHILD_SA with inbound SPI ``spi_in`` (None: no live one has it)."""
        c = self.spis.get(spi_in)
        if c is None:
            return None
        sa = c._owner
        if sa is None or c.spi_in != spi_in or not self.live(sa):
            return None
        return sa, c

    def with_ids(self, local_id: Identity | None, peer_id: Identity | None) -> list[IkeSa]:
        """The IKE_SAs with these identities, in ``ike_sas`` order."""
        group = self.ids.get((local_id, peer_id))
        if not group:
            return []
        return [sa for _n, sa in sorted(group.items()) if self.live(sa)]
