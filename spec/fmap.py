"""An immutable mapping for the state's tables: a persistent hash map.

Rules never mutate: each update returns a new map and leaves the old one as it was, so a rejected
input provably changes nothing. Iteration order is never relied on by a rule; code that walks a
table sorts its keys first.

Underneath is ``immutables.Map``, a hash array mapped trie (HAMT): an update copies only the few
nodes on the path to its key (O(log n)) and shares every other node with the map it came from, so
a write costs the same microseconds at a million entries as at a thousand.

**Caches (they change no result).** Each map can remember values computed from its contents
(``derived``). Once a value has been asked of a line of maps, a map made by an update remembers
the map it came from (its *origin*) and the list of changes since. A value asked of a new map is
then computed from its origin's value and the changes, instead of from every entry: the state
root (HSH-01) is kept up to date this way, so that a block costs what it touches. ``derived``
must give what ``compute`` gives on the whole map; the tests check that it does for the state
root on random states and histories.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any, Final, Generic, TypeVar

import immutables

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

MISSING: Final[Any] = object()
"""Stands for "no entry" in a change: the old value of an insertion, the new value of a removal."""

MAX_CHANGES: Final = 1 << 16
"""A map more changes than this away from its origin forgets it (its cached values are then
computed from scratch), so that a long run of updates nobody asks a value of holds no memory."""

MAX_DEPTH: Final = 1 << 8
"""Likewise for a line of more maps than this between a map and its origin's origin's ... A
value asked of a table only now and then (an index of one block's clearing) would otherwise keep
every version of the table since it was last asked, each with its own cached values: a replay of
five days of a 400-household chain peaked at 1.4 GB with a bound of 2^16 maps."""

Change = tuple[Any, Any, Any]
"""(key, old value or MISSING, new value or MISSING)."""


class _Log:
    """The changes since the origin, newest first (a persistent list: updates share its tail)."""

    __slots__ = ("change", "length", "previous")

    def __init__(self, change: Change, previous: _Log | None) -> None:
        self.change = change
        self.previous = previous
        self.length: int = 1 if previous is None else previous.length + 1

    def oldest_first(self) -> list[Change]:
        changes = []
        log: _Log | None = self
        while log is not None:
            changes.append(log.change)
            log = log.previous
        changes.reverse()
        return changes


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """A read-only mapping whose updates return new maps in O(log n)."""

    __slots__ = ("_depth", "_items", "_log", "_memo", "_names", "_origin")

    def __init__(self, items: Mapping[K, V] | None = None) -> None:
        self._origin: FrozenMap[K, V] | None = None
        self._log: _Log | None = None
        self._depth = 0
        """Origins between this map and the first of its line."""
        self._memo: dict[Hashable, Any] = {}
        self._names: set[Hashable] = set()
        """Names of the values asked of this line of maps (shared by the line)."""
        if isinstance(items, FrozenMap):
            self._items: immutables.Map[K, V] = items._items
            self._origin, self._depth, self._names = items, items._depth + 1, items._names
        else:
            self._items = immutables.Map(items if items is not None else {})

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._items == other._items
        return NotImplemented

    def __hash__(self) -> int:
        raise TypeError("FrozenMap is not hashable")

    def __repr__(self) -> str:
        return f"FrozenMap({dict(self._items)!r})"

    def set(self, key: K, value: V) -> FrozenMap[K, V]:
        """A copy with ``key`` bound to ``value``."""
        old = self._items.get(key, MISSING)
        return self._derive(self._items.set(key, value), [(key, old, value)])

    def set_many(self, updates: Mapping[K, V]) -> FrozenMap[K, V]:
        """A copy with every binding of ``updates`` applied."""
        changes: list[Change] = []
        items = self._items.mutate()
        for key, value in updates.items():
            changes.append((key, items.get(key, MISSING), value))
            items[key] = value
        return self._derive(items.finish(), changes)

    def remove(self, key: K) -> FrozenMap[K, V]:
        """A copy without ``key`` (which must be present: ``KeyError`` otherwise)."""
        old = self._items[key]
        return self._derive(self._items.delete(key), [(key, old, MISSING)])

    def remove_many(self, keys: Iterable[K]) -> FrozenMap[K, V]:
        """A copy without any of ``keys`` (each must be present: ``KeyError`` otherwise)."""
        changes: list[Change] = []
        items = self._items.mutate()
        for key in keys:
            changes.append((key, items[key], MISSING))
            del items[key]
        return self._derive(items.finish(), changes)

    # --- caches ------------------------------------------------------------------------------

    def _derive(self, items: immutables.Map[K, V], changes: list[Change]) -> FrozenMap[K, V]:
        out: FrozenMap[K, V] = FrozenMap.__new__(FrozenMap)
        out._items = items
        out._memo = {}
        out._names = self._names
        if not self._names:
            # Nobody has asked a value of this line of maps (a group inside an index, say): it
            # keeps no history, or each such map would hold every change since it was made.
            out._origin, out._log, out._depth = None, None, 0
            return out
        # The origin is the nearest ancestor that holds cached values.
        origin: FrozenMap[K, V] | None = self
        log: _Log | None = None
        if not self._memo and self._origin is not None:
            origin, log = self._origin, self._log
        for change in changes:
            log = _Log(change, log)
        depth = 0 if origin is None else origin._depth + 1
        if (log is not None and log.length > MAX_CHANGES) or depth > MAX_DEPTH:
            origin, log, depth = None, None, 0
        out._origin, out._log, out._depth = origin, log, depth
        return out

    def derived(
        self,
        name: Hashable,
        compute: Callable[[FrozenMap[K, V]], T],
        update: Callable[[T, list[Change]], T],
    ) -> T:
        """``compute(self)``, remembered under ``name``. When an ancestor holds the value, it is
        ``update(that value, the changes since, oldest first)`` instead. A cache: ``update`` must
        give what ``compute`` gives."""
        if name in self._memo:
            found: T = self._memo[name]
            return found
        # Walk back to the nearest ancestor holding the value, collecting the changes since.
        logs: list[_Log] = []
        ancestor = self
        while name not in ancestor._memo and ancestor._origin is not None:
            if ancestor._log is not None:
                logs.append(ancestor._log)
            ancestor = ancestor._origin
        if name in ancestor._memo:
            changes = [change for log in reversed(logs) for change in log.oldest_first()]
            value: T = update(ancestor._memo[name], changes) if changes else ancestor._memo[name]
        else:
            value = compute(self)
        self._memo[name] = value
        self._names.add(name)
        # Once this map holds every kind of value asked of its line of maps, it needs neither its
        # origin nor the changes (letting go of them lets old maps be collected).
        if self._memo.keys() >= self._names:
            self._origin, self._log, self._depth = None, None, 0
        return value
