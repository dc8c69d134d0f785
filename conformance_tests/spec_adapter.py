"""The executable spec as an implementation under test, and the one definition of a step.

``apply_step`` is how the spec applies a vector's step; the generator uses it to compute every
expected outcome and the spec adapter (``kwhledger adapter spec``) uses it to answer the runner,
so the spec passing its own suite checks the vector files and the protocol, not a second copy of
the semantics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conformance_tests.adapter import Step, StepResult, VectorResult
from conformance_tests.vector import Outcome
from spec.blocks import apply_block
from spec.cbor import decode, encode
from spec.clearing import advance_clock
from spec.crypto import TAG_STATE_ROOT, tagged_hash
from spec.errors import Rejected
from spec.state import (
    LTHASH_BYTES,
    State,
    Table,
    decode_state,
    encode_state,
    entries,
    entry_lanes,
    record_to_cbor,
)
from spec.state import state_root as spec_state_root
from spec.transactions import apply_transaction

MAX_STATE_BYTES = 64 * 1024 * 1024

_LANES: dict[tuple[int, object, object], int] = {}
"""LtHash expansions of table entries already seen, by (table, key, record), widened (below)."""
_LANES_LIMIT = 200_000


def _wire_key(key: object) -> Any:
    return (
        [int(part) if isinstance(part, int) else part for part in key]
        if isinstance(key, tuple)
        else key
    )


def _widened(expansion: bytes) -> int:
    """An expansion's 16-bit lanes widened to 32 bits, as one integer (as in ``lthash_sum``)."""
    widened = bytearray(2 * LTHASH_BYTES)
    widened[0::4] = expansion[0::2]
    widened[1::4] = expansion[1::2]
    return int.from_bytes(widened, "little")


def state_root(state: State) -> bytes:
    """``spec.state.state_root``, remembering each entry's widened expansion between calls.

    A vector's steps change few entries, so re-expanding only the new ones, and adding remembered
    widened integers, makes replaying the suite several times faster. The expansion and the
    final hash are the spec's own functions and the lane-wise sum is the spec's method; the
    conformance tests check that this equals ``spec.state.state_root`` on every vector.
    """
    if len(_LANES) > _LANES_LIMIT:
        _LANES.clear()
    tables: dict[Table, Mapping[Any, Any]] = {
        Table.ACCOUNTS: state.accounts,
        Table.NODES: state.nodes,
        Table.METERS: state.meters,
        Table.READINGS: state.readings,
        Table.LOTS: state.lots,
        Table.DEMAND: state.demand,
        Table.ORDERS: state.orders,
        Table.MARKETS: state.markets,
    }
    total = 0
    terms = 0
    for table, key, value in entries(state):
        if table is not Table.LEDGER:  # the singletons come first, then the tables
            break
        total += _widened(entry_lanes(int(table), key, value))
        terms += 1
    for table, rows in tables.items():
        for key, record in rows.items():
            cache_key = (int(table), key, record)
            found = _LANES.get(cache_key)
            if found is None:
                found = _widened(entry_lanes(int(table), _wire_key(key), record_to_cbor(record)))
                _LANES[cache_key] = found
            total += found
            terms += 1
    if terms >= 65_535:  # a 32-bit lane could carry into its neighbour: let the spec sum it
        return spec_state_root(state)
    folded = total.to_bytes(2 * LTHASH_BYTES + 8, "little")
    out = bytearray(LTHASH_BYTES)
    out[0::2] = folded[0 : 2 * LTHASH_BYTES : 4]
    out[1::2] = folded[1 : 2 * LTHASH_BYTES : 4]
    return tagged_hash(TAG_STATE_ROOT, bytes(out))


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
            block_receipt.code, block_receipt.rule_id, state_root(after), block_receipt.to_cbor()
        )
    assert step.kind == "tick" and step.time is not None
    try:
        after = advance_clock(state, step.time)
    except Rejected as rejection:
        return state, Outcome(rejection.code, rejection.rule.id, state_root(state))
    return after, Outcome(0, None, state_root(after))


def state_bytes(state: State) -> bytes:
    """The canonical encoding of a state, as vectors carry it."""
    return encode(encode_state(state))


def load_state(data: bytes) -> State:
    """A vector's pre-state."""
    return decode_state(decode(data, max_size=MAX_STATE_BYTES))


class SpecImplementation:
    """``conformance_tests.adapter.Implementation`` backed by the executable spec."""

    name: str = "kwhledger-spec"
    capabilities: Sequence[str] = ("tx", "block", "tick", "post_state")

    def __init__(self, version: str) -> None:
        self.version = version

    def run_vector(self, pre_state: bytes, steps: Sequence[Step]) -> VectorResult:
        state = load_state(pre_state)
        results = []
        for step in steps:
            state, outcome = apply_step(state, step)
            results.append(
                StepResult(outcome.code, outcome.rule, outcome.root, outcome.block_receipt)
            )
        return VectorResult(tuple(results), state_root(state), lambda: state_bytes(state))
