"""Deterministic CBOR (RFC 8949 section 4.2): the one encoding that is hashed, signed and published.

The wire uses a subset of CBOR: unsigned and negative integers, byte strings, text strings, arrays,
maps whose keys are integers or text, and the simple values false, true and null. The encoder
writes the core deterministic encoding: shortest heads, definite lengths, map keys sorted by the
bytewise order of their encodings (RFC 8949 section 4.2.1, not the length-first order of RFC 7049).

The decoder is strict: it accepts exactly the bytes the encoder would write and nothing else. It
reads the input once, left to right, and rejects at the first violation it meets, so that every
implementation reports the same rule for the same bytes:

1. the input length against the size limit (ENC-09), before anything else;
2. for each data item, in order: the object's item budget spent (ENC-16), truncation or a reserved
   head (ENC-01), a tag (ENC-07), an indefinite length (ENC-03), a non-shortest head (ENC-02), an
   unsupported simple value or float (ENC-06), a nesting level beyond the limit (ENC-10), an
   array head claiming more elements than its object's schema allows at that place (the rule the
   schema names, e.g. BLK-11), invalid UTF-8 in text (ENC-11); for each map key, right after the
   key is read: a key that is not an integer or text (ENC-14), a key equal to the previous one
   (ENC-05), a key below the previous one (ENC-04);
3. bytes after the one data item (ENC-08).

The item budget and the array bounds make the cost of decoding proportional to what the sender
may send, not to what a head claims: no element of an over-long array is read, and no input makes
the decoder build more than its budget of values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, TypeAlias

from spec.errors import Rejected

CborValue: TypeAlias = (
    int | bytes | str | bool | list["CborValue"] | dict["CborKey", "CborValue"] | None
)
"""A decoded value. Arrays decode to lists, maps to dicts keyed by int or str."""
CborKey: TypeAlias = int | str

MAX_DEPTH: Final = 16
"""Deepest nesting of arrays and maps any wire object needs, with room to spare."""

_UINT64_MAX: Final = 2**64 - 1


@dataclass(frozen=True)
class ArrayBound:
    """The largest array an object's schema allows at one place, and the rule that says so."""

    path: tuple[CborKey, ...]
    """The map keys leading from the top item to the array (``(1,)``: the value of key 1)."""
    max_count: int
    """The most elements the array may hold."""
    rule: str
    """The rule an array head claiming more elements breaks."""


def encode(value: object) -> bytes:
    """The deterministic encoding of ``value`` (tuples encode as arrays)."""
    out = bytearray()
    _encode_into(value, out)
    return bytes(out)


def _head(major: int, argument: int, out: bytearray) -> None:
    if argument < 24:
        out.append(major << 5 | argument)
    elif argument < 2**8:
        out.append(major << 5 | 24)
        out.append(argument)
    elif argument < 2**16:
        out.append(major << 5 | 25)
        out += argument.to_bytes(2, "big")
    elif argument < 2**32:
        out.append(major << 5 | 26)
        out += argument.to_bytes(4, "big")
    elif argument <= _UINT64_MAX:
        out.append(major << 5 | 27)
        out += argument.to_bytes(8, "big")
    else:
        raise OverflowError("CBOR integers are limited to 64 bits")


def _encode_into(value: object, out: bytearray) -> None:
    if value is False:
        out.append(0xF4)
    elif value is True:
        out.append(0xF5)
    elif value is None:
        out.append(0xF6)
    elif isinstance(value, int):
        if value >= 0:
            _head(0, value, out)
        else:
            _head(1, -1 - value, out)
    elif isinstance(value, bytes):
        _head(2, len(value), out)
        out += value
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        _head(3, len(raw), out)
        out += raw
    elif isinstance(value, (list, tuple)):
        _head(4, len(value), out)
        for item in value:
            _encode_into(item, out)
    elif isinstance(value, dict):
        entries = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, (int, str)):
                raise TypeError("map keys must be integers or text")
            entries.append((encode(key), item))
        entries.sort(key=lambda entry: entry[0])
        _head(5, len(entries), out)
        for encoded_key, item in entries:
            out += encoded_key
            _encode_into(item, out)
    else:
        raise TypeError(f"cannot encode {type(value).__name__} in the wire subset")


