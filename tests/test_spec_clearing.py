"""Clearing of (zone, slot) call auctions (CLR-01 .. CLR-08) on books whose volume, price, fills
and settlement are computed by hand in the comments, never by calling the code under test."""

from __future__ import annotations

from dataclasses import replace

from _rules_plugin import rules
from strategies import METER, START_BALANCE_MSEN, ZONE, entry, row, village

from conformance_tests.scenario import Ledger, key_of
from spec.clearing import advance_clock, advance_clock_settling, clear_due_markets
from spec.invariants import check_settlement, check_state
from spec.orders import ORDER_FEE_MSEN
from spec.state import Demand, MarketStatus, OrderStatus, trading_close
from spec.transactions import Kind
from spec.units import MeterId, NodeId, Slot, Timestamp, Wh, slot_end

pytest_plugins = ("_rules_plugin",)

FILLED, PARTLY, EXPIRED = OrderStatus.FILLED, OrderStatus.PARTLY_FILLED, OrderStatus.EXPIRED


def book(
    readings: list[tuple[str, int, int]], orders: list[tuple[str, str, int, int]]
) -> tuple[Ledger, int]:
    """The village with ``readings`` (trader, exported Wh, imported Wh) attested for the last slot
    and ``orders`` (side, trader, quantity Wh, limit price) placed in that order, so order ids are
    1, 2, ... in list order. Returns the ledger and the slot."""
    ledger = village()
    slot = ledger.slot - 1
    batch = [{0: METER[name], 1: slot, 2: out, 3: into, 4: 0} for name, out, into in readings]
    ledger.must("attestor", Kind.ATTEST, {0: batch})
    for side, name, quantity, price in orders:
        if side == "ask":
            ledger.must(name, Kind.PLACE_ASK, {0: METER[name], 1: slot, 2: quantity, 3: price})
        else:
            ledger.must(name, Kind.PLACE_BID, {0: ZONE[name], 1: slot, 2: quantity, 3: price})
    return ledger, slot


def craft_import(ledger: Ledger, name: str, slot: int, imported_wh: int) -> None:
    """Set a trader's attested import in zone 1 (a crafted state, for CLR-02's cap), in its
    demand and in the reading of its meter (INV-28: the two agree)."""
    key = (key_of(name), NodeId(1), Slot(slot))
    demand = ledger.state.demand.set(key, Demand(Wh(imported_wh), Wh(0)))
    reading_key = (MeterId(METER[name]), Slot(slot))
    reading = replace(ledger.state.readings[reading_key], imported_wh=Wh(imported_wh))
    readings = ledger.state.readings.set(reading_key, reading)
    ledger.state = replace(ledger.state, demand=demand, readings=readings)


def clear(ledger: Ledger, slot: int) -> None:
    """Clear the slot's markets as the clock advance to its close does, and keep the state as it
    is between clearing and pruning (the clock not yet moved), where the results can be read;
    the real advance prunes the slot, and its settlement must balance (INV-22, INV-23)."""
    close = trading_close(ledger.state.params, slot)
    after, settlement = advance_clock_settling(ledger.state, close)
    assert check_state(after) == [] and check_settlement(settlement) == []
    ledger.state = clear_due_markets(ledger.state, close)
    assert check_state(ledger.state) == []


def fills(ledger: Ledger) -> dict[int, tuple[int, OrderStatus]]:
    return {i: (o.filled_wh, o.status) for i, o in sorted(ledger.state.orders.items())}


def balance(ledger: Ledger, name: str) -> int:
    return ledger.state.accounts[key_of(name)].balance


