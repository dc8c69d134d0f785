"""A meter's life after registration (MTR-07 .. MTR-14): retirement and encumbrance changes.

Both are the operator's (RETIRE_METER, SET_METER_ENCUMBRANCE) and both take effect from a slot
on that has not started yet or is the current one (MTR-09). Readings exist only for slots that
have ended (ATT-04), so no such change can alter what a reading, a lot or a trade already says:
history is never rewritten.

* **Retirement.** A retired meter is attested only for slots before its retirement slot
  (MTR-11); its readings, lots and orders stay and trade until their markets clear. A new meter
  of the same source may then be registered at its service point (MTR-06) and is attested only
  from the retirement slot on (MTR-14), so the export of one slot at one point is still minted
  by one meter only.
* **Encumbrance.** The meter keeps its encumbrance and at most one scheduled change
  ``(from_slot, encumbrance)`` (MTR-13): the state stays bounded whatever the operator does. A
  new change replaces a scheduled change that has not begun yet, or folds one whose earlier
  slots can no longer be attested or corrected (MTR-10); otherwise it waits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from spec import wire
from spec.errors import require
from spec.rules import implements
from spec.state import Encumbrance, EncumbranceChange, Meter, State
from spec.units import MeterId, Slot, slot_of, slot_start


@dataclass(frozen=True)
class RetireMeter:
    """Body of a RETIRE_METER transaction."""

    meter: MeterId
    from_slot: Slot
    """The first slot the meter may no longer be attested for."""


@dataclass(frozen=True)
class SetMeterEncumbrance:
    """Body of a SET_METER_ENCUMBRANCE transaction."""

    meter: MeterId
    from_slot: Slot
    """The first slot whose readings must carry the new encumbrance."""
    encumbrance: Encumbrance


RETIRE_METER_FIELDS: Final = (
    wire.Field(0, "meter", wire.uint(MeterId)),
    wire.Field(1, "from_slot", wire.uint(Slot)),
)

SET_METER_ENCUMBRANCE_FIELDS: Final = (
    wire.Field(0, "meter", wire.uint(MeterId)),
    wire.Field(1, "from_slot", wire.uint(Slot)),
    wire.Field(2, "encumbrance", wire.enum(Encumbrance)),
)


@implements("MTR-13")
def encumbrance_at(meter: Meter, slot: int) -> Encumbrance:
    """MTR-13: the meter's encumbrance for ``slot`` (what ATT-11 compares a reading with)."""
    change = meter.encumbrance_change
    if change is not None and slot >= change.from_slot:
        return change.encumbrance
    return meter.encumbrance


def in_service(meter: Meter, slot: int) -> bool:
    """MTR-11: whether ``slot`` is a slot the meter may be attested for."""
    return slot >= meter.first_slot and (meter.retired_from is None or slot < meter.retired_from)


def _changeable_meter(state: State, meter_id: MeterId, from_slot: Slot) -> Meter:
    """MTR-07, MTR-08, MTR-09: a registered meter in service, changed from a slot to come."""
    meter = state.meters.get(meter_id)
    require(meter is not None, "MTR-07", f"meter {meter_id}")
    assert meter is not None
    require(meter.retired_from is None, "MTR-08", f"retired from slot {meter.retired_from}")
    now = slot_of(state.time)
    require(from_slot >= now, "MTR-09", f"slot {from_slot} is before the current slot {now}")
    return meter


@implements("MTR-12")
def retire_meter(state: State, sender: bytes, body: RetireMeter) -> State:
    """Retire a meter from a slot on; what it measured before stays on the ledger."""
    meter = _changeable_meter(state, body.meter, body.from_slot)
    retired = replace(meter, retired_from=body.from_slot)
    return replace(state, meters=state.meters.set(body.meter, retired))


@implements("MTR-13")
def set_meter_encumbrance(state: State, sender: bytes, body: SetMeterEncumbrance) -> State:
    """Schedule a meter's encumbrance from a slot on, keeping at most one scheduled change."""
    meter = _changeable_meter(state, body.meter, body.from_slot)
    scheduled = meter.encumbrance_change
    if scheduled is not None and scheduled.from_slot < body.from_slot:
        # The scheduled change covers slots before the new one: it can only become the meter's
        # encumbrance once none of the slots before it can still be attested or corrected.
        closed_at = slot_start(scheduled.from_slot) + state.params.attestation_window_s
        require(
            state.time >= closed_at,
            "MTR-10",
            f"change from slot {scheduled.from_slot} is open until {closed_at}",
        )
        meter = replace(meter, encumbrance=scheduled.encumbrance)
    change = EncumbranceChange(body.from_slot, body.encumbrance)
    updated = replace(meter, encumbrance_change=change)
    return replace(state, meters=state.meters.set(body.meter, updated))
