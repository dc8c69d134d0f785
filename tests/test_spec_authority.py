"""Who holds power (rule book chapter 13): chain ids derived from the genesis (TX-08), validity
horizons (TX-09), the proposer among the signers (BLK-13), one block per header (BLK-14)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from _rules_plugin import rules
from strategies import forge_block, reject_block, reject_tx

from kwhledger.scenario import GENESIS_TIME, Ledger, key_of, seed_of, small_village
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