@rules("CLR-03", "CLR-04", "CLR-06", "CLR-07", "CLR-08", "INV-09")
def test_midpoint_price_and_settlement() -> None:
    ledger, slot = book(
        [("alice", 1000, 0), ("carol", 1000, 0), ("bob", 0, 1500), ("dave", 0, 1500)],
        [
            ("ask", "alice", 1000, 1800),  # 1
            ("ask", "carol", 500, 2200),  # 2
            ("bid", "bob", 600, 2500),  # 3: escrow 600 x (2500 + 100) = 1 560 000
            ("bid", "dave", 400, 2101),  # 4: escrow 400 x (2101 + 100) =   880 400
        ],
    )
    clear(ledger, slot)
    # Bid Wh: 600 at 2500 then 400 at 2101; ask Wh: 1000 at 1800 then 500 at 2200.
    # Wh 1..1000 all pair (2500 or 2101 >= 1800); there is no 1001st bid Wh, so V = 1000.
    # lo = max(a_1000, b_1001) = a_1000 = 1800; hi = min(b_1000, a_1001) = min(2101, 2200) = 2101.
    # price = floor((1800 + 2101) / 2) = floor(1950.5) = 1950.
    assert row(ledger.state.markets, (1, slot)) == (MarketStatus.CLEARED, 1950, 1000)
    assert fills(ledger) == {1: (1000, FILLED), 2: (0, EXPIRED), 3: (600, FILLED), 4: (400, FILLED)}
    # alice: + 1000 x 1950 = 1 950 000. bob: pays 600 x (1950 + 100) = 1 230 000 of his escrow and
    # gets 330 000 back. dave: pays 400 x 2050 = 820 000. The operator collects 1000 x 100.
    # Each bid also paid the order fee when it was placed (BID-06), to the operator.
    assert balance(ledger, "alice") == START_BALANCE_MSEN + 1_950_000
    assert balance(ledger, "bob") == START_BALANCE_MSEN - 1_230_000 - ORDER_FEE_MSEN
    assert balance(ledger, "dave") == START_BALANCE_MSEN - 820_000 - ORDER_FEE_MSEN
    assert balance(ledger, "carol") == START_BALANCE_MSEN
    assert balance(ledger, "operator") == 100_000 + 2 * ORDER_FEE_MSEN
    assert all(o.escrow == 0 for o in ledger.state.orders.values())
    # lots: minted, unsold, reserved, sold, expired
    assert row(ledger.state.lots, (103, slot))[5:] == (1000, 0, 0, 1000, 0)
    assert row(ledger.state.lots, (105, slot))[5:] == (1000, 0, 0, 0, 1000)
    assert row(ledger.state.demand, (key_of("bob"), 1, slot)) == (1500, 600)
    assert row(ledger.state.demand, (key_of("dave"), 1, slot)) == (1500, 400)


@rules("CLR-03", "CLR-04")
def test_price_uses_both_next_wh() -> None:
    ledger, slot = book(
        [("alice", 500, 0), ("carol", 500, 0), ("bob", 0, 1000), ("dave", 0, 1000)],
        [
            ("ask", "alice", 500, 1000),
            ("ask", "carol", 500, 2500),
            ("bid", "bob", 500, 3000),
            ("bid", "dave", 500, 1200),
        ],
    )
    clear(ledger, slot)
    # Wh 1..500 pair 3000 with 1000; Wh 501 would pair 1200 with 2500: no. V = 500.
    # lo = max(a_500, b_501) = max(1000, 1200) = 1200; hi = min(b_500, a_501) = min(3000, 2500)
    # = 2500; price = (1200 + 2500) // 2 = 1850.
    assert row(ledger.state.markets, (1, slot)) == (MarketStatus.CLEARED, 1850, 500)
    assert fills(ledger) == {1: (500, FILLED), 2: (0, EXPIRED), 3: (500, FILLED), 4: (0, EXPIRED)}
    assert balance(ledger, "alice") == START_BALANCE_MSEN + 500 * 1850
    assert balance(ledger, "bob") == START_BALANCE_MSEN - 500 * (1850 + 100) - ORDER_FEE_MSEN
    assert balance(ledger, "dave") == START_BALANCE_MSEN - ORDER_FEE_MSEN  # all escrow back


