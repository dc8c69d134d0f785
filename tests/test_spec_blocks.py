"""Blocks (BLK-01 .. BLK-12) and the state root (HSH-01): each header, quorum and content rule
provoked through ``apply_block`` on a forged block, the state left unchanged."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

import chacha20
import pytest
from _rules_plugin import rules
from strategies import METER, forge_block, reject_block, reject_clock, village

from conformance_tests.scenario import Ledger, key_of, small_village
from spec.blocks import MAX_BLOCK_TXS, apply_block
from spec.cbor import decode, encode
from spec.crypto import TAG_STATE_ROOT, tagged_hash
from spec.fmap import FrozenMap
from spec.settlement import LotRecord, MarketRecord
from spec.state import (
    State,
    entries,
    entry_lanes,
    lthash_sum,
    state_root,
    trading_close,
    with_account,
)
from spec.transactions import Kind
from spec.units import MilliSen, Timestamp

pytest_plugins = ("_rules_plugin",)

VALIDATORS = ("validator-1", "validator-2", "validator-3")


def three_validator_village() -> Ledger:
    return small_village(Ledger.new(validators=VALIDATORS))


def parts(block: bytes) -> Any:
    """A block's decoded map, to take apart and splice by hand."""
    return decode(block, max_size=len(block))


def deposit(ledger: Ledger, amount: int = 5) -> bytes:
    return ledger.make("operator", Kind.DEPOSIT, {0: key_of("alice"), 1: amount})


@rules("BLK-01")
def test_block_for_another_chain() -> None:
    state = village().state
    reject_block(state, forge_block(state, [], state.time, chain_id="other"), "BLK-01")


@rules("BLK-02")
@pytest.mark.parametrize("height", [0, 2, 5])
def test_height_must_be_next(height: int) -> None:
    state = village().state  # height 0: the next block is 1
    reject_block(state, forge_block(state, [], state.time, height=height), "BLK-02")


@rules("BLK-03")
def test_parent_must_be_the_tip() -> None:
    state = village().state
    reject_block(state, forge_block(state, [], state.time, parent=b"\x01" * 32), "BLK-03")


@rules("BLK-04")
def test_time_never_goes_back() -> None:
    state = village().state
    reject_block(state, forge_block(state, [], state.time - 1), "BLK-04")
    reject_clock(state, state.time - 1, "BLK-04")
    # the same second is fine, for blocks and clock advances
    after, receipt = apply_block(state, forge_block(state, [], state.time))
    assert receipt.accepted, receipt
    assert after.time == state.time


@rules("BLK-05")
@pytest.mark.parametrize("proposer", ["alice", "operator", "mallory"])
def test_proposer_must_be_a_validator(proposer: str) -> None:
    state = village().state
    reject_block(state, forge_block(state, [], state.time, proposer=proposer), "BLK-05")


@rules("BLK-06")
def test_signer_must_be_a_validator() -> None:
    state = three_validator_village().state
    block = forge_block(state, [], state.time, signers=("validator-1", "validator-2", "alice"))
    reject_block(state, block, "BLK-06")


@rules("BLK-06")
def test_signatures_over_another_header_are_refused() -> None:
    state = village().state
    honest = forge_block(state, [], state.time)
    other = forge_block(state, [], state.time + 1)
    # splice the signature list of ``other`` onto the header of ``honest``

    block = parts(honest)
    block[2] = parts(other)[2]
    reject_block(state, encode(block), "BLK-06")


@rules("BLK-06")
def test_signers_ascending_and_distinct() -> None:
    state = three_validator_village().state

    block = parts(forge_block(state, [], state.time, signers=VALIDATORS))
    pairs = block[2]
    for bad in ([pairs[1], pairs[0], pairs[2]], [pairs[0], pairs[0], pairs[1]]):
        block[2] = bad
        reject_block(state, encode(block), "BLK-06")


@rules("BLK-07")
def test_quorum_edge() -> None:
    """3 validators: 2 signers give 3 x 2 >= 2 x 3, one signer does not; no signer never."""
    state = three_validator_village().state
    reject_block(state, forge_block(state, [], state.time, signers=()), "BLK-07")
    reject_block(state, forge_block(state, [], state.time, signers=VALIDATORS[:1]), "BLK-07")
    two = forge_block(state, [], state.time, proposer=VALIDATORS[1], signers=VALIDATORS[1:])
    after, receipt = apply_block(state, two)
    assert receipt.accepted, receipt
    assert after.height == 1


@rules("BLK-08")
def test_tx_root_must_match() -> None:
    ledger = village()
    state = ledger.state
    tx = deposit(ledger)
    reject_block(state, forge_block(state, [tx], state.time, tx_root=b"\x00" * 32), "BLK-08")
    # a root for no transactions on a block with one is just as wrong
    root_of_none = forge_block(state, [], state.time)

    header = parts(root_of_none)[0]
    reject_block(state, forge_block(state, [tx], state.time, tx_root=header[4]), "BLK-08")


@rules("BLK-09", "BLK-12")
def test_one_rejected_transaction_rejects_the_block() -> None:
    ledger = village()
    state = ledger.state
    first = deposit(ledger)
    ledger.submit(first, "operator")
    replay = first
    block = forge_block(state, [first, replay], state.time + 10)
    receipt = reject_block(state, block, "BLK-09")
    assert [r.rule_id for r in receipt.receipts] == [None, "TX-05"]


