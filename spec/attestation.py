"""Attestation: who, what, when, where and how much (ATT-01 .. ATT-09).

A meter's attestor signs a batch of readings. Each reading says how many Wh the meter exported and
imported in one 30-minute slot, and repeats the meter's encumbrance (a feed-in tariff or another
scheme already owns its environmental value), which the operator sets for the meter, slot by slot
(MTR-13): a reading can neither lift nor change it (ATT-11). A retired meter is not attested for
slots from its retirement on (MTR-11). A batch is all or nothing: one bad reading
rejects the transaction and nothing of it is recorded.

A reading is accepted at most once per (meter, slot), only once the slot has ended and before the
attestation window closes. Its export mints a lot owned by the meter's owner; its import becomes
that owner's demand in the meter's zone and slot, which bids may later claim.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from spec import wire
from spec.cbor import CborValue
from spec.errors import require
from spec.meter_lifecycle import encumbrance_at, in_service
from spec.rules import implements
from spec.state import (
    AccountId,
    Demand,
    Encumbrance,
    Lot,
    Market,
    MarketStatus,
    Meter,
    Reading,
    State,
)
from spec.units import WH_MAX, MeterId, NodeId, Slot, Wh, slot_end

MAX_BATCH_READINGS: Final = 1024


@dataclass(frozen=True)
class MeterReading:
    """One meter's export and import in one slot."""

    meter: MeterId
    slot: Slot
    exported_wh: Wh
    imported_wh: Wh
    encumbrance: Encumbrance


@dataclass(frozen=True)
class Attest:
    """Body of an ATTEST transaction: a batch of readings by one attestor."""

    readings: tuple[MeterReading, ...]


READING_FIELDS: Final = (
    wire.Field(0, "meter", wire.uint(MeterId)),
    wire.Field(1, "slot", wire.uint(Slot)),
    wire.Field(2, "exported_wh", wire.uint(Wh)),
    wire.Field(3, "imported_wh", wire.uint(Wh)),
    wire.Field(4, "encumbrance", wire.enum(Encumbrance)),
)


def minted_lot(meter: Meter, encumbrance: Encumbrance, exported_wh: Wh) -> Lot:
    """ATT-08: the lot an exported reading mints, all of it unsold, with the meter's owner, place
    and source and the encumbrance the meter's schedule gives the slot (a correction mints the
    same way, COR-06)."""
    return Lot(
        owner=meter.owner,
        zone=meter.zone,
        node=meter.node,
        source=meter.source,
        encumbrance=encumbrance,
        minted_wh=exported_wh,
        unsold_wh=exported_wh,
        reserved_wh=Wh(0),
        sold_wh=Wh(0),
        expired_wh=Wh(0),
    )


def parse_reading(value: CborValue) -> MeterReading:
    """A reading inside an ATTEST body."""
    return MeterReading(**wire.parse_map(value, READING_FIELDS, "reading"))


ATTEST_FIELDS: Final = (wire.Field(0, "readings", wire.array(parse_reading)),)


@implements("ATT-08", "ATT-09", "ATT-20", "MKT-01")
def attest(state: State, sender: AccountId, body: Attest) -> State:
    """Record every reading of the batch, or none (rules checked reading by reading, in order)."""
    require(1 <= len(body.readings) <= MAX_BATCH_READINGS, "ATT-01", f"{len(body.readings)}")
    # What the batch writes, collected here and applied to the tables at the end.
    readings: dict[tuple[MeterId, Slot], Reading] = {}
    lots: dict[tuple[MeterId, Slot], Lot] = {}
    demand: dict[tuple[AccountId, NodeId, Slot], Demand] = {}
    markets: dict[tuple[NodeId, Slot], Market] = {}
    for reading in body.readings:
        meter = state.meters.get(reading.meter)
        require(meter is not None, "ATT-02", f"meter {reading.meter}")
        assert meter is not None
        require(meter.attestor == sender, "ATT-03", f"meter {reading.meter}")
        end = slot_end(reading.slot)
        require(state.time >= end, "ATT-04", f"slot {reading.slot}")
        require(state.time < end + state.params.attestation_window_s, "ATT-05")
        require(in_service(meter, reading.slot), "MTR-11", f"slot {reading.slot}")
        key = (reading.meter, reading.slot)
        require(
            key not in state.readings and key not in readings,
            "ATT-06",
            f"meter {reading.meter} slot {reading.slot}",
        )
        require(reading.exported_wh <= meter.capacity_wh, "ATT-07", "export")
        require(reading.imported_wh <= meter.capacity_wh, "ATT-07", "import")
        scheduled = encumbrance_at(meter, reading.slot)
        require(
            reading.encumbrance is scheduled,
            "ATT-11",
            f"meter {reading.meter} is {scheduled.name} in slot {reading.slot}",
        )
        readings[key] = Reading(reading.exported_wh, reading.imported_wh, reading.encumbrance)
        if reading.exported_wh > 0:  # ATT-08
            lots[key] = minted_lot(meter, scheduled, reading.exported_wh)
            # The lot must expire when its market clears (CLR-07), so the market now exists.
            market_key = (meter.zone, reading.slot)
            if market_key not in state.markets and market_key not in markets:
                markets[market_key] = Market(MarketStatus.OPEN, None, Wh(0))
        if reading.imported_wh > 0:  # ATT-09
            demand_key = (meter.owner, meter.zone, reading.slot)
            before = demand.get(demand_key) or state.demand.get(demand_key, Demand(Wh(0), Wh(0)))
            total = before.imported_wh + reading.imported_wh
            require(total <= WH_MAX, "ATT-10")
            demand[demand_key] = Demand(Wh(total), before.claimed_wh)
    return replace(
        state,
        readings=state.readings.set_many(readings),
        lots=state.lots.set_many(lots),
        demand=state.demand.set_many(demand),
        markets=state.markets.set_many(markets),
    )