@rules("CLR-02", "CLR-06", "CLR-08")
def test_bids_are_capped_by_unclaimed_demand_in_priority_order() -> None:
    # BID-04 backs every bid at placement, so the cap of CLR-02 cannot bind on a state the rules
    # reach; it is checked here on a crafted state whose demand is below the open bids.
    ledger, slot = book(
        [("alice", 3000, 0), ("bob", 0, 1600)],
        [
            ("ask", "alice", 3000, 2000),  # 1
            ("bid", "bob", 800, 2500),  # 2: escrow 800 x 2600 = 2 080 000
            ("bid", "bob", 800, 2600),  # 3: escrow 800 x 2700 = 2 160 000
        ],
    )
    craft_import(ledger, "bob", slot, 1000)
    clear(ledger, slot)
    # bob imported 1000 Wh: the better bid 3 takes 800 of it, bid 2 the remaining 200.
    # V = 1000; lo = a_1000 = 2000 (no 1001st bid Wh); hi = min(b_1000, a_1001) = min(2500, 2000).
    # price 2000. bob pays 1000 x (2000 + 100) = 2 100 000.
    assert row(ledger.state.markets, (1, slot)) == (MarketStatus.CLEARED, 2000, 1000)
    assert fills(ledger) == {1: (1000, PARTLY), 2: (200, PARTLY), 3: (800, FILLED)}
    assert balance(ledger, "bob") == START_BALANCE_MSEN - 2_100_000 - 2 * ORDER_FEE_MSEN
    assert balance(ledger, "alice") == START_BALANCE_MSEN + 1000 * 2000
    assert row(ledger.state.demand, (key_of("bob"), 1, slot)) == (1000, 1000)
    assert row(ledger.state.lots, (103, slot))[5:] == (3000, 0, 0, 1000, 2000)


@rules("CLR-02", "CLR-07")
def test_bid_without_demand_expires_with_full_refund() -> None:
    ledger, slot = book(
        [("alice", 100, 0), ("bob", 0, 100)],
        [("ask", "alice", 100, 1000), ("bid", "bob", 100, 5000)],
    )
    craft_import(ledger, "bob", slot, 0)  # a crafted state: BID-04 keeps it from happening
    clear(ledger, slot)
    # bob has no import: his bid is eligible for 0 Wh, nothing trades, there is no price.
    assert row(ledger.state.markets, (1, slot)) == (MarketStatus.CLEARED, None, 0)
    assert fills(ledger) == {1: (0, EXPIRED), 2: (0, EXPIRED)}
    assert balance(ledger, "bob") == START_BALANCE_MSEN - ORDER_FEE_MSEN
    assert row(ledger.state.lots, (103, slot))[5:] == (100, 0, 0, 0, 100)


@rules("CLR-05")
def test_bids_at_the_margin_share_pro_rata_remainder_by_order_id() -> None:
    ledger, slot = book(
        [("alice", 10, 0), ("bob", 0, 10), ("carol", 0, 10), ("dave", 0, 10)],
        [
            ("ask", "alice", 10, 1000),  # 1
            ("bid", "dave", 3, 1500),  # 2
            ("bid", "bob", 4, 1500),  # 3
            ("bid", "carol", 4, 1500),  # 4
        ],
    )
    clear(ledger, slot)
    # V = 10; lo = max(a_10, b_11) = max(1000, 1500) = 1500 = hi = b_10: price 1500.
    # All bids sit at the margin; R = 10, Q = 11: dave floor(30/11) = 2, bob floor(40/11) = 3,
    # carol 3; the 2 Wh left go to the lowest ids, 2 (dave) and 3 (bob): 3, 4, 3.
    assert row(ledger.state.markets, (1, slot)) == (MarketStatus.CLEARED, 1500, 10)
    assert fills(ledger) == {1: (10, FILLED), 2: (3, FILLED), 3: (4, FILLED), 4: (3, PARTLY)}


