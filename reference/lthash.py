"""LtHash-16 over 1024 lanes, kept as two wide integers so one entry costs a few big-int operations.

An entry's 2048-byte SHAKE-256 expansion, read as one little-endian integer, holds lane ``i`` at
bits ``16 i``. Masking keeps the even lanes in 32-bit slots (the odd ones after a 16-bit shift),
so adding expansions adds every lane at once and the carry of a lane stays inside its slot's
upper half. Removing an entry adds the lane-wise complement ``2^16 - lane`` (never negative, so no
borrow crosses a slot). A slot holds at most 65 535 terms before it is folded back modulo 2^16.
"""

from __future__ import annotations

import hashlib
from typing import Final

TAG_STATE_ENTRY: Final = b"kwhledger/state-entry/v1"
TAG_STATE_ROOT: Final = b"kwhledger/state-root/v1"
LANE_BYTES: Final = 2048

_EVEN: Final = int.from_bytes(b"\xff\xff\x00\x00" * 512, "little")
_COMPLEMENT: Final = int.from_bytes(b"\x00\x00\x01\x00" * 512, "little")
_FOLD_EVERY: Final = 60_000
_PREFIX: Final = TAG_STATE_ENTRY + b"\x00"


class LtHash:
    """A multiset of state entries (their canonical encodings) as a lane sum."""

    __slots__ = ("even", "odd", "terms")

    def __init__(self) -> None:
        self.even = 0
        self.odd = 0
        self.terms = 0

    def copy(self) -> LtHash:
        other = LtHash()
        other.even, other.odd, other.terms = self.even, self.odd, self.terms
        return other

    def add(self, entry: bytes) -> None:
        x = int.from_bytes(hashlib.shake_256(_PREFIX + entry).digest(LANE_BYTES), "little")
        self.even += x & _EVEN
        self.odd += (x >> 16) & _EVEN
        self.terms += 1
        if self.terms >= _FOLD_EVERY:
            self.fold()

    def remove(self, entry: bytes) -> None:
        x = int.from_bytes(hashlib.shake_256(_PREFIX + entry).digest(LANE_BYTES), "little")
        self.even += _COMPLEMENT - (x & _EVEN)
        self.odd += _COMPLEMENT - ((x >> 16) & _EVEN)
        self.terms += 1
        if self.terms >= _FOLD_EVERY:
            self.fold()

    def fold(self) -> None:
        self.even &= _EVEN
        self.odd &= _EVEN
        self.terms = 0

    def lanes(self) -> bytes:
        """The 2048 bytes of the sum, lane ``i`` little-endian at bytes ``2i, 2i+1``."""
        return ((self.even & _EVEN) | ((self.odd & _EVEN) << 16)).to_bytes(LANE_BYTES, "little")

    @classmethod
    def from_lanes(cls, lanes: bytes) -> LtHash:
        x = int.from_bytes(lanes, "little")
        out = cls()
        out.even, out.odd = x & _EVEN, (x >> 16) & _EVEN
        return out

    def root(self) -> bytes:
        """HSH-01: BLAKE2b-256 under the state-root tag over the lanes."""
        data = TAG_STATE_ROOT + b"\x00" + self.lanes()
        return hashlib.blake2b(data, digest_size=32).digest()
