"""The ``clearing`` vectors: auctions at the edges of CLR-02 .. CLR-08, then seeded random ones."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Final

from conformance_tests.scenario import Ledger
from conformance_tests.suite import (
    SEED,
    Suite,
    copy,
    must,
    tick,
    tx,
)
from spec.state import (
    NodeKind,
    trading_close,
)
from spec.transactions import (
    Kind,
)
from spec.units import (
    PRICE_MAX_SEN_PER_KWH,
)

AUCTIONS: Final = 420
"""How many seeded random call auctions the suite holds."""


def auction_village() -> Ledger:
    """Zone 1 with ten traders (t0 .. t9, service points 20 .. 29, meter = node + 100) and
    zone 10 with four (t10 .. t13, service points 30 .. 33); 10 000 yen each."""
    ledger = Ledger.new()
    ledger.node(1, NodeKind.SUBSTATION, None, 100)
    ledger.node(2, NodeKind.TRANSFORMER, 1)
    ledger.node(10, NodeKind.SUBSTATION, 1, 50)
    ledger.node(11, NodeKind.TRANSFORMER, 10)
    for i in range(14):
        node = 20 + i
        ledger.node(node, NodeKind.SERVICE_POINT, 2 if i < 10 else 11)
        ledger.register(f"t{i}")
        ledger.meter(node + 100, f"t{i}", node, capacity_wh=100_000)
        ledger.deposit(f"t{i}", 10_000 * 100_000)
    for receipt in ledger.receipts:
        must(receipt)
    return ledger


@cache
def _auction_village() -> Ledger:
    return auction_village()


@dataclass(frozen=True)
class Plan:
    """One trader's part in an auction vector."""

    trader: int
    exported: int
    imported: int
    asks: tuple[tuple[int, int], ...]
    """(quantity, min price) of each ask."""
    bids: tuple[tuple[int, int, int], ...]
    """(zone, quantity, max price) of each bid."""


def auction_vector(
    suite: Suite, vector_id: str, description: str, plans: Sequence[Plan], flags: Iterable[str]
) -> None:
    """Readings in the pre-state; the orders and the clearing tick are the steps."""
    ledger = copy(_auction_village())
    s = ledger.slot - 1
    readings = [
        (120 + p.trader, s, p.exported, p.imported) for p in plans if p.exported or p.imported
    ]
    if readings:
        must(ledger.attest(readings))
    pre = ledger.state
    steps = []
    for p in plans:
        name = f"t{p.trader}"
        for quantity, price in p.asks:
            steps.append(
                tx(
                    ledger.make(
                        name, Kind.PLACE_ASK, {0: 120 + p.trader, 1: s, 2: quantity, 3: price}
                    )
                )
            )
            ledger.nonces[name] = ledger.nonces.get(name, 0) + 1
        for zone, quantity, price in p.bids:
            steps.append(
                tx(ledger.make(name, Kind.PLACE_BID, {0: zone, 1: s, 2: quantity, 3: price}))
            )
            ledger.nonces[name] = ledger.nonces.get(name, 0) + 1
    steps.append(tick(trading_close(pre.params, s)))
    suite.add(
        vector_id,
        description,
        pre,
        steps,
        expect=[None] * len(steps),
        flags=["clearing", *flags],
    )


