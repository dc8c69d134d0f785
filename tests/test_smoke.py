"""A first end-to-end path through the spec: a village trades one slot and clears."""

from __future__ import annotations

from conformance_tests.scenario import small_village
from spec.invariants import check_settlement, check_state
from spec.settlement import MarketRecord, OrderRecord
from spec.state import OrderStatus


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
    # The block clears the market and prunes the slot (CLR-01, PRN-01): the results are in its
    # settlement records, and no record of the slot is left in the state.
    market = next(r for r in receipt.settlement if isinstance(r, MarketRecord) and r.zone == 1)
    # Supply 3000 Wh; eligible demand 2500 (bob) + 1000 (carol). The 3000th bid Wh is carol's at
    # 2400 and so is the 3001st, so lo = max(2000, 2400) = 2400 = hi: the price is 2400.
    assert (market.slot, market.price, market.volume_wh) == (slot, 2400, 3000)
    # Bob's bid, the best, fills all its 2500 Wh; carol's takes the remaining 500 Wh.
    orders = [r for r in receipt.settlement if isinstance(r, OrderRecord)]
    assert [o.order_id for o in orders] == [1, 2, 3]
    assert [o.filled_wh for o in orders] == [3000, 2500, 500]
    assert [o.status for o in orders] == [
        OrderStatus.FILLED,
        OrderStatus.FILLED,
        OrderStatus.PARTLY_FILLED,
    ]
    assert not ledger.state.orders and not ledger.state.markets
    assert check_state(ledger.state) == [] and check_settlement(receipt.settlement) == []
