"""spec.attestation.attest (ATT-01 .. ATT-10): a batch of readings, all or nothing.

The batch is a sequence: each reading is checked against, and written into, the state the
previous readings of the batch left, which is how the spec's local dicts behave (a second reading
of the same (meter, slot) in one batch fails ATT-06). Obligations use batches of two readings, the
shortest that exercises a repeat inside one batch; since each reading step on its own keeps every
invariant, the proof covers batches of any length by induction on the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from proofs.model import (
    Checks,
    Ledger,
    Term,
    Transition,
    account_id,
    advance_nonce,
    encumbrance_at,
    get,
    ident,
    in_service,
    put,
    signed,
    slot_end,
    slot_id,
    wh,
    write_demand,
    write_reading_import,
)
from proofs.transitions._common import Points, open_market, symbolic_fields
from spec.attestation import MAX_BATCH_READINGS
from spec.units import WH_MAX

KIND = "attest"
BATCH = 2
"""Readings per batch in the obligations."""


@dataclass(frozen=True)
class MeterReading:
    meter: Term
    slot: Term
    exported_wh: Term
    imported_wh: Term
    encumbrance: Term


@dataclass(frozen=True)
class Tx:
    sender: Term
    nonce: Term
    readings: tuple[MeterReading, ...]


def symbolic(prefix: str, batch: int = BATCH) -> Tx:
    readings = tuple(symbolic_fields(MeterReading, f"{prefix}.r{i}") for i in range(batch))
    return Tx(z3.Int(f"{prefix}.sender"), z3.Int(f"{prefix}.nonce"), readings)


def domain(tx: Tx) -> Term:
    parts = [account_id(tx.sender)]
    for r in tx.readings:
        parts += [ident(r.meter), slot_id(r.slot), wh(r.exported_wh), wh(r.imported_wh)]
        parts += [r.encumbrance >= 0, r.encumbrance <= 3]
    return z3.And(*parts)


def encumbrance_of(s: Ledger, r: MeterReading) -> Term:
    """The encumbrance a minted lot carries: the meter's for the slot (a seam for the seeded
    bugs)."""
    return encumbrance_at(s, r.meter, r.slot)


def scheduled_encumbrance(s: Ledger, r: MeterReading) -> Term:
    """What ATT-11 compares a reading with: the meter's schedule for its slot (MTR-13; a seam
    for the seeded bugs)."""
    return encumbrance_at(s, r.meter, r.slot)


def record_reading(s: Ledger, sender: Term, r: MeterReading, checks: Checks) -> Ledger:
    """One pass of the spec's loop body: check one reading and record it."""
    key = (r.meter, r.slot)
    checks.require(get(s.meter_registered, r.meter), "ATT-02")
    checks.require(get(s.meter_attestor, r.meter) == sender, "ATT-03")
    end = slot_end(r.slot)
    checks.require(s.time >= end, "ATT-04")
    checks.require(s.time < end + s.attestation_window_s, "ATT-05")
    checks.require(in_service(s, r.meter, r.slot), "MTR-11")
    checks.require(z3.Not(get(s.reading_exists, *key)), "ATT-06")
    capacity = get(s.meter_capacity, r.meter)
    checks.require(r.exported_wh <= capacity, "ATT-07")
    checks.require(r.imported_wh <= capacity, "ATT-07")
    checks.require(r.encumbrance == scheduled_encumbrance(s, r), "ATT-11")
    owner, zone = get(s.meter_owner, r.meter), get(s.meter_zone, r.meter)
    s = write_reading_import(s, key, owner, zone, r.imported_wh)
    s = put(s, "reading_exists", key, z3.BoolVal(True))
    s = put(s, "reading_exported", key, r.exported_wh)
    s = put(s, "reading_encumbrance", key, r.encumbrance)
    s = put(s, "reading_corrections", key, z3.IntVal(0))
    s = put(s, "reading_attested_at", key, s.time)  # ghost, INV-13
    # ATT-08: export mints a lot, and the lot's market exists from now on.
    mints = r.exported_wh > 0
    lot = {
        "lot_exists": z3.BoolVal(True),
        "lot_owner": owner,
        "lot_zone": zone,
        "lot_encumbrance": encumbrance_of(s, r),
        "lot_minted": r.exported_wh,
        "lot_unsold": r.exported_wh,
        "lot_reserved": z3.IntVal(0),
        "lot_sold": z3.IntVal(0),
        "lot_expired": z3.IntVal(0),
    }
    for name, value in lot.items():
        s = put(s, name, key, z3.If(mints, value, get(getattr(s, name), *key)))
    s = open_market(s, (zone, r.slot), mints)
    # ATT-09: import adds to the owner's demand in the meter's zone and slot.
    demand = (owner, zone, r.slot)
    total = get(s.demand_imported, *demand) + r.imported_wh
    checks.require(z3.Implies(r.imported_wh > 0, total <= WH_MAX), "ATT-10")
    return write_demand(s, demand, total, get(s.demand_claimed, *demand))


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, "attestor")
    checks.require(z3.BoolVal(1 <= len(tx.readings) <= MAX_BATCH_READINGS), "ATT-01")
    for r in tx.readings:
        s = record_reading(s, tx.sender, r, checks)
    return checks.done(advance_nonce(s, tx.sender))


def touched(s: Ledger, tx: Tx) -> Points:
    points = Points(accounts=[tx.sender])
    for r in tx.readings:
        owner, zone = get(s.meter_owner, r.meter), get(s.meter_zone, r.meter)
        points.meters.append(r.meter)
        points.readings.append((r.meter, r.slot))
        points.demands.append((owner, zone, r.slot))
        points.markets.append((zone, r.slot))
        points.slots.append(r.slot)
        points.accounts.append(owner)
        points.nodes.append(zone)
    return points
