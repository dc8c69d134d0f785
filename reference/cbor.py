"""Deterministic CBOR for the reference node: a fast encoder and a strict, first-violation decoder.

Two decoders, one answer:

* ``decode_fast`` lets cbor2's C decoder parse and re-encode the input and accepts only when the
  re-encoding is byte for byte the input. It never decides a rejection: when it cannot vouch for
  the input it returns ``None`` and the caller falls back to ``decode_strict``.
* ``decode_strict`` reads the input once, left to right, and raises at the first violation in the
  order the rule book fixes (ENC-09 first; per item ENC-01, ENC-07, ENC-03, ENC-02, ENC-06, ENC-10,
  ENC-11; per map key ENC-14, ENC-05, ENC-04; ENC-08 last), so the reference names the same rule as
  every other implementation for the same bytes.

Callers that accept a fast decoding still check every value's exact type against a schema (a float
or a tag re-encodes to itself in cbor2, so byte equality alone does not prove the wire subset).
"""

from __future__ import annotations

from typing import Any, Final

import cbor2

from reference.errors import Rejected

MAX_DEPTH: Final = 16
_UINT64_MAX: Final = 2**64 - 1

# --- Encoding -------------------------------------------------------------------------------------

_SMALL: Final = [bytes((n,)) for n in range(24)]


def uint_bytes(n: int, major: int = 0) -> bytes:
    """The head of major type ``major`` with argument ``n`` (for type 0: the integer itself)."""
    m = major << 5
    if n < 24:
        return bytes((m | n,))
    if n < 0x100:
        return bytes((m | 24, n))
    if n < 0x10000:
        return bytes((m | 25,)) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes((m | 26,)) + n.to_bytes(4, "big")
    if n <= _UINT64_MAX:
        return bytes((m | 27,)) + n.to_bytes(8, "big")
    raise OverflowError("CBOR integers are limited to 64 bits")


_UINT16: Final = [uint_bytes(n) for n in range(0x10000)]
"""Encodings of every integer below 2^16, ready-made for the hot paths (about 2 MiB)."""


def u(n: int) -> bytes:
    """An unsigned integer (``uint_bytes`` for major type 0, from a table when small)."""
    if n < 0x10000:
        return _UINT16[n]
    if n < 0x100000000:
        return b"\x1a" + n.to_bytes(4, "big")
    return uint_bytes(n)


def bstr(b: bytes) -> bytes:
    """A byte string."""
    return uint_bytes(len(b), 2) + b


def tstr(s: str) -> bytes:
    """A text string."""
    raw = s.encode("utf-8")
    return uint_bytes(len(raw), 3) + raw


def encode(value: object) -> bytes:
    """The deterministic encoding of ``value`` (tuples encode as arrays)."""
    out = bytearray()
    _encode_into(value, out)
    return bytes(out)


def _encode_into(value: object, out: bytearray) -> None:
    if value is None:
        out.append(0xF6)
    elif value is True:
        out.append(0xF5)
    elif value is False:
        out.append(0xF4)
    elif isinstance(value, int):
        out += uint_bytes(value) if value >= 0 else uint_bytes(-1 - value, 1)
    elif isinstance(value, bytes):
        out += uint_bytes(len(value), 2)
        out += value
    elif isinstance(value, str):
        out += tstr(value)
    elif isinstance(value, (list, tuple)):
        out += uint_bytes(len(value), 4)
        for item in value:
            _encode_into(item, out)
    elif isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, (int, str)):
                raise TypeError("map keys must be integers or text")
            pairs.append((encode(key), item))
        pairs.sort(key=lambda pair: pair[0])
        out += uint_bytes(len(pairs), 5)
        for encoded_key, item in pairs:
            out += encoded_key
            _encode_into(item, out)
    else:
        raise TypeError(f"cannot encode {type(value).__name__}")


# --- Decoding -------------------------------------------------------------------------------------


def decode_fast(data: bytes) -> Any:
    """cbor2's decoding of ``data`` if re-encoding it gives ``data`` back exactly, else ``None``."""
    try:
        value = cbor2.loads(data)
        if cbor2.dumps(value) == data:
            return value
    except Exception:  # any complaint of cbor2's: let the strict decoder name the rule
        return None
    return None


