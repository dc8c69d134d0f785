"""Orders: asks that reserve energy of a lot, bids that escrow money (ASK, BID and CAN rules).

An ask offers part of one lot in the lot's (zone, slot) market at a minimum price; the offered Wh
move from the lot's unsold to its reserved energy, so no Wh can be offered twice (INV-03). A bid
asks for energy in one (zone, slot) at a maximum price and escrows what it could pay at most:
quantity x (max price + the zone's wheeling fee), so that clearing can never overdraw the buyer
(INV-10). Both are taken until the market's trading closes, and cancelled only while open; a
cancel releases the reservation or the escrow. An account never holds both an ask and a bid in one
market, which excludes self-trades from every clearing (ORD-03).

Orders cost something and mean something (rule book 1.0). An order names a slot that has ended and
whose market can still clear (ORD-06); an account holds at most MAX_OPEN_ORDERS_PER_MARKET open
orders in one market (ORD-07); a bid is backed at placement by the buyer's attested import in the
market that no clearing has claimed and no other open bid of the buyer holds (BID-04); and every
bid pays ORDER_FEE_MSEN to the fee account when it is placed, whatever becomes of it (BID-05,
BID-06). An ask needs no fee: it is backed by attested export, which it reserves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from spec import wire
from spec.errors import require
from spec.indexes import open_orders
from spec.rules import implements
from spec.state import (
    AccountId,
    Demand,
    Encumbrance,
    Market,
    MarketStatus,
    NodeKind,
    Order,
    OrderStatus,
    Side,
    State,
    trading_close,
    with_account,
)
from spec.units import (
    COUNTER_MAX,
    TIME_MAX_S,
    MeterId,
    MilliSen,
    NodeId,
    OrderId,
    PriceSenPerKwh,
    Slot,
    Wh,
    slot_end,
)

MAX_OPEN_ORDERS_PER_MARKET: Final = 8
"""Most open orders one account may hold in one (zone, slot) market (ORD-07)."""
ORDER_FEE_MSEN: Final = 10_000
"""What placing a bid costs its author (10 sen), paid to the fee account and never refunded
(BID-06): 100 000 bids cost 10 000 yen."""


@dataclass(frozen=True)
class PlaceAsk:
    """Body of a PLACE_ASK transaction: offer part of lot (meter, slot)."""

    meter: MeterId
    slot: Slot
    quantity_wh: Wh
    min_price: PriceSenPerKwh


@dataclass(frozen=True)
class PlaceBid:
    """Body of a PLACE_BID transaction."""

    zone: NodeId
    slot: Slot
    quantity_wh: Wh
    max_price: PriceSenPerKwh


@dataclass(frozen=True)
class Cancel:
    """Body of a CANCEL transaction."""

    order: OrderId


PLACE_ASK_FIELDS: Final = (
    wire.Field(0, "meter", wire.uint(MeterId)),
    wire.Field(1, "slot", wire.uint(Slot)),
    wire.Field(2, "quantity_wh", wire.uint(Wh)),
    wire.Field(3, "min_price", wire.uint(PriceSenPerKwh)),
)
PLACE_BID_FIELDS: Final = (
    wire.Field(0, "zone", wire.uint(NodeId)),
    wire.Field(1, "slot", wire.uint(Slot)),
    wire.Field(2, "quantity_wh", wire.uint(Wh)),
    wire.Field(3, "max_price", wire.uint(PriceSenPerKwh)),
)
CANCEL_FIELDS: Final = (wire.Field(0, "order", wire.uint(OrderId)),)


def has_open_order(state: State, owner: AccountId, zone: int, slot: int, side: Side) -> bool:
    """Whether ``owner`` has an open order on ``side`` of the (zone, slot) market."""
    return any(o.owner == owner and o.side is side for o in open_orders(state, zone, slot).values())


def open_orders_in_market(state: State, owner: AccountId, zone: int, slot: int) -> int:
    """How many open orders ``owner`` holds in the (zone, slot) market (ORD-07)."""
    return sum(1 for o in open_orders(state, zone, slot).values() if o.owner == owner)


def open_bid_wh(state: State, owner: AccountId, zone: int, slot: int) -> int:
    """The Wh of ``owner``'s open bids in the (zone, slot) market (BID-04)."""
    return sum(
        o.quantity_wh
        for o in open_orders(state, zone, slot).values()
        if o.side is Side.BID and o.owner == owner
    )


def _check_horizon(state: State, slot: int) -> None:
    """ORD-06: the slot has ended (its readings can exist) and its market closes by TIME_MAX_S."""
    require(
        slot_end(slot) <= state.time and trading_close(state.params, slot) <= TIME_MAX_S,
        "ORD-06",
        f"slot {slot}",
    )


@implements("ORD-04", "MKT-01")
def _add_order(state: State, order: Order) -> State:
    """Store a new order under the next id and make sure its market exists."""
    require(state.next_order_id < COUNTER_MAX, "ORD-05")
    market_key = (order.zone, order.slot)
    markets = state.markets
    if market_key not in markets:
        markets = markets.set(market_key, Market(MarketStatus.OPEN, None, Wh(0)))
    return replace(
        state,
        orders=state.orders.set(state.next_order_id, order),
        next_order_id=OrderId(state.next_order_id + 1),
        markets=markets,
    )


