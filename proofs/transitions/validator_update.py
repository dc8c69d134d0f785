"""spec.validators.validator_update (VAL-02 .. VAL-07) and end_block (VAL-08).

The approvals are modelled by what the rules count, not by their bytes: how many pairs the
transaction lists, whether their validator ids are strictly ascending, how many of them are by a
current validator with a valid signature, and how many *distinct* current validators validly
approved. The signature check itself is SIG-01 (axiom SIG); that an approval is bound to one
sender and nonce is VAL-04's byte layout, outside the model too.

``end_block`` is the step that closes a block: the height becomes the block's, and the pending
change due at the next height takes effect (spec.validators.end_block after ``apply_block`` set
the height).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import z3

from proofs.model import (
    NONE,
    Checks,
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
from spec.validators import ACTIVATION_DELAY

KIND = "validator_update"


@dataclass(frozen=True)
class Tx:
    """Envelope (sender, nonce) and body of a VALIDATOR_UPDATE transaction."""

    sender: Term
    nonce: Term
    account: Term
    power: Term
    """1: add the account; 0: remove it."""
    key_valid: Term
    """VAL-02's verdict on the public key (axiom KEY)."""
    approvals: Term
    """How many [validator, signature] pairs the transaction lists."""
    ascending: Term
    """VAL-04: the listed validator ids are strictly ascending (so no validator twice)."""
    valid: Term
    """How many listed pairs are by a current validator and carry a valid signature (SIG)."""
    approvers: Term
    """How many distinct current validators the valid pairs name."""


def symbolic(prefix: str) -> Tx:
    return symbolic_fields(Tx, prefix, ("key_valid", "ascending"))


def domain(tx: Tx) -> Term:
    """The wire bounds, and what counting a list means: valid pairs are some of the listed ones,
    their distinct validators at most as many, and exactly as many when no id repeats."""
    return z3.And(
        account_id(tx.sender),
        account_id(tx.account),
        z3.Or(tx.power == 0, tx.power == 1),
        tx.approvers >= 0,
        tx.approvers <= tx.valid,
        tx.valid <= tx.approvals,
        z3.Implies(tx.ascending, tx.approvers == tx.valid),
    )


def activation(s: Ledger) -> Term:
    """VAL-08: the first height the changed set signs. ``s.height`` is the last block applied,
    so the block carrying the change is ``height + 1`` and the change is effective from
    ``height + 1 + ACTIVATION_DELAY``."""
    return s.height + 1 + ACTIVATION_DELAY


def quorum(approvals: Term, validators: Term) -> Term:
    """VAL-05: 3 x approvals >= 2 x validators."""
    return 3 * approvals >= 2 * validators


def approvals_by_validators(tx: Tx) -> Term:
    """VAL-04: ascending and distinct, and every listed pair a current validator's valid
    signature."""
    return z3.And(tx.ascending, tx.valid == tx.approvals)


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, "validator")
    registered = get(s.account_registered, tx.account)
    is_validator = get(s.account_validator, tx.account)
    checks.require(z3.Or(registered, tx.key_valid), "VAL-02")
    checks.require(z3.Or(registered, get(s.key_holder, tx.account) == NONE), "KEY-07")
    checks.require(is_validator != (tx.power == 1), "VAL-03")
    checks.require(s.pending_height == NONE, "VAL-06")
    checks.require(s.validator_count > 3, "VAL-07")
    checks.require(approvals_by_validators(tx), "VAL-04")
    checks.require(quorum(tx.approvals, s.validator_count), "VAL-05")
    s = replace(
        s,
        pending_height=activation(s),
        pending_account=tx.account,
        pending_power=tx.power,
        pending_approvers=tx.approvers,
        pending_set_size=s.validator_count,
        pending_since=s.height,
    )
    return checks.done(advance_nonce(s, tx.sender))


def touched(s: Ledger, tx: Tx) -> Points:
    return Points(accounts=[tx.sender, tx.account])


# --- The end of a block -------------------------------------------------------------------------


def due(s: Ledger) -> Term:
    """A change is pending and due at the next height (``s.height`` is the block just applied)."""
    return z3.And(s.pending_height != NONE, s.pending_height <= s.height + 1)


def end_block_role(s: Ledger, new: Term, apply: Term) -> Term:
    """Whether the pending account holds VALIDATOR after the block: a newcomer does, otherwise
    the change's power says, and without a due change nothing moves."""
    return z3.If(
        new,
        True,
        z3.If(apply, s.pending_power == 1, get(s.account_validator, s.pending_account)),
    )


def end_block(s: Ledger) -> Transition:
    """The height moves to the block's (BLK-02 checked it is the next), then VAL-08: a due change
    takes effect, and an account new to the ledger joins with the VALIDATOR role alone, nonce 0
    and no money."""
    s = replace(s, height=s.height + 1)
    apply = due(s)
    a = s.pending_account
    new = z3.And(apply, z3.Not(get(s.account_registered, a)))
    s = put(s, "account_registered", (a,), z3.Or(get(s.account_registered, a), apply))
    for role in ("operator", "attestor", "trader"):
        name = f"account_{role}"
        s = put(s, name, (a,), z3.And(z3.Not(new), get(getattr(s, name), a)))
    s = put(s, "account_nonce", (a,), z3.If(new, 0, get(s.account_nonce, a)))
    # A newcomer signs with its id (KEY-05), which VAL-02 found valid and KEY-07 free when the
    # change was accepted; KEY-02 keeps it free while the change waits.
    s = put(s, "account_key", (a,), z3.If(new, a, get(s.account_key, a)))
    s = put(s, "account_key_valid", (a,), z3.Or(new, get(s.account_key_valid, a)))
    s = put(s, "key_holder", (a,), z3.If(new, a, get(s.key_holder, a)))
    s = write_balance(s, a, z3.If(new, 0, get(s.account_balance, a)))
    s = write_validator(s, a, end_block_role(s, new, apply))
    cleared = replace(
        s,
        pending_height=z3.IntVal(NONE),
        pending_account=z3.IntVal(NONE),
        pending_power=z3.IntVal(0),
        pending_approvers=z3.IntVal(0),
        pending_set_size=z3.IntVal(0),
        pending_since=z3.IntVal(NONE),
    )
    s = replace(
        s,
        **{
            name: z3.If(apply, getattr(cleared, name), getattr(s, name))
            for name in (
                "pending_height",
                "pending_account",
                "pending_power",
                "pending_approvers",
                "pending_set_size",
                "pending_since",
            )
        },
    )
    return Checks().done(s)


def end_block_touched(s: Ledger) -> Points:
    return Points(accounts=[s.pending_account])
