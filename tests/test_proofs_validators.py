"""The proofs about the validator set (INV-16, INV-17): what the quorum lemmas claim, what they
must not claim, and that seeded bugs in the model come back as counterexamples that say why."""

from __future__ import annotations

import pytest
import z3
from _rules_plugin import rules

from proofs import quorums, runner

pytest_plugins = ("_rules_plugin",)


@rules("INV-17")
@pytest.mark.parametrize("name", sorted(quorums.OBLIGATIONS))
def test_the_quorum_lemmas_prove_with_a_witness(name: str) -> None:
    result = runner.discharge(name, timeout_s=30)
    assert (result.status, result.vacuity, result.tautology) == ("proved", "sat", False)


def _counterexample(extra: list[z3.BoolRef], goal: z3.BoolRef, v: quorums.Venn) -> z3.ModelRef:
    solver = z3.Solver()
    solver.add(*v.facts(), *quorums.one_change(v), *quorums.quorums(v), *extra, z3.Not(goal))
    assert solver.check() == z3.sat
    return solver.model()


def _size(model: z3.ModelRef, term: z3.ArithRef) -> int:
    return model.eval(term, model_completion=True).as_long()  # type: ignore[no-any-return]


@rules("INV-17")
def test_quorums_need_not_share_more_than_a_third_of_the_old_set() -> None:
    """The claim rule book 0.3.0 made for VAL-07 is false: six validators, one joins or leaves,
    and a quorum of each set may share exactly two."""
    v = quorums.venn("claim")
    shared = v.size("q_old", "q_new")
    model = _counterexample([], 3 * shared > v.size("old"), v)
    assert 3 * _size(model, shared) <= _size(model, v.size("old"))
    solver = z3.Solver()
    solver.add(*v.facts(), *quorums.one_change(v), *quorums.quorums(v), v.size("old") == 6)
    solver.add(3 * shared <= 6)
    assert solver.check() == z3.sat


@rules("INV-17")
def test_a_1_of_the_old_set_alone_does_not_give_an_honest_common_validator() -> None:
    """With fewer than a third faulty known of the old set only, four validators lose an honest
    one and the quorums may share only the faulty one: INV-17's lemma needs A-1 at both
    heights, as it says."""
    v = quorums.venn("old-only")
    honest_shared = v.size("q_old", "q_new", outside=("faulty",))
    model = _counterexample(quorums.fewer_than_a_third_faulty(v, ("old",)), honest_shared >= 1, v)
    old, new = _size(model, v.size("old")), _size(model, v.size("new"))
    assert new == old - 1 and old % 3 == 1  # a removal from 3k + 1 validators
    assert _size(model, v.size("new", "faulty")) * 3 >= new  # A-1 fails for the new set


@rules("INV-16", "VAL-05")
def test_a_quorum_of_one_half_is_caught_with_its_numbers() -> None:
    result = runner.discharge(
        "validator_update/INV-16", timeout_s=30, mutant="validator-quorum-one-half", hygiene=False
    )
    assert result.status == "failed" and result.counterexample is not None
    tx = result.counterexample["transaction"]
    validators = result.counterexample["pre-state"]["validator_count"]
    assert 2 * tx["tx.approvals"] >= validators > 3  # what the bug accepts
    assert 3 * tx["tx.approvers"] < 2 * validators  # fewer than two thirds approved
    assert runner.discharge("validator_update/INV-16", timeout_s=30).status == "proved"


@rules("INV-17", "VAL-08")
def test_a_change_applied_at_its_own_block_is_caught() -> None:
    result = runner.discharge(
        "validator_update/INV-17",
        timeout_s=30,
        mutant="change-effective-at-next-height",
        hygiene=False,
    )
    assert result.status == "failed" and result.counterexample is not None
    height = result.counterexample["pre-state"]["height"]
    # effective from the block after the one that carries it (height + 1): one block early
    assert result.counterexample["post-state changes"]["pending_height"] == height + 2


@rules("INV-16", "VAL-01")
def test_the_operator_granting_the_role_is_caught_at_every_kind_of_check() -> None:
    caught = [
        name
        for name in ("register_account/INV-16-step", "register_account/INV-17-step")
        if runner.discharge(
            name, timeout_s=30, mutant="operator-grants-validator", hygiene=False
        ).status
        == "failed"
    ]
    assert caught == ["register_account/INV-16-step", "register_account/INV-17-step"]