def decode_strict(
    data: bytes,
    max_size: int,
    max_depth: int = MAX_DEPTH,
    max_items: int | None = None,
    array_bounds: dict[tuple[Any, ...], tuple[int, str]] | None = None,
) -> Any:
    """Decode exactly one deterministic item of the wire subset, or raise the first violation.

    ``max_items`` is the item budget (ENC-16); ``array_bounds`` maps the place of an array (the
    map keys from the top item down) to its largest count and the rule a longer head breaks."""
    if len(data) > max_size:
        raise Rejected("ENC-09", f"{len(data)} bytes, limit {max_size}")
    data = bytes(data)
    budget = len(data) + 1 if max_items is None else max_items  # an item takes a byte
    reader = _Strict(data, max_depth, budget, array_bounds)
    value, pos = reader.item(0, 0, () if array_bounds else None)
    if pos != len(data):
        raise Rejected("ENC-08", f"{len(data) - pos} bytes after the item")
    return value


class _Strict:
    """The strict decoder's state: the input, the items left in the budget, the array bounds."""

    __slots__ = ("bounds", "data", "items_left", "max_depth", "places")

    def __init__(
        self,
        data: bytes,
        max_depth: int,
        max_items: int,
        bounds: dict[tuple[Any, ...], tuple[int, str]] | None,
    ) -> None:
        self.data = data
        self.max_depth = max_depth
        self.items_left = max_items
        self.bounds = bounds or {}
        self.places = {path[:n] for path in self.bounds for n in range(len(path) + 1)}

    def item(self, pos: int, depth: int, path: tuple[Any, ...] | None) -> tuple[Any, int]:
        """One item starting at ``pos``: (value, position after it)."""
        data = self.data
        end = len(data)
        start = pos
        if self.items_left <= 0:
            raise Rejected("ENC-16", f"item budget spent at byte {pos}")
        self.items_left -= 1
        if pos >= end:
            raise Rejected("ENC-01", f"truncated at byte {pos}")
        initial = data[pos]
        pos += 1
        major, info = initial >> 5, initial & 0x1F
        if major == 6:
            raise Rejected("ENC-07", f"tag at byte {start}")
        if info == 31:
            if 2 <= major <= 5:
                raise Rejected("ENC-03", f"indefinite length at byte {start}")
            raise Rejected("ENC-01", f"break or reserved head at byte {start}")
        if 28 <= info <= 30:
            raise Rejected("ENC-01", f"reserved additional information at byte {start}")
        if major == 7:
            if info == 20:
                return False, pos
            if info == 21:
                return True, pos
            if info == 22:
                return None, pos
            raise Rejected("ENC-06", f"simple value or float at byte {start}")
        if info < 24:
            argument = info
        else:
            width = 1 << (info - 24)
            if width > end - pos:
                raise Rejected("ENC-01", f"truncated at byte {pos}")
            argument = int.from_bytes(data[pos : pos + width], "big")
            pos += width
            if argument < (24 if width == 1 else 1 << (4 * width)):
                raise Rejected("ENC-02", f"non-shortest head at byte {start}")
        if major == 0:
            return argument, pos
        if major == 1:
            return -1 - argument, pos
        if major == 2 or major == 3:
            if argument > end - pos:
                raise Rejected("ENC-01", f"truncated at byte {pos}")
            raw = data[pos : pos + argument]
            pos += argument
            if major == 2:
                return raw, pos
            try:
                return raw.decode("utf-8"), pos
            except UnicodeDecodeError:
                raise Rejected("ENC-11", f"text at byte {start}") from None
        if depth + 1 > self.max_depth:
            raise Rejected("ENC-10", f"nesting deeper than {self.max_depth} at byte {start}")
        if major == 4 and path is not None and path in self.bounds:
            most, rule = self.bounds[path]
            if argument > most:
                raise Rejected(rule, f"array of {argument} at byte {start}, {most} allowed")
        if argument > end - pos:
            raise Rejected("ENC-01", f"count {argument} exceeds the input at byte {start}")
        depth += 1
        if major == 4:
            items = []
            for _ in range(argument):
                item, pos = self.item(pos, depth, None)
                items.append(item)
            return items, pos
        result: dict[Any, Any] = {}
        previous = None
        for _ in range(argument):
            key_start = pos
            key, pos = self.item(pos, depth, None)
            if type(key) is not int and type(key) is not str:
                raise Rejected("ENC-14", f"map key at byte {key_start} is not an integer or text")
            encoded_key = data[key_start:pos]
            if previous is not None:
                if encoded_key == previous:
                    raise Rejected("ENC-05", f"duplicate key at byte {key_start}")
                if encoded_key < previous:
                    raise Rejected("ENC-04", f"key out of order at byte {key_start}")
            previous = encoded_key
            place = None
            if path is not None:
                place = (*path, key)
                if place not in self.places:
                    place = None
            result[key], pos = self.item(pos, depth, place)
        return result, pos
