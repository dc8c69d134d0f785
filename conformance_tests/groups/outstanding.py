"""Vectors for MNY-04 on the money outstanding (deposits minus withdrawals).

Rule book 0.x bounded the lifetime total of deposits: one deposit at the bound, withdrawn at once,
refused every later deposit. These vectors pin the 1.0 rule: money withdrawn makes room again,
exactly as much as was withdrawn.
"""

from __future__ import annotations

from conformance_tests.scenario import key_of
from conformance_tests.suite import Suite, tx, village
from spec.transactions import Kind
from spec.units import MONEY_MAX_MSEN


def group_outstanding(suite: Suite) -> None:
    """MNY-04 after withdrawals: the attack of a deposit at the cap, and the exact room left."""
    v = village()
    room = MONEY_MAX_MSEN - v.state.money_outstanding
    alice, bob = key_of("alice"), key_of("bob")
    assert v.deposit("alice", room).accepted
    assert v.withdraw("alice", room).accepted
    assert v.state.money_outstanding == MONEY_MAX_MSEN - room
    suite.add(
        "money/MNY-04/deposit-after-withdrawal-at-cap",
        "A deposit that filled MONEY_MAX_MSEN was withdrawn at once. A deposit of 1 milli-sen, "
        "and then one of the whole room again, are accepted: MNY-04 bounds the money "
        "outstanding, not the lifetime total of deposits.",
        v.state,
        [
            tx(v.make("operator", Kind.DEPOSIT, {0: bob, 1: 1})),
            tx(
                v.make(
                    "operator", Kind.DEPOSIT, {0: bob, 1: room - 1}, nonce=v.nonces["operator"] + 1
                )
            ),
        ],
        expect=[None, None],
        flags=["boundary", "attack"],
    )
    w = village()
    assert w.deposit("alice", room).accepted
    assert w.withdraw("alice", 10).accepted
    suite.negative(
        "money/MNY-04/room-after-withdrawal-plus-one",
        "Money outstanding is MONEY_MAX_MSEN - 10 after a withdrawal of 10: a deposit of 11 is "
        "refused, one of 10 accepted.",
        w.state,
        tx(w.make("operator", Kind.DEPOSIT, {0: alice, 1: 11})),
        tx(w.make("operator", Kind.DEPOSIT, {0: alice, 1: 10})),
        "MNY-04",
        flags=["boundary", "overflow"],
    )
