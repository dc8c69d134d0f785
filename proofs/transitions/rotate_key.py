"""spec.keys.rotate_key (KEY-01 .. KEY-05), sent by any registered account for itself.

KEY-03 (the new key's proof of possession) is a signature check and outside the model like TX-04
(axiom SIG: an accepted rotation was proved by the new key). KEY-04 and the parts of KEY-02 about
a pending change of the validator set or a validator's previous key concern the validator set,
which this model does not hold (``proofs/scope.py``); leaving those guards out makes the model
accept more rotations than the spec, so what it proves holds for the spec's too.
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from proofs.model import NONE, Ledger, Term, Transition, account_id, advance_nonce, get, put, signed
from proofs.transitions._common import Points, symbolic_fields

KIND = "rotate_key"


@dataclass(frozen=True)
class Tx:
    """Envelope (sender, nonce) and body of a ROTATE_KEY transaction."""

    sender: Term
    nonce: Term
    key: Term
    """The new key (an abstract integer, like account ids)."""
    key_valid: Term
    """KEY-01's verdict on the new key (axiom KEY: the point check is not modelled)."""


def symbolic(prefix: str) -> Tx:
    return symbolic_fields(Tx, prefix, ("key_valid",))


def domain(tx: Tx) -> Term:
    return z3.And(account_id(tx.sender), account_id(tx.key))


def key_free(s: Ledger, key: Term) -> Term:
    """KEY-02 in the model: no account holds ``key`` as its id or its current key, and no pending
    change of the validator set admits an account with that id."""
    admitted = z3.And(s.pending_height != NONE, s.pending_account == key)
    return z3.And(get(s.key_holder, key) == NONE, z3.Not(admitted))


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, None)
    checks.require(tx.key_valid, "KEY-01")
    checks.require(key_free(s, tx.key), "KEY-02")
    old = get(s.account_key, tx.sender)
    # The old key is free again unless it is the sender's id, which stays its own.
    s = put(s, "key_holder", (old,), z3.If(old == tx.sender, tx.sender, NONE))
    s = put(s, "key_holder", (tx.key,), tx.sender)
    s = put(s, "account_key", (tx.sender,), tx.key)
    s = put(s, "account_key_valid", (tx.sender,), tx.key_valid)
    return checks.done(advance_nonce(s, tx.sender))


def touched(s: Ledger, tx: Tx) -> Points:
    return Points(accounts=[tx.sender, tx.key, get(s.account_key, tx.sender)])
