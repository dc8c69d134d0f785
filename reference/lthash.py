"""LtHash-16 over 1024 lanes, kept as wide integers so that one entry costs a few big-int steps.

An entry's 2048-byte expansion (rule book section 9.5: ChaCha20 keystream under a BLAKE2b-256 key),
read as one little-endian integer ``x``, holds lane ``i`` at bits ``16 i``. ``x & ODD`` keeps the
odd lanes in place, each followed by 16 free bits; ``x - (x & ODD)`` is ``x & EVEN``, the even
lanes, each alone in a 32-bit slot. Adding such values adds every lane at once, a lane's carries
landing in its free bits, never in another lane. So a sum keeps two integers: the plain sum of the
``x`` and the sum of their odd parts; the even part of the sum is their difference. That costs one
mask and two additions per entry. Added and removed entries go to separate sums (nothing ever goes
negative); the lanes are their difference modulo 2^16, taken when the root is read. Every 60 000
terms the sums are folded back to 16 bits per lane, so the free bits never overflow.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

TAG_STATE_ENTRY: Final = b"kwhledger/state-entry/v2"
TAG_STATE_ROOT: Final = b"kwhledger/state-root/v1"
LANE_BYTES: Final = 2048

_EVEN: Final = int.from_bytes(b"\xff\xff\x00\x00" * 512, "little")
_ODD: Final = _EVEN << 16
_BIAS: Final = int.from_bytes(b"\x00\x00\x01\x00" * 512, "little")
"""2^16 in every even slot: added before subtracting a folded sum, so no slot borrows."""
_FOLD_EVERY: Final = 60_000
SUM_CHUNK: Final = 4096
"""Most terms a caller may sum before handing them over: 60 000 + 4 096 stays below 2^16."""
ODD: Final = _ODD
_PREFIX: Final = TAG_STATE_ENTRY + b"\x00"


def _expander() -> Any:
    """libsodium's ChaCha20 generator (nonce ``LibsodiumDRG``, counter from 0), called into one
    buffer that this process reuses (PyNaCl's public binding allocates and copies each time)."""
    try:
        from nacl._sodium import ffi, lib
    except ImportError:  # pragma: no cover - a PyNaCl without its cffi module
        from nacl.bindings import randombytes_buf_deterministic

        def public(seed: bytes) -> int:
            return int.from_bytes(randombytes_buf_deterministic(LANE_BYTES, seed), "little")

        return public
    buffer = ffi.new("unsigned char[]", LANE_BYTES)
    view = ffi.buffer(buffer)
    generate = lib.randombytes_buf_deterministic

    def direct(seed: bytes) -> int:
        generate(buffer, LANE_BYTES, seed)
        return int.from_bytes(view, "little")

    return direct


stretch = _expander()
"""A 32-byte seed's 2048-byte expansion as an integer (not thread-safe: one buffer per process)."""


def expansion(entry: bytes) -> int:
    """An entry's 2048-byte expansion as an integer."""
    result: int = stretch(hashlib.blake2b(_PREFIX + entry, digest_size=32).digest())
    return result


class LtHash:
    """A multiset of state entries (their canonical encodings) as a lane sum."""

    __slots__ = ("added", "added_odd", "removed", "removed_odd", "terms")

    def __init__(self) -> None:
        self.added = self.added_odd = self.removed = self.removed_odd = 0
        self.terms = 0

    def copy(self) -> LtHash:
        other = LtHash()
        other.added, other.added_odd = self.added, self.added_odd
        other.removed, other.removed_odd = self.removed, self.removed_odd
        other.terms = self.terms
        return other

    def add(self, entry: bytes) -> int:
        """Add one entry; returns its expansion for a later ``remove_expansion``."""
        x = expansion(entry)
        self.add_expansion(x)
        return x

    def add_expansion(self, x: int) -> None:
        self.added += x
        self.added_odd += x & _ODD
        self.terms += 1
        if self.terms >= _FOLD_EVERY:
            self.fold()

    def add_sums(self, plain: int, odd: int, count: int) -> None:
        """Add ``count`` expansions (at most ``SUM_CHUNK``) summed by the caller: their plain sum
        and the sum of their odd parts (``x & ODD``)."""
        self.added += plain
        self.added_odd += odd
        self.terms += count
        if self.terms >= _FOLD_EVERY:
            self.fold()

    def remove_sums(self, plain: int, odd: int, count: int) -> None:
        """``add_sums`` for removed expansions."""
        self.removed += plain
        self.removed_odd += odd
        self.terms += count
        if self.terms >= _FOLD_EVERY:
            self.fold()

    def remove(self, entry: bytes) -> None:
        self.remove_expansion(expansion(entry))

    def remove_expansion(self, x: int) -> None:
        self.removed += x
        self.removed_odd += x & _ODD
        self.terms += 1
        if self.terms >= _FOLD_EVERY:
            self.fold()

    def fold(self) -> None:
        """Reduce to one term with 16 significant bits per lane."""
        added_even = self.added - self.added_odd
        removed_even = self.removed - self.removed_odd
        even = ((added_even & _EVEN) + _BIAS - (removed_even & _EVEN)) & _EVEN
        odd = (((self.added_odd & _ODD) >> 16) + _BIAS - ((self.removed_odd & _ODD) >> 16)) & _EVEN
        self.added_odd = odd << 16
        self.added = even | self.added_odd
        self.removed = self.removed_odd = 0
        self.terms = 0

    def lanes(self) -> bytes:
        """The 2048 bytes of the sum, lane ``i`` little-endian at bytes ``2i, 2i+1``."""
        folded = self.copy()
        folded.fold()
        return folded.added.to_bytes(LANE_BYTES, "little")

    @classmethod
    def from_lanes(cls, lanes: bytes) -> LtHash:
        out = cls()
        out.added = int.from_bytes(lanes, "little")
        out.added_odd = out.added & _ODD
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
    lthash.added += partial.added
    lthash.added_odd += partial.added_odd
    lthash.terms += 1
    if lthash.terms >= _FOLD_EVERY:
        lthash.fold()