@implements("ASK-05")
def place_ask(state: State, sender: AccountId, body: PlaceAsk) -> State:
    """Reserve ``quantity_wh`` of the sender's lot in the lot's market (ASK-05)."""
    key = (body.meter, body.slot)
    lot = state.lots.get(key)
    require(lot is not None, "ASK-01", f"lot {key}")
    assert lot is not None
    require(lot.owner == sender, "ASK-02")
    require(lot.encumbrance is Encumbrance.NONE, "ASK-03", lot.encumbrance.name)
    require(body.quantity_wh >= 1, "ORD-01")
    require(state.time < trading_close(state.params, body.slot), "ORD-02")
    _check_horizon(state, body.slot)
    require(body.quantity_wh <= lot.unsold_wh, "ASK-04", f"{lot.unsold_wh} Wh unsold")
    require(not has_open_order(state, sender, lot.zone, body.slot, Side.BID), "ORD-03")
    require(
        open_orders_in_market(state, sender, lot.zone, body.slot) < MAX_OPEN_ORDERS_PER_MARKET,
        "ORD-07",
    )
    lot = replace(
        lot,
        unsold_wh=Wh(lot.unsold_wh - body.quantity_wh),
        reserved_wh=Wh(lot.reserved_wh + body.quantity_wh),
    )
    order = Order(
        side=Side.ASK,
        owner=sender,
        zone=lot.zone,
        slot=body.slot,
        lot_meter=body.meter,
        quantity_wh=body.quantity_wh,
        limit_price=body.min_price,
        fee=PriceSenPerKwh(0),
        escrow=MilliSen(0),
        status=OrderStatus.OPEN,
        filled_wh=Wh(0),
    )
    return _add_order(replace(state, lots=state.lots.set(key, lot)), order)


@implements("BID-03", "BID-06")
def place_bid(state: State, sender: AccountId, body: PlaceBid) -> State:
    """Escrow quantity x (max price + wheeling fee) of the sender's balance (BID-03)."""
    zone = state.nodes.get(body.zone)
    require(zone is not None and zone.kind is NodeKind.SUBSTATION, "BID-01", f"zone {body.zone}")
    assert zone is not None
    require(body.quantity_wh >= 1, "ORD-01")
    require(state.time < trading_close(state.params, body.slot), "ORD-02")
    _check_horizon(state, body.slot)
    require(not has_open_order(state, sender, body.zone, body.slot, Side.ASK), "ORD-03")
    require(
        open_orders_in_market(state, sender, body.zone, body.slot) < MAX_OPEN_ORDERS_PER_MARKET,
        "ORD-07",
    )
    demand = state.demand.get((sender, body.zone, body.slot), Demand(Wh(0), Wh(0)))
    unbacked = (
        demand.imported_wh - demand.claimed_wh - open_bid_wh(state, sender, body.zone, body.slot)
    )
    require(body.quantity_wh <= unbacked, "BID-04", f"{unbacked} Wh of import not yet bid for")
    # Wh x (sen/kWh) is milli-sen; with the unit bounds this product is below MONEY_MAX_MSEN.
    escrow = body.quantity_wh * (body.max_price + zone.wheeling_fee)
    balance = state.accounts[sender].balance
    require(escrow <= balance, "BID-02", f"escrow {escrow}, balance {balance}")
    require(escrow + ORDER_FEE_MSEN <= balance, "BID-05", f"balance {balance}")
    state = with_account(state, sender, balance=MilliSen(balance - escrow - ORDER_FEE_MSEN))
    fee_account = state.params.fee_account
    collector = state.accounts[fee_account]
    state = with_account(
        state, fee_account, balance=MilliSen(collector.balance + ORDER_FEE_MSEN)
    )  # BID-06
    order = Order(
        side=Side.BID,
        owner=sender,
        zone=body.zone,
        slot=body.slot,
        lot_meter=None,
        quantity_wh=body.quantity_wh,
        limit_price=body.max_price,
        fee=zone.wheeling_fee,
        escrow=MilliSen(escrow),
        status=OrderStatus.OPEN,
        filled_wh=Wh(0),
    )
    return _add_order(state, order)


@implements("CAN-04")
def cancel(state: State, sender: AccountId, body: Cancel) -> State:
    """Close an open order and release what it held (CAN-04)."""
    order = state.orders.get(body.order)
    require(order is not None, "CAN-01", f"order {body.order}")
    assert order is not None
    require(order.owner == sender, "CAN-02")
    require(order.status is OrderStatus.OPEN, "CAN-03", order.status.name)
    if order.side is Side.ASK:
        assert order.lot_meter is not None
        key = (order.lot_meter, order.slot)
        lot = state.lots[key]
        lot = replace(
            lot,
            unsold_wh=Wh(lot.unsold_wh + order.quantity_wh),
            reserved_wh=Wh(lot.reserved_wh - order.quantity_wh),
        )
        state = replace(state, lots=state.lots.set(key, lot))
    else:
        balance = state.accounts[sender].balance
        state = with_account(state, sender, balance=MilliSen(balance + order.escrow))
    closed = replace(order, status=OrderStatus.CANCELLED, escrow=MilliSen(0))
    return replace(state, orders=state.orders.set(body.order, closed))
