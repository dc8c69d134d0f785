"""The ``signature`` vectors: Ed25519 cases on which verification procedures part ways.

Every case is built with the independent curve arithmetic of ``conformance_tests.edwards`` and its
expected outcome is first computed here from the text of SIG-01 (``sig01_accepts``: S < L,
canonical A and R, neither of small order, the cofactorless equation) before the spec is asked.
The cases separate libsodium's procedure from the two others a node might use:

- *cofactored* verification (``[8][S]B = [8]R + [8][k]A``, RFC 8032's permitted variant, ZIP-215,
  ``@noble/ed25519`` with ``zip215: false``) accepts a torsion component in A or R;
- *cofactorless verification without the small-order checks* accepts R = identity with an honest
  key, and a small-order A whenever ``[k]A`` happens to vanish.
"""

from __future__ import annotations

from typing import Any

from conformance_tests import edwards
from conformance_tests.scenario import key_of, seed_of
from conformance_tests.suite import Suite, craft_account, tx, village
from spec.cbor import encode
from spec.state import Role
from spec.transactions import Kind, signing_bytes


def _order_8_point() -> edwards.Point:
    """A point of order exactly 8: [L]Q for a curve point Q, kept if [4] of it is not identity."""
    y = 2
    while True:
        q = edwards.decode_point(edwards.encode_y(y))
        if q is not None:
            t = edwards.multiply(edwards.L, q)
            if not edwards.is_identity(edwards.multiply(4, t)):
                assert edwards.is_identity(edwards.multiply(8, t))
                return t
        y += 1


T8 = _order_8_point()


def sig01_accepts(a: bytes, signature: bytes, message: bytes) -> bool:
    """SIG-01, read from the rule book: S canonical, A and R canonical encodings of points not of
    small order, and the cofactorless equation."""
    r = signature[:32]
    if int.from_bytes(signature[32:], "little") >= edwards.L:
        return False
    for point in (a, r):
        if not edwards.is_canonical(point) or edwards.decode_point(point) is None:
            return False
        if edwards.has_small_order(point):
            return False
    return edwards.cofactorless_holds(a, signature, message)


def _transfer(sender: bytes, amount: int, signature: bytes, chain: str) -> bytes:
    body = {0: key_of("bob"), 1: amount}
    kind = int(Kind.TRANSFER)
    return encode({0: chain, 1: kind, 2: sender, 3: 0, 4: body, 5: signature})


def _message(sender: bytes, amount: int, chain: str) -> bytes:
    return signing_bytes(chain, Kind.TRANSFER, sender, 0, {0: key_of("bob"), 1: amount})


def _sign_with(
    scalar: int, public: bytes, r: edwards.Point, nonce: int, amount: int, chain: str
) -> bytes:
    """A signature whose R is ``r`` (of which ``nonce`` is the discrete log of the prime-order
    part) and S = nonce + k * scalar mod L."""
    r_bytes = edwards.encode_point(r)
    k = edwards.challenge(r_bytes, public, _message(public, amount, chain))
    s = (nonce + k * scalar) % edwards.L
    return r_bytes + s.to_bytes(32, "little")


