"""spec.orders.place_bid (BID-01 .. BID-06, ORD-01 .. ORD-07), sent by a trader (TX-06)."""

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
from proofs.transitions._orders import (
    add_order,
    below_open_order_cap,
    has_open_order,
    within_horizon,
)
from spec.orders import ORDER_FEE_MSEN

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


def collect_order_fee(s: Ledger) -> Ledger:
    """BID-06: credit the order fee to the fee account, reading its balance after the buyer's
    write (the buyer may be the fee account itself)."""
    return write_balance(s, s.fee_account, get(s.account_balance, s.fee_account) + ORDER_FEE_MSEN)


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, "trader")
    checks.require(
        z3.And(get(s.node_registered, tx.zone), get(s.node_kind, tx.zone) == SUBSTATION), "BID-01"
    )
    checks.require(tx.quantity_wh >= 1, "ORD-01")
    checks.require(s.time < trading_close(s, tx.slot), "ORD-02")
    checks.require(within_horizon(s, tx.slot), "ORD-06")
    checks.require(z3.Not(has_open_order(s, tx.sender, tx.zone, tx.slot, ASK)), "ORD-03")
    checks.require(below_open_order_cap(s, tx.sender, tx.zone, tx.slot), "ORD-07")
    market = (tx.sender, tx.zone, tx.slot)
    unbacked = (
        get(s.demand_imported, *market)
        - get(s.demand_claimed, *market)
        - get(s.trader_open_bid_wh, *market)
    )
    checks.require(tx.quantity_wh <= unbacked, "BID-04")
    fee = get(s.node_fee, tx.zone)
    escrow = escrow_of(tx.quantity_wh, tx.max_price, fee)
    balance = get(s.account_balance, tx.sender)
    checks.require(escrow <= balance, "BID-02")
    checks.require(escrow + ORDER_FEE_MSEN <= balance, "BID-05")
    s = write_balance(s, tx.sender, balance - escrow - ORDER_FEE_MSEN)  # BID-03, BID-06
    s = collect_order_fee(s)  # looked up at call time: a seam for the seeded bugs
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
        accounts=[tx.sender, s.fee_account],
        nodes=[tx.zone],
        orders=[s.next_order_id],
        markets=[(tx.zone, tx.slot)],
        demands=[(tx.sender, tx.zone, tx.slot)],
        slots=[tx.slot],
    )
