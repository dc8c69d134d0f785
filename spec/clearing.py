"""Clearing: one uniform-price call auction per (zone, slot) market (CLR-01 .. CLR-08).

When the ledger's clock reaches a slot's trading close, each open market of that slot is cleared,
in ascending (slot, zone) order. Clearing is not a transaction: nobody can delay it, hurry it or
choose when it happens; every block applies it at its timestamp before its transactions (BLK-12).

The auction, step by step (every sort key ends in the unique order id, so the result is the same
bit for bit everywhere):

1. **Eligible quantities (CLR-02).** Bids are ranked by price descending, then order id ascending.
   Walking that ranking, each bid's eligible quantity is its quantity capped by what is left of its
   buyer's unclaimed demand (attested import minus claims) in the market; what a bid takes is no
   longer available to the buyer's later bids. Asks are eligible for their whole quantity and
   ranked by price ascending, then order id ascending.
2. **Volume (CLR-03).** Lay the eligible Wh of the ranked bids end to end (b_1, b_2, ... are the
   limits of the first, second, ... Wh) and likewise the asks (a_1, a_2, ...). The volume V is the
   largest k with b_k >= a_k (0 if there is no such k). No other choice of fills at one price trades
   more.
3. **Price (CLR-04).** lo = max(a_V, b_(V+1)) and hi = min(b_V, a_(V+1)), leaving out a term whose
   Wh does not exist. Then lo <= hi, and the clearing price is floor((lo + hi) / 2): the midpoint of
   the prices at which exactly the V best Wh of each side want to trade. With V = 0 there is no
   price.
4. **Rationing (CLR-05).** On each side let L be the limit of the V-th Wh (the marginal limit).
   Orders strictly better than L fill fully. The R Wh left of V are shared by the orders whose limit
   is L, in proportion to their eligible quantities Q_i out of their total Q: each gets
   floor(R x Q_i / Q), and the remaining Wh go one each to those orders in ascending order id.
5. **Settlement (CLR-06, CLR-08).** Every seller receives fill x price; every buyer pays
   fill x (price + fee) from the bid's escrow, the fee going to the fee account; the rest of the
   escrow returns to the buyer. Buyers' fills are added to their claimed demand.
6. **Expiry (CLR-07).** Asks give their unfilled Wh back to their lots, then every lot of the
   market moves all its unsold Wh to expired (it went to the utility under the feed-in contract).
   Orders close as FILLED, PARTLY_FILLED or EXPIRED.

Worked example (zone fee 100 sen/kWh):

>>> asks = [AuctionOrder(1, 2000, 300), AuctionOrder(2, 2400, 500)]
>>> bids = [AuctionOrder(3, 2600, 400), AuctionOrder(4, 2400, 600)]
>>> result = call_auction(asks, bids)
>>> result.volume_wh, result.price
(800, 2400)

The asks offer 800 Wh in all, so V = 800 (b_800 = 2400 >= a_800 = 2400, and there is no 801st
ask Wh). lo = max(a_800, b_801) = max(2400, 2400) = 2400, hi = min(b_800, a_801) = b_800 = 2400
(there is no a_801). Bid 3 (2600 > 2400) fills 400 fully; bid 4 is the only
bid at the marginal limit and gets the remaining 400. Both asks fill fully.

>>> sorted(result.fills.items())
[(1, 300), (2, 500), (3, 400), (4, 400)]

Pro-rata example: one ask of 10 Wh at 1000 and three bids at 1500 for 4, 4 and 3 Wh (ids 7, 8, 9):
V = 10. Demand exceeds supply at every price up to 1500, so lo = max(a_10, b_11) =
max(1000, 1500) = 1500 and hi = b_10 = 1500 (there is no a_11): the price is 1500. All bids are at
the marginal limit, R = 10, Q = 11:
shares floor(40/11) = 3, 3, floor(30/11) = 2, total 8; the 2 Wh left go to ids 7 and 8.

>>> r = call_auction([AuctionOrder(1, 1000, 10)],
...                  [AuctionOrder(7, 1500, 4), AuctionOrder(8, 1500, 4), AuctionOrder(9, 1500, 3)])
>>> r.price, [r.fills[i] for i in (7, 8, 9)]
(1500, [4, 4, 2])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from spec import indexes
from spec.errors import require
from spec.pruning import prune
from spec.rules import implements
from spec.settlement import SettlementRecord
from spec.state import (
    Demand,
    Lot,
    Market,
    MarketStatus,
    Order,
    OrderStatus,
    Side,
    State,
    trading_close,
    with_account,
)
from spec.units import (
    TIME_MAX_S,
    MeterId,
    MilliSen,
    NodeId,
    OrderId,
    PriceSenPerKwh,
    Slot,
    Timestamp,
    Wh,
)


@dataclass(frozen=True)
class AuctionOrder:
    """An order as the auction sees it: id, limit price and eligible quantity."""

    order_id: int
    limit: int
    quantity_wh: int


@dataclass(frozen=True)
class AuctionResult:
    """What the auction decided."""

    volume_wh: int
    price: int | None
    fills: dict[int, int]
    """Filled Wh by order id, for every order given (0 for unfilled ones)."""


@implements("CLR-02")
def ranked_asks(asks: Sequence[AuctionOrder]) -> list[AuctionOrder]:
    """Asks best first: lowest limit, then lowest order id."""
    return sorted(asks, key=lambda o: (o.limit, o.order_id))


@implements("CLR-02")
def ranked_bids(bids: Sequence[AuctionOrder]) -> list[AuctionOrder]:
    """Bids best first: highest limit, then lowest order id."""
    return sorted(bids, key=lambda o: (-o.limit, o.order_id))


@implements("CLR-03", "CLR-04", "CLR-05")
def call_auction(asks: Sequence[AuctionOrder], bids: Sequence[AuctionOrder]) -> AuctionResult:
    """CLR-03 .. CLR-05: volume, price and fills of one market's eligible orders."""
    sell = [o for o in ranked_asks(asks) if o.quantity_wh > 0]
    buy = [o for o in ranked_bids(bids) if o.quantity_wh > 0]
    fills = {o.order_id: 0 for o in (*asks, *bids)}
    # CLR-03: walk both rankings Wh by Wh (in chunks) while the next bid Wh pays the next ask Wh.
    volume = 0
    i = j = 0
    left_bid = buy[0].quantity_wh if buy else 0
    left_ask = sell[0].quantity_wh if sell else 0
    marginal_bid = marginal_ask = 0
    while i < len(buy) and j < len(sell) and buy[i].limit >= sell[j].limit:
        step = min(left_bid, left_ask)
        volume += step
        marginal_bid, marginal_ask = buy[i].limit, sell[j].limit
        left_bid -= step
        left_ask -= step
        if left_bid == 0:
            i += 1
            left_bid = buy[i].quantity_wh if i < len(buy) else 0
        if left_ask == 0:
            j += 1
            left_ask = sell[j].quantity_wh if j < len(sell) else 0
    if volume == 0:
        return AuctionResult(0, None, fills)
    # CLR-04: after the walk, buy[i] (if any) holds the (V+1)-th bid Wh, sell[j] the ask's.
    lo = marginal_ask if i == len(buy) else max(marginal_ask, buy[i].limit)
    hi = marginal_bid if j == len(sell) else min(marginal_bid, sell[j].limit)
    price = (lo + hi) // 2
    # CLR-05: fill each side.
    fills.update(_ration(buy, volume, marginal_bid))
    fills.update(_ration(sell, volume, marginal_ask))
    return AuctionResult(volume, price, fills)


