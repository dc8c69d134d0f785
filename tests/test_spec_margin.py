"""What one order at the margin can move (rule book section 8.9): the worked example and the bound.

The interval [lo, hi] of CLR-04 is recomputed here Wh by Wh from the rankings, independently of
``call_auction``'s walk, and the bound is checked on random books.
"""

from __future__ import annotations

from _rules_plugin import rules
from hypothesis import given
from hypothesis import strategies as st

from spec.clearing import AuctionOrder, call_auction, ranked_asks, ranked_bids
from spec.units import PRICE_MAX_SEN_PER_KWH

pytest_plugins = ("_rules_plugin",)

LIMITS = (0, 500, 1000, 1250, 1500, 2000, 2500, 3000, PRICE_MAX_SEN_PER_KWH)


def interval(asks: list[AuctionOrder], bids: list[AuctionOrder]) -> tuple[int, int] | None:
    """CLR-04's [lo, hi], from the limits of the k-th best Wh of each side; None if V = 0."""
    a = [o.limit for o in ranked_asks(asks) for _ in range(o.quantity_wh)]
    b = [o.limit for o in ranked_bids(bids) for _ in range(o.quantity_wh)]
    volume = 0
    while volume < min(len(a), len(b)) and b[volume] >= a[volume]:
        volume += 1
    if volume == 0:
        return None
    lo = max([a[volume - 1], *b[volume : volume + 1]])
    hi = min([b[volume - 1], *a[volume : volume + 1]])
    return lo, hi


@rules("CLR-04")
def test_the_worked_example_of_the_margin() -> None:
    ask = AuctionOrder(1, 1000, 1000)
    bid = AuctionOrder(2, 3000, 1000)
    assert interval([ask], [bid]) == (1000, 3000)
    assert call_auction([ask], [bid]).price == 2000
    # a 1 Wh bid at the highest price fills and moves the price to the top of the interval
    spike = call_auction([ask], [bid, AuctionOrder(3, PRICE_MAX_SEN_PER_KWH, 1)])
    assert (spike.price, spike.fills[3], spike.fills[2]) == (3000, 1, 999)
    # a 1 Wh ask at the marginal limit does not fill and moves it to the bottom
    dip = call_auction([ask, AuctionOrder(3, 1000, 1)], [bid])
    assert (dip.price, dip.fills[3], dip.fills[1]) == (1000, 0, 1000)


books = st.lists(st.tuples(st.sampled_from(LIMITS[:-1]), st.integers(1, 6)), min_size=1, max_size=4)


@rules("CLR-04")
@given(
    asks=books,
    bids=books,
    limit=st.sampled_from(LIMITS),
    quantity=st.integers(1, 3),
    side=st.sampled_from(["ask", "bid"]),
)
def test_one_order_moves_the_price_at_most_to_the_interval_end_or_its_limit(
    asks: list[tuple[int, int]],
    bids: list[tuple[int, int]],
    limit: int,
    quantity: int,
    side: str,
) -> None:
    sell = [AuctionOrder(i + 1, p, q) for i, (p, q) in enumerate(asks)]
    buy = [AuctionOrder(i + 20, p, q) for i, (p, q) in enumerate(bids)]
    before = call_auction(sell, buy)
    bounds = interval(sell, buy)
    if before.price is None or bounds is None:
        assert before.price is None and bounds is None
        return
    lo, hi = bounds
    assert lo <= before.price <= hi
    new = AuctionOrder(99, limit, quantity)
    if side == "bid":
        after = call_auction(sell, [*buy, new])
        assert after.price is not None
        assert before.price <= after.price <= max(hi, limit)
        if after.fills[99] == 0:
            assert after.price <= hi
    else:
        after = call_auction([*sell, new], buy)
        assert after.price is not None
        assert min(lo, limit) <= after.price <= before.price
        if after.fills[99] == 0:
            assert after.price >= lo
