"""Pruning: a slot's records leave the state once its markets are cleared (PRN-01, PRN-02).

A slot's readings, lots, demand rows, orders and markets are needed only while something can still
happen to them: readings are taken until the attestation window closes (ATT-05), orders until
trading closes (ORD-02), and at trading close the slot's markets clear (CLR-01). After that nothing
can change them, so they leave the state, and the state's size depends on its accounts, meters,
grid and open slots, never on the length of its history. What households and auditors need of
them afterwards is committed in the block's settlement (``spec.settlement``, SET-01 .. SET-04).

Because the attestation window closes no later than trading (ChainParams: W <= C), a pruned slot
can no longer be attested (ATT-05), offered or bid for (ORD-02); its orders are gone, so a cancel
names an unknown order (CAN-01). INV-24 states it.
"""

from __future__ import annotations

from dataclasses import replace

from spec import indexes
from spec.rules import implements
from spec.settlement import SettlementRecord, slot_settlement
from spec.state import State, trading_close
from spec.units import Slot


@implements("PRN-01")
def due_slots(state: State, now: int) -> list[Slot]:
    """PRN-01: the slots holding a per-slot record whose trading close is at or before ``now``,
    ascending."""
    return sorted(
        slot
        for slot in indexes.slots_with_records(state)
        if trading_close(state.params, slot) <= now
    )


@implements("PRN-02")
def prune_slot(state: State, slot: Slot) -> State:
    """PRN-02: the state without any reading, lot, demand row, order or market of ``slot``;
    every other entry as it was."""
    return replace(
        state,
        readings=state.readings.remove_many(indexes.slot_readings(state, slot)),
        lots=state.lots.remove_many(indexes.slot_lots(state, slot)),
        demand=state.demand.remove_many(indexes.slot_demand(state, slot)),
        orders=state.orders.remove_many(indexes.slot_orders(state, slot)),
        markets=state.markets.remove_many(indexes.slot_markets(state, slot)),
    )


@implements("PRN-01", "SET-01")
def prune(state: State, now: int) -> tuple[State, tuple[SettlementRecord, ...]]:
    """PRN-01: settle and remove every due slot, ascending; the settlement is the slots'
    records in that order (SET-01). Called after the due markets were cleared."""
    records: list[SettlementRecord] = []
    for slot in due_slots(state, now):
        records.extend(slot_settlement(state, slot))
        state = prune_slot(state, slot)
    return state, tuple(records)
