"""An immutable mapping for the state's tables.

Rules never mutate: each update returns a new map and leaves the old one as it was, so a rejected
input provably changes nothing. Iteration order is never relied on by a rule; code that walks a
table sorts its keys first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """A read-only dict whose updates return copies."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[K, V] | None = None) -> None:
        self._items: dict[K, V] = dict(items) if items is not None else {}

    def __getitem__(self, key: K) -> V:
        return self._items[key]

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
        return f"FrozenMap({self._items!r})"

    def set(self, key: K, value: V) -> FrozenMap[K, V]:
        """A copy with ``key`` bound to ``value``."""
        items = dict(self._items)
        items[key] = value
        return FrozenMap(items)

    def set_many(self, updates: Mapping[K, V]) -> FrozenMap[K, V]:
        """A copy with every binding of ``updates`` applied."""
        items = dict(self._items)
        items.update(updates)
        return FrozenMap(items)
