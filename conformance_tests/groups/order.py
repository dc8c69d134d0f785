"""The ``order`` vectors: asks, bids and cancels."""

from __future__ import annotations

from dataclasses import replace

from conformance_tests.adapter import Step
from conformance_tests.scenario import Ledger
from conformance_tests.suite import (
    ENCUMBERED_METER,
    Suite,
    copy,
    encumbered_village,
    market,
    must,
    tx,
)
from spec.orders import ORDER_FEE_MSEN
from spec.state import (
    Encumbrance,
    trading_close,
)
from spec.transactions import (
    Kind,
)
from spec.units import (
    COUNTER_MAX,
    PRICE_MAX_SEN_PER_KWH,
    OrderId,
)


def group_orders(suite: Suite) -> None:
    """ORD, ASK, BID and CAN rules, at their bounds."""
    m = market()
    s = m.slot - 1
    close = trading_close(m.state.params, s)

    def ask(name: str, quantity: int, price: int = 2000, meter: int = 103, slot: int = s) -> Step:
        return tx(m.make(name, Kind.PLACE_ASK, {0: meter, 1: slot, 2: quantity, 3: price}))

    def bid(name: str, quantity: int, price: int = 2500, zone: int = 1, slot: int = s) -> Step:
        return tx(m.make(name, Kind.PLACE_BID, {0: zone, 1: slot, 2: quantity, 3: price}))

    suite.add("order/valid/ask", "Alice offers 1000 Wh of her lot.", m.state, [ask("alice", 1000)])
    suite.add("order/valid/bid", "Bob bids for 1000 Wh.", m.state, [bid("bob", 1000)])
    suite.add(
        "order/valid/ask-whole-lot",
        "Alice offers all 3000 unsold Wh.",
        m.state,
        [ask("alice", 3000)],
        expect=[None],
        flags=["boundary"],
    )
    suite.add(
        "order/valid/ask-max-price",
        "An ask at PRICE_MAX_SEN_PER_KWH.",
        m.state,
        [ask("alice", 1, PRICE_MAX_SEN_PER_KWH)],
        expect=[None],
        flags=["boundary"],
    )
    suite.add(
        "order/valid/bid-zero-price",
        "A bid at price 0 escrows only the wheeling fee.",
        m.state,
        [bid("bob", 10, 0)],
        expect=[None],
        flags=["boundary"],
    )
    suite.negative(
        "order/ORD-01/ask-zero",
        "An ask for 0 Wh.",
        m.state,
        ask("alice", 0),
        ask("alice", 1),
        "ORD-01",
        flags=["boundary"],
    )
    suite.negative(
        "order/ORD-01/bid-zero",
        "A bid for 0 Wh.",
        m.state,
        bid("bob", 0),
        bid("bob", 1),
        "ORD-01",
        flags=["boundary"],
    )
    last = market()
    last.tick(close - 1)
    shut = market()
    shut.tick(close)
    for side in ("ask", "bid"):
        who, body, kind = (
            ("alice", {0: 103, 1: s, 2: 100, 3: 2000}, Kind.PLACE_ASK)
            if side == "ask"
            else ("bob", {0: 1, 1: s, 2: 100, 3: 2500}, Kind.PLACE_BID)
        )
        # At the close the slot is also pruned (PRN-01): the ask's lot is gone, so ASK-01
        # (checked before ORD-02) rejects it; the bid names a zone, which remains, so ORD-02 does.
        rule_id = "ASK-01" if side == "ask" else "ORD-02"
        suite.negative(
            f"order/{'INV-24' if side == 'ask' else 'ORD-02'}/{side}-at-trading-close",
            f"An {side} at trading_close(s), the first second its market no longer trades "
            "(and has just cleared, and its slot been pruned"
            + (": the lot is gone)." if side == "ask" else ")."),
            shut.state,
            tx(shut.make(who, kind, body)),
            tx(last.make(who, kind, body)),
            rule_id,
            twin_pre=last.state,
            flags=["boundary", "time"],
        )
    past = market()
    suite.negative(
        "order/ORD-02/bid-for-old-slot",
        "A bid for a slot whose trading closed long ago, in a market that never existed.",
        past.state,
        tx(past.make("bob", Kind.PLACE_BID, {0: 1, 1: s - 10, 2: 100, 3: 2500})),
        tx(past.make("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 100, 3: 2500})),
        "ORD-02",
        flags=["time"],
    )
    # ORD-03: no account on both sides of one market. Dave exports and imports in zone 1.
    asked = market()
    must(asked.ask("dave", 106, s, 500, 2000))
    cancelled = copy(asked)
    must(cancelled.cancel("dave", 1))
    dave_bid = {0: 1, 1: s, 2: 100, 3: 2500}
    suite.negative(
        "order/ORD-03/bid-after-own-ask",
        "Dave has an open ask in (1, s) and bids there: a self-trade.",
        asked.state,
        tx(asked.make("dave", Kind.PLACE_BID, dave_bid)),
        tx(cancelled.make("dave", Kind.PLACE_BID, dave_bid)),
        "ORD-03",
        twin_pre=cancelled.state,
        flags=["self-trade"],
    )
    bidded = market()
    must(bidded.bid("dave", 1, s, 100, 2500))
    bid_cancelled = copy(bidded)
    must(bid_cancelled.cancel("dave", 1))
    dave_ask = {0: 106, 1: s, 2: 500, 3: 2000}
    suite.negative(
        "order/ORD-03/ask-after-own-bid",
        "Dave has an open bid in (1, s) and offers his lot there.",
        bidded.state,
        tx(bidded.make("dave", Kind.PLACE_ASK, dave_ask)),
        tx(bid_cancelled.make("dave", Kind.PLACE_ASK, dave_ask)),
        "ORD-03",
        twin_pre=bid_cancelled.state,
        flags=["self-trade"],
    )
    other_slot = copy(asked)
    must(other_slot.attest([(106, s - 1, 0, 100)]))
    suite.add(
        "order/valid/both-sides-other-slot",
        "Dave's ask in (1, s) does not stop a bid of his in (1, s - 1), backed by his import then.",
        other_slot.state,
        [tx(other_slot.make("dave", Kind.PLACE_BID, {0: 1, 1: s - 1, 2: 100, 3: 2500}))],
        expect=[None],
        flags=["self-trade", "valid"],
    )
    suite.add(
        "order/valid/two-asks-same-side",
        "Dave may hold two asks in one market.",
        asked.state,
        [tx(asked.make("dave", Kind.PLACE_ASK, {0: 106, 1: s, 2: 500, 3: 2100}))],
        expect=[None],
        flags=["boundary", "valid"],
    )
    # ASK rules.
    suite.negative(
        "order/ASK-01/no-such-lot",
        "Alice offers lot (103, s - 1), which was never minted.",
        m.state,
        ask("alice", 100, slot=s - 1),
        ask("alice", 100),
        "ASK-01",
    )
    suite.negative(
        "order/ASK-01/import-only-reading",
        "Bob's reading exported nothing, so it minted no lot.",
        m.state,
        ask("bob", 100, meter=104),
        ask("alice", 100),
        "ASK-01",
    )
    suite.negative(
        "order/ASK-02/not-owner",
        "Bob offers alice's lot.",
        m.state,
        ask("bob", 100),
        ask("alice", 100),
        "ASK-02",
        flags=["authorization"],
    )
    for encumbrance in (
        Encumbrance.FEED_IN_TARIFF,
        Encumbrance.J_CREDIT,
        Encumbrance.NON_FOSSIL_CERTIFICATE,
    ):
        e = encumbered_village()
        meter = ENCUMBERED_METER[encumbrance]
        must(e.attest([(meter, s, 1000, 0, encumbrance), (105, s, 1000, 0, Encumbrance.NONE)]))
        suite.negative(
            f"order/ASK-03/{encumbrance.name.lower()}",
            f"Alice's lot carries {encumbrance.name}; carol's lot is unencumbered.",
            e.state,
            tx(e.make("alice", Kind.PLACE_ASK, {0: meter, 1: s, 2: 100, 3: 2000})),
            tx(e.make("carol", Kind.PLACE_ASK, {0: 105, 1: s, 2: 100, 3: 2000})),
            "ASK-03",
        )
    suite.negative(
        "order/ASK-04/one-over-unsold",
        "An ask for 3001 Wh of a 3000 Wh lot.",
        m.state,
        ask("alice", 3001),
        None,
        "ASK-04",
        twin_id="order/valid/ask-whole-lot",
        flags=["boundary"],
    )
    part = market()
    must(part.ask("alice", 103, s, 2000, 2000))
    suite.negative(
        "order/ASK-04/over-remaining",
        "After 2000 Wh are reserved, 1001 Wh cannot be offered; 1000 can.",
        part.state,
        tx(part.make("alice", Kind.PLACE_ASK, {0: 103, 1: s, 2: 1001, 3: 2000})),
        tx(part.make("alice", Kind.PLACE_ASK, {0: 103, 1: s, 2: 1000, 3: 2000})),
        "ASK-04",
        flags=["boundary", "double-spend"],
    )
    # BID rules.
    for zone, why in ((2, "node 2 is a transformer"), (3, "a service point"), (99, "unknown")):
        suite.negative(
            f"order/BID-01/zone-{zone}",
            f"A bid naming zone {zone}: {why}.",
            m.state,
            bid("bob", 100, zone=zone),
            bid("bob", 100),
            "BID-01",
        )
    poor = market()
    # Escrow = quantity x (max price + fee 100). Leave bob (2 500 Wh of import) exactly
    # 1000 x 2100 milli-sen plus the order fee.
    must(poor.withdraw("bob", 100_000 * 100_000 - 1000 * 2100 - ORDER_FEE_MSEN))
    suite.negative(
        "order/BID-02/escrow-one-over-balance",
        "Escrow 1000 x (2011 + 100) exceeds a balance of 1000 x (2000 + 100) + ORDER_FEE_MSEN "
        "by 1000.",
        poor.state,
        tx(poor.make("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 1000, 3: 2011})),
        tx(poor.make("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 1000, 3: 2000})),
        "BID-02",
        flags=["boundary"],
    )
    suite.negative(
        "order/BID-02/fee-counts",
        "Without the wheeling fee the escrow would fit: 2100 Wh x (1000 + 100) does not.",
        poor.state,
        tx(poor.make("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 2100, 3: 1000})),
        tx(poor.make("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 2000, 3: 950})),
        "BID-02",
        flags=["boundary", "fee"],
    )
    # ORD-05: the order id space ends at COUNTER_MAX (crafted: no ledger gets there).
    full_ids = replace(m.state, next_order_id=OrderId(COUNTER_MAX))
    last_id = replace(m.state, next_order_id=OrderId(COUNTER_MAX - 1))
    for side, step in (("ask", ask("alice", 100)), ("bid", bid("bob", 100))):
        suite.negative(
            f"order/ORD-05/{side}-when-ids-exhausted",
            f"An {side} when the next order id is COUNTER_MAX; at COUNTER_MAX - 1 it gets that "
            "last id.",
            full_ids,
            step,
            step,
            "ORD-05",
            twin_pre=last_id,
            crafted=True,
            flags=["boundary", "overflow"],
        )
    # CAN rules.
    orders = market()
    must(orders.ask("alice", 103, s, 1000, 2000))
    must(orders.bid("bob", 1, s, 1000, 2500))

    def cancel(led: Ledger, who: str, order: int) -> Step:
        return tx(led.make(who, Kind.CANCEL, {0: order}))

    suite.add(
        "order/valid/cancel-ask",
        "Cancelling an ask returns its Wh to the lot.",
        orders.state,
        [cancel(orders, "alice", 1)],
        expect=[None],
    )
    suite.add(
        "order/valid/cancel-bid",
        "Cancelling a bid returns its escrow.",
        orders.state,
        [cancel(orders, "bob", 2)],
        expect=[None],
    )
    suite.negative(
        "order/CAN-01/no-such-order",
        "Order 3 does not exist.",
        orders.state,
        cancel(orders, "alice", 3),
        None,
        "CAN-01",
        twin_id="order/valid/cancel-ask",
        flags=["boundary"],
    )
    suite.negative(
        "order/CAN-02/not-owner",
        "Bob cancels alice's ask.",
        orders.state,
        cancel(orders, "bob", 1),
        None,
        "CAN-02",
        twin_id="order/valid/cancel-ask",
        flags=["authorization"],
    )
    twice = copy(orders)
    must(twice.cancel("alice", 1))
    suite.negative(
        "order/CAN-03/already-cancelled",
        "Alice cancels her ask a second time.",
        twice.state,
        cancel(twice, "alice", 1),
        cancel(twice, "bob", 2),
        "CAN-03",
    )
    cleared = copy(orders)
    cleared.tick(close)
    reopened = copy(orders)
    suite.negative(
        "order/CAN-01/after-clearing",
        "After its market cleared, an order is closed, and at the same clock advance its slot "
        "is pruned (PRN-01): a cancel names an order the state no longer holds (CAN-01).",
        cleared.state,
        cancel(cleared, "bob", 2),
        cancel(reopened, "bob", 2),
        "CAN-01",
        twin_pre=reopened.state,
        flags=["time"],
    )
