"""spec.meter_lifecycle.retire_meter (MTR-07, MTR-08, MTR-09, MTR-12), sent by the operator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
from spec.units import SLOT_SECONDS

KIND = "retire_meter"


@dataclass(frozen=True)
class Tx:
    sender: Term
    nonce: Term
    meter: Term
    from_slot: Term


def symbolic(prefix: str) -> Tx:
    return symbolic_fields(Tx, prefix)


def domain(tx: Tx) -> Term:
    return z3.And(account_id(tx.sender), ident(tx.meter), slot_id(tx.from_slot))


def changeable(s: Ledger, meter: Term, from_slot: Term, checks: Any) -> None:
    """MTR-07, MTR-08, MTR-09: a registered meter in service, changed from the current slot on."""
    checks.require(get(s.meter_registered, meter), "MTR-07")
    checks.require(get(s.meter_retired_from, meter) == NONE, "MTR-08")
    checks.require(from_slot >= current_slot(s), "MTR-09")


def current_slot(s: Ledger) -> Term:
    """spec.units.slot_of(state.time) (a seam for the seeded bugs)."""
    return s.time / SLOT_SECONDS


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, "operator")
    changeable(s, tx.meter, tx.from_slot, checks)
    s = put(s, "meter_retired_from", (tx.meter,), tx.from_slot)
    return checks.done(advance_nonce(s, tx.sender))


def touched(s: Ledger, tx: Tx) -> Points:
    return Points(accounts=[tx.sender], meters=[tx.meter])
