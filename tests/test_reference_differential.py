"""Differential fuzzing: the same random inputs through the executable spec and the reference node.

Hypothesis draws scenarios with the strategy ``kwhledger fuzz`` uses
(``conformance_tests.random_scenarios``): a small village, possibly at its counters' edges, and up
to 30 steps (valid and invalid transactions of every kind, mutated bytes, clock advances, blocks
good and spoiled), each drawn from the state the spec reached. The scenario is run through the
reference node in-process (``reference.adapter.ReferenceImplementation``, the node behind its
adapter) and judged as a vector would be: every step's code, rule id, block receipt and state
root must equal the spec's, and the canonical post-state encodings must be equal byte for byte.
The default profile is modest; ``--hypothesis-profile=heavy`` runs thousands of scenarios.
"""

from __future__ import annotations

from typing import Any

from hypothesis import event, given, settings

from conformance_tests.random_scenarios import VALIDATORS, Draft, scenarios, vector_of
from conformance_tests.runner import judge_in_process
from conformance_tests.scenario import Ledger as SpecLedger
from conformance_tests.scenario import small_village
from reference.adapter import ReferenceImplementation
from reference.ledger import Ledger
from spec.state import NodeKind, state_root


@settings(max_examples=2 * settings().max_examples)
@given(scenarios(max_steps=30))
def test_reference_agrees_with_the_spec_on_random_sequences(draft: Draft) -> None:
    vector = vector_of(draft, "differential/scenario", "drawn by Hypothesis")
    assert judge_in_process(ReferenceImplementation(), vector) == []
    for step, outcome in draft.steps:
        event(f"{step.kind} {outcome.rule or 'accepted'}")
    traded = sum(market.price is not None for market in draft.state.markets.values())
    event(f"markets cleared with trades: {traded}")


def test_reference_replays_the_village_setup_with_the_same_receipts() -> None:
    """Registration of accounts, nodes and meters and deposits, through the reference itself."""
    spec_ledger = SpecLedger.new(validators=VALIDATORS)
    params = spec_ledger.state.params
    reference = Ledger(
        params.chain_id,
        params.attestation_window_s,
        params.trading_close_s,
        params.fee_account,
        spec_ledger.state.time,
        {key: account.roles for key, account in spec_ledger.state.accounts.items()},
    )
    assert reference.state_root() == state_root(spec_ledger.state)
    submitted: list[bytes] = []
    original = spec_ledger.submit

    def submit(tx: bytes, sender: str | None = None) -> Any:
        submitted.append(tx)
        return original(tx, sender)

    spec_ledger.submit = submit  # type: ignore[method-assign]
    small_village(spec_ledger)
    spec_ledger.node(30, NodeKind.SERVICE_POINT, 99)
    for tx, expected in zip(submitted, spec_ledger.receipts, strict=True):
        got = reference.apply_tx(tx)
        assert (got.code, got.rule_id) == (expected.code, expected.rule_id)
    assert reference.state_root() == state_root(spec_ledger.state)
    assert spec_ledger.receipts[-1].rule_id == "GRD-02"
