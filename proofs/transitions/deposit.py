"""spec.money.deposit (MNY-01, MNY-02, MNY-04), sent by the operator (TX-06)."""

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
from spec.units import MONEY_MAX_MSEN

KIND = "deposit"


@dataclass(frozen=True)
class Tx:
    sender: Term
    nonce: Term
    account: Term
    amount: Term


def symbolic(prefix: str) -> Tx:
    return symbolic_fields(Tx, prefix)


def domain(tx: Tx) -> Term:
    return z3.And(account_id(tx.sender), account_id(tx.account), money(tx.amount))


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, "operator")
    checks.require(get(s.account_registered, tx.account), "MNY-01")
    checks.require(tx.amount >= 1, "MNY-02")
    checks.require(s.money_outstanding + tx.amount <= MONEY_MAX_MSEN, "MNY-04")
    s = write_balance(s, tx.account, get(s.account_balance, tx.account) + tx.amount)
    s = replace(s, money_outstanding=s.money_outstanding + tx.amount)
    return checks.done(advance_nonce(s, tx.sender))


def touched(s: Ledger, tx: Tx) -> Points:
    return Points(accounts=[tx.sender, tx.account])
