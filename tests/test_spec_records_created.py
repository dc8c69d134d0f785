"""Which records an accepted transaction creates: readings (ATT-20), demand (ATT-09), markets
(MKT-01)."""

from __future__ import annotations

from _rules_plugin import rules

from conformance_tests.scenario import key_of, small_village
from spec.state import Encumbrance, Market, MarketStatus, Reading
from spec.units import Wh


@rules("ATT-20", "ATT-09")
def test_an_all_zero_reading_is_stored_and_creates_no_demand_or_market() -> None:
    ledger = small_village()
    s = ledger.slot - 1
    before = ledger.state
    assert ledger.attest([(104, s, 0, 0)]).accepted
    after = ledger.state
    assert (104, s) not in before.readings
    assert after.readings[(104, s)] == Reading(Wh(0), Wh(0), Encumbrance.NONE)  # type: ignore[index]
    assert after.demand == before.demand
    assert after.markets == before.markets
    assert not ledger.attest([(104, s, 5, 5)]).accepted  # ATT-06: the slot is taken


@rules("ATT-09", "MKT-01")
def test_an_import_records_demand_but_opens_no_market() -> None:
    ledger = small_village()
    s = ledger.slot - 1
    assert ledger.attest([(104, s, 0, 700)]).accepted
    demand = ledger.state.demand[(key_of("bob"), 1, s)]  # type: ignore[index]
    assert (demand.imported_wh, demand.claimed_wh) == (700, 0)
    assert (1, s) not in ledger.state.markets


@rules("MKT-01")
def test_a_lot_and_a_bid_each_open_their_market() -> None:
    ledger = small_village()
    s = ledger.slot - 1
    assert ledger.attest([(103, s, 1000, 0)]).accepted
    opened = Market(MarketStatus.OPEN, None, Wh(0))
    assert ledger.state.markets[(1, s)] == opened  # type: ignore[index]
    assert (10, s) not in ledger.state.markets
    assert ledger.attest([(112, s, 0, 500)]).accepted  # erin's import backs her bid (BID-04)
    assert (10, s) not in ledger.state.markets  # an import alone opens no market
    assert ledger.bid("erin", 10, s, 100, 1000).accepted
    assert ledger.state.markets[(10, s)] == opened  # type: ignore[index]
    rejected = ledger.bid("erin", 99, s, 100, 1000)  # BID-01: no market for an unknown zone
    assert not rejected.accepted
    assert (99, s) not in ledger.state.markets
