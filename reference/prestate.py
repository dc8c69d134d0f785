"""Pre-state consistency (PRE-01 .. PRE-12) of the reference node, on the parsed rows of a
state.

Checked before the rows become a ``Ledger`` (whose packed indexes assume them), rule by rule in
id order, each over its table's rows in the order the state encoding lists them; the first broken
rule is raised. Written from the rule book, not from the spec's code.
"""

from __future__ import annotations

from typing import Any

from reference.errors import Rejected

Rows = list[tuple[Any, Any]]
ASK, OPEN = 0, 0


def check_rows(next_order_id: int, tables: dict[int, Rows]) -> None:
    """Raise the first of PRE-01 .. PRE-09 the rows break; ``tables`` by table number, rows in
    order."""
    accounts = {key for key, _ in tables[1]}
    nodes = dict(tables[2])
    meters = dict(tables[3])
    readings = dict(tables[4])
    lots = tables[5]
    for meter_id, (owner, attestor, node, zone, *_) in tables[3]:
        if owner not in accounts or attestor not in accounts:
            raise Rejected("PRE-01", f"meter {meter_id}: owner or attestor not registered")
        if node not in nodes or nodes[node][3] != zone:
            raise Rejected("PRE-01", f"meter {meter_id}: node or zone")
    for (meter_id, slot), _ in tables[4]:
        if meter_id not in meters:
            raise Rejected("PRE-02", f"reading of meter {meter_id} slot {slot}")
    for key, _ in lots:
        if key[0] not in meters or key not in readings:
            raise Rejected("PRE-03", f"lot {key}")
    for key, lot in lots:
        owner, zone, node, source, encumbrance = lot[:5]
        meter = meters[key[0]]
        if (owner, zone, node, source) != (meter[0], meter[3], meter[2], meter[4]):
            raise Rejected("PRE-04", f"lot {key} differs from its meter")
        if encumbrance != readings[key][2]:
            raise Rejected("PRE-04", f"lot {key} differs from its reading")
    for key, lot in lots:
        if lot[6] + lot[7] + lot[8] + lot[9] != lot[5]:
            raise Rejected("PRE-05", f"lot {key}")
    lot_of = dict(lots)
    reserved: dict[Any, int] = {}
    for order_id, order in tables[7]:
        side, owner, zone, slot, lot_meter, quantity = order[:6]
        if owner not in accounts:
            raise Rejected("PRE-06", f"order {order_id}: owner not registered")
        if side == ASK:
            lot = lot_of.get((lot_meter, slot))
            if lot is None or lot[0] != owner or lot[1] != zone:
                raise Rejected("PRE-06", f"ask {order_id}: its lot")
            if order[9] == OPEN:
                reserved[(lot_meter, slot)] = reserved.get((lot_meter, slot), 0) + quantity
        elif lot_meter is not None:
            raise Rejected("PRE-06", f"bid {order_id} names a lot")
    for key, lot in lots:
        if lot[7] != reserved.get(key, 0):
            raise Rejected("PRE-07", f"lot {key}: reservation")
    for order_id, _ in tables[7]:
        if order_id >= next_order_id:
            raise Rejected("PRE-08", f"order {order_id}")
    for (account, zone, slot), _ in tables[6]:
        if account not in accounts:
            raise Rejected("PRE-09", f"demand in zone {zone} slot {slot}")


def check_unsettled(now: int, trading_close_s: int, tables: dict[int, Rows]) -> None:
    """PRE-10: no record of a slot whose trading closed at or before ``now`` (settling removes
    them at the clock advance that passes the close). Tables in the state encoding's order."""

    def settled(slot: int) -> bool:
        return (slot + 1) * 1800 + trading_close_s <= now

    for table in (4, 5, 6, 7, 8):
        for key, record in tables[table]:
            slot = record[3] if table == 7 else key[-1]
            if settled(slot):
                raise Rejected("PRE-10", f"table {table}: a record of settled slot {slot}")


def check_keys(tables: dict[int, Rows], pending_key: Any = None) -> None:
    """PRE-11: no key signs for two accounts or for another account's id; ``pending_key`` is the
    ledger's (height, validator, previous key) or None."""
    accounts = {key for key, _ in tables[1]}
    holders: set[bytes] = set()
    for account_id, (_, _, _, key) in tables[1]:
        if key in holders or (key != account_id and key in accounts):
            raise Rejected("PRE-11", "key in use")
        holders.add(key)
    if pending_key is not None:
        _, validator, previous = pending_key
        roles = dict(tables[1]).get(validator, (0,))[0]
        if not roles & 4 or previous in holders or (previous != validator and previous in accounts):
            raise Rejected("PRE-11", "pending key rotation")


def check_lot_markets(tables: dict[int, Rows]) -> None:
    """PRE-12: every lot's zone and slot has a market (the lot expires when it clears)."""
    markets = {key for key, _ in tables[8]}
    for (meter_id, slot), lot in tables[5]:
        if (lot[1], slot) not in markets:
            raise Rejected("PRE-12", f"lot of meter {meter_id} slot {slot}: no market")
