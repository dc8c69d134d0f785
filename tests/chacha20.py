"""ChaCha20 as RFC 8439 section 2 states it, in plain Python, to check ``spec.crypto.expand``.

Slow (a few milliseconds per 2 KB) and independent of libsodium: the tests compare the spec's
one-call expansion with the keystream written out from the RFC, so the rule book's sentence
("ChaCha20 keystream, nonce LibsodiumDRG, counter from 0") is checked, not only the library call.
"""

from __future__ import annotations

import struct

_MASK = 0xFFFFFFFF
_CONSTANTS = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)  # "expand 32-byte k"


def _rotl(x: int, n: int) -> int:
    return ((x << n) & _MASK) | (x >> (32 - n))


def _quarter_round(s: list[int], a: int, b: int, c: int, d: int) -> None:
    """RFC 8439 section 2.1."""
    s[a] = (s[a] + s[b]) & _MASK
    s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & _MASK
    s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & _MASK
    s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & _MASK
    s[b] = _rotl(s[b] ^ s[c], 7)


def block(key: bytes, counter: int, nonce: bytes) -> bytes:
    """RFC 8439 section 2.3: one 64-byte block of keystream."""
    assert len(key) == 32 and len(nonce) == 12 and 0 <= counter <= _MASK
    initial = [
        *_CONSTANTS,
        *struct.unpack("<8I", key),
        counter,
        *struct.unpack("<3I", nonce),
    ]
    s = list(initial)
    for _ in range(10):  # 20 rounds: a column round and a diagonal round, ten times
        _quarter_round(s, 0, 4, 8, 12)
        _quarter_round(s, 1, 5, 9, 13)
        _quarter_round(s, 2, 6, 10, 14)
        _quarter_round(s, 3, 7, 11, 15)
        _quarter_round(s, 0, 5, 10, 15)
        _quarter_round(s, 1, 6, 11, 12)
        _quarter_round(s, 2, 7, 8, 13)
        _quarter_round(s, 3, 4, 9, 14)
    return struct.pack("<16I", *((x + y) & _MASK for x, y in zip(s, initial, strict=True)))


def keystream(key: bytes, nonce: bytes, length: int, counter: int = 0) -> bytes:
    """RFC 8439 section 2.4: consecutive blocks from ``counter``, cut to ``length`` bytes."""
    blocks = (length + 63) // 64
    return b"".join(block(key, counter + i, nonce) for i in range(blocks))[:length]
