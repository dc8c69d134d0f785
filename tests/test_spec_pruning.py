"""Pruning at the clock advance (PRN-01, PRN-02), the settlement it emits (SET-01, BLK-15), the
invariants that carry conservation across it (INV-22 .. INV-24) and PRE-10. Expected values are
worked out from the rule book (chapter 8 for the auction, section 9.10 for the records)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from _rules_plugin import rules
from strategies import forge_block, reject_block

from conformance_tests.scenario import Ledger, key_of, small_village
from spec.blocks import apply_block
from spec.cbor import decode, encode
from spec.clearing import advance_clock, advance_clock_settling, clear_due_markets
from spec.errors import Rejected
from spec.invariants import check_settlement, check_state
from spec.prestate import check_pre_state
from spec.settlement import (
    EMPTY_SETTLEMENT_ROOT,
    DemandRecord,
    LotRecord,
    MarketRecord,
    OrderRecord,
    ReadingRecord,
    settlement_root,
)
from spec.state import State, decode_state, encode_state, trading_close
from spec.transactions import Kind
from spec.units import MilliSen, Timestamp, Wh

pytest_plugins = ("_rules_plugin",)


def traded() -> tuple[Ledger, int]:
    """The village after slot s's readings, alice's ask (1000 Wh at 2000) and bob's bid (800 Wh
    at 2500) in zone 1 (wheeling fee 100 sen/kWh)."""
    ledger = small_village()
    s = ledger.slot - 1
    readings = [(103, s, 3000, 0), (104, s, 0, 2500), (105, s, 0, 1000), (112, s, 2000, 0)]
    assert ledger.attest(readings).accepted
    assert ledger.ask("alice", 103, s, 1000, 2000).accepted
    assert ledger.bid("bob", 1, s, 800, 2500).accepted
    return ledger, s


def slot_rows(state: State, slot: int) -> int:
    return (
        sum(1 for k in state.readings if k[1] == slot)
        + sum(1 for k in state.lots if k[1] == slot)
        + sum(1 for k in state.demand if k[2] == slot)
        + sum(1 for o in state.orders.values() if o.slot == slot)
        + sum(1 for k in state.markets if k[1] == slot)
    )


@rules("PRN-01", "PRN-02", "SET-01", "SET-02")
def test_the_close_prunes_the_slot_and_settles_it_in_order() -> None:
    ledger, s = traded()
    close = trading_close(ledger.state.params, s)
    before, nothing = advance_clock_settling(ledger.state, close - 1)
    assert nothing == () and slot_rows(before, s) == slot_rows(ledger.state, s) == 12
    after, records = advance_clock_settling(ledger.state, close)
    assert slot_rows(after, s) == 0
    # PRN-02: nothing but the slot's rows changed: the cleared state without them.
    cleared = clear_due_markets(ledger.state, close)
    for table in ("accounts", "nodes", "meters"):
        assert getattr(after, table) == getattr(cleared, table)
    assert (after.next_order_id, after.money_outstanding) == (
        cleared.next_order_id,
        cleared.money_outstanding,
    )
    # SET-01: markets by zone, orders by id, lots by meter, demand by (account, zone),
    # readings by meter.
    kinds = [type(r) for r in records]
    assert (
        kinds
        == [MarketRecord] * 2
        + [OrderRecord] * 2
        + [LotRecord] * 2
        + [DemandRecord] * 2
        + [ReadingRecord] * 4
    )
    assert [r.zone for r in records if isinstance(r, MarketRecord)] == [1, 10]
    assert [r.meter for r in records if isinstance(r, LotRecord)] == [103, 112]
    demand = [(r.account, r.zone) for r in records if isinstance(r, DemandRecord)]
    assert demand == sorted([(key_of("bob"), 1), (key_of("carol"), 1)])
    # Chapter 8: V = 800, lo = 2000, hi = min(2500, a_801 = 2000) = 2000, P = 2000.
    market = records[0]
    assert isinstance(market, MarketRecord)
    assert (market.price, market.volume_wh, market.amount_msen, market.fees_msen) == (
        2000,
        800,
        1_600_000,
        80_000,
    )
    ask, bid = records[2], records[3]
    assert isinstance(ask, OrderRecord) and isinstance(bid, OrderRecord)
    assert (ask.filled_wh, ask.amount_msen, ask.fee_msen) == (800, 1_600_000, 0)
    assert (bid.filled_wh, bid.amount_msen, bid.fee_msen) == (800, 1_600_000, 80_000)
    lot = records[4]
    assert isinstance(lot, LotRecord)
    assert (lot.minted_wh, lot.sold_wh, lot.expired_wh) == (3000, 800, 2200)


@rules("PRN-01", "SET-01")
def test_slots_are_pruned_in_ascending_order_and_a_slot_without_market_too() -> None:
    ledger = small_village()
    s = ledger.slot - 1
    # Slot s - 1: import only (no lot, so no market); slot s: erin's lot.
    assert ledger.attest([(104, s - 1, 0, 700), (112, s, 500, 0)]).accepted
    after, records = advance_clock_settling(ledger.state, trading_close(ledger.state.params, s))
    assert [r.slot for r in records] == [s - 1, s - 1, s, s, s]
    assert [type(r) for r in records[:2]] == [DemandRecord, ReadingRecord]
    assert slot_rows(after, s - 1) == slot_rows(after, s) == 0


@rules("SET-02", "INV-22", "INV-29", "PRE-12", "CLR-07")
def test_a_lot_record_carries_what_clearing_expired() -> None:
    ledger = small_village()
    s = ledger.slot - 1
    assert ledger.attest([(103, s, 900, 0)]).accepted
    _, records = advance_clock_settling(ledger.state, trading_close(ledger.state.params, s))
    (lot,) = (r for r in records if isinstance(r, LotRecord))
    assert (lot.minted_wh, lot.sold_wh, lot.expired_wh) == (900, 0, 900)
    assert check_settlement(records) == []
    # Without its market nothing clears the lot, so nothing expires it; such a state cannot be
    # reached (INV-29) nor loaded (PRE-12), and the record it would settle breaks INV-22.
    bare = replace(ledger.state, markets=ledger.state.markets.remove((1, s)))
    with pytest.raises(Rejected) as refused:
        check_pre_state(bare)
    assert refused.value.rule.id == "PRE-12"
    _, records = advance_clock_settling(bare, trading_close(bare.params, s))
    (lot,) = (r for r in records if isinstance(r, LotRecord))
    assert (lot.minted_wh, lot.sold_wh, lot.expired_wh) == (900, 0, 0)
    assert [v.rule_id for v in check_settlement(records)] == ["INV-22"]


@rules("INV-22", "INV-23", "INV-02", "INV-05", "INV-09")
def test_settlement_invariants_hold_and_catch_a_wrong_record() -> None:
    ledger, s = traded()
    _, records = advance_clock_settling(ledger.state, trading_close(ledger.state.params, s))
    assert check_settlement(records) == []
    lot_at = next(i for i, r in enumerate(records) if isinstance(r, LotRecord))
    lot = records[lot_at]
    assert isinstance(lot, LotRecord)
    # A record that expires only what was left unsold and unreserved at pruning is short.
    short = replace(lot, expired_wh=Wh(lot.expired_wh - 1))
    broken = check_settlement([*records[:lot_at], short, *records[lot_at + 1 :]])
    assert [v.rule_id for v in broken] == ["INV-22"]
    market = records[0]
    assert isinstance(market, MarketRecord)
    cheap = replace(market, fees_msen=MilliSen(0))
    assert [v.rule_id for v in check_settlement([cheap, *records[1:]])] == ["INV-23"]
    bid_at = 3
    bid = records[bid_at]
    assert isinstance(bid, OrderRecord)
    underpaid = replace(bid, amount_msen=MilliSen(bid.amount_msen - 1))
    assert [v.rule_id for v in check_settlement([*records[:3], underpaid, *records[4:]])] == [
        "INV-23"
    ]


@rules("INV-24", "ATT-05", "ORD-02", "ASK-01", "CAN-01")
def test_nothing_of_a_pruned_slot_comes_back() -> None:
    ledger, s = traded()
    close = trading_close(ledger.state.params, s)
    ledger.state = advance_clock(ledger.state, close)
    assert check_state(ledger.state) == []
    attempts = [
        ("attestor", Kind.ATTEST, {0: [{0: 103, 1: s, 2: 3000, 3: 0, 4: 0}]}, "ATT-05"),
        ("alice", Kind.PLACE_ASK, {0: 103, 1: s, 2: 1, 3: 2000}, "ASK-01"),
        ("bob", Kind.PLACE_BID, {0: 1, 1: s, 2: 1, 3: 2500}, "ORD-02"),
        ("bob", Kind.CANCEL, {0: 2}, "CAN-01"),
    ]
    for sender, kind, body, rule_id in attempts:
        before = ledger.state
        receipt = ledger.submit(ledger.make(sender, kind, body))
        assert receipt.rule_id == rule_id, (kind, receipt)
        assert ledger.state == before
    stale = replace(traded()[0].state, time=Timestamp(close))
    assert "INV-24" in {v.rule_id for v in check_state(stale)}


@rules("BLK-15")
def test_a_block_must_carry_the_root_of_what_it_settled() -> None:
    ledger, s = traded()
    state = ledger.state
    close = trading_close(state.params, s)
    honest = forge_block(state, [], close)
    header = decode(honest, max_size=2**24)[0]
    assert isinstance(header, dict)
    _, records = advance_clock_settling(state, close)
    assert header[7] == settlement_root(records) != EMPTY_SETTLEMENT_ROOT
    after, receipt = apply_block(state, honest)
    assert receipt.accepted and receipt.settlement == records
    reject_block(
        state, forge_block(state, [], close, settlement_root=EMPTY_SETTLEMENT_ROOT), "BLK-15"
    )
    # One second earlier nothing is settled: the empty root is right and any other is not.
    early = forge_block(state, [], close - 1)
    assert decode(early, max_size=2**24)[0][7] == EMPTY_SETTLEMENT_ROOT  # type: ignore[index]
    reject_block(state, forge_block(state, [], close - 1, settlement_root=header[7]), "BLK-15")
    # A block with a wrong state root and a wrong settlement root reports BLK-10 first.
    both = forge_block(state, [], close, state_root=bytes(32), settlement_root=bytes(32))
    reject_block(state, both, "BLK-10")
    assert after.time == close


@rules("PRE-10")
def test_a_loaded_state_may_hold_no_record_of_a_closed_slot() -> None:
    ledger, s = traded()
    close = trading_close(ledger.state.params, s)
    just_open = replace(ledger.state, time=Timestamp(close - 1))
    assert decode_state(decode(encode(encode_state(just_open)), max_size=2**24)) == just_open
    stale = replace(ledger.state, time=Timestamp(close))
    with pytest.raises(Rejected) as caught:
        decode_state(decode(encode(encode_state(stale)), max_size=2**24))
    assert caught.value.rule.id == "PRE-10"
    assert "reading" in caught.value.detail  # readings are checked first