@rules("BLK-10")
def test_state_root_must_match() -> None:
    ledger = village()
    state = ledger.state
    block = forge_block(state, [deposit(ledger)], state.time, state_root=state_root(state))
    reject_block(state, block, "BLK-10")


@rules("BLK-11")
def test_block_size_in_transactions() -> None:
    state = village().state
    # empty byte strings are well-formed entries; BLK-11 is checked before any is applied
    too_many = forge_block(state, [b""] * (MAX_BLOCK_TXS + 1), state.time)
    reject_block(state, too_many, "BLK-11")
    at_limit = forge_block(state, [b""] * MAX_BLOCK_TXS, state.time)
    receipt = reject_block(state, at_limit, "BLK-09")  # counted fine, then the first tx fails
    assert receipt.receipts[0].rule_id == "ENC-01"


@rules("BLK-12", "CLR-01")
def test_block_advances_the_clock_clears_then_applies() -> None:
    ledger = village()
    slot = ledger.slot - 1
    ledger.must("attestor", Kind.ATTEST, {0: [{0: METER["alice"], 1: slot, 2: 100, 3: 0, 4: 0}]})
    state = ledger.state
    close = trading_close(state.params, slot)
    tx = deposit(ledger)
    block = forge_block(state, [tx], close)
    after, receipt = apply_block(state, block)
    assert receipt.accepted, receipt
    assert [r.accepted for r in receipt.receipts] == [True]
    assert (after.height, after.time) == (1, close)
    # The market cleared and the slot was pruned at the same advance (CLR-01, PRN-01): the lot
    # expired whole (no asks), as its settlement record says.
    assert (1, slot) not in after.markets and (METER["alice"], slot) not in after.lots
    market = next(r for r in receipt.settlement if isinstance(r, MarketRecord))
    assert (market.zone, market.slot, market.price, market.volume_wh) == (1, slot, None, 0)
    lot = next(r for r in receipt.settlement if isinstance(r, LotRecord))
    assert (lot.meter, lot.minted_wh, lot.sold_wh, lot.expired_wh) == (METER["alice"], 100, 0, 100)
    assert after.accounts[key_of("alice")].balance == state.accounts[key_of("alice")].balance + 5
    assert after.tip_hash != state.tip_hash
    # the next block must name this one as parent
    reject_block(after, forge_block(after, [], close, parent=state.tip_hash), "BLK-03")
    again, receipt = apply_block(after, forge_block(after, [], close))
    assert receipt.accepted and again.height == 2


def independent_root(state: State) -> bytes:
    """HSH-01 computed here from its statement, with plain lists instead of the spec's lane trick:
    each entry [table, key, value] is expanded to 1024 little-endian 16-bit lanes by the RFC 8439
    ChaCha20 keystream (``tests/chacha20.py``, not libsodium) under the key BLAKE2b-256 of the
    entry tag and the encoding, lanes are added modulo 2^16, and the root is tagged BLAKE2b-256 of
    the 2048 sum bytes."""
    lanes = [0] * 1024
    for table, key, value in entries(state):
        data = b"kwhledger/state-entry/v2\x00" + encode([int(table), key, value])
        seed = hashlib.blake2b(data, digest_size=32).digest()
        expansion = chacha20.keystream(seed, b"LibsodiumDRG", 2048)
        for i in range(1024):
            lanes[i] = (lanes[i] + int.from_bytes(expansion[2 * i : 2 * i + 2], "little")) % 65536
    total = b"".join(lane.to_bytes(2, "little") for lane in lanes)
    return hashlib.blake2b(b"kwhledger/state-root/v1\x00" + total, digest_size=32).digest()


@rules("HSH-01")
def test_state_root_matches_its_statement() -> None:
    assert state_root(village().state) == independent_root(village().state)


@rules("HSH-01")
def test_state_root_changes_with_any_entry_and_ignores_insertion_order() -> None:
    state = village().state
    root = state_root(state)
    alice = key_of("alice")
    changed = [
        with_account(state, alice, balance=MilliSen(state.accounts[alice].balance + 1)),
        with_account(state, alice, nonce=state.accounts[alice].nonce + 1),
        replace(state, time=Timestamp(state.time + 1)),
        replace(state, money_outstanding=MilliSen(state.money_outstanding - 1)),
        replace(state, nodes=FrozenMap({k: v for k, v in state.nodes.items() if k != 13})),
    ]
    roots = {state_root(s) for s in changed}
    assert root not in roots and len(roots) == len(changed)
    # The sum over the entries walked in the opposite order gives the same root (tables are hash
    # maps, so their own walking order does not follow insertion: the order is reversed here).
    walked = [entry_lanes(int(t), k, v) for t, k, v in entries(state)]
    assert walked != walked[::-1]
    assert tagged_hash(TAG_STATE_ROOT, lthash_sum(walked[::-1])) == root
    # the tip hash is committed by the next header, not by the root
    assert state_root(replace(state, tip_hash=b"\x07" * 32)) == root
