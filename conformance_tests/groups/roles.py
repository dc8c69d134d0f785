"""Vectors for separation of duties (ROL-01, INV-20), the fee account and ACC-02's mixed-order
keys.

Each attack of the rule book's separation-of-duties section has a vector here: an account that is
both an attestor and a trader (it could attest its own export and sell it), an operator that
trades, the fee account bidding or owning a meter, and an account id with a torsion component.
"""

from __future__ import annotations

from conformance_tests import edwards
from conformance_tests.scenario import key_of
from conformance_tests.suite import Suite, market, tx, village
from spec.crypto import is_valid_public_key
from spec.state import NodeKind, Role
from spec.transactions import Kind


def encode_point(point: edwards.Point) -> bytes:
    """The canonical encoding of a point (RFC 8032 section 5.1.2)."""
    x_, y_, z, _ = point
    inverse = pow(z, edwards.P - 2, edwards.P)
    x, y = x_ * inverse % edwards.P, y_ * inverse % edwards.P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def mixed_order_keys() -> list[tuple[str, bytes, str]]:
    """Keys A + T with A a prime-order point (a real public key) and T a small-order torsion
    point: not of small order, canonical, on the curve, outside the prime-order subgroup."""
    base = edwards.decode_point(key_of("mallory"))
    assert base is not None
    out = []
    for name, torsion_key, what in (
        ("order-2", edwards.ORDER_2_KEY, "a point of order 2"),
        ("order-4", edwards.ORDER_4_KEY, "a point of order 4"),
    ):
        torsion = edwards.decode_point(torsion_key)
        assert torsion is not None
        key = encode_point(edwards.add(base, torsion))
        out.append((name, key, what))
    return out


def group_roles(suite: Suite) -> None:
    """ROL-01 at registration, the fee account kept out of trading, ACC-02 mixed-order keys."""
    v = village()
    ivan = key_of("ivan")

    def register(roles: int) -> bytes:
        return v.make("operator", Kind.REGISTER_ACCOUNT, {0: ivan, 1: roles})

    for name, roles, twin_roles, why in (
        (
            "attestor-trader",
            Role.ATTESTOR | Role.TRADER,
            Role.ATTESTOR,
            "An attestor that trades could attest its own meters' export and sell it.",
        ),
        (
            "operator-trader",
            Role.OPERATOR | Role.TRADER,
            Role.OPERATOR,
            "The operator (or the fee account, roles 9) must not trade on its own market.",
        ),
        (
            "operator-attestor-trader",
            Role.OPERATOR | Role.ATTESTOR | Role.TRADER,
            Role.OPERATOR | Role.ATTESTOR,
            "Roles 11 hold both incompatible pairs; 3 holds neither.",
        ),
    ):
        suite.negative(
            f"roles/ROL-01/{name}",
            f"Registering an account with roles {int(roles)}. {why} Roles {int(twin_roles)} "
            "are fine.",
            v.state,
            tx(register(int(roles))),
            tx(register(int(twin_roles))),
            "ROL-01",
            flags=["separation-of-duties", "attack"],
        )

    # The fee account (the operator in this chain) holds no trader role: it cannot bid ...
    m = market()  # bob imported 2 500 Wh in zone 1 in the last slot (BID-04)
    fee = m.state.params.fee_account
    assert fee == key_of("operator")
    bid = {0: 1, 1: m.slot - 1, 2: 1000, 3: 2000}
    suite.negative(
        "roles/fee-account/bids",
        "The fee account places a bid. It holds no trader role (INV-20), so TX-06 refuses it; "
        "the same bid by a trader with the import to back it is accepted. A fee account that "
        "could bid would be refunded by the clearing that also credits it the wheeling fees.",
        m.state,
        tx(m.make("operator", Kind.PLACE_BID, bid)),
        tx(m.make("bob", Kind.PLACE_BID, bid)),
        "TX-06",
        flags=["separation-of-duties", "fee-account", "attack"],
    )
    # ... nor own a meter, so it never owns a lot or an ask either.
    w = village()
    assert w.node(7, NodeKind.SERVICE_POINT, 2).accepted

    def meter(owner: bytes) -> bytes:
        body = {0: 107, 1: owner, 2: key_of("attestor"), 3: 7, 4: 0, 5: 5000, 6: 0}
        return w.make("operator", Kind.REGISTER_METER, body)

    suite.negative(
        "roles/fee-account/owns-meter",
        "A meter registered with the fee account as its owner: MTR-02 refuses an owner without "
        "the trader role; a trader as owner is accepted.",
        w.state,
        tx(meter(fee)),
        tx(meter(key_of("alice"))),
        "MTR-02",
        flags=["separation-of-duties", "fee-account"],
    )

    # ACC-02: keys with a torsion component are not of small order, so a check for small order
    # (or a cofactored one) accepts them; ACC-02 asks for the prime-order subgroup.
    for name, key, what in mixed_order_keys():
        assert not edwards.has_small_order(key) and edwards.is_canonical(key)
        assert not is_valid_public_key(key)
        suite.negative(
            f"account/ACC-02/mixed-order-{name}",
            f"Registering a mixed-order key: a real public key plus {what}. Not of small order "
            "and canonical, but outside the prime-order subgroup.",
            v.state,
            tx(v.make("operator", Kind.REGISTER_ACCOUNT, {0: key, 1: int(Role.TRADER)})),
            tx(register(int(Role.TRADER))),
            "ACC-02",
            flags=["ed25519", "mixed-order-key"],
        )
