"""spec.orders.cancel (CAN-01 .. CAN-04), sent by a trader (TX-06)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import z3

from proofs.model import (
    ASK,
    CANCELLED,
    OPEN,
    Ledger,
    Term,
    Transition,
    account_id,
    advance_nonce,
    get,
    put,
    read_order,
    signed,
    write_balance,
    write_order,
)
from proofs.transitions._common import Points, symbolic_fields

KIND = "cancel"


@dataclass(frozen=True)
class Tx:
    sender: Term
    nonce: Term
    order: Term


def symbolic(prefix: str) -> Tx:
    return symbolic_fields(Tx, prefix)


def domain(tx: Tx) -> Term:
    return z3.And(account_id(tx.sender), tx.order >= 1)


def step(s: Ledger, tx: Tx) -> Transition:
    checks = signed(s, tx.sender, tx.nonce, "trader")
    order = read_order(s, tx.order)
    checks.require(order.exists, "CAN-01")
    checks.require(order.owner == tx.sender, "CAN-02")
    checks.require(order.status == OPEN, "CAN-03")
    # CAN-04: an ask gives its quantity back to the lot; a bid its escrow to the buyer.
    is_ask = order.side == ASK
    key = (order.lot_meter, order.slot)
    unsold, reserved = get(s.lot_unsold, *key), get(s.lot_reserved, *key)
    s = put(s, "lot_unsold", key, z3.If(is_ask, unsold + order.quantity, unsold))
    s = put(s, "lot_reserved", key, z3.If(is_ask, reserved - order.quantity, reserved))
    balance = get(s.account_balance, tx.sender)
    s = write_balance(s, tx.sender, z3.If(is_ask, balance, balance + order.escrow))
    closed = replace(order, status=z3.IntVal(CANCELLED), escrow=z3.IntVal(0))
    s = write_order(s, tx.order, closed)
    return checks.done(advance_nonce(s, tx.sender))


def touched(s: Ledger, tx: Tx) -> Points:
    o = read_order(s, tx.order)
    return Points(
        accounts=[tx.sender, o.owner],
        orders=[tx.order],
        readings=[(o.lot_meter, o.slot)],
        markets=[(o.zone, o.slot)],
        demands=[(o.owner, o.zone, o.slot)],
        slots=[o.slot],
    )
