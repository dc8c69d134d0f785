"""The ``clearing/CLR-04`` vectors: a clearing price interval whose ends sum to an odd number.

Section 8.5 sets P = (lo + hi) // 2, rounded down. The seeded random auctions draw even prices
only, so lo + hi is always even there and rounding up, or to even, would pass them. Here the
expected price is computed from section 8.5 by hand for each book, and the generator refuses to
write the vector unless the spec's clearing gives the same price and volume.
"""

from __future__ import annotations

from conformance_tests.spec_adapter import apply_step
from conformance_tests.suite import GenerationError, Suite, market, tick, tx
from spec.clearing import advance_clock_settling
from spec.settlement import MarketRecord
from spec.state import trading_close
from spec.transactions import Kind


def group_clearing_price(suite: Suite) -> None:
    """Odd lo + hi: from the marginal orders, and from the next ask."""
    m = market()
    s = m.slot - 1
    close = trading_close(m.state.params, s)

    def ask(name: str, meter: int, quantity: int, price: int, nonce: int = 0) -> bytes:
        return m.make(name, Kind.PLACE_ASK, {0: meter, 1: s, 2: quantity, 3: price}, nonce=nonce)

    def bid(name: str, quantity: int, price: int, nonce: int = 0) -> bytes:
        return m.make(name, Kind.PLACE_BID, {0: 1, 1: s, 2: quantity, 3: price}, nonce=nonce)

    books = [
        (
            "odd-sum-marginal-orders",
            "Alice offers 500 Wh at 2001, bob bids 500 Wh at 2400: V = 500, there is no 501st "
            "Wh on either side, so lo = a_V = 2001 and hi = b_V = 2400; P = 4401 // 2 = 2200 "
            "(rounding half up would give 2201).",
            [ask("alice", 103, 500, 2001), bid("bob", 500, 2400)],
            500,
            (2001 + 2400) // 2,
        ),
        (
            "odd-sum-next-ask",
            "Alice offers 500 Wh at 2000 and dave 500 Wh at 2301, bob bids 500 Wh at 2400: "
            "V = 500, lo = a_V = 2000 (no 501st bid Wh), hi = min(b_V, a_501) = min(2400, 2301) "
            "= 2301; P = 4301 // 2 = 2150.",
            [ask("alice", 103, 500, 2000), ask("dave", 106, 500, 2301), bid("bob", 500, 2400)],
            500,
            (2000 + 2301) // 2,
        ),
    ]
    for name, description, orders, volume, price in books:
        state = m.state
        for data in orders:
            state, _ = apply_step(state, tx(data))
        # The market clears and leaves the state at the close: its record is in the settlement.
        _, settled = advance_clock_settling(state, close)
        cleared = next(r for r in settled if isinstance(r, MarketRecord) and r.zone == 1)
        if (cleared.price, cleared.volume_wh) != (price, volume):
            raise GenerationError(f"clearing/CLR-04/{name}: {cleared}, expected {price}, {volume}")
        suite.add(
            f"clearing/CLR-04/{name}",
            description,
            m.state,
            [*map(tx, orders), tick(close)],
            expect=[None] * (len(orders) + 1),
            rules=["CLR-04"],
            flags=["clearing", "rounding", "boundary"],
        )
