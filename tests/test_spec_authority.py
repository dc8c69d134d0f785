"""Who holds power (rule book chapter 13): chain ids derived from the genesis (TX-08), validity
horizons (TX-09), the proposer among the signers (BLK-13), one block per header (BLK-14)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from _rules_plugin import rules
from strategies import forge_block, reject_block, reject_tx

from conformance_tests.scenario import GENESIS_TIME, Ledger, key_of, seed_of, small_village
from spec.blocks import apply_block
from spec.clearing import advance_clock
from spec.state import CHAIN_NAME_MAX_BYTES, derive_chain_id
from spec.transactions import Kind, apply_transaction, make_transaction

pytest_plugins = ("_rules_plugin",)

VALIDATORS = ("validator-1", "validator-2", "validator-3")


@rules("TX-08", "TX-01")
def test_a_chain_id_commits_to_the_whole_genesis() -> None:
    base = Ledger.new().state
    name, digest = base.params.chain_id.split(":")
    assert name == "kwhledger-test" and len(digest) == 40 and int(digest, 16) >= 0
    others = [
        Ledger.new(time=GENESIS_TIME + 1).state,
        Ledger.new(validators=("validator-2",)).state,
        Ledger.new(attestation_window_s=3599).state,
        Ledger.new(chain_id="kwhledger-tesT").state,
    ]
    ids = {s.params.chain_id for s in [base, *others]}
    assert len(ids) == 5
    assert Ledger.new().state.params.chain_id == base.params.chain_id  # a pure function
    # a transaction of one genesis is void on another of the same name
    old, new = small_village(), small_village(Ledger.new(time=GENESIS_TIME + 1800))
    deposit = {0: key_of("alice"), 1: 1}
    reject_tx(new.state, old.make("operator", Kind.DEPOSIT, deposit), "TX-01")
    assert apply_transaction(new.state, new.make("operator", Kind.DEPOSIT, deposit))[1].accepted


@rules("TX-08")
def test_chain_names_are_bounded_and_colon_free() -> None:
    with pytest.raises(ValueError):
        Ledger.new(chain_id="a:b")
    with pytest.raises(ValueError):
        Ledger.new(chain_id="")
    with pytest.raises(ValueError):
        Ledger.new(chain_id="n" * (CHAIN_NAME_MAX_BYTES + 1))
    longest = Ledger.new(chain_id="n" * CHAIN_NAME_MAX_BYTES).state.params.chain_id
    assert len(longest.encode()) == 64
    # a hard fork restarted from a state gets its own id
    state = small_village().state
    named = replace(state, params=replace(state.params, chain_id="kwhledger-test"))
    assert derive_chain_id(named) != state.params.chain_id


@rules("TX-09", "TX-04")
def test_the_horizon_is_inclusive_signed_and_checked_after_the_nonce() -> None:
    v = small_village()
    now = int(v.state.time)
    chain = v.state.params.chain_id

    def withdraw(nonce: int, horizon: int | None) -> bytes:
        return make_transaction(
            seed_of("alice"), chain, Kind.WITHDRAW, nonce, {0: 5}, valid_until=horizon
        )

    at_edge = advance_clock(v.state, now + 10)
    assert apply_transaction(at_edge, withdraw(0, now + 10))[1].accepted
    assert apply_transaction(at_edge, withdraw(0, None))[1].accepted
    late = advance_clock(v.state, now + 11)
    reject_tx(late, withdraw(0, now + 10), "TX-09")
    reject_tx(late, withdraw(1, now + 10), "TX-05")  # the nonce is checked first
    signed_for_other = make_transaction(
        seed_of("alice"), chain, Kind.WITHDRAW, 0, {0: 5}, valid_until=now + 11
    )
    moved = signed_for_other.replace((now + 11).to_bytes(4, "big"), (now + 10).to_bytes(4, "big"))
    assert moved != signed_for_other
    reject_tx(at_edge, moved, "TX-04")


@rules("BLK-13")
def test_the_proposer_must_sign() -> None:
    state = small_village(Ledger.new(validators=VALIDATORS)).state
    two = VALIDATORS[:2]
    bad = forge_block(state, [], state.time, proposer=VALIDATORS[2], signers=two)
    reject_block(state, bad, "BLK-13")
    for proposer in two:
        block = forge_block(state, [], state.time, proposer=proposer, signers=two)
        assert apply_block(state, block)[1].accepted


@rules("BLK-14")
def test_two_certificates_of_one_header_are_one_block() -> None:
    state = small_village(Ledger.new(validators=VALIDATORS)).state
    blocks = [forge_block(state, [], state.time, signers=s) for s in (VALIDATORS[:2], VALIDATORS)]
    assert blocks[0] != blocks[1]
    afters = [apply_block(state, b) for b in blocks]
    assert all(receipt.accepted for _, receipt in afters)
    assert afters[0][0] == afters[1][0]
    following = forge_block(afters[0][0], [], state.time + 1, signers=VALIDATORS[:2])
    for after, _ in afters:
        assert apply_block(after, following)[1].accepted


FOUR = ("validator-1", "validator-2", "validator-3", "validator-4")


def four_validator_village() -> Ledger:
    return small_village(Ledger.new(validators=FOUR))


@rules("VAL-01")
def test_the_operator_cannot_grant_the_validator_role() -> None:
    v = four_validator_village()
    for roles in (4, 4 | 8, 4 | 1, 4 | 2):
        body = {0: key_of("mallory"), 1: roles}
        reject_tx(v.state, v.make("operator", Kind.REGISTER_ACCOUNT, body), "VAL-01")


@rules("VAL-02", "VAL-03", "VAL-04", "VAL-05", "VAL-07")
def test_a_change_needs_two_thirds_of_the_current_set() -> None:
    v = four_validator_village()
    new = key_of("validator-5")
    reject_tx(v.state, v.validator_update("validator-1", bytes(32), 1, FOUR[:3]), "VAL-02")
    reject_tx(v.state, v.validator_update("validator-1", key_of("validator-2"), 1, FOUR), "VAL-03")
    reject_tx(v.state, v.validator_update("validator-1", key_of("alice"), 0, FOUR), "VAL-03")
    reject_tx(v.state, v.validator_update("validator-1", new, 1, (*FOUR[:2], "alice")), "VAL-04")
    reject_tx(v.state, v.validator_update("validator-1", new, 1, FOUR[:2]), "VAL-05")
    # an approval of another change is not an approval of this one
    other = v.validator_update("validator-1", key_of("validator-6"), 1, FOUR[:3])
    swapped = other.replace(key_of("validator-6"), new)
    reject_tx(v.state, swapped, "TX-04")
    three = small_village(Ledger.new(validators=FOUR[:3]))
    reject_tx(three.state, three.validator_update("validator-1", new, 1, FOUR[:3]), "VAL-07")
    after, receipt = apply_transaction(v.state, v.validator_update("validator-1", new, 1, FOUR[:3]))
    assert receipt.accepted, receipt
    assert after.pending_validator is not None
    assert after.pending_validator.account == new
    assert new not in after.accounts  # not yet: it joins two heights on (VAL-08)


@rules("VAL-06", "VAL-08")
def test_one_change_at_a_time_effective_two_heights_later() -> None:
    v = four_validator_village()
    new = key_of("validator-5")
    update = v.validator_update("validator-1", new, 1, FOUR[:3])
    first = forge_block(v.state, [update], v.state.time, signers=FOUR[:3])
    s1, receipt = apply_block(v.state, first)
    assert receipt.accepted, receipt
    again = Ledger(s1, {"validator-2": 0})
    reject_tx(s1, again.validator_update("validator-2", key_of("x"), 1, FOUR), "VAL-06")
    early = forge_block(s1, [], s1.time, signers=(*FOUR[:2], "validator-5"))
    reject_block(s1, early, "BLK-06")
    s2, receipt = apply_block(s1, forge_block(s1, [], s1.time, signers=FOUR[:3]))
    assert receipt.accepted and s2.pending_validator is None
    assert s2.accounts[new].roles == 4 and s2.accounts[new].nonce == 0
    reject_block(s2, forge_block(s2, [], s2.time, signers=FOUR[:3]), "BLK-07")
    five = (*FOUR[:3], "validator-5")
    assert apply_block(s2, forge_block(s2, [], s2.time, signers=five))[1].accepted


@rules("TIM-01", "BLK-04")
def test_one_block_moves_the_clock_at_most_a_day() -> None:
    from spec.time import MAX_BLOCK_JUMP_S
    from spec.units import TIME_MAX_S

    state = small_village(Ledger.new(validators=VALIDATORS)).state
    two = VALIDATORS[:2]
    edge = state.time + MAX_BLOCK_JUMP_S
    for late in (edge + 1, TIME_MAX_S):
        reject_block(state, forge_block(state, [], late, signers=two), "TIM-01")
    reject_block(state, forge_block(state, [], state.time - 1, signers=two), "BLK-04")
    after, receipt = apply_block(state, forge_block(state, [], edge, signers=two))
    assert receipt.accepted and after.time == edge
    # the bound moves with the clock: a halt of any length is caught up, a day per block
    again, receipt = apply_block(
        after, forge_block(after, [], edge + MAX_BLOCK_JUMP_S, signers=two)
    )
    assert receipt.accepted and again.time == edge + MAX_BLOCK_JUMP_S
