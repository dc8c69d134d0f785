"""A fixed subset of the seeded bugs (``kwhledger mutants``), each of which the suite must catch.

The whole set runs in ``kwhledger mutants`` and in the audit; CI runs these few, chosen among
the bugs that once survived the suite or slipped through pytest, so that a vector losing its
catch fails CI. Each mutant is planted in a temporary copy; the copy runs the conformance
vectors in-process against the mutated implementation and stops at the first failing vector.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conformance_tests import mutation, runner

CI_SUBSET = (
    # Bugs that once survived the whole suite: an independent implementation made them.
    "ref-cancel-keeps-open-side",
    "ref-rollback-keeps-indexes",
    "ref-non-shortest-8-byte-head",
    "nonce-before-signature",
    "escrow-before-self-trade",
    # Bugs that once slipped through pytest while ``conform`` caught them.
    "ref-bid-window-off-by-one",
    "ref-batch-duplicates-forgotten",
    "block-txs-before-clock",
)


@pytest.fixture(scope="module")
def catalogue() -> dict[str, mutation.Mutant]:
    return {m.name: m for m in mutation.all_mutants(families=("catalogue",))}


def test_every_mutant_of_the_subset_is_caught_by_a_vector(
    catalogue: dict[str, mutation.Mutant],
) -> None:
    chosen = [catalogue[name] for name in CI_SUBSET]
    score = mutation.run(chosen, runner.default_suite_dir(), baseline=False, jobs=2)
    survivors = [v.name for v in score.verdicts if v.status != "caught" or not v.vectors]
    assert not survivors, survivors
    for verdict in score.verdicts:
        assert verdict.vectors_run >= 1


def test_every_patch_applies_once_and_leaves_valid_python() -> None:
    """A patch that no longer applies would test nothing; each must apply exactly once. (A
    dropped check replaces a condition by a constant, so only hand-written patches are parsed.)"""
    sources: dict[str, str] = {}
    for mutant in mutation.all_mutants():
        original = sources.setdefault(mutant.file, (mutation.REPO / mutant.file).read_text())
        text = original
        for old, new in mutant.patch:
            assert text.count(old) == 1, mutant.name
            text = text.replace(old, new)
        assert text != original, mutant.name
        if mutant.family == "catalogue":
            ast.parse(text)


def test_the_dropped_checks_cover_every_rejecting_rule_that_the_code_checks() -> None:
    """One generated mutant per check: every rule id a ``require`` or ``raise Rejected`` names."""
    generated = mutation.all_mutants(families=("dropped-check",))
    names = {m.name for m in generated}
    assert len(names) == len(generated)
    assert {"spec-drop-ORD-03-orders-1", "reference-drop-ORD-03-ledger-1"} <= names
    spec_rules = {m.rules[0] for m in generated if m.impl == "spec"}
    reference_rules = {m.rules[0] for m in generated if m.impl == "reference"}
    assert {"TX-04", "MNY-03", "BLK-07", "ATT-06"} <= spec_rules & reference_rules


def test_a_planted_bug_the_vectors_miss_is_reported_as_surviving(tmp_path: Path) -> None:
    """The scorer itself can fail: an edit that changes no behaviour survives."""
    harmless = mutation.Mutant(
        "ref-harmless-comment",
        "reference",
        "none",
        "reference/ledger.py",
        (("    # --- indexes ---", "    # --- indexes (edited) ---"),),
    )
    score = mutation.run([harmless], runner.default_suite_dir(), baseline=False)
    assert [v.status for v in score.verdicts] == ["survived"]
    assert score.verdicts[0].vectors_run == len(runner.load_index(runner.default_suite_dir()))
