"""spec.orders.place_bid (BID-01 .. BID-03, ORD-01 .. ORD-05), sent by a trader (TX-06)."""

from __future__ import annotations

from dataclasses import dataclass

import z3

from proofs.model import (
    ASK,
    BID,
    NONE,
    OPEN,
    SUBSTATION,
    Ledger,
    OrderRow,
    Term,
    Transition,
    account_id,
    advance_nonce,
    get,
    ident,
    price,
    signed,
    slot_id,
    trading_close,
    wh,
    write_balance,
)
from proofs.transitions._common import Points, symbolic_fields
from proofs.transitions._orders import add_order, has_open_order

KIND = "place_bid"


@dataclass(frozen=True)
class Tx:
    sender: Term
    nonce: Term
    zone: Term
    slot: Term
    quantity_wh: Term
    max_price: Term


def symbolic(prefix: str) -> Tx:
    return symbolic_fields(Tx, prefix)


def domain(tx: Tx) -> Term:
    return z3.And(
        account_id(tx.sender),
        ident(tx.zone),
        slot_id(tx.slot),
        wh(tx.quantity_wh),
        price(tx.max_price),
    )


def escrow_of(quantity: Term, max_price: Term, fee: Term) -> Term:
    """BID-02: quantity x (max price + wheeling fee), in milli-sen."""
    return quantity * (max_price + fee)


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, "trader")
    checks.require(
        z3.And(get(s.node_registered, tx.zone), get(s.node_kind, tx.zone) == SUBSTATION), "BID-01"
    )
    checks.require(tx.quantity_wh >= 1, "ORD-01")
    checks.require(s.time < trading_close(s, tx.slot), "ORD-02")
    checks.require(z3.Not(has_open_order(s, tx.sender, tx.zone, tx.slot, ASK)), "ORD-03")
    fee = get(s.node_fee, tx.zone)
    escrow = escrow_of(tx.quantity_wh, tx.max_price, fee)
    balance = get(s.account_balance, tx.sender)
    checks.require(escrow <= balance, "BID-02")
    s = write_balance(s, tx.sender, balance - escrow)  # BID-03
    order = OrderRow(
        exists=z3.BoolVal(True),
        side=z3.IntVal(BID),
        owner=tx.sender,
        zone=tx.zone,
        slot=tx.slot,
        lot_meter=z3.IntVal(NONE),
        quantity=tx.quantity_wh,
        limit=tx.max_price,
        fee=fee,
        escrow=escrow,
        status=z3.IntVal(OPEN),
        filled=z3.IntVal(0),
    )
    s = add_order(s, order, checks)
    return checks.done(advance_nonce(s, tx.sender))


def touched(s: Ledger, tx: Tx) -> Points:
    return Points(
        accounts=[tx.sender],
        nodes=[tx.zone],
        orders=[s.next_order_id],
        markets=[(tx.zone, tx.slot)],
        demands=[(tx.sender, tx.zone, tx.slot)],
        slots=[tx.slot],
    )
