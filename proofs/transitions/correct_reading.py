"""spec.corrections.correct_reading (COR-01 .. COR-06 with ATT-02 .. ATT-05, ATT-07, ATT-10,
ATT-11), sent by the meter's attestor.

The reading is replaced, its lot minted again from the corrected export (or removed for 0 Wh:
the row's flag goes false), and its owner's demand moves by the difference in import. A demand
row of 0 imported and 0 claimed Wh reads as a missing row (``proofs.model``), which is what the
spec's removal of such a row leaves.
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
    encumbrance_at,
    get,
    ident,
    put,
    signed,
    slot_end,
    slot_id,
    wh,
    write_demand,
    write_reading_import,
)
from proofs.transitions._common import Points, open_market, symbolic_fields
from spec.state import MAX_CORRECTIONS_PER_READING
from spec.units import WH_MAX

KIND = "correct_reading"


@dataclass(frozen=True)
class Tx:
    sender: Term
    nonce: Term
    meter: Term
    slot: Term
    exported_wh: Term
    imported_wh: Term
    encumbrance: Term


def symbolic(prefix: str) -> Tx:
    return symbolic_fields(Tx, prefix)


def domain(tx: Tx) -> Term:
    return z3.And(
        account_id(tx.sender),
        ident(tx.meter),
        slot_id(tx.slot),
        wh(tx.exported_wh),
        wh(tx.imported_wh),
        tx.encumbrance >= 0,
        tx.encumbrance <= 3,
    )


def never_offered(s: Ledger, key: tuple[Term, Term]) -> Term:
    """COR-03: no ask, whatever its status, names the lot (a seam for the seeded bugs)."""
    return get(s.lot_asks, *key) == 0


def imported_after(old_total: Term, old_reading: Term, new_reading: Term) -> Term:
    """COR-06: the owner's import moves by the difference (a seam for the seeded bugs)."""
    return old_total - old_reading + new_reading


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, "attestor")
    key = (tx.meter, tx.slot)
    checks.require(get(s.meter_registered, tx.meter), "ATT-02")
    checks.require(get(s.meter_attestor, tx.meter) == tx.sender, "ATT-03")
    end = slot_end(tx.slot)
    checks.require(s.time >= end, "ATT-04")
    checks.require(s.time < end + s.attestation_window_s, "ATT-05")
    checks.require(get(s.reading_exists, *key), "COR-01")
    corrections = get(s.reading_corrections, *key)
    checks.require(corrections < MAX_CORRECTIONS_PER_READING, "COR-02")
    checks.require(never_offered(s, key), "COR-03")
    capacity = get(s.meter_capacity, tx.meter)
    checks.require(tx.exported_wh <= capacity, "ATT-07")
    checks.require(tx.imported_wh <= capacity, "ATT-07")
    scheduled = encumbrance_at(s, tx.meter, tx.slot)
    checks.require(tx.encumbrance == scheduled, "ATT-11")
    old_exported, old_imported = get(s.reading_exported, *key), get(s.reading_imported, *key)
    checks.require(z3.Or(tx.exported_wh != old_exported, tx.imported_wh != old_imported), "COR-04")
    owner, zone = get(s.meter_owner, tx.meter), get(s.meter_zone, tx.meter)
    demand = (owner, zone, tx.slot)
    claimed = get(s.demand_claimed, *demand)
    imported = imported_after(get(s.demand_imported, *demand), old_imported, tx.imported_wh)
    checks.require(imported >= claimed + get(s.trader_open_bid_wh, *demand), "COR-05")
    checks.require(imported <= WH_MAX, "ATT-10")
    s = put(s, "reading_exported", key, tx.exported_wh)
    s = write_reading_import(s, key, owner, zone, tx.imported_wh)
    s = put(s, "reading_encumbrance", key, tx.encumbrance)
    s = put(s, "reading_corrections", key, corrections + 1)
    s = put(s, "reading_attested_at", key, s.time)  # ghost, INV-13
    mints = tx.exported_wh > 0
    lot = {
        "lot_owner": owner,
        "lot_zone": zone,
        "lot_encumbrance": tx.encumbrance,
        "lot_minted": tx.exported_wh,
        "lot_unsold": tx.exported_wh,
        "lot_reserved": z3.IntVal(0),
        "lot_sold": z3.IntVal(0),
        "lot_expired": z3.IntVal(0),
    }
    s = put(s, "lot_exists", key, mints)
    for name, value in lot.items():
        # No row: every field reads as a missing row's, 0 (nothing in it, INV-01).
        s = put(s, name, key, z3.If(mints, value, z3.IntVal(0)))
    s = open_market(s, (zone, tx.slot), mints)
    s = write_demand(s, demand, imported, claimed)
    return checks.done(advance_nonce(s, tx.sender))


def axioms(s: Ledger, tx: Tx, fresh: Points) -> list[Term]:
    """SUM-SUBSET instances in the pre-state: the owner's open bid Wh (a sum of non-negative
    quantities) is not negative; the corrected reading's import, alone and with another
    reading of the same owner, zone and slot, is at most their sum ``demand_reading_wh``."""
    owner, zone = get(s.meter_owner, tx.meter), get(s.meter_zone, tx.meter)
    demand = (owner, zone, tx.slot)
    key = (tx.meter, tx.slot)
    total = get(s.demand_reading_wh, *demand)
    imported = get(s.reading_imported, *key)
    facts = [
        get(s.trader_open_bid_wh, *demand) >= 0,
        z3.Implies(get(s.reading_exists, *key), imported <= total),
    ]
    for other in fresh.readings:
        same_group = z3.And(
            z3.Or(other[0] != key[0], other[1] != key[1]),
            get(s.reading_exists, *other),
            get(s.reading_exists, *key),
            get(s.meter_owner, other[0]) == owner,
            get(s.meter_zone, other[0]) == zone,
            other[1] == tx.slot,
        )
        facts.append(z3.Implies(same_group, imported + get(s.reading_imported, *other) <= total))
    return facts


def touched(s: Ledger, tx: Tx) -> Points:
    owner, zone = get(s.meter_owner, tx.meter), get(s.meter_zone, tx.meter)
    return Points(
        accounts=[tx.sender, owner],
        nodes=[zone],
        meters=[tx.meter],
        readings=[(tx.meter, tx.slot)],
        demands=[(owner, zone, tx.slot)],
        markets=[(zone, tx.slot)],
        slots=[tx.slot],
    )
