"""Pre-state consistency (PRE-01 .. PRE-12): what a state must satisfy to be loaded at all.

A state reached by transactions satisfies these by construction. A state handed to a node from
outside (a conformance vector's pre-state, a snapshot) may not, and an implementation that trusted
it would fail in its own way: a lookup that crashes, a rule that reads a field another
implementation never reads. So a loaded state is checked, after its schema (``decode_state``),
rule by rule in id order; within a rule, the rows of the table it is about in their canonical
order (bytewise order of the encoded keys, as the state encoding lists them); the first broken
rule is reported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import TypeVar

from spec.cbor import encode
from spec.errors import require
from spec.state import OrderStatus, Role, Side, State, trading_close
from spec.units import MeterId, Slot

K = TypeVar("K")
V = TypeVar("V")


def _in_order(table: Mapping[K, V]) -> Iterable[tuple[K, V]]:
    """A table's rows in canonical order: by the encoding of their keys."""
    return sorted(table.items(), key=lambda row: encode(_wire(row[0])))


def _wire(key: object) -> object:
    return list(key) if isinstance(key, tuple) else key


def check_pre_state(state: State) -> None:
    """Raise ``Rejected`` with the first PRE rule ``state`` breaks, in the module's order."""
    accounts, nodes, meters = state.accounts, state.nodes, state.meters
    for meter_id, meter in _in_order(meters):
        node = nodes.get(meter.node)
        require(
            meter.owner in accounts
            and meter.attestor in accounts
            and node is not None
            and node.zone == meter.zone,
            "PRE-01",
            f"meter {meter_id}",
        )
    for (meter_id, slot), _ in _in_order(state.readings):
        require(meter_id in meters, "PRE-02", f"reading of meter {meter_id} slot {slot}")
    for key, _ in _in_order(state.lots):
        require(key[0] in meters and key in state.readings, "PRE-03", f"lot {key}")
    for key, lot in _in_order(state.lots):
        meter, reading = meters[key[0]], state.readings[key]
        require(
            (lot.owner, lot.zone, lot.node, lot.source)
            == (meter.owner, meter.zone, meter.node, meter.source)
            and lot.encumbrance == reading.encumbrance,
            "PRE-04",
            f"lot {key}",
        )
    for key, lot in _in_order(state.lots):
        parts = lot.unsold_wh + lot.reserved_wh + lot.sold_wh + lot.expired_wh
        require(parts == lot.minted_wh, "PRE-05", f"lot {key}: {parts} != {lot.minted_wh}")
    open_asks: dict[tuple[MeterId, Slot], int] = defaultdict(int)
    for order_id, order in _in_order(state.orders):
        if order.side is Side.ASK:
            ask_lot = None
            if order.lot_meter is not None:
                ask_lot = state.lots.get((order.lot_meter, order.slot))
            require(
                order.owner in accounts
                and ask_lot is not None
                and (ask_lot.owner, ask_lot.zone) == (order.owner, order.zone),
                "PRE-06",
                f"ask {order_id}",
            )
            if order.status is OrderStatus.OPEN and order.lot_meter is not None:
                open_asks[(order.lot_meter, order.slot)] += order.quantity_wh
        else:
            require(
                order.owner in accounts and order.lot_meter is None, "PRE-06", f"bid {order_id}"
            )
    for key, lot in _in_order(state.lots):
        require(
            lot.reserved_wh == open_asks.get(key, 0),
            "PRE-07",
            f"lot {key}: reserved {lot.reserved_wh}, open asks {open_asks.get(key, 0)}",
        )
    for order_id, _ in _in_order(state.orders):
        require(order_id < state.next_order_id, "PRE-08", f"order {order_id}")
    for (account, zone, slot), _ in _in_order(state.demand):
        require(account in accounts, "PRE-09", f"demand of {account.hex()} in {zone}, {slot}")
    stale_candidates: tuple[tuple[str, list[tuple[object, Slot]]], ...] = (
        ("reading", [(k, k[1]) for k, _ in _in_order(state.readings)]),
        ("lot", [(k, k[1]) for k, _ in _in_order(state.lots)]),
        ("demand row", [(k, k[2]) for k, _ in _in_order(state.demand)]),
        ("order", [(k, o.slot) for k, o in _in_order(state.orders)]),
        ("market", [(k, k[1]) for k, _ in _in_order(state.markets)]),
    )
    for table, stale_keys in stale_candidates:
        for stale_key, slot in stale_keys:
            require(
                trading_close(state.params, slot) > state.time,
                "PRE-10",
                f"{table} {stale_key}: slot {slot} closed at {trading_close(state.params, slot)}",
            )
    check_keys(state)
    for (meter_id, slot), lot in _in_order(state.lots):
        require((lot.zone, slot) in state.markets, "PRE-12", f"lot of meter {meter_id} slot {slot}")


def check_keys(state: State) -> None:
    """PRE-11: no key signs for two accounts or for an account it does not name (INV-19), and a
    pending validator key rotation is one a ROTATE_KEY could have left. (Whether each key is a
    valid point is not asked here: the suite loads accounts with small-order keys on purpose, to
    test SIG-01 on them; no transaction can make one, KEY-01.)"""
    accounts = state.accounts
    holders: dict[bytes, bytes] = {}
    for account_id, account in _in_order(accounts):
        key = account.key
        free = key not in holders and (key == account_id or key not in accounts)
        require(free, "PRE-11", f"account {account_id.hex()}: key in use")
        holders[key] = account_id
    pending = state.pending_key
    if pending is not None:
        validator = accounts.get(pending.account)
        previous = pending.previous_key
        require(
            validator is not None
            and validator.roles & Role.VALIDATOR != 0
            and previous not in holders
            and (previous == pending.account or previous not in accounts),
            "PRE-11",
            "pending key rotation",
        )
