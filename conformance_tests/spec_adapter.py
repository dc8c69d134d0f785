"""The executable spec as an implementation under test, and the one definition of a step.

``apply_step`` is how the spec applies a vector's step; the generator uses it to compute every
expected outcome and the spec adapter (``kwhledger adapter spec``) uses it to answer the runner,
so the spec passing its own suite checks the vector files and the protocol, not a second copy of
the semantics.
"""

from __future__ import annotations

from collections.abc import Sequence

from conformance_tests.adapter import Step, StepResult, VectorResult
from conformance_tests.vector import SETTLING_KINDS, Outcome
from spec.blocks import apply_block
from spec.cbor import decode, encode
from spec.clearing import advance_clock_settling
from spec.errors import Rejected
from spec.settlement import EMPTY_SETTLEMENT_ROOT, settlement_root
from spec.state import (
    MAX_STATE_ITEMS,
    State,
    decode_state,
    encode_state,
    state_root,
)
from spec.transactions import apply_transaction

__all__ = ["SpecImplementation", "apply_step", "load_state", "state_bytes", "state_root"]

MAX_STATE_BYTES = 64 * 1024 * 1024


def apply_step(state: State, step: Step) -> tuple[State, Outcome]:
    """Apply one step to ``state``; a rejected step returns ``state`` itself."""
    if step.kind == "tx":
        assert step.input is not None
        after, receipt = apply_transaction(state, step.input)
        return after, Outcome(receipt.code, receipt.rule_id, state_root(after))
    if step.kind == "block":
        assert step.input is not None
        after, block_receipt = apply_block(state, step.input)
        return after, Outcome(
            block_receipt.code,
            block_receipt.rule_id,
            state_root(after),
            block_receipt.to_cbor(),
            settlement_root(block_receipt.settlement),
        )
    assert step.kind == "tick" and step.time is not None
    try:
        after, settlement = advance_clock_settling(state, step.time)
    except Rejected as rejection:
        return state, Outcome(
            rejection.code, rejection.rule.id, state_root(state), None, EMPTY_SETTLEMENT_ROOT
        )
    return after, Outcome(0, None, state_root(after), None, settlement_root(settlement))


def state_bytes(state: State) -> bytes:
    """The canonical encoding of a state, as vectors carry it."""
    return encode(encode_state(state))


def refused_pre_state(pre_state: bytes, rejection: Rejected, steps: Sequence[Step]) -> VectorResult:
    """A pre-state that breaks a PRE rule is not loaded: every step reports that rule, and the
    root stays the pre-state's (FORMAT.md section 3.2)."""
    value = decode(pre_state, max_size=MAX_STATE_BYTES, max_items=MAX_STATE_ITEMS)
    root = state_root(decode_state(value, consistency=False))
    outcomes = [
        StepResult(
            rejection.code,
            rejection.rule.id,
            root,
            settlement_root=EMPTY_SETTLEMENT_ROOT if step.kind in SETTLING_KINDS else None,
        )
        for step in steps
    ]
    return VectorResult(tuple(outcomes), root, lambda: pre_state)


def load_state(data: bytes) -> State:
    """A vector's pre-state."""
    return decode_state(decode(data, max_size=MAX_STATE_BYTES, max_items=MAX_STATE_ITEMS))


class SpecImplementation:
    """``conformance_tests.adapter.Implementation`` backed by the executable spec."""

    name: str = "kwhledger-spec"
    capabilities: Sequence[str] = ("tx", "block", "tick", "post_state")

    def __init__(self, version: str) -> None:
        self.version = version

    def run_vector(self, pre_state: bytes, steps: Sequence[Step]) -> VectorResult:
        try:
            state = load_state(pre_state)
        except Rejected as rejection:
            if not rejection.rule.id.startswith("PRE-"):
                raise
            return refused_pre_state(pre_state, rejection, steps)
        results = []
        for step in steps:
            state, outcome = apply_step(state, step)
            results.append(
                StepResult(
                    outcome.code,
                    outcome.rule,
                    outcome.root,
                    outcome.block_receipt,
                    outcome.settlement_root,
                )
            )
        return VectorResult(tuple(results), state_root(state), lambda: state_bytes(state))
