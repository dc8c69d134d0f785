"""Just enough Ed25519 curve arithmetic to build the signature edge cases by hand.

The suite must carry keys and signatures that well-known libraries disagree on (DESIGN.md,
"Measured pitfalls"): small-order public keys, a non-canonical encoding of a key, a signature
whose S is not reduced. They are built here from the curve constants of RFC 8032, and their
properties (small order, non-canonical) are checked with this arithmetic, independently of the
signature library the spec uses. Not constant time, never for real keys.
"""

from __future__ import annotations

import hashlib
from typing import Final

P: Final = 2**255 - 19
"""The field prime."""
L: Final = 2**252 + 27742317777372353535851937790883648493
"""The order of the base point's subgroup."""
D: Final = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1: Final = pow(2, (P - 1) // 4, P)

Point = tuple[int, int, int, int]
"""Extended homogeneous coordinates (X, Y, Z, T)."""

IDENTITY: Final[Point] = (0, 1, 1, 0)


def add(a: Point, b: Point) -> Point:
    """Point addition (RFC 8032 section 5.1.4)."""
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % P
    bb = (y1 + x1) * (y2 + x2) % P
    cc = 2 * t1 * t2 * D % P
    dd = 2 * z1 * z2 % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def multiply(scalar: int, point: Point) -> Point:
    result = IDENTITY
    while scalar:
        if scalar & 1:
            result = add(result, point)
        point = add(point, point)
        scalar >>= 1
    return result


def is_identity(point: Point) -> bool:
    x, y, z, _ = point
    return x % P == 0 and (y - z) % P == 0


def decode_point(data: bytes) -> Point | None:
    """Decode a 32-byte encoding leniently (y may be >= p), or ``None`` if no point has that y."""
    encoded = int.from_bytes(data, "little")
    sign = encoded >> 255
    y = (encoded & ((1 << 255) - 1)) % P
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if (v * x * x - u) % P != 0:
        x = x * SQRT_M1 % P
    if (v * x * x - u) % P != 0:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


def encode_y(y: int, sign: int = 0) -> bytes:
    """The encoding of a point by its (possibly unreduced) y and the sign of x."""
    return (y | sign << 255).to_bytes(32, "little")


def has_small_order(data: bytes) -> bool:
    point = decode_point(data)
    return point is not None and is_identity(multiply(8, point))


def is_canonical(data: bytes) -> bool:
    return int.from_bytes(data, "little") & ((1 << 255) - 1) < P


IDENTITY_KEY: Final = encode_y(1)
"""The neutral element (order 1)."""
IDENTITY_KEY_Y_P_PLUS_1: Final = encode_y(P + 1)
"""The neutral element again, with y = p + 1: a non-canonical encoding."""
ORDER_2_KEY: Final = encode_y(P - 1)
"""The point (0, -1), of order 2."""
ORDER_4_KEY: Final = encode_y(0)
"""A point with y = 0, of order 4."""
ZERO_S: Final = bytes(32)


# --- Signatures by hand, and the two verification equations ----------------------------------


def _base_point() -> Point:
    """B: y = 4/5, x even (RFC 8032 section 5.1)."""
    point = decode_point(encode_y(4 * pow(5, P - 2, P) % P))
    assert point is not None
    return point


B = _base_point()


def encode_point(point: Point) -> bytes:
    """The canonical 32-byte encoding of a point (RFC 8032 section 5.1.2)."""
    x, y, z, _ = point
    inverse = pow(z, P - 2, P)
    x, y = x * inverse % P, y * inverse % P
    return encode_y(y, x & 1)


def _equal(a: Point, b: Point) -> bool:
    return encode_point(a) == encode_point(b)


def secret_scalar(seed: bytes) -> int:
    """The clamped secret scalar of a seed (RFC 8032 section 5.1.5)."""
    a = int.from_bytes(hashlib.sha512(seed).digest()[:32], "little")
    return (a & ((1 << 254) - 8)) | (1 << 254)


def challenge(r: bytes, a: bytes, message: bytes) -> int:
    """k = SHA-512(R || A || M) mod L."""
    return int.from_bytes(hashlib.sha512(r + a + message).digest(), "little") % L


def cofactorless_holds(a: bytes, signature: bytes, message: bytes) -> bool:
    """[S]B = R + [k]A, with A and R decoded (they must decode)."""
    point_a, point_r = decode_point(a), decode_point(signature[:32])
    assert point_a is not None and point_r is not None
    s = int.from_bytes(signature[32:], "little")
    k = challenge(signature[:32], a, message)
    return _equal(multiply(s, B), add(point_r, multiply(k, point_a)))


def cofactored_holds(a: bytes, signature: bytes, message: bytes) -> bool:
    """[8][S]B = [8]R + [8][k]A."""
    point_a, point_r = decode_point(a), decode_point(signature[:32])
    assert point_a is not None and point_r is not None
    s = int.from_bytes(signature[32:], "little")
    k = challenge(signature[:32], a, message)
    left = multiply(8 * s, B)
    right = multiply(8, add(point_r, multiply(k, point_a)))
    return _equal(left, right)