def group_clearing(suite: Suite) -> None:
    """Hand-made auctions at the edges of CLR-02 .. CLR-08, then seeded random ones."""
    hand: list[tuple[str, str, list[Plan], list[str]]] = [
        (
            "worked-example",
            "The clearing module's worked example: 800 Wh at 2400.",
            [
                Plan(0, 300, 0, ((300, 2000),), ()),
                Plan(1, 500, 0, ((500, 2400),), ()),
                Plan(2, 0, 400, (), ((1, 400, 2600),)),
                Plan(3, 0, 600, (), ((1, 600, 2400),)),
            ],
            ["valid"],
        ),
        (
            "pro-rata-remainder",
            "Ten Wh to three bids of 4, 4, 3 at one price: shares 3, 3, 2, the two left Wh "
            "to the lowest order ids: 4, 4, 2.",
            [
                Plan(0, 10, 0, ((10, 1000),), ()),
                Plan(1, 0, 4, (), ((1, 4, 1500),)),
                Plan(2, 0, 4, (), ((1, 4, 1500),)),
                Plan(3, 0, 3, (), ((1, 3, 1500),)),
            ],
            ["rationing", "tie"],
        ),
        (
            "ask-side-tie",
            "Two asks at the marginal price share a 7 Wh bid pro rata: 3 and 3, and the Wh "
            "left goes to the lower order id: fills 4 and 3.",
            [
                Plan(0, 5, 0, ((5, 2000),), ()),
                Plan(1, 5, 0, ((5, 2000),), ()),
                Plan(2, 0, 7, (), ((1, 7, 2500),)),
            ],
            ["rationing", "tie"],
        ),
        (
            "equal-price-tie-at-margin",
            "Bid and ask limits equal at the margin: the price is that limit.",
            [
                Plan(0, 100, 0, ((100, 2000),), ()),
                Plan(1, 0, 100, (), ((1, 100, 2000),)),
            ],
            ["tie", "boundary"],
        ),
        (
            "one-sen-apart",
            "Bid 2001, ask 2000: the midpoint rounds down to 2000.",
            [
                Plan(0, 100, 0, ((100, 2000),), ()),
                Plan(1, 0, 100, (), ((1, 100, 2001),)),
            ],
            ["rounding", "boundary"],
        ),
        (
            "no-cross",
            "The best bid is one sen below the best ask: zero volume, no price.",
            [
                Plan(0, 100, 0, ((100, 2000),), ()),
                Plan(1, 0, 100, (), ((1, 100, 1999),)),
            ],
            ["zero-volume", "boundary"],
        ),
        (
            "asks-only",
            "Asks and no bids: everything expires.",
            [Plan(0, 100, 0, ((60, 2000),), ()), Plan(1, 50, 0, (), ())],
            ["zero-volume"],
        ),
        (
            "bids-only",
            "Bids and no lots: bids expire and get their escrow back.",
            [Plan(1, 0, 100, (), ((1, 100, 3000),)), Plan(2, 0, 10, (), ((1, 10, 3000),))],
            ["zero-volume"],
        ),
        (
            "two-zones-clear-in-order",
            "Markets (1, s) and (10, s) clear at the same tick, zone 1 first.",
            [
                Plan(0, 300, 0, ((300, 2000),), ()),
                Plan(1, 0, 300, (), ((1, 300, 2600),)),
                Plan(10, 200, 0, ((200, 1500),), ()),
                Plan(11, 0, 200, (), ((10, 200, 1700),)),
            ],
            ["fee"],
        ),
        (
            "max-price-fill",
            "A bid at PRICE_MAX_SEN_PER_KWH meets an ask at 0: price 500 000.",
            [
                Plan(0, 10, 0, ((10, 0),), ()),
                Plan(1, 0, 10, (), ((1, 10, PRICE_MAX_SEN_PER_KWH),)),
            ],
            ["boundary", "rounding"],
        ),
        (
            "partial-lot-sold",
            "Half of a lot is offered and sold; the rest expires.",
            [Plan(0, 1000, 0, ((500, 2000),), ()), Plan(1, 0, 800, (), ((1, 800, 2500),))],
            ["lifecycle"],
        ),
        (
            "ask-partly-filled",
            "An ask of 800 Wh meets 300 Wh of demand.",
            [Plan(0, 800, 0, ((800, 2000),), ()), Plan(1, 0, 300, (), ((1, 300, 2500),))],
            ["lifecycle"],
        ),
    ]
    for name, description, plans, flags in hand:
        auction_vector(suite, f"clearing/{name}", description, plans, flags)
    rng = random.Random(f"{SEED}/clearing")
    prices = (0, 1500, 1800, 2000, 2000, 2200, 2500, 2500, 3000)
    for index in range(AUCTIONS):
        plans = []
        for trader in rng.sample(range(14), rng.randint(2, 9)):
            zone_of_trader = 1 if trader < 10 else 10
            exported = rng.choice((0, 0, 1, 7, 100, 999, 2500, 40_000))
            imported = rng.choice((0, 0, 3, 100, 1000, 30_000))
            asks: list[tuple[int, int]] = []
            bids: list[tuple[int, int, int]] = []
            if exported and rng.random() < 0.8:
                left = exported
                for _ in range(rng.randint(1, 2)):
                    quantity = rng.randint(1, left)
                    asks.append((quantity, rng.choice(prices)))
                    left -= quantity
                    if not left:
                        break
            if rng.random() < 0.7 and not asks:
                # ORD-03: a seller does not bid in its own market; BID-04: a buyer bids only
                # for import it has not yet bid for, which is all in its own zone.
                unbacked = imported
                for _ in range(rng.randint(1, 2)):
                    quantity = min(rng.choice((1, 50, 500, 2000, 30_000)), unbacked)
                    if quantity:
                        bids.append((zone_of_trader, quantity, rng.choice(prices)))
                        unbacked -= quantity
            plans.append(Plan(trader, exported, imported, tuple(asks), tuple(bids)))
        auction_vector(
            suite,
            f"clearing/random/{index:04d}",
            f"Seeded random call auction {index}: readings in the pre-state, the orders, then "
            "the clearing tick.",
            plans,
            ["random"],
        )
