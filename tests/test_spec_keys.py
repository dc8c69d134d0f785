"""Key rotation (KEY-01 .. KEY-07, PRE-11, INV-19): the key that signs for an account changes, its
id never does, and one key signs for one account."""

from __future__ import annotations

from dataclasses import replace

import pytest
from _rules_plugin import rules
from strategies import accept_tx, reject_block, reject_tx, village

from conformance_tests import edwards
from conformance_tests.groups.keys import rotation, signed_as
from conformance_tests.scenario import Ledger, key_of, seed_of
from conformance_tests.spec_adapter import load_state, state_bytes
from conformance_tests.suite import forge_block, with_validators
from spec.blocks import apply_block
from spec.errors import Rejected
from spec.invariants import check_state, check_step
from spec.keys import VOTE_KEY_DELAY, signing_key, vote_key
from spec.state import PendingKey
from spec.transactions import Kind, decode_transaction
from spec.units import Height
from spec.validators import ACTIVATION_DELAY

pytest_plugins = ("_rules_plugin",)

FOUR = ("validator-1", "validator-2", "validator-3", "validator-4")
TRANSFER = {0: key_of("bob"), 1: 1}


def rotate(ledger: Ledger, name: str, new_name: str, signer: str | None = None) -> None:
    seed = None if signer is None else seed_of(signer)
    ledger.state = accept_tx(ledger.state, rotation(ledger, name, seed_of(new_name), signer=seed))
    ledger.nonces[name] = ledger.nonces.get(name, 0) + 1


@rules("KEY-05", "INV-19")
def test_a_rotation_changes_the_key_and_nothing_else() -> None:
    v = village()
    before = v.state.accounts[key_of("alice")]
    data = rotation(v, "alice", seed_of("alice-2"))
    after = accept_tx(v.state, data)
    account = after.accounts[key_of("alice")]
    assert account.key == key_of("alice-2") == signing_key(after, key_of("alice"))
    assert (account.roles, account.balance, account.nonce) == (
        before.roles,
        before.balance,
        before.nonce + 1,
    )
    assert after.pending_key is None  # alice is no validator: no vote key waits
    assert check_state(after) == []
    assert check_step(v.state, after, decode_transaction(data), True) == []


@rules("KEY-05", "TX-04")
def test_the_old_key_is_void_and_the_new_key_signs_at_once() -> None:
    v = village()
    rotate(v, "alice", "alice-2")
    reject_tx(v.state, signed_as(v, "alice", seed_of("alice"), Kind.TRANSFER, TRANSFER), "TX-04")
    accept_tx(v.state, signed_as(v, "alice", seed_of("alice-2"), Kind.TRANSFER, TRANSFER))


@rules("KEY-05", "TX-05")
def test_a_transaction_signed_before_the_rotation_is_void_by_its_nonce() -> None:
    v = village()
    early = signed_as(v, "alice", seed_of("alice"), Kind.TRANSFER, TRANSFER)
    rotate(v, "alice", "alice-2")
    reject_tx(v.state, early, "TX-04")  # checked against the new key before the nonce
    stale = signed_as(v, "alice", seed_of("alice-2"), Kind.TRANSFER, TRANSFER, nonce=0)
    reject_tx(v.state, stale, "TX-05")


@rules("KEY-01")
@pytest.mark.parametrize(
    "key",
    [
        edwards.IDENTITY_KEY,
        edwards.ORDER_2_KEY,
        edwards.ORDER_4_KEY,
        edwards.IDENTITY_KEY_Y_P_PLUS_1,
    ],
    ids=["identity", "order-2", "order-4", "identity-y-p-plus-1"],
)
def test_a_key_outside_the_prime_order_subgroup_is_refused(key: bytes) -> None:
    v = village()
    reject_tx(v.state, rotation(v, "alice", None, key=key, proof=bytes(64)), "KEY-01")


@rules("KEY-02", "INV-19")
def test_keys_in_use_are_refused() -> None:
    v = village()
    reject_tx(v.state, rotation(v, "alice", seed_of("bob")), "KEY-02")  # another account's id
    reject_tx(v.state, rotation(v, "alice", seed_of("alice")), "KEY-02")  # its own id and key
    rotate(v, "bob", "bob-2")
    reject_tx(v.state, rotation(v, "alice", seed_of("bob-2")), "KEY-02")  # bob's current key
    reject_tx(v.state, rotation(v, "alice", seed_of("bob")), "KEY-02")  # bob's id, retired
    accept_tx(v.state, rotation(v, "alice", seed_of("alice-2")))


