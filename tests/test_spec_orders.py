"""Asks, bids and cancels (ORD, ASK, BID, CAN rules): reservations, escrow and their release."""

from __future__ import annotations

from dataclasses import replace

from _rules_plugin import rules
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    START_BALANCE_MSEN,
    WHEELING_FEE,
    accept_tx,
    entry,
    quantities_around,
    reject_tx,
    row,
    send,
    trading_edges,
    village,
)

from conformance_tests.scenario import Ledger, key_of
from spec.clearing import advance_clock, clear_due_markets
from spec.orders import MAX_OPEN_ORDERS_PER_MARKET, ORDER_FEE_MSEN
from spec.state import Demand, Encumbrance, OrderStatus, trading_close
from spec.transactions import Kind
from spec.units import COUNTER_MAX, TIME_MAX_S, NodeId, OrderId, Slot, Wh, slot_end

pytest_plugins = ("_rules_plugin",)


def ask(meter: int, slot: int, quantity_wh: int, min_price: int = 2000) -> dict[int, int]:
    return {0: meter, 1: slot, 2: quantity_wh, 3: min_price}


def bid(zone: int, slot: int, quantity_wh: int, max_price: int = 2500) -> dict[int, int]:
    return {0: zone, 1: slot, 2: quantity_wh, 3: max_price}


def with_lot(exported_wh: int = 1000, encumbrance: int = 0) -> tuple[Ledger, int]:
    """The village with alice's lot of ``exported_wh`` in the last slot, alice's import of 100 Wh
    and bob's of 5 000 Wh in that slot (zone 1); returns (ledger, slot). An encumbered lot comes
    from alice's wind meter 150, registered with that encumbrance."""
    ledger = village()
    slot = ledger.slot - 1
    meter = 103
    if encumbrance:
        meter = 150
        body = {0: meter, 1: key_of("alice"), 2: key_of("attestor"), 3: 3, 4: 1, 5: 10_000}
        body[6] = encumbrance
        ledger.must("operator", Kind.REGISTER_METER, body)
    reading = {0: meter, 1: slot, 2: exported_wh, 3: 100, 4: encumbrance}
    bobs = {0: 104, 1: slot, 2: 0, 3: 5000, 4: 0}
    ledger.must("attestor", Kind.ATTEST, {0: [reading, bobs]})
    return ledger, slot


def with_demand(ledger: Ledger, name: str, zone: int, slot: int, imported_wh: int) -> None:
    """Give ``name`` attested import in a market without a meter there (a crafted state)."""
    key = (key_of(name), NodeId(zone), Slot(slot))
    demand = ledger.state.demand.set(key, Demand(Wh(imported_wh), Wh(0)))
    ledger.state = replace(ledger.state, demand=demand)


@rules("ORD-01")
def test_zero_quantity_orders() -> None:
    ledger, slot = with_lot()
    send(ledger, "alice", Kind.PLACE_ASK, ask(103, slot, 0), "ORD-01")
    send(ledger, "bob", Kind.PLACE_BID, bid(1, slot, 0), "ORD-01")


@rules("ORD-02")
@given(offset=st.sampled_from([0, 1, 2]), side=st.sampled_from(["ask", "bid"]))
def test_trading_close_edge(offset: int, side: str) -> None:
    """Orders are taken up to the second before trading close; from the close on, refused."""
    ledger, slot = with_lot()
    now = trading_edges(slot)[offset]  # close - 1, close, close + 1
    ledger.state = advance_clock(ledger.state, now)
    if side == "ask":
        tx = ledger.make("alice", Kind.PLACE_ASK, ask(103, slot, 10))
    else:
        tx = ledger.make("bob", Kind.PLACE_BID, bid(1, slot, 10))
    if offset == 0:
        accept_tx(ledger.state, tx)
    else:
        # From the close on the slot is pruned (PRN-01): an ask's lot is gone (ASK-01, checked
        # before ORD-02); a bid names a zone, which remains, and meets ORD-02.
        reject_tx(ledger.state, tx, "ASK-01" if side == "ask" else "ORD-02")


