"""spec.clearing.clear_market (CLR-01 .. CLR-08): settle one market's call auction.

Clearing touches every open order of the market, so its model is bounded by the size of the book:
``Book`` lists the market's open asks and bids (``book_is_market`` says they are all of them and
nothing else, checked at the obligation's points). The auction itself enters through
``contract``: the properties of ``call_auction`` and ``eligible_bids`` that settlement relies on,
each proved for the spec's algorithm in ``proofs/auction.py`` (assume-guarantee). ``settle`` is the
spec's loop over the market's open orders, writing through the ghost-keeping helpers, so two orders
of one seller or one buyer (and a self-trade, which the model does not exclude) stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import z3

from proofs.model import (
    ASK,
    BID,
    EXPIRED,
    FILLED,
    MARKET_CLEARED,
    MARKET_OPEN,
    NONE,
    OPEN,
    PARTLY_FILLED,
    Checks,
    Ledger,
    Term,
    Transition,
    get,
    put,
    read_order,
    table,
    total,
    trading_close,
    write_balance,
    write_demand,
    write_order,
)
from proofs.transitions._common import Points
from spec.units import PRICE_MAX_SEN_PER_KWH

KIND = "clear_market"
BOOK_SIDE = 3
"""Open asks and open bids per market in the clearing obligations (the bound of this model)."""


@dataclass(frozen=True)
class Book:
    """A market and the ids of its open orders."""

    zone: Term
    slot: Term
    asks: tuple[Term, ...]
    bids: tuple[Term, ...]

    @property
    def orders(self) -> tuple[Term, ...]:
        return self.asks + self.bids


@dataclass(frozen=True)
class Outcome:
    """What the auction decided: a price (NONE without trade), eligible Wh and fills per order
    (asks then bids, as in ``Book.orders``)."""

    price: Term
    eligible: tuple[Term, ...]
    fills: tuple[Term, ...]


def symbolic(prefix: str, side: int = BOOK_SIDE) -> tuple[Book, Outcome]:
    asks = tuple(z3.Int(f"{prefix}.ask{i}") for i in range(side))
    bids = tuple(z3.Int(f"{prefix}.bid{i}") for i in range(side))
    book = Book(z3.Int(f"{prefix}.zone"), z3.Int(f"{prefix}.slot"), asks, bids)
    n = 2 * side
    outcome = Outcome(
        z3.Int(f"{prefix}.price"),
        tuple(z3.Int(f"{prefix}.eligible{i}") for i in range(n)),
        tuple(z3.Int(f"{prefix}.fill{i}") for i in range(n)),
    )
    return book, outcome


def book_is_market(s: Ledger, book: Book, others: list[Term]) -> Term:
    """The book's ids are distinct open orders of the market on the right side, and every order in
    ``others`` that is not in the book is not an open order of the market."""
    parts = [z3.Distinct(*book.orders)] if len(book.orders) > 1 else []
    for ids, side in ((book.asks, ASK), (book.bids, BID)):
        for k in ids:
            o = read_order(s, k)
            parts.append(z3.And(o.exists, o.side == side, o.status == OPEN, o.zone == book.zone))
            parts.append(o.slot == book.slot)
    for x in others:
        o = read_order(s, x)
        in_market = z3.And(o.exists, o.status == OPEN, o.zone == book.zone, o.slot == book.slot)
        parts.append(z3.Implies(in_market, z3.Or(*[x == k for k in book.orders])))
    return z3.And(*parts)


def contract(s: Ledger, book: Book, out: Outcome) -> Term:
    """What settlement needs of the auction (each part is an auction obligation):
    fills within eligible quantities within order quantities (CLR-02, CLR-05), a buyer's eligible
    Wh within its unclaimed import (CLR-02), equal volumes on both sides (CLR-03), and a price
    between every filled bid's and every filled ask's limit (CLR-04), NONE without trade."""
    parts = []
    orders = [read_order(s, k) for k in book.orders]
    n_asks = len(book.asks)
    for i, (o, e, f) in enumerate(zip(orders, out.eligible, out.fills, strict=True)):
        parts += [f >= 0, f <= e, e <= o.quantity]
        if i < n_asks:
            parts.append(e == o.quantity)
        else:
            same_buyer = [
                z3.If(orders[j].owner == o.owner, out.eligible[j], 0)
                for j in range(n_asks, len(orders))
            ]
            unclaimed = get(s.demand_imported, o.owner, book.zone, book.slot) - get(
                s.demand_claimed, o.owner, book.zone, book.slot
            )
            parts.append(total(same_buyer) <= unclaimed)
        bound = o.limit >= out.price if i >= n_asks else o.limit <= out.price
        parts.append(z3.Implies(f > 0, bound))
    volume = total(out.fills[:n_asks])
    parts.append(volume == total(out.fills[n_asks:]))
    parts.append(
        z3.If(
            volume == 0,
            out.price == NONE,
            z3.And(out.price >= 0, out.price <= PRICE_MAX_SEN_PER_KWH),
        )
    )
    return z3.And(*parts)


def closing_status(filled: Term, quantity: Term) -> Term:
    """spec.clearing._closing_status."""
    return z3.If(filled == quantity, FILLED, z3.If(filled > 0, PARTLY_FILLED, EXPIRED))


def settlement_price(out: Outcome) -> Term:
    """``result.price or 0``."""
    return z3.If(out.price == NONE, 0, out.price)


def proceeds(s: Ledger, before: Ledger, owner: Term, filled: Term, price: Term) -> Term:
    """CLR-06: the seller's balance after being paid fill x price (read from the state as the
    previous orders of the loop left it)."""
    return get(s.account_balance, owner) + filled * price


def cost(filled: Term, price: Term, order: Any) -> Term:
    """CLR-06: what a buyer pays for its fill, before the wheeling fee."""
    return filled * price


def claimed_after(claimed: Term, filled: Term) -> Term:
    """CLR-08: the buyer's claimed demand after its fill."""
    return z3.If(filled > 0, claimed + filled, claimed)