def group_signatures(suite: Suite) -> None:
    """Torsion in A, torsion in R, small-order R with an honest key, a small-order A with an
    honest R, mixed-order keys at registration (ACC-02)."""
    v = village()
    chain = v.state.params.chain_id
    alice, a_alice = key_of("alice"), edwards.secret_scalar(seed_of("alice"))
    assert (
        edwards.encode_point(edwards.multiply(a_alice, edwards.B)) == alice
    )  # the arithmetic matches PyNaCl
    nonce_r = edwards.secret_scalar(b"kwhledger vectors: signature nonce".ljust(32, b"."))
    r_point = edwards.multiply(nonce_r, edwards.B)
    cases: list[tuple[str, str, Any, bytes, bytes, int, list[str], bool]] = []

    # 1. Torsion in R, honest key: R = [r]B + T8, S = r + k a.
    amount = 1
    sig = _sign_with(a_alice, alice, edwards.add(r_point, T8), nonce_r, amount, chain)
    msg = _message(alice, amount, chain)
    assert edwards.cofactored_holds(alice, sig, msg) and not edwards.cofactorless_holds(
        alice, sig, msg
    )
    cases.append(
        (
            "torsion-in-r",
            "Alice's own key; R = [r]B + T with T of order 8, S = r + k a. The cofactored "
            "equation holds, the cofactorless one of SIG-01 fails by T: rejected (cofactored "
            "verifiers accept it).",
            v.state,
            alice,
            sig,
            amount,
            ["mixed-order"],
            False,
        )
    )
    # 2. Small-order R (the identity) with an honest key: S = k a, so [S]B = [k]A = R + [k]A.
    identity = edwards.IDENTITY_KEY
    k = edwards.challenge(identity, alice, msg)
    sig = identity + (k * a_alice % edwards.L).to_bytes(32, "little")
    assert edwards.cofactorless_holds(alice, sig, msg) and edwards.cofactored_holds(alice, sig, msg)
    cases.append(
        (
            "small-order-r-honest-key",
            "Alice's own key; R = identity, S = k a mod L: both equations hold, so only the "
            "rule that R is not of small order rejects it (verifiers without it accept).",
            v.state,
            alice,
            sig,
            amount,
            ["small-order-r"],
            False,
        )
    )
    # 3. Torsion in A: A = [a]B + T8 (crafted account; ACC-02 refuses to register it).
    a_m = edwards.secret_scalar(seed_of("mallory"))
    mixed_point = edwards.add(edwards.multiply(a_m, edwards.B), T8)
    mixed = edwards.encode_point(mixed_point)
    assert not edwards.has_small_order(mixed)
    assert not edwards.is_identity(edwards.multiply(edwards.L, mixed_point))
    crafted = craft_account(v.state, mixed, Role.TRADER, 0, 10**6)
    found: dict[bool, int] = {}
    amount = 1
    while len(found) < 2:
        sig = _sign_with(a_m, mixed, r_point, nonce_r, amount, chain)
        holds = edwards.cofactorless_holds(mixed, sig, _message(mixed, amount, chain))
        found.setdefault(holds, amount)
        amount += 1
    for holds, amount in sorted(found.items()):
        sig = _sign_with(a_m, mixed, r_point, nonce_r, amount, chain)
        assert edwards.cofactored_holds(mixed, sig, _message(mixed, amount, chain))
        name = "torsion-in-a-equation-holds" if holds else "torsion-in-a"
        what = (
            "k is a multiple of 8, so [k]T vanishes and the cofactorless equation holds: "
            "SIG-01 accepts (a mixed-order key is not of small order; verifiers that demand a "
            "prime-order key reject it)."
            if holds
            else "k is not a multiple of 8, so the cofactorless equation fails by [k]T: "
            "rejected (cofactored verifiers accept it)."
        )
        cases.append(
            (
                name,
                f"Sender key A = [a]B + T with T of order 8 (crafted account); R = [r]B, "
                f"S = r + k a; transfer of {amount}: {what}",
                crafted,
                mixed,
                sig,
                amount,
                ["mixed-order", "crafted-pre-state"],
                True,
            )
        )
    # 4. Small-order A, honest R: A = T8, R = [r]B, S = r; grind the amount until [k]T8 = 0.
    t8 = edwards.encode_point(T8)
    assert edwards.has_small_order(t8)
    small = craft_account(v.state, t8, Role.TRADER, 0, 10**6)
    amount = 1
    while True:
        sig = edwards.encode_point(r_point) + nonce_r.to_bytes(32, "little")
        if edwards.cofactorless_holds(t8, sig, _message(t8, amount, chain)):
            break
        amount += 1
    cases.append(
        (
            "small-order-a-honest-r",
            f"Sender key T of order 8 (crafted account); R = [r]B, S = r; the transfer of "
            f"{amount} makes k a multiple of 8, so both equations hold and R is not of small "
            "order: only the rule that A is not of small order rejects it.",
            small,
            t8,
            sig,
            amount,
            ["small-order-key", "crafted-pre-state"],
            True,
        )
    )
    for name, description, pre, sender, sig, amount, flags, is_crafted in cases:
        expected = sig01_accepts(sender, sig, _message(sender, amount, chain))
        suite.add(
            f"signature/SIG-01/{name}",
            description,
            pre,
            [tx(_transfer(sender, amount, sig, chain))],
            expect=[None if expected else "TX-04"],
            rules=["SIG-01"],
            flags=["signature", "ed25519", *flags],
            crafted=is_crafted,
        )
    # 5. ACC-02: a mixed-order key is not of small order but not of prime order either.
    honest = edwards.encode_point(edwards.multiply(a_m, edwards.B))
    honest_point = edwards.decode_point(honest)
    assert honest_point is not None
    assert edwards.is_identity(edwards.multiply(edwards.L, honest_point))
    suite.negative(
        "signature/ACC-02/mixed-order-key",
        "Registering A = [a]B + T (T of order 8): not of small order, so SIG-01 would verify "
        "its signatures, but [L]A = T is not the identity, so A is not of prime order and ACC-02 "
        "refuses it. The twin registers [a]B.",
        v.state,
        tx(v.make("operator", Kind.REGISTER_ACCOUNT, {0: mixed, 1: int(Role.TRADER)})),
        tx(v.make("operator", Kind.REGISTER_ACCOUNT, {0: honest, 1: int(Role.TRADER)})),
        "ACC-02",
        flags=["ed25519", "mixed-order"],
    )