@rules("ORD-03")
def test_no_ask_and_bid_of_one_account_in_one_market() -> None:
    ledger, slot = with_lot()
    ledger.must("alice", Kind.PLACE_ASK, ask(103, slot, 10))
    send(ledger, "alice", Kind.PLACE_BID, bid(1, slot, 10), "ORD-03")
    # another zone or another slot is another market
    with_demand(ledger, "alice", 10, slot, 10)
    with_demand(ledger, "alice", 1, slot - 1, 10)
    ledger.must("alice", Kind.PLACE_BID, bid(10, slot, 10))
    ledger.must("alice", Kind.PLACE_BID, bid(1, slot - 1, 10))


@rules("ORD-03")
def test_no_ask_after_own_bid_in_the_market() -> None:
    ledger, slot = with_lot()
    ledger.must("alice", Kind.PLACE_BID, bid(1, slot, 10))
    send(ledger, "alice", Kind.PLACE_ASK, ask(103, slot, 10), "ORD-03")
    ledger.must("alice", Kind.CANCEL, {0: 1})  # once the bid is cancelled the ask is fine
    ledger.must("alice", Kind.PLACE_ASK, ask(103, slot, 10))


@rules("ORD-04")
def test_order_ids_are_sequential_and_not_spent_by_rejections() -> None:
    ledger, slot = with_lot()
    assert ledger.state.next_order_id == 1
    ledger.must("alice", Kind.PLACE_ASK, ask(103, slot, 10))
    send(ledger, "bob", Kind.PLACE_BID, bid(1, slot, 0), "ORD-01")
    ledger.must("bob", Kind.PLACE_BID, bid(1, slot, 5))
    assert sorted(ledger.state.orders) == [1, 2]
    assert (entry(ledger.state.orders, 1).owner, entry(ledger.state.orders, 2).owner) == (
        key_of("alice"),
        key_of("bob"),
    )
    assert ledger.state.next_order_id == 3


@rules("ASK-01")
def test_ask_for_a_missing_lot() -> None:
    ledger, slot = with_lot()
    send(ledger, "alice", Kind.PLACE_ASK, ask(103, slot - 1, 10), "ASK-01")  # no reading then
    send(ledger, "bob", Kind.PLACE_ASK, ask(104, slot, 10), "ASK-01")  # bob exported nothing


@rules("ASK-02")
def test_only_the_lot_owner_offers_it() -> None:
    ledger, slot = with_lot()
    send(ledger, "bob", Kind.PLACE_ASK, ask(103, slot, 10), "ASK-02")


@rules("ASK-03")
def test_encumbered_energy_is_not_offered() -> None:
    for encumbrance in (1, 2, 3):
        ledger, slot = with_lot(encumbrance=encumbrance)
        assert entry(ledger.state.lots, (150, slot)).encumbrance == Encumbrance(encumbrance)
        send(ledger, "alice", Kind.PLACE_ASK, ask(150, slot, 10), "ASK-03")


@rules("ASK-04", "ASK-05")
@given(first=st.integers(0, 1000), data=st.data())
def test_ask_quantity_edge_against_unsold(first: int, data: st.DataObject) -> None:
    """With ``first`` Wh of a 1000 Wh lot reserved, 1000 - first more fit, one more does not."""
    ledger, slot = with_lot(1000)
    if first:
        ledger.must("alice", Kind.PLACE_ASK, ask(103, slot, first))
    available = 1000 - first
    quantity = data.draw(quantities_around(available), label="quantity")
    tx = ledger.make("alice", Kind.PLACE_ASK, ask(103, slot, quantity))
    if quantity == 0:
        reject_tx(ledger.state, tx, "ORD-01")
    elif quantity > available:
        reject_tx(ledger.state, tx, "ASK-04")
    else:
        after = accept_tx(ledger.state, tx)
        # minted, unsold, reserved, sold, expired
        lot = row(after.lots, (103, slot))[5:]
        assert lot == (1000, available - quantity, first + quantity, 0, 0)


