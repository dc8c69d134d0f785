"""The ``money`` vectors: deposits, withdrawals and transfers."""

from __future__ import annotations

from typing import Any

from conformance_tests.adapter import Step
from conformance_tests.scenario import key_of
from conformance_tests.suite import (
    Suite,
    must,
    tx,
    village,
)
from spec.transactions import (
    Kind,
)
from spec.units import (
    MONEY_MAX_MSEN,
)


def group_money(suite: Suite) -> None:
    """MNY-01 .. MNY-04 with amounts at and one past their bounds."""
    v = village()
    balance = v.state.accounts[key_of("alice")].balance
    total = v.state.total_deposited

    def send(who: str, kind: Kind, body: Any) -> Step:
        return tx(v.make(who, kind, body))

    alice, mallory = key_of("alice"), key_of("mallory")
    suite.negative(
        "money/MNY-01/deposit-to-unknown",
        "A deposit to an unregistered key.",
        v.state,
        send("operator", Kind.DEPOSIT, {0: mallory, 1: 100}),
        send("operator", Kind.DEPOSIT, {0: alice, 1: 100}),
        "MNY-01",
    )
    suite.negative(
        "money/MNY-01/transfer-to-unknown",
        "A transfer to an unregistered key.",
        v.state,
        send("alice", Kind.TRANSFER, {0: mallory, 1: 100}),
        send("alice", Kind.TRANSFER, {0: key_of("bob"), 1: 100}),
        "MNY-01",
    )
    for kind, who, zero, one in (
        (Kind.DEPOSIT, "operator", {0: alice, 1: 0}, {0: alice, 1: 1}),
        (Kind.WITHDRAW, "alice", {0: 0}, {0: 1}),
        (Kind.TRANSFER, "alice", {0: key_of("bob"), 1: 0}, {0: key_of("bob"), 1: 1}),
    ):
        suite.negative(
            f"money/MNY-02/{kind.name.lower()}-zero",
            f"A {kind.name} of 0 milli-sen; 1 is the least.",
            v.state,
            send(who, kind, zero),
            send(who, kind, one),
            "MNY-02",
            flags=["boundary"],
        )
    for kind, over, at in (
        (Kind.WITHDRAW, {0: balance + 1}, {0: balance}),
        (Kind.TRANSFER, {0: key_of("bob"), 1: balance + 1}, {0: key_of("bob"), 1: balance}),
    ):
        suite.negative(
            f"money/MNY-03/{kind.name.lower()}-one-over-balance",
            f"A {kind.name} of the whole balance + 1; the whole balance is accepted.",
            v.state,
            send("alice", kind, over),
            send("alice", kind, at),
            "MNY-03",
            flags=["boundary"],
        )
    suite.add(
        "money/valid/transfer-to-self",
        "A transfer to oneself changes nothing but the nonce.",
        v.state,
        [send("alice", Kind.TRANSFER, {0: alice, 1: balance})],
        expect=[None],
        flags=["edge-case", "valid"],
    )
    room = MONEY_MAX_MSEN - total
    suite.negative(
        "money/MNY-04/deposit-past-money-max",
        "A deposit that would bring total deposits to MONEY_MAX_MSEN + 1.",
        v.state,
        send("operator", Kind.DEPOSIT, {0: alice, 1: room + 1}),
        send("operator", Kind.DEPOSIT, {0: alice, 1: room}),
        "MNY-04",
        flags=["boundary", "overflow"],
    )
    full = village()
    must(full.deposit("alice", room))
    suite.negative(
        "money/MNY-04/deposit-when-full",
        "Total deposits are at MONEY_MAX_MSEN: one more milli-sen is refused.",
        full.state,
        tx(full.make("operator", Kind.DEPOSIT, {0: alice, 1: 1})),
        tx(full.make("alice", Kind.WITHDRAW, {0: 1})),
        "MNY-04",
        flags=["boundary", "overflow"],
    )