def decode(
    data: bytes,
    *,
    max_size: int,
    max_depth: int = MAX_DEPTH,
    max_items: int | None = None,
    array_bounds: Sequence[ArrayBound] = (),
) -> CborValue:
    """Decode exactly one deterministic data item, or raise ``Rejected`` with an ENC rule.

    ``max_items`` is the object's item budget (every data item counts, map keys included; ``None``
    leaves the size limit as the only bound); ``array_bounds`` are its schema's array bounds.
    """
    if len(data) > max_size:
        raise Rejected("ENC-09", f"{len(data)} bytes, limit {max_size}")
    reader = _Reader(bytes(data), max_depth, max_items, array_bounds)
    value = reader.item(depth=0, path=())
    if reader.pos != len(reader.data):
        raise Rejected("ENC-08", f"{len(reader.data) - reader.pos} bytes after the item")
    return value


class _Reader:
    """A cursor over the input; each method consumes what it returns."""

    def __init__(
        self,
        data: bytes,
        max_depth: int,
        max_items: int | None,
        array_bounds: Sequence[ArrayBound],
    ) -> None:
        self.data = data
        self.pos = 0
        self.max_depth = max_depth
        self.items_left = len(data) + 1 if max_items is None else max_items
        self.bounds = {bound.path: bound for bound in array_bounds}
        self.bounded_places = {b.path[:n] for b in array_bounds for n in range(len(b.path) + 1)}

    def take(self, n: int) -> bytes:
        if n > len(self.data) - self.pos:
            raise Rejected("ENC-01", f"truncated at byte {self.pos}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def head(self) -> tuple[int, int, int]:
        """Read a head; return (major type, additional info, argument)."""
        start = self.pos
        initial = self.take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if major == 6:
            raise Rejected("ENC-07", f"tag at byte {start}")
        if info == 31:
            if major in (2, 3, 4, 5):
                raise Rejected("ENC-03", f"indefinite length at byte {start}")
            raise Rejected("ENC-01", f"break or reserved head at byte {start}")
        if info in (28, 29, 30):
            raise Rejected("ENC-01", f"reserved additional information at byte {start}")
        if major == 7:
            return major, info, info
        if info < 24:
            return major, info, info
        width = 1 << (info - 24)
        argument = int.from_bytes(self.take(width), "big")
        smallest = 24 if width == 1 else 1 << (4 * width)
        if argument < smallest:
            raise Rejected("ENC-02", f"non-shortest head at byte {start}")
        return major, info, argument

    def item(self, depth: int, path: tuple[CborKey, ...] | None) -> CborValue:
        """One data item; ``path`` is its place in the object when an array bound lies below."""
        start = self.pos
        if self.items_left == 0:
            raise Rejected("ENC-16", f"item budget spent at byte {start}")
        self.items_left -= 1
        major, info, argument = self.head()
        if major == 0:
            return argument
        if major == 1:
            return -1 - argument
        if major == 2:
            return self.take(argument)
        if major == 3:
            raw = self.take(argument)
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise Rejected("ENC-11", f"text at byte {start}") from None
        if major == 7:
            if info == 20:
                return False
            if info == 21:
                return True
            if info == 22:
                return None
            raise Rejected("ENC-06", f"simple value or float at byte {start}")
        if depth + 1 > self.max_depth:
            raise Rejected("ENC-10", f"nesting deeper than {self.max_depth} at byte {start}")
        bound = self.bounds.get(path) if major == 4 and path is not None else None
        if bound is not None and argument > bound.max_count:
            raise Rejected(
                bound.rule, f"array of {argument} at byte {start}, {bound.max_count} allowed"
            )
        # Every element takes at least one byte: a count beyond the remaining input is truncation,
        # found before any memory is reserved for it.
        remaining = len(self.data) - self.pos
        if argument > remaining:
            raise Rejected("ENC-01", f"count {argument} exceeds the input at byte {start}")
        if major == 4:
            return [self.item(depth + 1, None) for _ in range(argument)]
        return self.map_body(argument, depth + 1, path)

    def map_body(
        self, count: int, depth: int, path: tuple[CborKey, ...] | None
    ) -> dict[CborKey, CborValue]:
        result: dict[CborKey, CborValue] = {}
        previous: bytes | None = None
        for _ in range(count):
            key_start = self.pos
            key = self.item(depth, None)
            encoded_key = self.data[key_start : self.pos]
            if isinstance(key, bool) or not isinstance(key, (int, str)):
                raise Rejected("ENC-14", f"map key at byte {key_start} is not an integer or text")
            if previous is not None:
                if encoded_key == previous:
                    raise Rejected("ENC-05", f"duplicate key at byte {key_start}")
                if encoded_key < previous:
                    raise Rejected("ENC-04", f"key out of order at byte {key_start}")
            previous = encoded_key
            place = None if path is None else (*path, key)
            result[key] = self.item(depth, place if place in self.bounded_places else None)
        return result
