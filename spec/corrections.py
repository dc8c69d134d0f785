"""Correcting a reading (COR-01 .. COR-06): the attestor supersedes what it attested.

A meter that was offline reports 0 Wh, a register is misread: the attestor that signed a reading
may replace it while nobody has acted on it yet. The correction is one reading, checked as an
attested one is (the meter's own attestor, inside the attestation window, within capacity, the
meter's scheduled encumbrance: ATT-02 .. ATT-05, ATT-07, ATT-11), and accepted only while

* no ask was ever placed on the reading's lot (COR-03): once its owner has offered the lot, the
  owner and the market rely on it, and every ask names its lot for good (an open one reserves
  part of it, a filled one sold part of it, even a cancelled one stays on the record), so a
  correction would have to undo their acts;
* the owner's import in the slot still backs every open bid and every claim there (COR-05), so
  INV-25 holds (a bid placed against the import keeps its backing);
* the reading has been corrected fewer than MAX_CORRECTIONS_PER_READING times (COR-02).

Its effect (COR-06) is the state the attestor would have reached by attesting the corrected
reading in the first place: the reading, its lot (minted and unsold alike) and its owner's demand
all follow the corrected figures, so energy conservation (INV-01) and INV-28 hold. The reading
remembers how often it was corrected, so an auditor sees every superseded measurement.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from spec.attestation import READING_FIELDS, MeterReading, minted_lot
from spec.errors import require
from spec.indexes import lot_asks
from spec.meter_lifecycle import encumbrance_at
from spec.orders import open_bid_wh
from spec.rules import implements
from spec.state import (
    MAX_CORRECTIONS_PER_READING,
    AccountId,
    Demand,
    Market,
    MarketStatus,
    Reading,
    State,
)
from spec.units import WH_MAX, Wh, slot_end

CorrectReading = MeterReading
"""Body of a CORRECT_READING transaction: the corrected reading, as an ATTEST batch carries it."""

CORRECT_READING_FIELDS: Final = READING_FIELDS


@implements("COR-06", "MKT-01")
def correct_reading(state: State, sender: AccountId, body: CorrectReading) -> State:
    """Replace one attested reading, its lot and its share of its owner's demand."""
    meter = state.meters.get(body.meter)
    require(meter is not None, "ATT-02", f"meter {body.meter}")
    assert meter is not None
    require(meter.attestor == sender, "ATT-03", f"meter {body.meter}")
    end = slot_end(body.slot)
    require(state.time >= end, "ATT-04", f"slot {body.slot}")
    require(state.time < end + state.params.attestation_window_s, "ATT-05")
    key = (body.meter, body.slot)
    old = state.readings.get(key)
    require(old is not None, "COR-01", f"meter {body.meter} slot {body.slot}")
    assert old is not None
    require(old.corrections < MAX_CORRECTIONS_PER_READING, "COR-02", f"{old.corrections}")
    lot = state.lots.get(key)
    asks = lot_asks(state, body.meter, body.slot)
    require(not asks, "COR-03", f"lot {key} has asks {sorted(asks)}")
    require(body.exported_wh <= meter.capacity_wh, "ATT-07", "export")
    require(body.imported_wh <= meter.capacity_wh, "ATT-07", "import")
    scheduled = encumbrance_at(meter, body.slot)
    require(
        body.encumbrance is scheduled,
        "ATT-11",
        f"meter {body.meter} is {scheduled.name} in slot {body.slot}",
    )
    require(
        (body.exported_wh, body.imported_wh) != (old.exported_wh, old.imported_wh),
        "COR-04",
        f"meter {body.meter} slot {body.slot}",
    )
    demand_key = (meter.owner, meter.zone, body.slot)
    demand = state.demand.get(demand_key, Demand(Wh(0), Wh(0)))
    imported = demand.imported_wh - old.imported_wh + body.imported_wh
    held = demand.claimed_wh + open_bid_wh(state, meter.owner, meter.zone, body.slot)
    require(imported >= held, "COR-05", f"{imported} Wh of import, {held} Wh claimed or bid")
    require(imported <= WH_MAX, "ATT-10")

    reading = Reading(body.exported_wh, body.imported_wh, scheduled, old.corrections + 1)
    lots = state.lots.remove(key) if lot is not None else state.lots
    markets = state.markets
    if body.exported_wh > 0:  # as ATT-08 mints it
        lots = lots.set(key, minted_lot(meter, scheduled, body.exported_wh))
        if (meter.zone, body.slot) not in markets:  # MKT-01
            markets = markets.set((meter.zone, body.slot), Market(MarketStatus.OPEN, None, Wh(0)))
    if imported == 0 and demand.claimed_wh == 0:
        demands = state.demand.remove(demand_key) if demand_key in state.demand else state.demand
    else:
        demands = state.demand.set(demand_key, Demand(Wh(imported), demand.claimed_wh))
    return replace(
        state,
        readings=state.readings.set(key, reading),
        lots=lots,
        demand=demands,
        markets=markets,
    )
