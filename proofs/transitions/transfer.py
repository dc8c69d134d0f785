"""spec.money.transfer (MNY-01 .. MNY-03), sent by the payer (any role).

Each balance is read after the previous write, so a transfer to oneself changes nothing but the
nonce; the self-transfer is the aliasing case of money conservation and has its own witness.
"""

from __future__ import annotations

from dataclasses import dataclass

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

KIND = "transfer"


@dataclass(frozen=True)
class Tx:
    sender: Term
    nonce: Term
    to: Term
    amount: Term


def symbolic(prefix: str) -> Tx:
    return symbolic_fields(Tx, prefix)


def domain(tx: Tx) -> Term:
    return z3.And(account_id(tx.sender), account_id(tx.to), money(tx.amount))


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, None)
    checks.require(get(s.account_registered, tx.to), "MNY-01")
    checks.require(tx.amount >= 1, "MNY-02")
    checks.require(tx.amount <= get(s.account_balance, tx.sender), "MNY-03")
    s = write_balance(s, tx.sender, get(s.account_balance, tx.sender) - tx.amount)
    s = write_balance(s, tx.to, get(s.account_balance, tx.to) + tx.amount)
    return checks.done(advance_nonce(s, tx.sender))


def touched(s: Ledger, tx: Tx) -> Points:
    return Points(accounts=[tx.sender, tx.to])