def _ration(ranked: list[AuctionOrder], volume: int, marginal: int) -> dict[int, int]:
    """Fill orders ranked before the marginal limit fully; share the rest pro rata at the margin."""
    first_at_margin = next(k for k, o in enumerate(ranked) if o.limit == marginal)
    fills = {o.order_id: o.quantity_wh for o in ranked[:first_at_margin]}
    at_margin = sorted((o for o in ranked if o.limit == marginal), key=lambda o: o.order_id)
    rest = volume - sum(fills.values())
    total = sum(o.quantity_wh for o in at_margin)
    shares = {o.order_id: rest * o.quantity_wh // total for o in at_margin}
    leftover = rest - sum(shares.values())
    for o in at_margin[:leftover]:
        shares[o.order_id] += 1
    fills.update(shares)
    return fills


@implements("CLR-02", "CLR-08")
def eligible_bids(state: State, bids: Sequence[tuple[OrderId, Order]]) -> list[AuctionOrder]:
    """CLR-02: cap each bid by its buyer's unclaimed demand, best-ranked bids first."""
    left: dict[bytes, int] = {}
    eligible = []
    ranked = sorted(bids, key=lambda item: (-item[1].limit_price, item[0]))
    for order_id, order in ranked:
        if order.owner not in left:
            demand = state.demand.get((order.owner, order.zone, order.slot), Demand(Wh(0), Wh(0)))
            left[order.owner] = demand.imported_wh - demand.claimed_wh
        quantity = min(order.quantity_wh, left[order.owner])
        left[order.owner] -= quantity
        eligible.append(AuctionOrder(order_id, order.limit_price, quantity))
    return eligible


@implements("CLR-06", "CLR-07", "CLR-08")
def clear_market(state: State, zone: NodeId, slot: Slot) -> State:
    """Run the auction of one open market and settle it (CLR-02 .. CLR-08)."""
    open_orders = sorted(indexes.open_orders(state, zone, slot).items())
    asks = [(k, o) for k, o in open_orders if o.side is Side.ASK]
    bids = [(k, o) for k, o in open_orders if o.side is Side.BID]
    result = call_auction(
        [AuctionOrder(k, o.limit_price, o.quantity_wh) for k, o in asks],
        eligible_bids(state, bids),
    )
    price = result.price or 0
    # What clearing writes, collected here and applied to the tables at the end.
    orders: dict[OrderId, Order] = {}
    lots: dict[tuple[MeterId, Slot], Lot] = {}
    demand: dict[tuple[bytes, NodeId, Slot], Demand] = {}
    for order_id, order in open_orders:
        filled = result.fills[order_id]
        if order.side is Side.ASK:
            assert order.lot_meter is not None
            lot_key = (order.lot_meter, order.slot)
            lot = lots.get(lot_key) or state.lots[lot_key]
            lots[lot_key] = replace(
                lot,
                reserved_wh=Wh(lot.reserved_wh - order.quantity_wh),
                sold_wh=Wh(lot.sold_wh + filled),
                unsold_wh=Wh(lot.unsold_wh + order.quantity_wh - filled),
            )
            seller = state.accounts[order.owner]
            proceeds = filled * price
            state = with_account(state, order.owner, balance=MilliSen(seller.balance + proceeds))
        else:
            cost = filled * price
            fee = filled * order.fee
            refund = order.escrow - cost - fee
            buyer = state.accounts[order.owner]
            state = with_account(state, order.owner, balance=MilliSen(buyer.balance + refund))
            collector = state.accounts[state.params.fee_account]
            state = with_account(
                state, state.params.fee_account, balance=MilliSen(collector.balance + fee)
            )
            if filled:
                key = (order.owner, order.zone, order.slot)
                claimed = demand.get(key) or state.demand[key]
                demand[key] = replace(claimed, claimed_wh=Wh(claimed.claimed_wh + filled))
        orders[order_id] = replace(
            order,
            status=_closing_status(filled, order.quantity_wh),
            filled_wh=Wh(filled),
            escrow=MilliSen(0),
        )
    for lot_key in sorted(indexes.market_lots(state, zone, slot)):
        lot = lots.get(lot_key) or state.lots[lot_key]
        lots[lot_key] = replace(lot, expired_wh=Wh(lot.expired_wh + lot.unsold_wh), unsold_wh=Wh(0))
    market = Market(
        MarketStatus.CLEARED,
        None if result.price is None else PriceSenPerKwh(result.price),
        Wh(result.volume_wh),
    )
    return replace(
        state,
        orders=state.orders.set_many(orders),
        lots=state.lots.set_many(lots),
        demand=state.demand.set_many(demand),
        markets=state.markets.set((zone, slot), market),
    )


def _closing_status(filled: int, quantity: int) -> OrderStatus:
    if filled == quantity:
        return OrderStatus.FILLED
    return OrderStatus.PARTLY_FILLED if filled else OrderStatus.EXPIRED


def advance_clock(state: State, now: int) -> State:
    """Move the ledger's clock to ``now``, clear every market whose trading has closed and prune
    every slot that is then settled (``advance_clock_settling`` without its settlement)."""
    return advance_clock_settling(state, now)[0]


@implements("PRN-01")
def advance_clock_settling(state: State, now: int) -> tuple[State, tuple[SettlementRecord, ...]]:
    """Move the ledger's clock to ``now`` and clear every market whose trading has closed
    (CLR-01), then prune every slot whose trading has closed (PRN-01); with the settlement
    records of the pruned slots (SET-01)."""
    require(now >= state.time, "BLK-04", f"{now} < {state.time}")
    # A clock value beyond its unit is a typed rejection, never an overflow (ENC-15).
    require(now <= TIME_MAX_S, "ENC-15", f"{now} > TIME_MAX_S")
    state, settlement = prune(clear_due_markets(state, now), now)
    return replace(state, time=Timestamp(now)), settlement


@implements("CLR-01")
def clear_due_markets(state: State, now: int) -> State:
    """CLR-01: clear every open market whose trading close is at or before ``now``, in ascending
    (slot, zone) order (the first half of a clock advance; the clock itself is not moved)."""
    due = sorted(
        (slot, zone)
        for zone, slot in indexes.open_markets(state)
        if trading_close(state.params, slot) <= now
    )
    for slot, zone in due:
        state = clear_market(state, zone, slot)
    return state
