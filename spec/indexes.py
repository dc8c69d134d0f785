"""Indexes: the entries a rule looks for, found without walking a whole table.

A cache that changes no result. Each index is a grouping of one table's entries, computed once
from the whole table and then kept up to date from the table's changes (``FrozenMap.derived``),
so that finding the open orders of one market costs what that market holds, not what the whole
history of the ledger holds. Each function says which walk over a table it stands for; rules
that use it get exactly the entries that walk would give (``tests/test_spec_root_cache.py``
compares them on random histories).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from spec.fmap import MISSING, Change, FrozenMap
from spec.state import (
    Account,
    AccountId,
    Demand,
    Lot,
    Market,
    MarketStatus,
    Order,
    OrderStatus,
    Reading,
    State,
)
from spec.units import MeterId, NodeId, OrderId, Slot

K = TypeVar("K")
V = TypeVar("V")
G = TypeVar("G", bound=Hashable)

Groups = FrozenMap[Any, FrozenMap[Any, Any]]


def grouped(
    rows: FrozenMap[K, V], name: str, group_of: Callable[[K, V], G | None]
) -> FrozenMap[G, FrozenMap[K, V]]:
    """The entries of ``rows`` grouped by ``group_of(key, value)`` (``None``: in no group)."""

    def compute(whole: FrozenMap[K, V]) -> Groups:
        groups: dict[Any, dict[Any, Any]] = {}
        for key, value in whole.items():
            group = group_of(key, value)
            if group is not None:
                groups.setdefault(group, {})[key] = value
        return FrozenMap({group: FrozenMap(members) for group, members in groups.items()})

    def update(groups: Groups, changes: list[Change]) -> Groups:
        for key, old, new in changes:
            if old is not MISSING and (group := group_of(key, old)) is not None:
                members = groups[group].remove(key)
                groups = groups.set(group, members) if members else groups.remove(group)
            if new is not MISSING and (group := group_of(key, new)) is not None:
                groups = groups.set(group, groups.get(group, FrozenMap()).set(key, new))
        return groups

    result: FrozenMap[G, FrozenMap[K, V]] = rows.derived(("grouped", name), compute, update)
    return result


def _open_order_market(_: OrderId, order: Order) -> tuple[NodeId, Slot] | None:
    return (order.zone, order.slot) if order.status is OrderStatus.OPEN else None


def open_orders(state: State, zone: int, slot: int) -> FrozenMap[OrderId, Order]:
    """The open orders of the (zone, slot) market: the orders ``o`` of ``state.orders`` with
    ``o.zone == zone``, ``o.slot == slot`` and ``o.status is OPEN``."""
    index = grouped(state.orders, "open orders by market", _open_order_market)
    return index.get((NodeId(zone), Slot(slot)), FrozenMap())


def _ask_lot(_: OrderId, order: Order) -> tuple[MeterId, Slot] | None:
    return None if order.lot_meter is None else (order.lot_meter, order.slot)


def lot_asks(state: State, meter: int, slot: int) -> FrozenMap[OrderId, Order]:
    """Every ask ever placed on the lot (meter, slot), whatever its status: the orders ``o`` of
    ``state.orders`` with ``o.lot_meter == meter`` and ``o.slot == slot``."""
    index = grouped(state.orders, "asks by lot", _ask_lot)
    return index.get((MeterId(meter), Slot(slot)), FrozenMap())


def _lot_market(key: tuple[MeterId, Slot], lot: Lot) -> tuple[NodeId, Slot]:
    return (lot.zone, key[1])


def market_lots(state: State, zone: int, slot: int) -> FrozenMap[tuple[MeterId, Slot], Lot]:
    """The lots of the (zone, slot) market: the lots of ``state.lots`` whose key's slot is
    ``slot`` and whose zone is ``zone``."""
    index = grouped(state.lots, "lots by market", _lot_market)
    return index.get((NodeId(zone), Slot(slot)), FrozenMap())


def _open_market(_: tuple[NodeId, Slot], market: Market) -> bool | None:
    return True if market.status is MarketStatus.OPEN else None


def open_markets(state: State) -> FrozenMap[tuple[NodeId, Slot], Market]:
    """The markets of ``state.markets`` whose status is OPEN."""
    index = grouped(state.markets, "open markets", _open_market)
    return index.get(True, FrozenMap())


def _current_key(_: bytes, account: Account) -> bytes:
    return account.key


def accounts_by_key(state: State) -> FrozenMap[bytes, FrozenMap[bytes, Account]]:
    """The accounts grouped by current key: the accounts ``a`` of ``state.accounts`` with
    ``a.key == key`` (one at most, INV-19)."""
    return grouped(state.accounts, "accounts by key", _current_key)


# --- Per-slot records (PRN-01, PRN-02) -----------------------------------------------------------


def _slot_of_keyed(key: tuple[Any, ...], _: object) -> Slot:
    return Slot(key[-1])


def _slot_of_order(_: OrderId, order: Order) -> Slot:
    return order.slot


def slot_readings(state: State, slot: int) -> FrozenMap[tuple[MeterId, Slot], Reading]:
    """The readings of ``state.readings`` whose key's slot is ``slot``."""
    index = grouped(state.readings, "readings by slot", _slot_of_keyed)
    return index.get(Slot(slot), FrozenMap())


def slot_lots(state: State, slot: int) -> FrozenMap[tuple[MeterId, Slot], Lot]:
    """The lots of ``state.lots`` whose key's slot is ``slot``."""
    index = grouped(state.lots, "lots by slot", _slot_of_keyed)
    return index.get(Slot(slot), FrozenMap())


def slot_demand(state: State, slot: int) -> FrozenMap[tuple[AccountId, NodeId, Slot], Demand]:
    """The demand rows of ``state.demand`` whose key's slot is ``slot``."""
    index = grouped(state.demand, "demand by slot", _slot_of_keyed)
    return index.get(Slot(slot), FrozenMap())


def slot_orders(state: State, slot: int) -> FrozenMap[OrderId, Order]:
    """The orders ``o`` of ``state.orders`` with ``o.slot == slot``, whatever their status."""
    index = grouped(state.orders, "orders by slot", _slot_of_order)
    return index.get(Slot(slot), FrozenMap())


def slot_markets(state: State, slot: int) -> FrozenMap[tuple[NodeId, Slot], Market]:
    """The markets of ``state.markets`` whose key's slot is ``slot``."""
    index = grouped(state.markets, "markets by slot", _slot_of_keyed)
    return index.get(Slot(slot), FrozenMap())


def slots_with_records(state: State) -> set[Slot]:
    """Every slot some reading, lot, demand row, order or market of ``state`` belongs to."""
    slots: set[Slot] = set()
    slots.update(grouped(state.readings, "readings by slot", _slot_of_keyed))
    slots.update(grouped(state.lots, "lots by slot", _slot_of_keyed))
    slots.update(grouped(state.demand, "demand by slot", _slot_of_keyed))
    slots.update(grouped(state.orders, "orders by slot", _slot_of_order))
    slots.update(grouped(state.markets, "markets by slot", _slot_of_keyed))
    return slots
