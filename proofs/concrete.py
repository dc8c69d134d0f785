"""Concrete spec states as model values, for testing the model against the spec.

``encode`` turns a ``spec.state.State`` into a ``proofs.model.Ledger`` whose arrays are ``Store``
chains over constant defaults, with every ghost total computed from the state directly (so a test
also checks that the write helpers keep the ghosts equal to the sums they stand for). ``rows``
reads a ledger back as plain Python rows at given keys, after ``z3.simplify`` has evaluated it.
Account ids (public keys in the spec) become small integers through an ``AccountIds`` table.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import z3

from proofs.model import (
    BOOL,
    FIELD_NAMES,
    INT,
    NONE,
    SCALARS,
    Ledger,
    Term,
    constant_table,
    field_arity,
    get,
    store,
)
from spec.crypto import is_valid_public_key
from spec.state import MarketStatus, OrderStatus, Role, Side, State
from spec.units import NodeId
from spec.validators import ACTIVATION_DELAY


@dataclass
class AccountIds:
    """Public keys <-> integers, assigned in first-seen order (sorted keys first)."""

    numbers: dict[bytes, int] = field(default_factory=dict)

    def __call__(self, key: bytes) -> int:
        if key not in self.numbers:
            self.numbers[key] = len(self.numbers)
        return self.numbers[key]


def _is_bool(name: str) -> bool:
    return name.endswith(("_exists", "_registered")) or name in (
        "account_operator",
        "account_attestor",
        "account_trader",
        "account_validator",
        "account_key_valid",
    )


def _array(name: str, entries: dict[tuple[int, ...], Any]) -> Term:
    arity = field_arity(name)
    if _is_bool(name):
        sort, default = BOOL, z3.BoolVal(False)
    else:
        sort, default = INT, z3.IntVal(NONE if name in ("market_price", "key_holder") else 0)
    del sort
    term: Term = constant_table(arity, default)
    for key in sorted(entries):
        value = entries[key]
        literal = z3.BoolVal(bool(value)) if _is_bool(name) else z3.IntVal(int(value))
        term = store(term, tuple(z3.IntVal(int(k)) for k in key), literal)
    return term


def tables(state: State, ids: AccountIds) -> dict[str, dict[tuple[int, ...], Any]]:
    """Every array field of the model as {key: value}, ghosts included."""
    t: dict[str, dict[tuple[int, ...], Any]] = defaultdict(dict)
    for account_key in sorted(state.accounts):
        a = state.accounts[account_key]
        k = (ids(account_key),)
        t["account_registered"][k] = True
        t["account_operator"][k] = bool(a.roles & Role.OPERATOR)
        t["account_attestor"][k] = bool(a.roles & Role.ATTESTOR)
        t["account_trader"][k] = bool(a.roles & Role.TRADER)
        t["account_validator"][k] = bool(a.roles & Role.VALIDATOR)
        t["account_nonce"][k] = a.nonce
        t["account_balance"][k] = a.balance
        t["account_key"][k] = ids(a.key)
        t["account_key_valid"][k] = is_valid_public_key(a.key)
        t["key_holder"][k] = k[0]
        t["key_holder"][(ids(a.key),)] = k[0]
    for rank, node_id in enumerate(_registration_order(state)):
        n = state.nodes[NodeId(node_id)]
        k = (node_id,)
        t["node_registered"][k] = True
        t["node_kind"][k] = int(n.kind)
        t["node_parent"][k] = NONE if n.parent is None else n.parent
        t["node_fee"][k] = n.wheeling_fee
        t["node_zone"][k] = n.zone
        t["node_rank"][k] = rank
    for meter_id, m in state.meters.items():
        k = (meter_id,)
        t["meter_registered"][k] = True
        t["meter_owner"][k] = ids(m.owner)
        t["meter_attestor"][k] = ids(m.attestor)
        t["meter_node"][k] = m.node
        t["meter_zone"][k] = m.zone
        t["meter_capacity"][k] = m.capacity_wh
        t["meter_encumbrance"][k] = int(m.encumbrance)
        t["meter_first_slot"][k] = m.first_slot
        t["meter_retired_from"][k] = NONE if m.retired_from is None else m.retired_from
        change = m.encumbrance_change
        t["meter_change_from"][k] = NONE if change is None else change.from_slot
        t["meter_change_encumbrance"][k] = int(
            m.encumbrance if change is None else change.encumbrance
        )
    for reading_key, r in state.readings.items():
        key: tuple[int, ...] = (int(reading_key[0]), int(reading_key[1]))
        t["reading_exists"][key] = True
        t["reading_exported"][key] = r.exported_wh
        t["reading_imported"][key] = r.imported_wh
        t["reading_encumbrance"][key] = int(r.encumbrance)
        t["reading_corrections"][key] = r.corrections
        meter = state.meters[reading_key[0]]
        _add(t["demand_reading_wh"], (ids(meter.owner), meter.zone, key[1]), r.imported_wh)
    for lot_key_, lot in state.lots.items():
        key = (int(lot_key_[0]), int(lot_key_[1]))
        t["lot_exists"][key] = True
        t["lot_owner"][key] = ids(lot.owner)
        t["lot_zone"][key] = lot.zone
        t["lot_encumbrance"][key] = int(lot.encumbrance)
        for name in ("minted", "unsold", "reserved", "sold", "expired"):
            t[f"lot_{name}"][key] = getattr(lot, f"{name}_wh")
    for (owner, zone, slot), d in state.demand.items():
        k3 = (ids(owner), zone, slot)
        t["demand_imported"][k3] = d.imported_wh
        t["demand_claimed"][k3] = d.claimed_wh
        t["slot_claimed_wh"][(slot,)] = t["slot_claimed_wh"].get((slot,), 0) + d.claimed_wh
    for order_id, o in state.orders.items():
        k = (order_id,)
        t["order_exists"][k] = True
        t["order_side"][k] = int(o.side)
        t["order_owner"][k] = ids(o.owner)
        t["order_zone"][k] = o.zone
        t["order_slot"][k] = o.slot
        t["order_lot_meter"][k] = NONE if o.lot_meter is None else o.lot_meter
        t["order_quantity"][k] = o.quantity_wh
        t["order_limit"][k] = o.limit_price
        t["order_fee"][k] = o.fee
        t["order_escrow"][k] = o.escrow
        t["order_status"][k] = int(o.status)
        t["order_filled"][k] = o.filled_wh
        is_open = o.status is OrderStatus.OPEN
        in_market, trader = (o.zone, o.slot), (ids(o.owner), o.zone, o.slot)
        lot_key = (NONE if o.lot_meter is None else o.lot_meter, o.slot)
        if o.side is Side.ASK:
            _add(t["lot_ask_fill_wh"], lot_key, o.filled_wh)
            _add(t["lot_open_ask_wh"], lot_key, o.quantity_wh if is_open else 0)
            _add(t["lot_asks"], lot_key, 1)
            _add(t["market_ask_fill_wh"], in_market, o.filled_wh)
            _add(t["slot_sold_wh"], (o.slot,), o.filled_wh)
            _add(t["trader_open_asks"], trader, 1 if is_open else 0)
        else:
            _add(t["demand_bid_fill_wh"], trader, o.filled_wh)
            _add(t["market_bid_fill_wh"], in_market, o.filled_wh)
            _add(t["slot_bought_wh"], (o.slot,), o.filled_wh)
            _add(t["trader_open_bids"], trader, 1 if is_open else 0)
            _add(t["trader_open_bid_wh"], trader, o.quantity_wh if is_open else 0)
    for market_key, market in state.markets.items():
        key = (int(market_key[0]), int(market_key[1]))
        t["market_exists"][key] = True
        t["market_status"][key] = int(market.status is MarketStatus.CLEARED)
        t["market_price"][key] = NONE if market.price is None else market.price
        t["market_volume"][key] = market.volume_wh
    return t


def _add(table: dict[tuple[int, ...], Any], key: tuple[int, ...], amount: int) -> None:
    table[key] = table.get(key, 0) + amount


def _registration_order(state: State) -> list[int]:
    """Nodes parents first (the order registration must have used, up to siblings)."""
    order: list[int] = []
    placed: set[int] = set()
    pending = sorted(state.nodes)
    while pending:
        for node_id in list(pending):
            parent = state.nodes[node_id].parent
            if parent is None or parent in placed:
                order.append(node_id)
                placed.add(node_id)
                pending.remove(node_id)
    return order


def scalars(state: State, ids: AccountIds) -> dict[str, int]:
    """The model's scalar fields of a state."""
    values = {
        "attestation_window_s": state.params.attestation_window_s,
        "trading_close_s": state.params.trading_close_s,
        "fee_account": ids(state.params.fee_account),
        "time": state.time,
        "next_order_id": state.next_order_id,
        "money_outstanding": state.money_outstanding,
        "balance_total": sum(a.balance for a in state.accounts.values()),
        "escrow_total": sum(o.escrow for o in state.orders.values()),
        "node_count": len(state.nodes),
        "clock_horizon": state.time,
        "height": state.height,
        **_validator_scalars(state, ids),
    }
    return {name: int(v) for name, v in values.items()}


