"""Vectors of TIM-01: one block moves the ledger's clock at most MAX_BLOCK_JUMP_S."""

from __future__ import annotations

from conformance_tests.scenario import key_of
from conformance_tests.suite import Suite, block, forge_block, with_validators
from spec.blocks import apply_block
from spec.time import MAX_BLOCK_JUMP_S
from spec.transactions import Kind
from spec.units import TIME_MAX_S


def group_time_bound(suite: Suite) -> None:
    """The bricking attack and the edge of the bound, and a catch-up after a long halt."""
    v = with_validators("validator-1", "validator-2", "validator-3")
    two = ("validator-1", "validator-2")
    now = int(v.state.time)
    edge = now + MAX_BLOCK_JUMP_S
    deposit = v.make("operator", Kind.DEPOSIT, {0: key_of("alice"), 1: 1})
    at_edge = forge_block(v.state, [deposit], edge, signers=two)
    suite.negative(
        "time/TIM-01/block-at-time-max",
        "The bricking attack: a block stamped TIME_MAX_S = 2^40 - 1, signed by a quorum, would "
        "clear every open market and refuse every later block, order and reading for time.",
        v.state,
        block(forge_block(v.state, [deposit], TIME_MAX_S, signers=two)),
        block(at_edge),
        "TIM-01",
        flags=["time", "attack"],
    )
    suite.negative(
        "time/TIM-01/one-second-over-a-day",
        "A block one second more than MAX_BLOCK_JUMP_S after the ledger's time; its twin is at "
        "the bound exactly.",
        v.state,
        block(forge_block(v.state, [deposit], edge + 1, signers=two)),
        block(at_edge),
        "TIM-01",
        flags=["time", "boundary"],
    )
    state = v.state
    blocks = []
    for day in range(1, 4):
        data = forge_block(state, [], now + day * MAX_BLOCK_JUMP_S, signers=two)
        state, receipt = apply_block(state, data)
        assert receipt.accepted, receipt
        blocks.append(block(data))
    suite.add(
        "time/valid/catch-up-after-a-long-halt",
        "After a halt of three days the clock catches up in three blocks of one day each: the "
        "bound never stops the chain.",
        v.state,
        blocks,
        expect=[None, None, None],
        flags=["time", "valid"],
    )
