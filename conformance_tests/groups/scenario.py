"""The ``scenario`` vectors: multi-block scenarios and a day in a small village."""

from __future__ import annotations

import random

from conformance_tests.adapter import Step
from conformance_tests.scenario import Ledger, key_of, seed_of
from conformance_tests.spec_adapter import apply_step
from conformance_tests.suite import (
    SEED,
    Suite,
    block,
    copy,
    forge_block,
    must,
    with_validators,
)
from spec.blocks import build_block
from spec.state import (
    MarketStatus,
    NodeKind,
    trading_close,
)
from spec.transactions import (
    Kind,
)
from spec.units import (
    slot_end,
)


def group_block_scenarios(suite: Suite) -> None:
    """Short chains of blocks: clearing before transactions, a rejected block in the middle,
    rotating proposers (BLK-12)."""
    names = ("validator-1", "validator-2", "validator-3")
    v = with_validators(*names)
    s = v.slot - 1
    must(v.attest([(103, s, 3000, 0), (104, s, 0, 2500)]))
    must(v.ask("alice", 103, s, 2000, 2000))
    must(v.bid("bob", 1, s, 2000, 2400))
    close = trading_close(v.state.params, s)
    cancel = v.make("bob", Kind.CANCEL, {0: 2})
    two = ("validator-1", "validator-2")
    suite.negative(
        "scenario/BLK-09/clearing-before-transactions",
        "A block at trading_close(s) clears the market before its transactions run, so bob's "
        "cancel of his bid meets a closed order (CAN-03) and the block is rejected. The same "
        "block one second earlier is accepted.",
        v.state,
        block(forge_block(v.state, [cancel], close, signers=two)),
        block(forge_block(v.state, [cancel], close - 1, signers=two)),
        "BLK-09",
        flags=["block", "time", "boundary", "clearing"],
    )
    # A chain: good block, a block with a wrong state root, the good block again, one more.
    chain = copy(v)
    first = forge_block(chain.state, [], chain.state.time + 60, signers=two)
    after_first, _ = apply_step(chain.state, block(first))
    deposit = chain.make("operator", Kind.DEPOSIT, {0: key_of("carol"), 1: 7})
    wrong = forge_block(after_first, [deposit], close - 1, signers=two, state_root=bytes(32))
    right = forge_block(after_first, [deposit], close - 1, proposer="validator-2", signers=two)
    after_right, _ = apply_step(after_first, block(right))
    last = forge_block(
        after_right, [], close, proposer="validator-3", signers=("validator-2", "validator-3")
    )
    suite.add(
        "scenario/rejected-block-in-a-chain",
        "Four blocks: an empty one; one with a wrong state root, rejected and without effect; "
        "the corrected block at the same height by another proposer; a last one, proposed and "
        "signed by other validators, at trading close, which clears the market.",
        v.state,
        [block(first), block(wrong), block(right), block(last)],
        expect=[None, "BLK-10", None, None],
        flags=["block", "multi-block", "scenario", "clearing", "atomicity"],
    )


# --- A day in a small village ------------------------------------------------------------------


def village_day(suite: Suite, name: str, seed: str, households_per_zone: int) -> None:
    """Three zones, households with and without solar, 48 slots, one block per slot."""
    rng = random.Random(f"{SEED}/{seed}")
    validators = ("validator-1", "validator-2", "validator-3")
    ledger = Ledger.new(validators=validators)
    ledger.node(1, NodeKind.SUBSTATION, None, 100)
    zones = [1, 40, 70]
    ledger.node(40, NodeKind.SUBSTATION, 1, 60)
    ledger.node(70, NodeKind.SUBSTATION, 1, 80)
    homes: list[tuple[str, int, int, bool]] = []
    for zone in zones:
        ledger.node(zone + 1, NodeKind.TRANSFORMER, zone)
        for h in range(households_per_zone):
            node = zone + 2 + h
            who = f"h{node}"
            ledger.node(node, NodeKind.SERVICE_POINT, zone + 1)
            ledger.register(who)
            solar = rng.random() < 0.5
            ledger.meter(node + 1000, who, node, capacity_wh=5_000)
            ledger.deposit(who, 50_000 * 100_000)
            homes.append((who, node + 1000, zone, solar))
    for receipt in ledger.receipts:
        must(receipt)
    pre = ledger.state
    start_slot = ledger.slot
    steps: list[Step] = []
    for k in range(48 + 4):
        slot = start_slot + k - 1
        time = slot_end(slot)
        txs: list[bytes] = []
        if k < 48:
            period = k % 48
            daylight = max(0, 12 - abs(period - 24)) if 12 <= period <= 36 else 0
            readings = []
            for _who, meter, _zone, solar in homes:
                exported = rng.randint(0, 250) * daylight if solar else 0
                imported = rng.randint(50, 900) if not exported else rng.randint(0, 200)
                readings.append({0: meter, 1: slot, 2: exported, 3: imported, 4: 0})
            txs.append(ledger.make("attestor", Kind.ATTEST, {0: readings}))
            ledger.nonces["attestor"] = ledger.nonces.get("attestor", 0) + 1
            for (who, meter, zone, _), reading in zip(homes, readings, strict=True):
                if reading[2] > 0:
                    body = {0: meter, 1: slot, 2: reading[2], 3: rng.choice((1800, 2000, 2200))}
                    txs.append(ledger.make(who, Kind.PLACE_ASK, body))
                    ledger.nonces[who] = ledger.nonces.get(who, 0) + 1
                elif reading[3] > 0 and rng.random() < 0.8:
                    body = {0: zone, 1: slot, 2: reading[3], 3: rng.choice((1900, 2100, 2600))}
                    txs.append(ledger.make(who, Kind.PLACE_BID, body))
                    ledger.nonces[who] = ledger.nonces.get(who, 0) + 1
        # Built once here; Suite.add applies it with apply_block and checks it is accepted.
        data, ledger.state = build_block(
            ledger.state,
            txs,
            time,
            seed_of("validator-1"),
            [seed_of("validator-1"), seed_of("validator-2")],
        )
        steps.append(block(data))
    cleared = sum(1 for m in ledger.state.markets.values() if m.status is MarketStatus.CLEARED)
    traded = sum(1 for m in ledger.state.markets.values() if m.volume_wh)
    suite.add(
        f"scenario/{name}",
        f"A day in a village: 3 zones, {len(homes)} households, 48 slots, one block per slot "
        f"and 4 more to clear the last ones; {cleared} markets clear, {traded} trade.",
        pre,
        steps,
        expect=[None] * len(steps),
        flags=["scenario", "multi-block", "clearing"],
    )


def group_village_day(suite: Suite) -> None:
    """A day of 48 slots in a village of three zones, eight households each."""
    village_day(suite, "village-day", "day", 8)