@rules("CLR-05", "CLR-04")
def test_asks_at_the_margin_share_pro_rata() -> None:
    ledger, slot = book(
        [("alice", 5, 0), ("carol", 5, 0), ("bob", 0, 7)],
        [("ask", "carol", 5, 1000), ("ask", "alice", 5, 1000), ("bid", "bob", 7, 1500)],
    )
    clear(ledger, slot)
    # V = 7; lo = a_7 = 1000 (no 8th bid Wh); hi = min(b_7, a_8) = min(1500, 1000): price 1000.
    # R = 7, Q = 10: floor(35/10) = 3 each; the 1 Wh left goes to id 1 (carol): carol 4, alice 3.
    assert row(ledger.state.markets, (1, slot)) == (MarketStatus.CLEARED, 1000, 7)
    assert fills(ledger) == {1: (4, PARTLY), 2: (3, PARTLY), 3: (7, FILLED)}
    assert row(ledger.state.lots, (105, slot))[5:] == (5, 0, 0, 4, 1)
    assert row(ledger.state.lots, (103, slot))[5:] == (5, 0, 0, 3, 2)


@rules("CLR-03")
def test_no_trade_when_best_bid_is_below_best_ask() -> None:
    ledger, slot = book(
        [("alice", 100, 0), ("bob", 0, 100)],
        [("ask", "alice", 100, 2001), ("bid", "bob", 100, 2000)],
    )
    clear(ledger, slot)
    assert row(ledger.state.markets, (1, slot)) == (MarketStatus.CLEARED, None, 0)
    assert fills(ledger) == {1: (0, EXPIRED), 2: (0, EXPIRED)}


@rules("CLR-01", "CLR-07")
def test_markets_clear_exactly_at_trading_close() -> None:
    ledger, slot = book(
        [("alice", 100, 0), ("erin", 50, 0), ("bob", 0, 100), ("frank", 0, 50)],
        [("ask", "alice", 100, 1000), ("bid", "bob", 100, 1000), ("ask", "erin", 50, 900)],
    )
    ledger.must("frank", Kind.PLACE_BID, {0: 10, 1: slot, 2: 50, 3: 900})
    # a later slot: once it has ended, bob's import in it backs a bid
    ledger.state = advance_clock(ledger.state, slot_end(slot + 1))
    ledger.must("attestor", Kind.ATTEST, {0: [{0: METER["bob"], 1: slot + 1, 2: 0, 3: 10, 4: 0}]})
    ledger.must("bob", Kind.PLACE_BID, {0: 1, 1: slot + 1, 2: 10, 3: 900})
    close = trading_close(ledger.state.params, slot)
    ledger.state = advance_clock(ledger.state, close - 1)
    assert all(m.status is MarketStatus.OPEN for m in ledger.state.markets.values())
    pruned = advance_clock(ledger.state, close)
    assert [k for k in pruned.markets] == [(1, slot + 1)] and pruned.time == close
    ledger.state = replace(clear_due_markets(ledger.state, close), time=Timestamp(close))
    # both zones of the slot clear in one advance; the next slot's market stays open
    assert row(ledger.state.markets, (1, slot)) == (MarketStatus.CLEARED, 1000, 100)
    assert row(ledger.state.markets, (10, slot)) == (MarketStatus.CLEARED, 900, 50)
    assert entry(ledger.state.markets, (1, slot + 1)).status is MarketStatus.OPEN
    assert entry(ledger.state.orders, 5).status is OrderStatus.OPEN
    assert ledger.state.time == close
    # zone 10's fee is 50 sen/kWh: frank pays 50 x (900 + 50); the operator collects
    # 100 x 100 (zone 1) + 50 x 50 (zone 10) = 12 500.
    # Three bids paid the order fee at placement.
    assert balance(ledger, "frank") == START_BALANCE_MSEN - 50 * 950 - ORDER_FEE_MSEN
    assert balance(ledger, "operator") == 12_500 + 3 * ORDER_FEE_MSEN


@rules("CLR-07")
def test_unoffered_energy_expires_too() -> None:
    ledger, slot = book([("alice", 700, 0)], [("ask", "alice", 200, 1000)])
    clear(ledger, slot)
    # 500 Wh never offered and 200 Wh offered but unsold: all 700 expire
    assert row(ledger.state.lots, (103, slot))[5:] == (700, 0, 0, 0, 700)
    assert fills(ledger) == {1: (0, EXPIRED)}
