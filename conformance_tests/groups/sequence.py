"""The ``sequence`` vectors: short runs that a long-lived node's own indexes must survive.

A node that keeps indexes beside its tables (open orders by market and side, lots by market, a
journal to roll a rejected block back) can pass every one-step vector and still go wrong when an
order is cancelled and its owner trades on the other side, or when a rejected block leaves an
index behind. The expected outcomes follow from the rules' text: ORD-03 forbids an *open* ask and
bid of one account in one market (a cancelled order is not open), and a rejected block changes
nothing (chapter 10).
"""

from __future__ import annotations

from conformance_tests.scenario import key_of
from conformance_tests.spec_adapter import apply_step
from conformance_tests.suite import (
    Suite,
    block,
    forge_block,
    market,
    must,
    tick,
    tx,
    with_validators,
)
from spec.state import trading_close
from spec.transactions import Kind


def group_sequences(suite: Suite) -> None:
    """Ask, cancel, bid in one market; a rejected block followed by valid ones; cancels in a
    block at the trading close."""
    m = market()
    s = m.slot - 1
    close = trading_close(m.state.params, s)
    # Dave holds a 1000 Wh lot and 800 Wh of demand in zone 1, slot s.
    dave_ask = m.make("dave", Kind.PLACE_ASK, {0: 106, 1: s, 2: 500, 3: 1500})
    dave_cancel = m.make("dave", Kind.CANCEL, {0: 1}, nonce=1)
    dave_bid = m.make("dave", Kind.PLACE_BID, {0: 1, 1: s, 2: 400, 3: 2400}, nonce=2)
    alice_ask = m.make("alice", Kind.PLACE_ASK, {0: 103, 1: s, 2: 1000, 3: 2000})
    suite.add(
        "sequence/ask-cancel-bid-one-market",
        "Dave offers 500 Wh of his lot in zone 1 slot s (order 1), cancels it, then bids 400 Wh "
        "at 2400 there: accepted, because ORD-03 forbids only an OPEN ask beside a bid. Alice "
        "offers 1000 Wh at 2000 (order 3); at the close dave buys 400 Wh at 2000 sen/kWh (the "
        "401st Wh offered is alice's too, so lo = hi = 2000, section 8.5).",
        m.state,
        [tx(dave_ask), tx(dave_cancel), tx(dave_bid), tx(alice_ask), tick(close)],
        expect=[None] * 5,
        flags=["self-trade", "clearing", "lifecycle"],
    )
    v = with_validators("validator-1", "validator-2", "validator-3")
    must(v.attest([(103, s, 3000, 0), (106, s, 1000, 800)]))
    two = ("validator-1", "validator-2")
    t = v.state.time + 60
    ask = v.make("dave", Kind.PLACE_ASK, {0: 106, 1: s, 2: 500, 3: 1500})
    zero = v.make("operator", Kind.DEPOSIT, {0: key_of("alice"), 1: 0})
    bid = v.make("dave", Kind.PLACE_BID, {0: 1, 1: s, 2: 400, 3: 2400})
    offer = v.make("alice", Kind.PLACE_ASK, {0: 103, 1: s, 2: 1000, 3: 2000})
    rejected = forge_block(v.state, [ask, zero], t, signers=two)
    accepted = forge_block(v.state, [bid, offer], t, signers=two)
    after, _ = apply_step(v.state, block(accepted))
    clearing = forge_block(after, [], close, proposer="validator-2", signers=two)
    suite.add(
        "sequence/rejected-block-then-valid",
        "A block whose first transaction is dave's ask in zone 1 slot s and whose second is a "
        "deposit of 0 (BLK-09: nothing of it stays); then a block at the same height with "
        "dave's bid in that market, accepted because his ask never happened (no ORD-03), and "
        "alice's ask; then an empty block at the close, whose clearing fills 400 Wh at 2000.",
        v.state,
        [block(rejected), block(accepted), block(clearing)],
        expect=["BLK-09", None, None],
        flags=["block", "multi-block", "atomicity", "clearing"],
    )
    # Cancels in a block at the close: the clock (and the clearing) comes first (BLK-12).
    w = with_validators("validator-1", "validator-2", "validator-3")
    must(w.attest([(103, s, 3000, 0), (104, s, 0, 2500)]))
    must(w.ask("alice", 103, s, 2000, 2000))
    cancel = w.make("alice", Kind.CANCEL, {0: 1})
    suite.negative(
        "sequence/BLK-09/ask-cancel-at-close",
        "A block at trading_close(s) holding alice's cancel of her ask in slot s: the clock "
        "advances first and the clearing closes the ask (expired, nobody bid), so the cancel "
        "meets a closed order (CAN-03) and the block is rejected. One second earlier the same "
        "block is accepted.",
        w.state,
        block(forge_block(w.state, [cancel], close, signers=two)),
        block(forge_block(w.state, [cancel], close - 1, signers=two)),
        "BLK-09",
        flags=["block", "time", "boundary", "clearing"],
    )
    x = with_validators("validator-1", "validator-2", "validator-3")
    must(x.attest([(103, s - 1, 3000, 0), (106, s, 1000, 0)]))
    must(x.ask("alice", 103, s - 1, 2000, 2000))
    must(x.ask("dave", 106, s, 500, 2000))
    later_cancel = x.make("dave", Kind.CANCEL, {0: 2})
    earlier_close = trading_close(x.state.params, s - 1)
    suite.add(
        "sequence/cancel-of-next-slot-at-close",
        "A block at trading_close(s - 1) that clears slot s - 1 (alice's ask expires) and holds "
        "dave's cancel of his ask in slot s, whose market is still open: accepted.",
        x.state,
        [block(forge_block(x.state, [later_cancel], earlier_close, signers=two))],
        expect=[None],
        flags=["block", "time", "clearing"],
    )
