"""spec.orders helpers shared by place_ask and place_bid: ``has_open_order`` and ``_add_order``."""

from __future__ import annotations

from dataclasses import replace

import z3

from proofs.model import (
    ASK,
    Checks,
    Ledger,
    OrderRow,
    Term,
    get,
    slot_end,
    trading_close,
    write_order,
)
from proofs.transitions._common import open_market
from spec.orders import MAX_OPEN_ORDERS_PER_MARKET
from spec.units import COUNTER_MAX, TIME_MAX_S


def has_open_order(s: Ledger, owner: Term, zone: Term, slot: Term, side: int) -> Term:
    """spec.orders.has_open_order, through the ghost count of the owner's open orders."""
    counts = s.trader_open_asks if side == ASK else s.trader_open_bids
    return get(counts, owner, zone, slot) > 0


def within_horizon(s: Ledger, slot: Term) -> Term:
    """spec.orders._check_horizon (ORD-06)."""
    return z3.And(slot_end(slot) <= s.time, trading_close(s, slot) <= TIME_MAX_S)


def below_open_order_cap(s: Ledger, owner: Term, zone: Term, slot: Term) -> Term:
    """ORD-07, through the ghost counts of the owner's open orders."""
    key = (owner, zone, slot)
    return get(s.trader_open_asks, *key) + get(s.trader_open_bids, *key) < (
        MAX_OPEN_ORDERS_PER_MARKET
    )


def add_order(s: Ledger, order: OrderRow, checks: Checks) -> Ledger:
    """spec.orders._add_order: store under the next id (ORD-04, ORD-05), open the market."""
    checks.require(s.next_order_id < COUNTER_MAX, "ORD-05")
    s = open_market(s, (order.zone, order.slot))
    s = write_order(s, s.next_order_id, order)
    return replace(s, next_order_id=s.next_order_id + 1)
