"""spec.accounts.register_account (ACC-01, KEY-07, ACC-02, ACC-03, VAL-01, ROL-01), sent by the
operator."""

from __future__ import annotations

from dataclasses import dataclass

import z3

from proofs.model import (
    NONE,
    Ledger,
    Term,
    Transition,
    account_id,
    advance_nonce,
    get,
    put,
    signed,
    write_balance,
    write_validator,
)
from proofs.transitions._common import Points, symbolic_fields

KIND = "register_account"


@dataclass(frozen=True)
class Tx:
    """Envelope (sender, nonce) and body of a REGISTER_ACCOUNT transaction."""

    sender: Term
    nonce: Term
    account: Term
    key_valid: Term
    """ACC-02's verdict on the public key (axiom KEY: the point check is not modelled)."""
    roles_valid: Term
    """ACC-03: the roles are non-empty and known (computed from the bit set)."""
    operator: Term
    attestor: Term
    trader: Term
    validator: Term
    """VAL-01: whether the roles include VALIDATOR (which the operator may not grant)."""


def symbolic(prefix: str) -> Tx:
    flags = ("key_valid", "roles_valid", "operator", "attestor", "trader", "validator")
    return symbolic_fields(Tx, prefix, flags)


def domain(tx: Tx) -> Term:
    return z3.And(account_id(tx.sender), account_id(tx.account))


def roles_compatible(operator: Term, attestor: Term, trader: Term) -> Term:
    """spec.state.role_conflict is None: no trader that is also an attestor or the operator."""
    return z3.Not(z3.And(trader, z3.Or(operator, attestor)))


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, "operator")
    checks.require(z3.Not(get(s.account_registered, tx.account)), "ACC-01")
    checks.require(get(s.key_holder, tx.account) == NONE, "KEY-07")
    checks.require(tx.key_valid, "ACC-02")
    checks.require(tx.roles_valid, "ACC-03")
    checks.require(z3.Not(tx.validator), "VAL-01")
    checks.require(roles_compatible(tx.operator, tx.attestor, tx.trader), "ROL-01")
    key = (tx.account,)
    s = put(s, "account_registered", key, z3.BoolVal(True))
    s = put(s, "account_operator", key, tx.operator)
    s = put(s, "account_attestor", key, tx.attestor)
    s = put(s, "account_trader", key, tx.trader)
    s = write_validator(s, tx.account, tx.validator)  # false once VAL-01 holds
    s = put(s, "account_nonce", key, z3.IntVal(0))
    s = put(s, "account_key", key, tx.account)  # a new account signs with its id
    s = put(s, "account_key_valid", key, tx.key_valid)
    s = put(s, "key_holder", key, tx.account)
    s = write_balance(s, tx.account, z3.IntVal(0))
    return checks.done(advance_nonce(s, tx.sender))


def touched(s: Ledger, tx: Tx) -> Points:
    return Points(accounts=[tx.sender, tx.account])