@rules("ASK-05", "ORD-04")
def test_ask_reserves_and_records_the_order() -> None:
    ledger, slot = with_lot(1000)
    after = accept_tx(ledger.state, ledger.make("alice", Kind.PLACE_ASK, ask(103, slot, 300, 1900)))
    assert row(after.lots, (103, slot))[5:] == (1000, 700, 300, 0, 0)
    order = entry(after.orders, 1)
    assert (order.owner, order.zone, order.slot, order.lot_meter) == (key_of("alice"), 1, slot, 103)
    assert (order.quantity_wh, order.limit_price, order.fee, order.escrow) == (300, 1900, 0, 0)
    assert (order.status, order.filled_wh) == (OrderStatus.OPEN, 0)
    assert after.accounts[key_of("alice")].balance == START_BALANCE_MSEN  # asks escrow nothing


@rules("BID-01")
def test_bid_zone_must_be_a_substation() -> None:
    ledger, slot = with_lot()
    for zone in (2, 3, 99):  # transformer, service point, unknown
        send(ledger, "bob", Kind.PLACE_BID, bid(zone, slot, 10), "BID-01")


def gina_with(balance_msen: int) -> Ledger:
    """The village plus a trader gina holding exactly ``balance_msen``."""
    ledger = village()
    ledger.must("operator", Kind.REGISTER_ACCOUNT, {0: key_of("gina"), 1: 8})
    ledger.must("operator", Kind.DEPOSIT, {0: key_of("gina"), 1: balance_msen})
    return ledger


@rules("BID-02", "BID-03", "BID-05", "BID-06")
def test_escrow_and_order_fee_edge_against_balance() -> None:
    # zone 1's fee is 100 sen/kWh: 100 Wh at 2400 escrow 100 x (2400 + 100) = 250 000 milli-sen,
    # and the order fee is paid next to it.
    ledger = gina_with(250_000 + ORDER_FEE_MSEN)
    slot = ledger.slot - 1
    with_demand(ledger, "gina", 1, slot, 1000)
    # 101 Wh at 2500 escrow 262 600 > balance: BID-02 comes before the fee
    send(ledger, "gina", Kind.PLACE_BID, bid(1, slot, 101, 2500), "BID-02")
    send(ledger, "gina", Kind.PLACE_BID, bid(1, slot, 100, 2401), "BID-05")  # 250 100 + fee
    send(ledger, "gina", Kind.PLACE_BID, bid(1, slot, 101, 2400), "BID-05")  # 252 500 + fee
    fees_before = ledger.state.accounts[ledger.state.params.fee_account].balance
    after = accept_tx(ledger.state, ledger.make("gina", Kind.PLACE_BID, bid(1, slot, 100, 2400)))
    assert after.accounts[key_of("gina")].balance == 0
    assert after.accounts[after.params.fee_account].balance == fees_before + ORDER_FEE_MSEN
    assert entry(after.orders, 1).escrow == 250_000
    assert entry(after.orders, 1).fee == 100
    # the fee stays paid when the bid is cancelled
    ledger.state = after
    ledger.nonces["gina"] = ledger.nonces.get("gina", 0) + 1
    ledger.must("gina", Kind.CANCEL, {0: 1})
    assert ledger.state.accounts[key_of("gina")].balance == 250_000


@rules("BID-03")
@given(
    quantity=st.integers(1, 5000), price=st.integers(0, 1_000_000), zone=st.sampled_from([1, 10])
)
def test_bid_moves_escrow_from_balance(quantity: int, price: int, zone: int) -> None:
    ledger = village()
    slot = ledger.slot - 1
    with_demand(ledger, "erin", zone, slot, 5000)
    tx = ledger.make("erin", Kind.PLACE_BID, bid(zone, slot, quantity, price))
    escrow = quantity * (price + WHEELING_FEE[zone])
    if escrow > START_BALANCE_MSEN:
        reject_tx(ledger.state, tx, "BID-02")
        return
    if escrow + ORDER_FEE_MSEN > START_BALANCE_MSEN:
        reject_tx(ledger.state, tx, "BID-05")
        return
    after = accept_tx(ledger.state, tx)
    assert after.accounts[key_of("erin")].balance == START_BALANCE_MSEN - escrow - ORDER_FEE_MSEN
    assert entry(after.orders, 1).escrow == escrow


