"""spec.money.withdraw (MNY-02, MNY-03), sent by the account itself (any role)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import z3

from proofs.model import (
    Ledger,
    Term,
    Transition,
    account_id,
    advance_nonce,
    get,
    money,
    signed,
    write_balance,
)
from proofs.transitions._common import Points, symbolic_fields

KIND = "withdraw"


@dataclass(frozen=True)
class Tx:
    sender: Term
    nonce: Term
    amount: Term


def symbolic(prefix: str) -> Tx:
    return symbolic_fields(Tx, prefix)


def domain(tx: Tx) -> Term:
    return z3.And(account_id(tx.sender), money(tx.amount))


def outstanding_after(outstanding: Term, amount: Term) -> Term:
    """The money outstanding after a withdrawal (a seam for the seeded bugs)."""
    return outstanding - amount


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, None)
    checks.require(tx.amount >= 1, "MNY-02")
    balance = get(s.account_balance, tx.sender)
    checks.require(tx.amount <= balance, "MNY-03")
    s = write_balance(s, tx.sender, balance - tx.amount)
    s = replace(s, money_outstanding=outstanding_after(s.money_outstanding, tx.amount))
    return checks.done(advance_nonce(s, tx.sender))


def touched(s: Ledger, tx: Tx) -> Points:
    return Points(accounts=[tx.sender])
