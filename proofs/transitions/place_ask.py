"""spec.orders.place_ask (ASK-01 .. ASK-05, ORD-01 .. ORD-07), sent by a trader (TX-06)."""

from __future__ import annotations

from dataclasses import dataclass

import z3

from proofs.model import (
    ASK,
    BID,
    ENCUMBRANCE_NONE,
    OPEN,
    Ledger,
    OrderRow,
    Term,
    Transition,
    account_id,
    advance_nonce,
    get,
    ident,
    price,
    put,
    signed,
    slot_id,
    trading_close,
    wh,
)
from proofs.transitions._common import Points, symbolic_fields
from proofs.transitions._orders import (
    add_order,
    below_open_order_cap,
    has_open_order,
    within_horizon,
)

KIND = "place_ask"


@dataclass(frozen=True)
class Tx:
    sender: Term
    nonce: Term
    meter: Term
    slot: Term
    quantity_wh: Term
    min_price: Term


def symbolic(prefix: str) -> Tx:
    return symbolic_fields(Tx, prefix)


def domain(tx: Tx) -> Term:
    return z3.And(
        account_id(tx.sender),
        ident(tx.meter),
        slot_id(tx.slot),
        wh(tx.quantity_wh),
        price(tx.min_price),
    )


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, "trader")
    key = (tx.meter, tx.slot)
    checks.require(get(s.lot_exists, *key), "ASK-01")
    checks.require(get(s.lot_owner, *key) == tx.sender, "ASK-02")
    checks.require(get(s.lot_encumbrance, *key) == ENCUMBRANCE_NONE, "ASK-03")
    checks.require(tx.quantity_wh >= 1, "ORD-01")
    checks.require(s.time < trading_close(s, tx.slot), "ORD-02")
    checks.require(within_horizon(s, tx.slot), "ORD-06")
    unsold, reserved = get(s.lot_unsold, *key), get(s.lot_reserved, *key)
    checks.require(tx.quantity_wh <= unsold, "ASK-04")
    zone = get(s.lot_zone, *key)
    checks.require(z3.Not(has_open_order(s, tx.sender, zone, tx.slot, BID)), "ORD-03")
    checks.require(below_open_order_cap(s, tx.sender, zone, tx.slot), "ORD-07")
    # ASK-05: the quantity moves from unsold to reserved.
    s = put(s, "lot_unsold", key, unsold - tx.quantity_wh)
    s = put(s, "lot_reserved", key, reserved + tx.quantity_wh)
    order = OrderRow(
        exists=z3.BoolVal(True),
        side=z3.IntVal(ASK),
        owner=tx.sender,
        zone=zone,
        slot=tx.slot,
        lot_meter=tx.meter,
        quantity=tx.quantity_wh,
        limit=tx.min_price,
        fee=z3.IntVal(0),
        escrow=z3.IntVal(0),
        status=z3.IntVal(OPEN),
        filled=z3.IntVal(0),
    )
    s = add_order(s, order, checks)
    return checks.done(advance_nonce(s, tx.sender))


def touched(s: Ledger, tx: Tx) -> Points:
    zone = get(s.lot_zone, tx.meter, tx.slot)
    return Points(
        accounts=[tx.sender],
        readings=[(tx.meter, tx.slot)],
        orders=[s.next_order_id],
        markets=[(zone, tx.slot)],
        demands=[(tx.sender, zone, tx.slot)],
        slots=[tx.slot],
    )