@rules("CAN-01")
def test_cancel_unknown_order() -> None:
    ledger, _ = with_lot()
    send(ledger, "alice", Kind.CANCEL, {0: 1}, "CAN-01")


@rules("CAN-02")
def test_only_the_owner_cancels() -> None:
    ledger, slot = with_lot()
    ledger.must("alice", Kind.PLACE_ASK, ask(103, slot, 10))
    send(ledger, "bob", Kind.CANCEL, {0: 1}, "CAN-02")


@rules("CAN-03")
def test_cancel_twice() -> None:
    ledger, slot = with_lot()
    ledger.must("alice", Kind.PLACE_ASK, ask(103, slot, 10))
    ledger.must("alice", Kind.CANCEL, {0: 1})
    send(ledger, "alice", Kind.CANCEL, {0: 1}, "CAN-03")


@rules("CAN-03", "CLR-07", "CAN-01", "PRN-02")
def test_cancel_after_clearing() -> None:
    ledger, slot = with_lot()
    ledger.must("alice", Kind.PLACE_ASK, ask(103, slot, 10))
    ledger.must("bob", Kind.PLACE_BID, bid(1, slot, 10))
    close = trading_close(ledger.state.params, slot)
    cleared = clear_due_markets(ledger.state, close)  # between clearing and pruning
    assert entry(cleared.orders, 1).status is OrderStatus.FILLED
    assert entry(cleared.orders, 2).status is OrderStatus.FILLED
    ledger.state = cleared
    send(ledger, "alice", Kind.CANCEL, {0: 1}, "CAN-03")
    send(ledger, "bob", Kind.CANCEL, {0: 2}, "CAN-03")
    # At the close itself the orders leave the state with their slot (PRN-02).
    ledger.state = advance_clock(cleared, close)
    send(ledger, "alice", Kind.CANCEL, {0: 1}, "CAN-01")
    send(ledger, "bob", Kind.CANCEL, {0: 2}, "CAN-01")


@rules("CAN-04")
def test_cancel_releases_reservation_and_escrow() -> None:
    ledger, slot = with_lot(1000)
    ledger.must("alice", Kind.PLACE_ASK, ask(103, slot, 400))
    ledger.must("alice", Kind.PLACE_ASK, ask(103, slot, 100))
    ledger.must("bob", Kind.PLACE_BID, bid(1, slot, 50, 2000))
    assert row(ledger.state.lots, (103, slot))[5:] == (1000, 500, 500, 0, 0)
    ledger.must("alice", Kind.CANCEL, {0: 1})
    # only ask 1's 400 Wh come back; ask 2 still holds its 100
    assert row(ledger.state.lots, (103, slot))[5:] == (1000, 900, 100, 0, 0)
    assert entry(ledger.state.orders, 1).status is OrderStatus.CANCELLED
    # bob's escrow: 50 x (2000 + 100) = 105 000 milli-sen, all returned; the order fee is not
    paid = START_BALANCE_MSEN - ORDER_FEE_MSEN
    assert ledger.state.accounts[key_of("bob")].balance == paid - 105_000
    ledger.must("bob", Kind.CANCEL, {0: 3})
    assert ledger.state.accounts[key_of("bob")].balance == paid
    assert entry(ledger.state.orders, 3).escrow == 0


@rules("ORD-05", "ORD-04")
def test_order_id_space_edge() -> None:
    """The last id below COUNTER_MAX is handed out; then the ledger refuses new orders."""
    ledger, slot = with_lot()
    near_end = replace(ledger.state, next_order_id=OrderId(COUNTER_MAX - 1))
    after = accept_tx(near_end, ledger.make("alice", Kind.PLACE_ASK, ask(103, slot, 10)))
    assert entry(after.orders, COUNTER_MAX - 1).owner == key_of("alice")
    assert after.next_order_id == COUNTER_MAX
    again = ledger.make("alice", Kind.PLACE_ASK, ask(103, slot, 10), nonce=1)
    reject_tx(after, again, "ORD-05")
    reject_tx(after, ledger.make("bob", Kind.PLACE_BID, bid(1, slot, 10)), "ORD-05")


