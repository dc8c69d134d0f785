"""LtHash-16 over 1024 lanes, with NumPy: a lane is a ``uint16``, and unsigned 16-bit arithmetic
wraps modulo 2^16, which is exactly the rule book's lane sum.

An entry's expansion (rule book section 9.5: ChaCha20 keystream under a BLAKE2b-256 key) is
written by libsodium straight into one row of a 2-D array, lane ``i`` little-endian at bytes
``2i, 2i+1``: a block's new entries are expanded into one array, one C call per entry, and summed
column by column in one NumPy call. No Python object is made per lane or per entry sum.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from nacl._sodium import ffi, lib

TAG_STATE_ENTRY: Final = b"kwhledger/state-entry/v2"
TAG_STATE_ROOT: Final = b"kwhledger/state-root/v1"
LANES: Final = 1024
LANE_BYTES: Final = 2 * LANES
LANE: Final = np.dtype("<u2")
"""One lane: an unsigned 16-bit little-endian integer (the rule book's byte order)."""
_PREFIX: Final = TAG_STATE_ENTRY + b"\x00"
_generate = lib.randombytes_buf_deterministic
"""libsodium's ChaCha20 generator (nonce ``LibsodiumDRG``, counter from 0): the expansion."""


def seed_of(entry: bytes) -> bytes:
    """The 32-byte key an entry's expansion is generated from."""
    return hashlib.blake2b(_PREFIX + entry, digest_size=32).digest()


def expand(seeds: Sequence[bytes]) -> Any:
    """The expansions of ``seeds``, one row of 1024 lanes each."""
    rows = np.empty((len(seeds), LANES), dtype=LANE)
    if len(seeds):
        pointer = ffi.from_buffer(rows, require_writable=True)
        for i, seed in enumerate(seeds):
            _generate(pointer + LANE_BYTES * i, LANE_BYTES, seed)
    return rows


def column_sum(rows: Any) -> Any:
    """The lane-wise sum of ``rows`` (a 2-D array or a list of rows), modulo 2^16."""
    return np.sum(rows, axis=0, dtype=LANE)


class LtHash:
    """A multiset of state entries (their canonical encodings) as a lane sum."""

    __slots__ = ("total",)

    def __init__(self) -> None:
        self.total: Any = np.zeros(LANES, dtype=LANE)

    def copy(self) -> LtHash:
        other = LtHash()
        other.total = self.total.copy()
        return other

    def add_rows(self, rows: Any) -> None:
        """Add expansions (a 2-D array, or a list of rows)."""
        if len(rows):
            self.total += column_sum(rows)

    def remove_rows(self, rows: Any) -> None:
        """Remove expansions added before."""
        if len(rows):
            self.total -= column_sum(rows)

    def remove_indexed(self, rows: list[tuple[Any, int]]) -> None:
        """Remove expansions given as (array, row index): one NumPy call per array."""
        by_array: dict[int, tuple[Any, list[int]]] = {}
        for array, index in rows:
            group = by_array.get(id(array))
            if group is None:
                by_array[id(array)] = (array, [index])
            else:
                group[1].append(index)
        for array, indexes in by_array.values():
            self.total -= column_sum(array[indexes])

    def add(self, entry: bytes) -> Any:
        """Add one entry; returns its expansion (a row) for a later ``remove_rows``."""
        row = expand([seed_of(entry)])[0]
        self.total += row
        return row

    def remove(self, entry: bytes) -> None:
        self.total -= expand([seed_of(entry)])[0]

    def add_lanes(self, lanes: bytes) -> None:
        """Add a lane sum computed elsewhere (``lane_sums``)."""
        self.total += np.frombuffer(lanes, dtype=LANE)

    def lanes(self) -> bytes:
        """The 2048 bytes of the sum, lane ``i`` little-endian at bytes ``2i, 2i+1``."""
        return bytes(self.total.tobytes())

    @classmethod
    def from_lanes(cls, lanes: bytes) -> LtHash:
        out = cls()
        out.total = np.frombuffer(lanes, dtype=LANE).copy()
        return out

    def root(self) -> bytes:
        """HSH-01: BLAKE2b-256 under the state-root tag over the lanes."""
        data = TAG_STATE_ROOT + b"\x00" + self.lanes()
        return hashlib.blake2b(data, digest_size=32).digest()


def lane_sums(adds: list[bytes], removes: list[bytes]) -> bytes:
    """The lanes of adding ``adds`` and removing ``removes`` (for worker processes)."""
    total = np.zeros(LANES, dtype=LANE)
    total += column_sum(expand([seed_of(entry) for entry in adds])) if adds else 0
    total -= column_sum(expand([seed_of(entry) for entry in removes])) if removes else 0
    return bytes(total.tobytes())
