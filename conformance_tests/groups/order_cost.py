"""Vectors of the rules that make orders cost something and mean something (rule book 1.0).

ORD-06 (slot horizon), ORD-07 (open orders per account and market), BID-04 (bids backed by
unclaimed import), BID-05 and BID-06 (the order fee), each at its boundary with a twin, and the
check order among them and the older order rules (chapter 10 of the rule book): an input that
breaks two rules is rejected by the one checked first.

The pre-states are the generator's ``market()`` fixture: one ended slot ``s`` with lots of alice
(3 000 Wh), dave (1 000 Wh) and erin (2 000 Wh) and the import of bob (2 500 Wh), carol (1 000 Wh),
dave (800 Wh) in zone 1 and frank (1 500 Wh) in zone 10.
"""

from __future__ import annotations

from dataclasses import replace

from conformance_tests.scenario import Ledger, key_of
from conformance_tests.suite import Suite, copy, market, must, tx
from spec.clearing import advance_clock
from spec.orders import MAX_OPEN_ORDERS_PER_MARKET, ORDER_FEE_MSEN
from spec.state import Demand
from spec.transactions import Kind
from spec.units import TIME_MAX_S, NodeId, Slot, Timestamp, Wh, slot_end


def group_orders_cost(suite: Suite) -> None:
    """ORD-06, ORD-07, BID-04 .. BID-06 and their place in the check order."""
    m = market()
    s = m.slot - 1

    def bid(ledger: Ledger, name: str, quantity: int, price: int = 2500, **kw: int) -> bytes:
        body = {0: kw.get("zone", 1), 1: kw.get("slot", s), 2: quantity, 3: price}
        return ledger.make(name, Kind.PLACE_BID, body, nonce=kw.get("nonce"))

    # --- ORD-06: the slot horizon ------------------------------------------------------------
    suite.negative(
        "order/ORD-06/bid-for-the-current-slot",
        "Bob bids for the slot that is still running: it has not ended, nothing of it is "
        "attested yet. ORD-06 is checked before BID-04 (bob has no import there either).",
        m.state,
        tx(bid(m, "bob", 100, slot=m.slot)),
        tx(bid(m, "bob", 100)),
        "ORD-06",
        flags=["time", "check-order"],
    )
    # The edge: with import crafted into the running slot, a bid one second before its end is
    # refused and one at its end is taken.
    current = m.slot
    bob = key_of("bob")
    backed = m.state.demand.set((bob, NodeId(1), Slot(current)), Demand(Wh(2500), Wh(0)))
    before_end = replace(m.state, demand=backed, time=Timestamp(slot_end(current) - 1))
    at_end = advance_clock(before_end, slot_end(current))
    suite.negative(
        "order/ORD-06/bid-one-second-before-slot-end",
        "A bid for a slot at slot_end(slot) - 1 (crafted: import already recorded for it) is "
        "refused; the same bid at slot_end(slot) is taken.",
        before_end,
        tx(bid(m, "bob", 100, slot=current)),
        tx(bid(m, "bob", 100, slot=current)),
        "ORD-06",
        twin_pre=at_end,
        crafted=True,
        flags=["time", "boundary"],
    )
    close_s = m.state.params.trading_close_s
    last = (TIME_MAX_S - close_s) // 1800 - 1
    # The clock is advanced there first, so the slots of the market state are pruned (PRE-10).
    late = advance_clock(m.state, slot_end(last + 1))
    far = late.demand
    for slot in (last, last + 1):
        far = far.set((bob, NodeId(1), Slot(slot)), Demand(Wh(100), Wh(0)))
    late = replace(late, demand=far)
    suite.negative(
        "order/ORD-06/market-closes-past-time-max",
        "Near the end of time (crafted clock): a bid for the last slot whose market closes by "
        "TIME_MAX_S is taken; for the next slot, whose close lies past TIME_MAX_S, refused.",
        late,
        tx(bid(m, "bob", 100, slot=last + 1)),
        tx(bid(m, "bob", 100, slot=last)),
        "ORD-06",
        crafted=True,
        flags=["time", "boundary"],
    )

    # --- ORD-07: open orders per account and market -------------------------------------------
    cap = MAX_OPEN_ORDERS_PER_MARKET
    asks_full = market()
    for _ in range(cap):
        must(asks_full.ask("alice", 103, s, 1, 2000))
    asks_freed = copy(asks_full)
    must(asks_freed.cancel("alice", 1))
    ask_body = {0: 103, 1: s, 2: 1, 3: 2000}
    suite.negative(
        "order/ORD-07/ask-over-cap",
        f"Alice holds {cap} open asks in (1, s) and offers a {cap + 1}th; once she cancels one, "
        "the same ask is taken.",
        asks_full.state,
        tx(asks_full.make("alice", Kind.PLACE_ASK, ask_body)),
        tx(asks_freed.make("alice", Kind.PLACE_ASK, ask_body)),
        "ORD-07",
        twin_pre=asks_freed.state,
        flags=["boundary", "cap"],
    )
    bids_full = market()
    for _ in range(cap):
        must(bids_full.bid("bob", 1, s, 1, 2500))
    bids_freed = copy(bids_full)
    must(bids_freed.cancel("bob", 1))
    suite.negative(
        "order/ORD-07/bid-over-cap",
        f"Bob holds {cap} open bids in (1, s) and places a {cap + 1}th; once he cancels one, the "
        "same bid is taken.",
        bids_full.state,
        tx(bid(bids_full, "bob", 1)),
        tx(bid(bids_freed, "bob", 1)),
        "ORD-07",
        twin_pre=bids_freed.state,
        flags=["boundary", "cap"],
    )
    suite.add(
        "order/check-order/ORD-07-before-BID-04",
        f"Bob's {cap + 1}th bid also asks for more than his unbacked import: ORD-07 is checked "
        "first.",
        bids_full.state,
        [tx(bid(bids_full, "bob", 2500))],
        expect=["ORD-07"],
        flags=["check-order", "cap"],
    )
    dave_asks = market()
    for _ in range(cap):
        must(dave_asks.ask("dave", 106, s, 1, 2000))
    suite.add(
        "order/check-order/ORD-03-before-ORD-07",
        f"Dave holds {cap} open asks in (1, s) and bids there: ORD-03 (self-trade) is checked "
        "before ORD-07.",
        dave_asks.state,
        [tx(bid(dave_asks, "dave", 10))],
        expect=["ORD-03"],
        flags=["check-order", "self-trade"],
    )
    other_market = copy(bids_full)
    must(other_market.attest([(104, s - 1, 0, 10)]))
    suite.add(
        "order/valid/cap-is-per-market",
        f"Bob's {cap} open bids in (1, s) do not stop a bid of his in (1, s - 1).",
        other_market.state,
        [tx(bid(other_market, "bob", 10, slot=s - 1))],
        expect=[None],
        flags=["cap", "valid"],
    )

    # --- BID-04: bids backed by unclaimed import -----------------------------------------------
    suite.negative(
        "order/BID-04/one-over-import",
        "Bob imported 2 500 Wh in (1, s): a bid for 2 501 Wh is refused, 2 500 Wh taken.",
        m.state,
        tx(bid(m, "bob", 2501)),
        tx(bid(m, "bob", 2500)),
        "BID-04",
        flags=["boundary", "demand"],
    )
    held = market()
    must(held.bid("bob", 1, s, 2000, 2500))
    suite.negative(
        "order/BID-04/across-own-open-bids",
        "Bob's open bid holds 2 000 of his 2 500 Wh: 501 more are refused, 500 taken.",
        held.state,
        tx(bid(held, "bob", 501, 2400)),
        tx(bid(held, "bob", 500, 2400)),
        "BID-04",
        flags=["boundary", "demand"],
    )
    released = copy(held)
    must(released.cancel("bob", 1))
    suite.add(
        "order/valid/cancel-frees-backing",
        "After bob cancels his 2 000 Wh bid, all 2 500 Wh back a new bid.",
        released.state,
        [tx(bid(released, "bob", 2500))],
        expect=[None],
        flags=["demand", "valid"],
    )
    suite.negative(
        "order/BID-04/spoofing-bid-without-import",
        "Alice imported nothing in (1, s) and bids 5 000 Wh at 9 000 sen/kWh (the bid that moved "
        "a neighbour's price before it was cancelled); carol, who imported 1 000 Wh, may bid "
        "1 000 Wh at that price.",
        m.state,
        tx(bid(m, "alice", 5000, 9000)),
        tx(bid(m, "carol", 1000, 9000)),
        "BID-04",
        flags=["demand", "manipulation"],
    )
    suite.negative(
        "order/BID-04/import-in-another-zone",
        "Frank's import is in zone 10: it does not back a bid in zone 1.",
        m.state,
        tx(bid(m, "frank", 100, zone=1)),
        tx(bid(m, "frank", 100, zone=10)),
        "BID-04",
        flags=["demand"],
    )

    # --- BID-05, BID-06: the order fee -----------------------------------------------------------
    poor = market()
    # Leave bob 1000 x (2000 + 100) + ORDER_FEE_MSEN - 1 milli-sen.
    must(poor.withdraw("bob", 100_000 * 100_000 - 1000 * 2100 - ORDER_FEE_MSEN + 1))
    suite.negative(
        "order/BID-05/fee-one-over-balance",
        "Bob's balance covers the escrow 1000 x (2000 + 100) but not the order fee on top, by "
        "1 milli-sen; 999 Wh leave room for both.",
        poor.state,
        tx(bid(poor, "bob", 1000, 2000)),
        tx(bid(poor, "bob", 999, 2000)),
        "BID-05",
        flags=["boundary", "fee"],
    )
    suite.add(
        "order/check-order/BID-04-before-BID-02",
        "Bob bids 3 000 Wh, more than his import and than his balance can escrow: BID-04 first.",
        poor.state,
        [tx(bid(poor, "bob", 3000, 2000))],
        expect=["BID-04"],
        flags=["check-order", "demand"],
    )
    churn = market()
    steps = []
    for nonce in range(3):
        steps.append(tx(bid(churn, "carol", 100, 0, nonce=2 * nonce)))
        steps.append(tx(churn.make("carol", Kind.CANCEL, {0: nonce + 1}, nonce=2 * nonce + 1)))
    suite.add(
        "order/valid/order-fee-stays-paid",
        "Carol places a bid at price 0 and cancels it, three times: the escrow comes back each "
        "time, the order fee does not (3 x ORDER_FEE_MSEN to the fee account).",
        churn.state,
        steps,
        expect=[None] * len(steps),
        flags=["fee", "valid"],
    )
