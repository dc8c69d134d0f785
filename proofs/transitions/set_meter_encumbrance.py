"""spec.meter_lifecycle.set_meter_encumbrance (MTR-07 .. MTR-10, MTR-13), sent by the operator.

A scheduled change with an earlier from_slot is folded into the meter's encumbrance when MTR-10
allows it (every slot before it past its attestation window); a scheduled change from the new
from_slot on or later is replaced.
"""

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
    ident,
    put,
    signed,
    slot_id,
)
from proofs.transitions._common import Points, symbolic_fields
from proofs.transitions.retire_meter import changeable
from spec.units import SLOT_SECONDS

KIND = "set_meter_encumbrance"


@dataclass(frozen=True)
class Tx:
    sender: Term
    nonce: Term
    meter: Term
    from_slot: Term
    encumbrance: Term


def symbolic(prefix: str) -> Tx:
    return symbolic_fields(Tx, prefix)


def domain(tx: Tx) -> Term:
    return z3.And(
        account_id(tx.sender),
        ident(tx.meter),
        slot_id(tx.from_slot),
        tx.encumbrance >= 0,
        tx.encumbrance <= 3,
    )


def fold_allowed(s: Ledger, scheduled_from: Term) -> Term:
    """MTR-10: every slot before the scheduled change is past its attestation window (a seam
    for the seeded bugs)."""
    return s.time >= scheduled_from * SLOT_SECONDS + s.attestation_window_s


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, "operator")
    changeable(s, tx.meter, tx.from_slot, checks)
    key = (tx.meter,)
    scheduled_from = get(s.meter_change_from, tx.meter)
    folds = z3.And(scheduled_from != NONE, scheduled_from < tx.from_slot)
    checks.require(z3.Implies(folds, fold_allowed(s, scheduled_from)), "MTR-10")
    base = z3.If(
        folds, get(s.meter_change_encumbrance, tx.meter), get(s.meter_encumbrance, tx.meter)
    )
    s = put(s, "meter_encumbrance", key, base)
    s = put(s, "meter_change_from", key, tx.from_slot)
    s = put(s, "meter_change_encumbrance", key, tx.encumbrance)
    return checks.done(advance_nonce(s, tx.sender))


def touched(s: Ledger, tx: Tx) -> Points:
    return Points(accounts=[tx.sender], meters=[tx.meter])
