"""Schemas of wire objects: from a decoded CBOR value to typed fields, or a rejection.

Every wire object is a CBOR map with small unsigned integer keys (where RFC 8949's bytewise order
and the older length-first order agree). A map is checked in a fixed order, so that every
implementation names the same rule for the same bytes:

1. the value is a map (ENC-14);
2. no key outside the schema (ENC-12), the first such key in encoded order being reported;
3. every key of the schema present (ENC-13), the lowest missing key being reported;
4. each field in ascending key order: its type (ENC-14), then its bounds (ENC-15).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar

from spec.cbor import ArrayBound, CborValue
from spec.errors import Rejected
from spec.units import Bounded

B = TypeVar("B", bound=Bounded)
E = TypeVar("E", bound=IntEnum)
T = TypeVar("T")

Parser = Callable[[CborValue], Any]


@dataclass(frozen=True)
class Field:
    """One key of a wire map."""

    key: int
    name: str
    parse: Parser


def parse_map(value: CborValue, fields: Sequence[Field], what: str) -> dict[str, Any]:
    """Check ``value`` against a map schema; return the parsed fields by name."""
    if not isinstance(value, dict):
        raise Rejected("ENC-14", f"{what} must be a map")
    known = {f.key for f in fields}
    for key in value:  # decoded maps iterate in encoded key order
        if key not in known:
            raise Rejected("ENC-12", f"{what} has unknown key {key!r}")
    for f in sorted(fields, key=lambda f: f.key):
        if f.key not in value:
            raise Rejected("ENC-13", f"{what} lacks key {f.key} ({f.name})")
    return {f.name: f.parse(value[f.key]) for f in sorted(fields, key=lambda f: f.key)}


def uint(unit: type[B]) -> Callable[[CborValue], B]:
    """An unsigned integer within the bounds of ``unit``."""

    def parse(value: CborValue) -> B:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Rejected("ENC-14", f"{unit.__name__} must be an integer")
        if not unit.MIN <= value <= unit.MAX:
            raise Rejected("ENC-15", f"{unit.__name__} {value} outside [{unit.MIN}, {unit.MAX}]")
        return unit(value)

    return parse


def plain_uint(maximum: int) -> Callable[[CborValue], int]:
    """An unsigned integer in ``[0, maximum]`` that has no unit of its own."""

    def parse(value: CborValue) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Rejected("ENC-14", "expected an integer")
        if not 0 <= value <= maximum:
            raise Rejected("ENC-15", f"{value} outside [0, {maximum}]")
        return value

    return parse


def enum(kind: type[E]) -> Callable[[CborValue], E]:
    """One of the values of an integer enumeration."""

    def parse(value: CborValue) -> E:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Rejected("ENC-14", f"{kind.__name__} must be an integer")
        try:
            return kind(value)
        except ValueError:
            raise Rejected("ENC-15", f"{value} is not a {kind.__name__}") from None

    return parse


def fixed_bytes(length: int) -> Callable[[CborValue], bytes]:
    """A byte string of exactly ``length`` bytes."""

    def parse(value: CborValue) -> bytes:
        if not isinstance(value, bytes):
            raise Rejected("ENC-14", "expected a byte string")
        if len(value) != length:
            raise Rejected("ENC-15", f"byte string of {len(value)} bytes, expected {length}")
        return value

    return parse


def any_bytes(max_length: int) -> Callable[[CborValue], bytes]:
    """A byte string of at most ``max_length`` bytes."""

    def parse(value: CborValue) -> bytes:
        if not isinstance(value, bytes):
            raise Rejected("ENC-14", "expected a byte string")
        if len(value) > max_length:
            raise Rejected("ENC-15", f"byte string of {len(value)} bytes, limit {max_length}")
        return value

    return parse


def text(max_length: int) -> Callable[[CborValue], str]:
    """A non-empty text string of at most ``max_length`` UTF-8 bytes."""

    def parse(value: CborValue) -> str:
        if not isinstance(value, str):
            raise Rejected("ENC-14", "expected a text string")
        if not 1 <= len(value.encode("utf-8")) <= max_length:
            raise Rejected("ENC-15", f"text of {len(value)} characters, limit {max_length} bytes")
        return value

    return parse


def nullable(inner: Callable[[CborValue], T]) -> Callable[[CborValue], T | None]:
    """``null`` or a value of ``inner``."""

    def parse(value: CborValue) -> T | None:
        return None if value is None else inner(value)

    return parse


def array(inner: Callable[[CborValue], T]) -> Callable[[CborValue], tuple[T, ...]]:
    """An array whose every element parses with ``inner`` (its length is a rule's business)."""

    def parse(value: CborValue) -> tuple[T, ...]:
        if not isinstance(value, list):
            raise Rejected("ENC-14", "expected an array")
        return tuple(inner(item) for item in value)

    return parse


class BoundedArray:
    """An array of at most ``max_count`` elements, each parsed with ``inner``.

    The bound is enforced by the strict decoder when the array's head is read (``array_bounds``),
    so that no element of an over-long array is ever decoded; ``rule`` is the rule it breaks.
    """

    def __init__(self, inner: Callable[[CborValue], Any], max_count: int, rule: str) -> None:
        self.inner = inner
        self.max_count = max_count
        self.rule = rule

    def __call__(self, value: CborValue) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise Rejected("ENC-14", "expected an array")
        return tuple(self.inner(item) for item in value)


def array_bounds(fields: Sequence[Field]) -> tuple[ArrayBound, ...]:
    """The array bounds of a map schema, for the decoder: one per bounded array field."""
    return tuple(
        ArrayBound((f.key,), f.parse.max_count, f.parse.rule)
        for f in fields
        if isinstance(f.parse, BoundedArray)
    )


def item_budget(fields: Sequence[Field], per_field: Callable[[Field], int]) -> int:
    """Data items a map of ``fields`` may hold: its head, each key, and ``per_field`` per value."""
    return 1 + sum(1 + per_field(f) for f in fields)


def tuple_of(*parts: Callable[[CborValue], Any]) -> Callable[[CborValue], tuple[Any, ...]]:
    """A fixed-length array whose elements parse with ``parts`` in turn (a composite key)."""

    def parse(value: CborValue) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise Rejected("ENC-14", "expected an array")
        if len(value) != len(parts):
            raise Rejected("ENC-15", f"array of {len(value)} elements, expected {len(parts)}")
        return tuple(part(item) for part, item in zip(parts, value, strict=True))

    return parse
