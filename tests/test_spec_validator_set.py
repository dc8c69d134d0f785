"""The validator set changes only with a quorum (INV-16) and by one validator at a time, on
schedule (INV-17): the spec's own checks (``spec.invariants``) on an honest run, and on crafted
steps that break each clause (expected violations worked out from the rule book's text)."""

from __future__ import annotations

from dataclasses import replace

from _rules_plugin import rules

from conformance_tests.scenario import Ledger, key_of, small_village
from spec.invariants import check_state, check_step
from spec.state import PendingValidator, Role, State, with_account
from spec.transactions import Kind, apply_transaction, decode_transaction
from spec.units import Height
from spec.validators import end_block, validators

pytest_plugins = ("_rules_plugin",)

FOUR = ("validator-1", "validator-2", "validator-3", "validator-4")
NEW = key_of("validator-5")


def council() -> Ledger:
    return small_village(Ledger.new(validators=FOUR))


def close_block(state: State) -> State:
    """The end of the next block, as apply_block does it: the height, then VAL-08."""
    return end_block(replace(state, height=Height(state.height + 1)))


def rule_ids(found: list[object]) -> set[str]:
    return {v.rule_id for v in found}  # type: ignore[attr-defined]


@rules("INV-16", "INV-17", "VAL-05", "VAL-08")
def test_an_approved_change_passes_every_check_and_moves_the_set_by_one() -> None:
    v = council()
    tx = v.validator_update("validator-1", NEW, 1, FOUR[:3])
    before = v.state
    accepted, receipt = apply_transaction(before, tx)
    assert receipt.accepted, receipt
    assert check_step(before, accepted, decode_transaction(tx), True) == []
    assert check_state(accepted) == []
    assert validators(accepted) == validators(before)  # a transaction never changes the set
    first = close_block(accepted)  # the block that carried it: still the old set
    assert check_step(accepted, first, None, True) == [] and check_state(first) == []
    assert validators(first) == validators(before) and first.pending_validator is not None
    second = close_block(first)  # the next block: the change takes effect at its end
    assert check_step(first, second, None, True) == [] and check_state(second) == []
    assert set(validators(second)) ^ set(validators(first)) == {NEW}
    assert second.pending_validator is None


@rules("INV-16")
def test_a_transaction_or_clock_step_that_changes_the_set_is_a_violation() -> None:
    v = council()
    before = v.state
    tx = v.make("operator", Kind.DEPOSIT, {0: key_of("alice"), 1: 1})
    after, receipt = apply_transaction(before, tx)
    assert receipt.accepted
    promoted = with_account(after, key_of("alice"), roles=Role.TRADER | Role.VALIDATOR)
    assert "INV-16" in rule_ids(check_step(before, promoted, decode_transaction(tx), True))
    # a clock advance (tx None, same height) changes nothing either
    demoted = with_account(before, key_of("validator-4"), roles=0)
    assert "INV-16" in rule_ids(check_step(before, demoted, None, True))


@rules("INV-16", "INV-17")
def test_a_block_end_may_apply_only_the_due_change() -> None:
    v = council()
    pending = PendingValidator(Height(v.state.height + 3), NEW, 1)
    carried = replace(v.state, pending_validator=pending)
    assert check_state(carried) == []
    # applied one block early (the block that carried it is still signed by the old set)
    early = close_block(replace(carried, pending_validator=replace(pending, height=Height(2))))
    early = replace(early, pending_validator=None)
    assert "INV-16" in rule_ids(check_step(carried, early, None, True))
    # another account changes instead of the pending one
    ended = replace(carried, height=Height(carried.height + 1))
    wrong = with_account(ended, key_of("alice"), roles=Role.TRADER | Role.VALIDATOR)
    assert "INV-16" in rule_ids(check_step(carried, wrong, None, True))
    # the pending change dropped at a block end before its height
    dropped = replace(ended, pending_validator=None)
    assert rule_ids(check_step(carried, dropped, None, True)) == {"INV-17"}
    # the pending change replaced by a transaction's step
    other = replace(carried, pending_validator=replace(pending, account=key_of("bob")))
    assert "INV-17" in rule_ids(check_step(carried, other, None, True))


@rules("INV-17", "VAL-07")
def test_a_pending_change_must_be_real_scheduled_and_of_a_set_over_three() -> None:
    v = council()
    due = Height(v.state.height + 3)
    joins = PendingValidator(due, NEW, 1)
    assert check_state(replace(v.state, pending_validator=joins)) == []
    no_change = PendingValidator(due, key_of("validator-2"), 1)
    assert rule_ids(check_state(replace(v.state, pending_validator=no_change))) == {"INV-17"}
    for height in (Height(v.state.height + 1), Height(v.state.height + 4)):
        late = replace(v.state, pending_validator=replace(joins, height=height))
        assert rule_ids(check_state(late)) == {"INV-17"}
    three = small_village(Ledger.new(validators=FOUR[:3])).state
    assert rule_ids(check_state(replace(three, pending_validator=joins))) == {"INV-17"}
    # two validators at once, even at a block end with the change due
    carried = replace(v.state, pending_validator=joins)
    ended = close_block(close_block(carried))
    both = with_account(ended, key_of("validator-4"), roles=0)
    assert "INV-17" in rule_ids(check_step(carried, both, None, True))


@rules("INV-12", "VAL-08")
def test_only_the_admitted_validator_joins_at_a_block_end() -> None:
    v = council()
    carried = replace(
        v.state, pending_validator=PendingValidator(Height(v.state.height + 3), NEW, 1)
    )
    ended = close_block(close_block(carried))
    first = close_block(carried)
    assert check_step(first, ended, None, True) == []
    assert NEW in ended.accounts and ended.accounts[NEW].roles == Role.VALIDATOR
    stranger = replace(ended, accounts=ended.accounts.set(key_of("zed"), ended.accounts[NEW]))
    assert "INV-12" in rule_ids(check_step(first, stranger, None, True))