def _validator_scalars(state: State, ids: AccountIds) -> dict[str, int]:
    """The validator count and the pending change. The spec does not keep a change's approvals:
    the ghost ``pending_approvers`` is taken as the whole set (tests compare it only where the
    model computed it)."""
    count = sum(1 for a in state.accounts.values() if a.roles & Role.VALIDATOR)
    pending = state.pending_validator
    if pending is None:
        return {
            "validator_count": count,
            "pending_height": NONE,
            "pending_account": NONE,
            "pending_power": 0,
            "pending_approvers": 0,
            "pending_set_size": 0,
            "pending_since": NONE,
        }
    return {
        "validator_count": count,
        "pending_height": pending.height,
        "pending_account": ids(pending.account),
        "pending_power": pending.power,
        "pending_approvers": count,
        "pending_set_size": count,
        "pending_since": pending.height - 1 - ACTIVATION_DELAY,
    }


def encode(state: State, ids: AccountIds) -> Ledger:
    """The state as a model ledger with concrete values."""
    t = tables(state, ids)
    values: dict[str, Term] = {n: z3.IntVal(int(v)) for n, v in scalars(state, ids).items()}
    for name in FIELD_NAMES:
        if name not in SCALARS:
            values[name] = _array(name, t.get(name, {}))
    return Ledger(**values)


def value(term: Term) -> Any:
    """A closed term's value (after simplification), as a Python int or bool."""
    v = z3.simplify(term)
    if z3.is_true(v):
        return True
    if z3.is_false(v):
        return False
    if z3.is_int_value(v):
        return v.as_long()
    raise ValueError(f"not a value: {v}")


def read(ledger: Ledger, name: str, key: tuple[int, ...]) -> Any:
    """One field of one row of a model ledger."""
    if field_arity(name) == 0:
        return value(getattr(ledger, name))
    return value(get(getattr(ledger, name), *[z3.IntVal(int(k)) for k in key]))
