"""The ``settlement`` vectors: pruning at the clock advance and the settlement it emits.

Once a slot's markets are cleared its readings, lots, demand rows, orders and markets leave the
state (PRN-01, PRN-02), and the step's settlement root (SET-03; a block's header key 7, BLK-15)
commits to what they were. Each vector's post-state shows the slot gone; its ``settlement_root``
expectation pins the records. The generator checks the records against values worked out by
hand from the rule book (chapter 8 for the auction, section 9.10 for the records) before it
writes a vector, and checks every record's inclusion proof (SET-04) against the block header.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from conformance_tests.groups.pre import refused_vector
from conformance_tests.scenario import key_of
from conformance_tests.suite import (
    GenerationError,
    Suite,
    block,
    forge_block,
    market,
    must,
    tick,
    tx,
    village,
)
from spec.blocks import parse_header
from spec.cbor import decode
from spec.clearing import advance_clock_settling
from spec.fmap import FrozenMap
from spec.settlement import (
    EMPTY_SETTLEMENT_ROOT,
    DemandRecord,
    LotRecord,
    MarketRecord,
    OrderRecord,
    SettlementRecord,
    make_proof,
    verify_proof,
)
from spec.state import OrderStatus, State, trading_close
from spec.transactions import Kind
from spec.units import Timestamp


def _slot_keys(state: State, slot: int) -> list[object]:
    """Every per-slot record of ``slot`` in ``state`` (INV-24 asks that there be none)."""
    return [
        *(k for k in state.readings if k[1] == slot),
        *(k for k in state.lots if k[1] == slot),
        *(k for k in state.demand if k[2] == slot),
        *(k for k, o in state.orders.items() if o.slot == slot),
        *(k for k in state.markets if k[1] == slot),
    ]


def _settle(vector_id: str, state: State, now: int) -> tuple[SettlementRecord, ...]:
    """The settlement of a clock advance to ``now``, checked to leave no record of a due slot."""
    after, records = advance_clock_settling(state, now)
    slots = {r.slot for r in records}
    for slot in slots:
        if _slot_keys(after, slot):
            raise GenerationError(f"{vector_id}: slot {slot} not pruned")
    return records


def _expect(vector_id: str, got: object, want: object) -> None:
    if got != want:
        raise GenerationError(f"{vector_id}: settlement gives {got!r}, the rule book {want!r}")


def _check_proofs(vector_id: str, block_bytes: bytes, records: Sequence[SettlementRecord]) -> None:
    """SET-04: every record's audit path reaches the block header's settlement root."""
    header = decode(block_bytes, max_size=2**24)[0]  # type: ignore[index]
    parse_header(header)
    assert isinstance(header, dict)
    for index in range(len(records)):
        if not verify_proof(make_proof(header, records, index)):
            raise GenerationError(f"{vector_id}: record {index} has no valid proof")


def group_settlement(suite: Suite) -> None:
    """Pruning after clearing (by tick and by block), a slot without a market, a lot whose zone
    has no market, two slots in one block, a wrong settlement root, and what can no longer reach
    a pruned slot."""
    m = market()
    s = m.slot - 1
    close = trading_close(m.state.params, s)
    # Alice offers 1000 Wh at 2000, bob bids 800 Wh at 2500 in zone 1 (fee 100 sen/kWh).
    must(m.ask("alice", 103, s, 1000, 2000))
    must(m.bid("bob", 1, s, 800, 2500))
    traded = m.state

    # Chapter 8 by hand: V = 800 (bob's 800 Wh at 2500 meet alice's first 800 at 2000);
    # lo = a_800 = 2000 (no 801st bid Wh), hi = min(b_800, a_801) = min(2500, 2000) = 2000:
    # P = 2000. Alice receives 800 x 2000 = 1 600 000 milli-sen; bob pays that and the fee
    # 800 x 100 = 80 000. Zone 10 (erin's lot, no orders) clears with no price.
    records = _settle("settlement/valid/tick-prunes-cleared-slot", traded, close)
    markets = [r for r in records if isinstance(r, MarketRecord)]
    _expect(
        "settlement/valid/tick-prunes-cleared-slot",
        [(r.zone, r.price, r.volume_wh, r.amount_msen, r.fees_msen) for r in markets],
        [(1, 2000, 800, 1_600_000, 80_000), (10, None, 0, 0, 0)],
    )
    orders = [r for r in records if isinstance(r, OrderRecord)]
    _expect(
        "settlement/valid/tick-prunes-cleared-slot",
        [(r.order_id, r.status, r.filled_wh, r.amount_msen, r.fee_msen) for r in orders],
        [
            (1, OrderStatus.PARTLY_FILLED, 800, 1_600_000, 0),
            (2, OrderStatus.FILLED, 800, 1_600_000, 80_000),
        ],
    )
    lots = [r for r in records if isinstance(r, LotRecord)]
    _expect(
        "settlement/valid/tick-prunes-cleared-slot",
        [(r.meter, r.minted_wh, r.sold_wh, r.expired_wh) for r in lots],
        [(103, 3000, 800, 2200), (106, 1000, 0, 1000), (112, 2000, 0, 2000)],
    )
    demand = {
        (r.account, r.zone): (r.imported_wh, r.claimed_wh)
        for r in records
        if isinstance(r, DemandRecord)
    }
    _expect(
        "settlement/valid/tick-prunes-cleared-slot",
        demand,
        {
            (key_of("bob"), 1): (2500, 800),
            (key_of("carol"), 1): (1000, 0),
            (key_of("dave"), 1): (800, 0),
            (key_of("frank"), 10): (1500, 0),
        },
    )
    _expect(
        "settlement/valid/tick-prunes-cleared-slot",
        [type(r).__name__ for r in records],
        ["MarketRecord"] * 2
        + ["OrderRecord"] * 2
        + ["LotRecord"] * 3
        + ["DemandRecord"] * 4
        + ["ReadingRecord"] * 6,
    )
    suite.add(
        "settlement/valid/tick-prunes-cleared-slot",
        "A tick to trading_close(s) clears zone 1 (alice's 1000 Wh at 2000 against bob's 800 Wh "
        "at 2500: P = 2000, V = 800) and zone 10 (no orders), then prunes slot s: the post-state "
        "holds no reading, lot, demand, order or market of s. The settlement root commits to 17 "
        "records: 2 markets, 2 orders, 3 lots (alice sold 800, expired 2200), 4 demand rows, "
        "6 readings, in the order of SET-01.",
        traded,
        [tick(close)],
        expect=[None],
        flags=["clearing", "time"],
    )
    last = forge_block(traded, [], close - 1)
    at_close = forge_block(traded, [], close)
    _check_proofs("settlement/valid/block-prunes-cleared-slot", at_close, records)
    suite.add(
        "settlement/valid/block-prunes-cleared-slot",
        "A block one second before trading_close(s) prunes nothing (empty settlement root); the "
        "next, at the close, clears and prunes slot s, and its header's key 7 is the root of the "
        "same 17 records as the tick's (every record's audit path checked against it, SET-04).",
        traded,
        [block(last), block(forge_block(_after(traded, last), [], close))],
        expect=[None, None],
        rules=["SET-04"],
        flags=["block", "clearing", "time", "boundary"],
    )
    suite.negative(
        "settlement/BLK-15/settlement-root-empty",
        "A block at trading_close(s) whose header claims the empty settlement root, as if it had "
        "pruned nothing: the state root is right, the settlement root is not (BLK-15).",
        traded,
        block(forge_block(traded, [], close, settlement_root=EMPTY_SETTLEMENT_ROOT)),
        block(at_close),
        "BLK-15",
        flags=["block"],
    )
    suite.negative(
        "settlement/BLK-15/settlement-root-of-no-close",
        "A block one second before the close whose header claims the root of the settlement "
        "the close would emit (BLK-15).",
        traded,
        block(forge_block(traded, [], close - 1, settlement_root=_root_of(at_close))),
        block(last),
        "BLK-15",
        flags=["block", "boundary"],
    )

    # What can no longer reach a pruned slot (INV-24).
    suite.add(
        "settlement/ATT-05/attest-pruned-slot",
        "After the tick that prunes slot s, the attestor sends meter 103's slot-s reading again: "
        "the reading is gone, so ATT-06 could not see it, and ATT-05 (checked first: the "
        "attestation window closed no later than trading) rejects it.",
        traded,
        [
            tick(close),
            tx(m.make("attestor", Kind.ATTEST, {0: [{0: 103, 1: s, 2: 3000, 3: 0, 4: 0}]})),
        ],
        expect=[None, "ATT-05"],
        flags=["time", "double-spend"],
    )
    cancel = m.make("bob", Kind.CANCEL, {0: 2})
    suite.add(
        "settlement/CAN-01/cancel-pruned-order-in-block",
        "A block at trading_close(s) that prunes slot s and carries bob's cancel of his bid "
        "(order 2): the order left the state before the transaction ran, so the cancel names "
        "an unknown order (CAN-01) and the block is rejected (BLK-09).",
        traded,
        [block(forge_block(traded, [cancel], close))],
        expect=["BLK-09"],
        flags=["block", "time"],
    )

    # A slot with readings but no market: import only (no lot, so no market, MKT-01).
    v = village()
    must(v.attest([(104, s, 0, 2500), (105, s, 0, 1000)]))
    records = _settle("settlement/valid/import-only-slot", v.state, close)
    _expect(
        "settlement/valid/import-only-slot",
        sorted((type(r).__name__, r.slot) for r in records),
        sorted([("DemandRecord", s)] * 2 + [("ReadingRecord", s)] * 2),
    )
    suite.add(
        "settlement/valid/import-only-slot",
        "Bob and carol import in slot s; nobody exports, so the slot has no lot and no market "
        "(MKT-01). At trading_close(s) - 1 nothing is pruned; at the close the readings and "
        "demand rows leave the state into 4 records (2 demand, 2 readings).",
        v.state,
        [tick(close - 1), tick(close)],
        expect=[None, None],
        flags=["time", "boundary"],
    )

    # A lot without its market would never be expired by clearing (CLR-07), so its lot record
    # would break INV-22: a loaded state may not hold one (PRE-12, INV-29).
    with_markets = market().state
    refused_vector(
        suite,
        "pre/PRE-12/lots-without-markets",
        "The market state (alice's, dave's and erin's lots of slot s) with both of its markets "
        "removed: no lot's zone and slot has a market (PRE-12).",
        replace(with_markets, markets=FrozenMap()),
        "PRE-12",
    )
    one_zone = next(k for k in with_markets.markets if k[0] != 1)
    refused_vector(
        suite,
        "pre/PRE-12/one-zone-without-market",
        f"The market state with the market of zone {one_zone[0]}, slot s removed and zone 1's "
        "kept: the lots of that zone have no market (PRE-12).",
        replace(with_markets, markets=with_markets.markets.remove(one_zone)),
        "PRE-12",
    )
    # The spec's own settlement of a clock advance expires a lot's unsold Wh at clearing, and
    # the lot record says so (SET-02, INV-22).
    records = _settle("settlement/valid/unsold-lots-expire", with_markets, close)
    _expect(
        "settlement/valid/unsold-lots-expire",
        [(r.meter, r.sold_wh, r.expired_wh) for r in records if isinstance(r, LotRecord)],
        [(103, 0, 3000), (106, 0, 1000), (112, 0, 2000)],
    )
    suite.add(
        "settlement/valid/unsold-lots-expire",
        "The market state: alice's, dave's and erin's lots of slot s, no order. At "
        "trading_close(s) both markets clear with no trade, CLR-07 expires every lot's unsold "
        "Wh, and each lot record carries the lot's own expired Wh: alice 3000, dave 1000, "
        "erin 2000, sold 0 (SET-02, INV-22).",
        with_markets,
        [tick(close)],
        expect=[None],
        rules=["CLR-07", "INV-22", "INV-29"],
        flags=["time", "clearing"],
    )

    # Two slots settled by one block: s - 1 (alice sells to bob) and s (erin's lot expires).
    two = market()
    must(two.attest([(103, s - 1, 500, 0), (104, s - 1, 0, 400)]))
    must(two.ask("alice", 103, s - 1, 500, 1000))
    must(two.bid("bob", 1, s - 1, 400, 1500))
    records = _settle("settlement/valid/block-settles-two-slots", two.state, close)
    _expect(
        "settlement/valid/block-settles-two-slots",
        [(r.slot, r.zone, r.price, r.volume_wh) for r in records if isinstance(r, MarketRecord)],
        # Slot s - 1: V = 400, lo = a_400 = 1000, hi = min(b_400, a_401) = 1000: P = 1000.
        [(s - 1, 1, 1000, 400), (s, 1, None, 0), (s, 10, None, 0)],
    )
    first_of_s = next(i for i, r in enumerate(records) if r.slot == s)
    if any(r.slot != s - 1 for r in records[:first_of_s]):
        raise GenerationError("settlement/valid/block-settles-two-slots: slots out of order")
    both = forge_block(two.state, [], close)
    _check_proofs("settlement/valid/block-settles-two-slots", both, records)
    suite.add(
        "settlement/valid/block-settles-two-slots",
        "Slot s - 1 (alice offers 500 Wh at 1000, bob bids 400 Wh at 1500: P = 1000, V = 400) "
        "and slot s (no orders) both close by trading_close(s); one block at that time clears "
        "and prunes both, slot s - 1's records first (SET-01), and its header commits to all of "
        "them (every record's audit path checked against it, SET-04).",
        two.state,
        [block(both)],
        expect=[None],
        rules=["SET-04"],
        flags=["block", "clearing", "time"],
    )

    # PRE-10: a loaded state may hold no record of a slot whose trading has closed.
    refused_vector(
        suite,
        "pre/PRE-10/stale-open-market",
        "The market state with alice's ask and bob's bid, its clock set to trading_close(s): "
        "the slot's records should have been cleared and pruned by the advance that reached "
        "this time. The first stale row in the check order is a reading (PRE-10).",
        replace(traded, time=Timestamp(close)),
        "PRE-10",
    )
    refused_vector(
        suite,
        "pre/PRE-10/stale-market-only",
        "The market state after the tick that pruned slot s, with zone 1's market of slot s "
        "put back as it was, still open (PRE-10).",
        _with_market(advance_clock_settling(traded, close)[0], traded, s),
        "PRE-10",
    )


def _after(state: State, block_bytes: bytes) -> State:
    from spec.blocks import apply_block

    after, receipt = apply_block(state, block_bytes)
    if not receipt.accepted:
        raise GenerationError(f"fixture block rejected: {receipt}")
    return after


def _root_of(block_bytes: bytes) -> bytes:
    header = decode(block_bytes, max_size=2**24)[0]  # type: ignore[index]
    return parse_header(header).settlement_root


def _with_market(pruned: State, before: State, slot: int) -> State:
    key = next(k for k in before.markets if k[1] == slot and k[0] == 1)
    return replace(pruned, markets=pruned.markets.set(key, before.markets[key]))
