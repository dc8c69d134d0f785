"""LtHash-16 over 1024 lanes, kept as wide integers so that one entry costs a few big-int steps.

An entry's 2048-byte expansion (ChaCha20 keystream under a BLAKE2b-256 key, rule book section 9.5),
read as one little-endian integer ``x``, holds lane
``i`` at bits ``16 i``. ``x & EVEN`` keeps the even lanes, each alone in a 32-bit slot; ``x & ODD``
keeps the odd ones in place, each followed by 16 free bits. Adding such masked values adds every
lane at once, a lane's carries landing in its free bits, never in another lane. Added and removed
entries go to separate accumulators (nothing ever goes negative); the lanes are their difference
modulo 2^16, taken when the root is read. Every 60 000 terms the accumulators are folded back to
16 bits per lane, so the free bits never overflow.
"""

from __future__ import annotations

import hashlib
from typing import Final

from nacl.bindings import randombytes_buf_deterministic

TAG_STATE_ENTRY: Final = b"kwhledger/state-entry/v2"
TAG_STATE_ROOT: Final = b"kwhledger/state-root/v1"
LANE_BYTES: Final = 2048

_EVEN: Final = int.from_bytes(b"\xff\xff\x00\x00" * 512, "little")
_ODD: Final = _EVEN << 16
_BIAS: Final = int.from_bytes(b"\x00\x00\x01\x00" * 512, "little")
"""2^16 in every even slot: added before subtracting a folded sum, so no slot borrows."""
_FOLD_EVERY: Final = 60_000
_PREFIX: Final = TAG_STATE_ENTRY + b"\x00"


def expansion(entry: bytes) -> int:
    """An entry's 2048-byte expansion as an integer: libsodium's ChaCha20 generator (nonce
    ``LibsodiumDRG``, counter from 0) seeded with the entry's tagged BLAKE2b-256 hash."""
    seed = hashlib.blake2b(_PREFIX + entry, digest_size=32).digest()
    return int.from_bytes(randombytes_buf_deterministic(LANE_BYTES, seed), "little")


class LtHash:
    """A multiset of state entries (their canonical encodings) as a lane sum."""

    __slots__ = ("added_even", "added_odd", "removed_even", "removed_odd", "terms")

    def __init__(self) -> None:
        self.added_even = self.added_odd = self.removed_even = self.removed_odd = 0
        self.terms = 0

    def copy(self) -> LtHash:
        other = LtHash()
        other.added_even, other.added_odd = self.added_even, self.added_odd
        other.removed_even, other.removed_odd = self.removed_even, self.removed_odd
        other.terms = self.terms
        return other

    def add(self, entry: bytes) -> int:
        """Add one entry; returns its expansion for a later ``remove_expansion``."""
        x = expansion(entry)
        self.add_expansion(x)
        return x

    def add_expansion(self, x: int) -> None:
        self.added_even += x & _EVEN
        self.added_odd += x & _ODD
        self.terms += 1
        if self.terms >= _FOLD_EVERY:
            self.fold()

    def remove(self, entry: bytes) -> None:
        self.remove_expansion(expansion(entry))

    def remove_expansion(self, x: int) -> None:
        self.removed_even += x & _EVEN
        self.removed_odd += x & _ODD
        self.terms += 1
        if self.terms >= _FOLD_EVERY:
            self.fold()

    def fold(self) -> None:
        """Reduce to one accumulator pair with 16 significant bits per lane."""
        even = ((self.added_even & _EVEN) + _BIAS - (self.removed_even & _EVEN)) & _EVEN
        odd = (((self.added_odd & _ODD) >> 16) + _BIAS - ((self.removed_odd & _ODD) >> 16)) & _EVEN
        self.added_even, self.added_odd = even, odd << 16
        self.removed_even = self.removed_odd = 0
        self.terms = 0

    def lanes(self) -> bytes:
        """The 2048 bytes of the sum, lane ``i`` little-endian at bytes ``2i, 2i+1``."""
        folded = self.copy()
        folded.fold()
        return (folded.added_even | folded.added_odd).to_bytes(LANE_BYTES, "little")

    @classmethod
    def from_lanes(cls, lanes: bytes) -> LtHash:
        x = int.from_bytes(lanes, "little")
        out = cls()
        out.added_even, out.added_odd = x & _EVEN, x & _ODD
        return out

    def root(self) -> bytes:
        """HSH-01: BLAKE2b-256 under the state-root tag over the lanes."""
        data = TAG_STATE_ROOT + b"\x00" + self.lanes()
        return hashlib.blake2b(data, digest_size=32).digest()


def lane_sums(adds: list[bytes], removes: list[bytes]) -> LtHash:
    """The sum of adding ``adds`` and removing ``removes``, folded (for worker processes)."""
    partial = LtHash()
    for entry in adds:
        partial.add(entry)
    for entry in removes:
        partial.remove(entry)
    partial.fold()
    return partial


def combine(lthash: LtHash, partial: LtHash) -> None:
    """Add a folded partial sum into ``lthash``."""
    lthash.added_even += partial.added_even
    lthash.added_odd += partial.added_odd
    lthash.terms += 1
    if lthash.terms >= _FOLD_EVERY:
        lthash.fold()
