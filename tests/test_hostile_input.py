"""Hostile input costs the sender: the block's array bound at its head (BLK-11) and the item budget
(ENC-16), in the spec and in the reference node, at full size (8 MiB) where a test can afford it.

Costs are measured by ``kwhledger bench hostile``; these tests pin the rules and that both
implementations agree."""

from __future__ import annotations

from typing import Any

import pytest
from _rules_plugin import rules
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance_tests.groups.hostile import with_raw_transactions
from conformance_tests.spec_adapter import state_bytes
from conformance_tests.suite import forge_block, head, with_validators
from reference.adapter import load_state
from reference.cbor import decode_strict
from reference.errors import Rejected as ReferenceRejected
from reference.wire import MAX_BLOCK_ITEMS as REFERENCE_MAX_BLOCK_ITEMS
from spec.blocks import MAX_BLOCK_BYTES, MAX_BLOCK_ITEMS, MAX_BLOCK_TXS, apply_block
from spec.cbor import ArrayBound, decode, encode
from spec.errors import Rejected
from spec.state import state_root

pytest_plugins = ("_rules_plugin",)


def hostile_block(element: bytes, count: int) -> tuple[Any, bytes]:
    """(state, block) with a valid header and quorum and ``count`` copies of ``element`` as its
    transaction array, as large as MAX_BLOCK_BYTES allows."""
    v = with_validators("validator-1", "validator-2", "validator-3")
    block = with_raw_transactions(v.state, v.state.time + 60, head(4, count) + element * count)
    return v.state, block


def both_reject(state: Any, block: bytes) -> tuple[str | None, str]:
    """The rule each implementation reports for ``block``; both must leave their root alone."""
    after, receipt = apply_block(state, block)
    assert after is state
    ledger = load_state(state_bytes(state))
    root = ledger.state_root()
    result = ledger.apply_block(block)
    assert ledger.state_root() == root == state_root(state)
    return receipt.rule_id, result.rule_id


@rules("BLK-11")
@pytest.mark.parametrize("element", [b"\xa0", b"\x40"], ids=["empty-maps", "empty-byte-strings"])
def test_an_8_mib_block_of_empty_items_is_refused_at_the_array_head(element: bytes) -> None:
    count = MAX_BLOCK_BYTES - 1024  # what fits beside the header and the votes
    state, block = hostile_block(element, count)
    assert MAX_BLOCK_BYTES - 2048 < len(block) <= MAX_BLOCK_BYTES
    assert both_reject(state, block) == ("BLK-11", "BLK-11")


@rules("BLK-11")
def test_the_transaction_bound_is_exact() -> None:
    v = with_validators("validator-1", "validator-2", "validator-3")
    t = v.state.time + 60
    at_bound = forge_block(
        v.state, [b""] * MAX_BLOCK_TXS, t, signers=("validator-1", "validator-2")
    )
    # Counted fine; the first empty transaction is then malformed (BLK-09, ENC-01 inside).
    assert both_reject(v.state, at_bound) == ("BLK-09", "BLK-09")


@rules("ENC-16")
def test_the_budget_refuses_the_first_item_over_it() -> None:
    data = encode([[0] * 5, [1, 2]])  # 1 + (1 + 5) + (1 + 2) = 10 items
    assert decode(data, max_size=len(data), max_items=10) == [[0] * 5, [1, 2]]
    assert decode_strict(data, len(data), max_items=10) == [[0] * 5, [1, 2]]
    with pytest.raises(Rejected) as spec_rejection:
        decode(data, max_size=len(data), max_items=9)
    with pytest.raises(ReferenceRejected) as reference_rejection:
        decode_strict(data, len(data), max_items=9)
    assert spec_rejection.value.rule.id == reference_rejection.value.rule_id == "ENC-16"
    assert spec_rejection.value.detail.endswith("byte 9")  # the last 2: the tenth item
    assert MAX_BLOCK_ITEMS == REFERENCE_MAX_BLOCK_ITEMS


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        return "value", call()
    except Rejected as rejection:
        return "rejected", rejection.rule.id
    except ReferenceRejected as rejection:
        return "rejected", rejection.rule_id


_values: st.SearchStrategy[Any] = st.recursive(
    st.integers(0, 30) | st.binary(max_size=3),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.integers(0, 5), inner),
    max_leaves=30,
)


@rules("ENC-16", "BLK-11")
@settings(max_examples=300, deadline=None)
@given(
    value=st.dictionaries(st.integers(0, 3), _values, max_size=4),
    budget=st.integers(1, 60),
    bounded_key=st.integers(0, 3),
    most=st.integers(0, 4),
    cut=st.integers(0, 8),
)
def test_spec_and_reference_decoders_agree_on_budgets_and_bounds(
    value: Any, budget: int, bounded_key: int, most: int, cut: int
) -> None:
    data = encode(value)
    data = data[: max(1, len(data) - cut)] if cut % 2 else data  # sometimes truncated
    spec_side = _outcome(
        lambda: decode(
            data,
            max_size=len(data),
            max_items=budget,
            array_bounds=(ArrayBound((bounded_key,), most, "BLK-11"),),
        )
    )
    reference_side = _outcome(
        lambda: decode_strict(
            data, len(data), max_items=budget, array_bounds={(bounded_key,): (most, "BLK-11")}
        )
    )
    assert spec_side == reference_side


def test_the_hostile_bench_measures_the_rule_it_reports() -> None:
    """``kwhledger bench --section hostile`` reports each case's rule with its figures (the
    figures themselves are for the bench to print, not for a test to time)."""
    from kwhledger.bench_hostile import child

    figures = child("block-empty-byte-strings", "spec", None)
    assert figures["outcome"] == "BLK-11"
    assert figures["input_bytes"] > MAX_BLOCK_BYTES - 2048
    assert figures["seconds"] >= 0 and figures["peak_above_baseline_mib"] >= 0