def settle(s: Ledger, book: Book, out: Outcome) -> Ledger:
    """CLR-06 .. CLR-08: pay, refund, claim, close every order; expire the market's lots."""
    price = settlement_price(out)
    before = s
    orders = [(k, read_order(s, k)) for k in book.orders]
    for index, ((order_id, order), filled) in enumerate(zip(orders, out.fills, strict=True)):
        if index < len(book.asks):
            key = (order.lot_meter, order.slot)
            reserved, sold = get(s.lot_reserved, *key), get(s.lot_sold, *key)
            unsold = get(s.lot_unsold, *key)
            s = put(s, "lot_reserved", key, reserved - order.quantity)
            s = put(s, "lot_sold", key, sold + filled)
            s = put(s, "lot_unsold", key, unsold + order.quantity - filled)
            s = write_balance(s, order.owner, proceeds(s, before, order.owner, filled, price))
        else:
            fee = filled * order.fee
            refund = order.escrow - cost(filled, price, order) - fee
            s = write_balance(s, order.owner, get(s.account_balance, order.owner) + refund)
            collector = get(s.account_balance, s.fee_account)
            s = write_balance(s, s.fee_account, collector + fee)
            key3 = (order.owner, order.zone, order.slot)
            imported, claimed = get(s.demand_imported, *key3), get(s.demand_claimed, *key3)
            s = write_demand(s, key3, imported, claimed_after(claimed, filled))
        closed = replace(
            order,
            status=closing_status(filled, order.quantity),
            filled=filled,
            escrow=z3.IntVal(0),
        )
        s = write_order(s, order_id, closed)
    s = expire(s, book)
    market = (book.zone, book.slot)
    s = put(s, "market_status", market, z3.IntVal(MARKET_CLEARED))
    s = put(s, "market_price", market, out.price)
    return put(s, "market_volume", market, total(out.fills[: len(book.asks)]))


def expire(s: Ledger, book: Book) -> Ledger:
    """CLR-07: every lot of the market moves its unsold Wh to expired."""
    m, sl = z3.Ints("lot_meter lot_slot")
    in_market = z3.And(
        get(s.lot_exists, m, sl), sl == book.slot, get(s.lot_zone, m, sl) == book.zone
    )
    unsold, expired = get(s.lot_unsold, m, sl), get(s.lot_expired, m, sl)
    return replace(
        s,
        lot_expired=table([m, sl], z3.If(in_market, expired + unsold, expired)),
        lot_unsold=table([m, sl], z3.If(in_market, 0, unsold)),
    )


def step(s: Ledger, book: Book, out: Outcome) -> Transition:
    """Clearing is not a transaction: advance_clock runs it on an open market whose trading has
    closed by the time the clock is advancing to (CLR-01)."""
    checks = Checks()
    market = (book.zone, book.slot)
    checks.require(
        z3.And(
            get(s.market_exists, *market),
            get(s.market_status, *market) == MARKET_OPEN,
            trading_close(s, book.slot) <= s.clock_horizon,
        ),
        "CLR-01",
    )
    return checks.done(settle(s, book, out))


def touched(s: Ledger, book: Book) -> Points:
    points = Points(accounts=[s.fee_account], markets=[(book.zone, book.slot)], slots=[book.slot])
    for k in book.orders:
        o = read_order(s, k)
        points.orders.append(k)
        points.accounts.append(o.owner)
        points.readings.append((o.lot_meter, o.slot))
        points.demands.append((o.owner, o.zone, o.slot))
    return points