@rules("KEY-03")
@pytest.mark.parametrize(
    "bend",
    [
        {"proof_nonce": 1},
        {"proof_account": key_of("carol")},
        {"proof_chain": "kwhledger-other:00"},
        {"proof": bytes(64)},
    ],
    ids=["other-nonce", "other-account", "other-chain", "no-signature"],
)
def test_a_proof_for_anything_else_is_refused(bend: dict[str, object]) -> None:
    v = village()
    reject_tx(v.state, rotation(v, "alice", seed_of("alice-2"), **bend), "KEY-03")  # type: ignore[arg-type]


@rules("KEY-04", "KEY-06")
def test_a_validator_rotation_waits_and_only_one_at_a_time() -> None:
    four = with_validators(*FOUR)
    rotate(four, "validator-1", "validator-1-new")
    pending = four.state.pending_key
    assert pending == PendingKey(
        Height(four.state.height + 1 + VOTE_KEY_DELAY), key_of("validator-1"), key_of("validator-1")
    )
    assert vote_key(four.state, key_of("validator-1")) == key_of("validator-1")
    assert signing_key(four.state, key_of("validator-1")) == key_of("validator-1-new")
    reject_tx(four.state, rotation(four, "validator-2", seed_of("validator-2-new")), "KEY-04")
    accept_tx(four.state, rotation(four, "alice", seed_of("alice-2")))  # not a validator
    # The previous key still votes: nobody may take it.
    reject_tx(four.state, rotation(four, "bob", seed_of("validator-1")), "KEY-02")


@rules("KEY-06", "BLK-06")
def test_block_votes_follow_the_rotation_two_heights_later() -> None:
    assert VOTE_KEY_DELAY == ACTIVATION_DELAY  # the same H + 2 as VAL-08 and CometBFT
    four = with_validators(*FOUR)
    t = four.state.time
    data = rotation(four, "validator-1", seed_of("validator-1-new"))
    state, receipt = apply_block(four.state, forge_block(four.state, [data], t, signers=FOUR[:3]))
    assert receipt.accepted, receipt
    new = {"validator-1": seed_of("validator-1-new")}
    reject_block(state, forge_block(state, [], t + 1, signers=FOUR[:3], seeds=new), "BLK-06")
    state, receipt = apply_block(state, forge_block(state, [], t + 1, signers=FOUR[:3]))
    assert receipt.accepted, receipt
    assert state.pending_key is None
    reject_block(state, forge_block(state, [], t + 2, signers=FOUR[:3]), "BLK-06")
    state, receipt = apply_block(state, forge_block(state, [], t + 2, signers=FOUR[:3], seeds=new))
    assert receipt.accepted, receipt


@rules("KEY-07")
def test_no_new_account_is_named_by_a_key_in_use() -> None:
    v = village()
    rotate(v, "bob", "bob-2")
    body = {0: key_of("bob-2"), 1: 8}
    reject_tx(v.state, v.make("operator", Kind.REGISTER_ACCOUNT, body), "KEY-07")
    accept_tx(v.state, v.make("operator", Kind.REGISTER_ACCOUNT, {0: key_of("ivan"), 1: 8}))


@rules("PRE-11", "INV-19")
def test_a_loaded_state_with_a_shared_key_is_refused() -> None:
    v = village()
    alice, bob = key_of("alice"), key_of("bob")
    accounts = v.state.accounts.set(alice, replace(v.state.accounts[alice], key=bob))
    shared = replace(v.state, accounts=accounts)
    assert {x.rule_id for x in check_state(shared)} == {"INV-19"}
    with pytest.raises(Rejected) as refused:
        load_state(state_bytes(shared))
    assert refused.value.rule.id == "PRE-11"
    assert load_state(state_bytes(v.state)) == v.state


@rules("INV-19")
def test_check_step_sees_a_key_changed_by_another_account() -> None:
    v = village()
    alice = key_of("alice")
    data = v.make("operator", Kind.DEPOSIT, {0: alice, 1: 1})
    after = accept_tx(v.state, data)
    moved = replace(after.accounts[alice], key=key_of("alice-2"))
    forged = replace(after, accounts=after.accounts.set(alice, moved))
    found = check_step(v.state, forged, decode_transaction(data), True)
    assert [x.rule_id for x in found] == ["INV-19"]
