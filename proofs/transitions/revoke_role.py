"""spec.roles.revoke_role (ROL-02 .. ROL-05), sent by the operator."""

from __future__ import annotations

from dataclasses import dataclass

import z3

from proofs.model import Ledger, Term, Transition, account_id, advance_nonce, get, put, signed
from proofs.transitions._common import Points, symbolic_fields

KIND = "revoke_role"
ATTESTOR, TRADER = 2, 8


@dataclass(frozen=True)
class Tx:
    """Envelope (sender, nonce) and body of a REVOKE_ROLE transaction."""

    sender: Term
    nonce: Term
    account: Term
    role: Term
    """The role bit, any 64-bit value on the wire (ROL-02 admits 2 and 8)."""


def symbolic(prefix: str) -> Tx:
    return symbolic_fields(Tx, prefix)


def domain(tx: Tx) -> Term:
    return z3.And(account_id(tx.sender), account_id(tx.account), tx.role >= 0)


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, "operator")
    checks.require(z3.Or(tx.role == TRADER, tx.role == ATTESTOR), "ROL-02")
    checks.require(get(s.account_registered, tx.account), "ROL-03")
    is_trader = tx.role == TRADER
    held = z3.If(is_trader, get(s.account_trader, tx.account), get(s.account_attestor, tx.account))
    checks.require(held, "ROL-04")
    key = (tx.account,)
    trader, attestor = get(s.account_trader, tx.account), get(s.account_attestor, tx.account)
    s = put(s, "account_trader", key, revoked(trader, is_trader))
    s = put(s, "account_attestor", key, revoked(attestor, z3.Not(is_trader)))
    return checks.done(advance_nonce(s, tx.sender))


def revoked(held: Term, named: Term) -> Term:
    """ROL-05: the named role is gone, every other stays (a seam for the seeded bugs)."""
    return z3.And(held, z3.Not(named))


def touched(s: Ledger, tx: Tx) -> Points:
    return Points(accounts=[tx.sender, tx.account])