@rules("ORD-06")
@given(offset=st.sampled_from([-1, 0, 1]), side=st.sampled_from(["ask", "bid"]))
def test_no_order_before_its_slot_has_ended(offset: int, side: str) -> None:
    """An order for a slot is taken from slot_end(slot) on, not a second earlier."""
    ledger = village()
    slot = ledger.slot + 1
    ledger.state = advance_clock(ledger.state, slot_end(slot) - 1)
    ledger.must("attestor", Kind.ATTEST, {0: [{0: 103, 1: slot - 1, 2: 10, 3: 0, 4: 0}]})
    with_demand(ledger, "bob", 1, slot, 100)
    ledger.state = advance_clock(ledger.state, slot_end(slot) + offset)
    if side == "ask":
        # a lot exists only for an ended slot, so the ask names the lot of the slot before
        tx = ledger.make("alice", Kind.PLACE_ASK, ask(103, slot - 1, 10))
        accept_tx(ledger.state, tx)
        return
    tx = ledger.make("bob", Kind.PLACE_BID, bid(1, slot, 10))
    if offset < 0:
        reject_tx(ledger.state, tx, "ORD-06")
    else:
        accept_tx(ledger.state, tx)


@rules("ORD-06")
def test_no_order_for_a_market_that_closes_past_time_max() -> None:
    """A slot whose trading close lies past TIME_MAX_S could never clear: no bid for it."""
    ledger = village()
    close_s = ledger.state.params.trading_close_s
    # the last slot whose market still closes by TIME_MAX_S, and the one after it
    last = (TIME_MAX_S - close_s) // 1800 - 1
    ledger.state = advance_clock(ledger.state, slot_end(last + 1))
    for slot, rule in ((last, None), (last + 1, "ORD-06")):
        with_demand(ledger, "bob", 1, slot, 100)
        tx = ledger.make("bob", Kind.PLACE_BID, bid(1, slot, 10))
        if rule is None:
            accept_tx(ledger.state, tx)
        else:
            reject_tx(ledger.state, tx, rule)


@rules("ORD-07")
@given(side=st.sampled_from(["ask", "bid"]))
def test_open_orders_per_account_and_market_are_capped(side: str) -> None:
    ledger, slot = with_lot(1000)
    for _ in range(MAX_OPEN_ORDERS_PER_MARKET):
        if side == "ask":
            ledger.must("alice", Kind.PLACE_ASK, ask(103, slot, 1))
        else:
            ledger.must("bob", Kind.PLACE_BID, bid(1, slot, 1))
    if side == "ask":
        send(ledger, "alice", Kind.PLACE_ASK, ask(103, slot, 1), "ORD-07")
    else:
        send(ledger, "bob", Kind.PLACE_BID, bid(1, slot, 1), "ORD-07")
    # a cancel frees a place
    ledger.must("alice" if side == "ask" else "bob", Kind.CANCEL, {0: 1})
    if side == "ask":
        ledger.must("alice", Kind.PLACE_ASK, ask(103, slot, 1))
    else:
        ledger.must("bob", Kind.PLACE_BID, bid(1, slot, 1))


@rules("BID-04")
@given(first=st.integers(0, 5000), data=st.data())
def test_bid_quantity_edge_against_unbacked_import(first: int, data: st.DataObject) -> None:
    """Bob imported 5 000 Wh; with ``first`` Wh already bid for, 5 000 - first more fit."""
    ledger, slot = with_lot()
    if first:
        ledger.must("bob", Kind.PLACE_BID, bid(1, slot, first, 0))
    available = 5000 - first
    quantity = data.draw(quantities_around(available), label="quantity")
    tx = ledger.make("bob", Kind.PLACE_BID, bid(1, slot, quantity, 0))
    if quantity == 0:
        reject_tx(ledger.state, tx, "ORD-01")
    elif quantity > available:
        reject_tx(ledger.state, tx, "BID-04")
    else:
        accept_tx(ledger.state, tx)


@rules("BID-04")
def test_a_trader_without_import_cannot_bid() -> None:
    """The spoofing bid: no import, a large bid at a high price, is refused at placement."""
    ledger, slot = with_lot()
    send(ledger, "carol", Kind.PLACE_BID, bid(1, slot, 5000, 9000), "BID-04")
