"""A first end-to-end path through the spec: a village trades one slot and clears."""

from __future__ import annotations

from conformance_tests.scenario import small_village
from spec.invariants import check_state
from spec.state import MarketStatus, OrderStatus


def test_one_slot_trades_and_clears_with_invariants_holding() -> None:
    ledger = small_village()
    slot = ledger.slot - 1
    assert ledger.attest(
        [(103, slot, 3000, 0), (104, slot, 0, 2500), (105, slot, 0, 1000)]
    ).accepted
    assert ledger.ask("alice", 103, slot, 3000, 2000).accepted
    assert ledger.bid("bob", 1, slot, 2500, 2500).accepted
    assert ledger.bid("carol", 1, slot, 1000, 2400).accepted
    assert check_state(ledger.state) == []
    _, receipt = ledger.block([], ledger.state.time + 7200)
    assert receipt.accepted, receipt
    market = ledger.state.markets[(1, slot)]
    # Supply 3000 Wh; eligible demand 2500 (bob) + 1000 (carol). The 3000th bid Wh is carol's at
    # 2400 and so is the 3001st, so lo = max(2000, 2400) = 2400 = hi: the price is 2400.
    assert (market.status, market.price, market.volume_wh) == (MarketStatus.CLEARED, 2400, 3000)
    # Bob's bid, the best, fills all its 2500 Wh; carol's takes the remaining 500 Wh.
    orders = [ledger.state.orders[i] for i in (1, 2, 3)]
    assert [o.filled_wh for o in orders] == [3000, 2500, 500]
    assert [o.status for o in orders] == [
        OrderStatus.FILLED,
        OrderStatus.FILLED,
        OrderStatus.PARTLY_FILLED,
    ]
    assert check_state(ledger.state) == []
