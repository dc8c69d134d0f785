"""Blocks: validator-signed batches of transactions (BLK-01 .. BLK-14, TIM-01, TIM-02).

A block is a CBOR map::

    {0: header, 1: [transaction bytes, ...], 2: [[validator id, time, signature], ...]}

    header = {0: chain_id, 1: height, 2: parent hash, 3: timestamp, 4: tx root,
              5: state root, 6: proposer, 7: settlement root}

The header hash is BLAKE2b-256 under the block-header tag; each validator signs the header hash
and its own clock's time under the block-vote tag, and the header's timestamp must lie near the
median of those times (TIM-02). A block is identified by its header hash (BLK-14): the same
header with another valid set of votes is the same block. ``apply_block`` checks the header, the
quorum and the time, advances
the clock to the block's timestamp (clearing every market that closed, CLR-01), applies the
transactions in order, and finally compares the state root and the settlement root (the Merkle
root of the records of the slots the clock advance pruned, BLK-15). Any broken rule rejects the
whole block and leaves the state as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from spec import wire
from spec.cbor import CborKey, CborValue, decode, encode
from spec.clearing import advance_clock_settling
from spec.crypto import (
    HASH_BYTES,
    PUBLIC_KEY_BYTES,
    SIGNATURE_BYTES,
    TAG_BLOCK_HEADER,
    TAG_BLOCK_VOTE,
    merkle_root,
    public_key_of,
    sign,
    tagged_hash,
    verify,
)
from spec.errors import Rejected, require
from spec.keys import vote_key
from spec.rules import implements
from spec.settlement import SettlementRecord, settlement_root
from spec.state import CHAIN_ID_MAX_BYTES, State, state_root
from spec.time import check_block_jump, check_vote_time
from spec.transactions import MAX_TX_BYTES, Receipt, apply_transaction, tx_id
from spec.units import TIME_MAX_S, Height, Timestamp
from spec.validators import end_block, validators

MAX_BLOCK_TXS: Final = 4096
MAX_BLOCK_BYTES: Final = 8 * 1024 * 1024
"""Room for MAX_BLOCK_TXS transactions of typical size; each is also bounded by MAX_TX_BYTES."""
MAX_BLOCK_ITEMS: Final = 65_536
"""A block's item budget (ENC-16): the data items the strict decoder reads for one block.

The header and MAX_BLOCK_TXS transaction byte strings take about 4 120 items, which leaves room
for some 20 000 signature pairs (3 items each): far more than a consortium has validators, and
far fewer than the 8 million items a hostile 8 MiB block could otherwise make a node build."""


@dataclass(frozen=True)
class Header:
    """A block header."""

    chain_id: str
    height: Height
    parent: bytes
    timestamp: Timestamp
    tx_root: bytes
    state_root: bytes
    proposer: bytes
    settlement_root: bytes
    """The Merkle root of the block's settlement records (SET-03, BLK-15)."""

    def to_cbor(self) -> dict[CborKey, CborValue]:
        return {
            0: self.chain_id,
            1: int(self.height),
            2: self.parent,
            3: int(self.timestamp),
            4: self.tx_root,
            5: self.state_root,
            6: self.proposer,
            7: self.settlement_root,
        }

    def hash(self) -> bytes:
        """The header hash: what validators sign and the next block names as parent."""
        return tagged_hash(TAG_BLOCK_HEADER, encode(self.to_cbor()))


@dataclass(frozen=True)
class Vote:
    """A validator's vote for a header: who, the time on its own clock, its signature."""

    validator: bytes
    time: Timestamp
    signature: bytes

    def to_cbor(self) -> list[CborValue]:
        return [self.validator, int(self.time), self.signature]


@dataclass(frozen=True)
class Block:
    """A decoded block."""

    header: Header
    transactions: tuple[bytes, ...]
    signatures: tuple[Vote, ...]


@dataclass(frozen=True)
class BlockReceipt:
    """The outcome of a block: accepted (code 0) or the rule that rejected it."""

    code: int
    rule_id: str | None
    receipts: tuple[Receipt, ...] = ()
    """Per-transaction receipts; for a BLK-09 rejection, up to and including the failed one."""
    detail: str = ""
    settlement: tuple[SettlementRecord, ...] = ()
    """The settlement records the accepted block emitted (SET-01), for its header's key 7 and
    for inclusion proofs; empty for a rejected block. Not part of the receipt's wire form."""

    @property
    def accepted(self) -> bool:
        return self.code == 0

    def to_cbor(self) -> dict[CborKey, CborValue]:
        """{0: code, 1: rule id or null, 2: [transaction receipts]}."""
        return {0: self.code, 1: self.rule_id, 2: [r.to_cbor() for r in self.receipts]}


_HEADER_FIELDS: Final = (
    wire.Field(0, "chain_id", wire.text(CHAIN_ID_MAX_BYTES)),
    wire.Field(1, "height", wire.uint(Height)),
    wire.Field(2, "parent", wire.fixed_bytes(HASH_BYTES)),
    wire.Field(3, "timestamp", wire.uint(Timestamp)),
    wire.Field(4, "tx_root", wire.fixed_bytes(HASH_BYTES)),
    wire.Field(5, "state_root", wire.fixed_bytes(HASH_BYTES)),
    wire.Field(6, "proposer", wire.fixed_bytes(PUBLIC_KEY_BYTES)),
    wire.Field(7, "settlement_root", wire.fixed_bytes(HASH_BYTES)),
)


def parse_header(value: CborValue) -> Header:
    """A block header from its CBOR map (section 9.4), or ``Rejected`` with an ENC rule."""
    return Header(**wire.parse_map(value, _HEADER_FIELDS, "header"))


_vote_entry = wire.tuple_of(
    wire.fixed_bytes(PUBLIC_KEY_BYTES), wire.uint(Timestamp), wire.fixed_bytes(SIGNATURE_BYTES)
)


def _vote(value: CborValue) -> Vote:
    validator, time, signature = _vote_entry(value)
    return Vote(validator, time, signature)


_BLOCK_FIELDS: Final = (
    wire.Field(0, "header", parse_header),
    wire.Field(
        1, "transactions", wire.BoundedArray(wire.any_bytes(MAX_TX_BYTES), MAX_BLOCK_TXS, "BLK-11")
    ),
    wire.Field(2, "signatures", wire.array(_vote)),
)


_BLOCK_ARRAY_BOUNDS: Final = wire.array_bounds(_BLOCK_FIELDS)


@implements("BLK-11")
def decode_block(block_bytes: bytes) -> Block:
    """Decode and schema-check a block, or raise ``Rejected``.

    The decoder reads at most MAX_BLOCK_ITEMS items and rejects the transaction array at its
    head if it claims more than MAX_BLOCK_TXS (BLK-11): the transactions stay opaque byte strings
    here, and none is decoded, hashed or executed before the header and the quorum have passed
    (``check_header``).
    """
    value = decode(
        block_bytes,
        max_size=MAX_BLOCK_BYTES,
        max_items=MAX_BLOCK_ITEMS,
        array_bounds=_BLOCK_ARRAY_BOUNDS,
    )
    return Block(**wire.parse_map(value, _BLOCK_FIELDS, "block"))


def vote_bytes(header_hash: bytes, time: int) -> bytes:
    """What a validator signs for a block: the tag, 0x00, the header hash and the time on its
    own clock as 8 bytes, big-endian (section 9.8)."""
    return TAG_BLOCK_VOTE + b"\x00" + header_hash + time.to_bytes(8, "big")


def sign_vote(seed: bytes, header: Header, time: int) -> Vote:
    """Validator ``seed``'s vote for ``header`` at ``time`` on its clock (a tool)."""
    assert 0 <= time <= TIME_MAX_S
    return Vote(public_key_of(seed), Timestamp(time), sign(seed, vote_bytes(header.hash(), time)))


def check_header(state: State, block: Block) -> None:
    """BLK-01 .. BLK-08, BLK-13, TIM-01 and TIM-02, in that order except TIM-01 right after
    BLK-04, and BLK-13 then TIM-02 right after BLK-07 (BLK-11 is checked by the decoder at the
    array's head)."""
    header = block.header
    require(header.chain_id == state.params.chain_id, "BLK-01")
    require(header.height == state.height + 1, "BLK-02")
    require(header.parent == state.tip_hash, "BLK-03")
    require(header.timestamp >= state.time, "BLK-04")
    check_block_jump(state.time, header.timestamp)
    voters = validators(state)
    require(header.proposer in voters, "BLK-05")
    header_hash = header.hash()
    signers = [vote.validator for vote in block.signatures]
    require(signers == sorted(set(signers)), "BLK-06", "signers must be ascending and distinct")
    for vote in block.signatures:
        require(vote.validator in voters, "BLK-06", "not a validator")
        key = vote_key(state, vote.validator)  # KEY-06: a rotated key signs two heights on
        message = vote_bytes(header_hash, vote.time)
        require(verify(key, message, vote.signature), "BLK-06", "bad signature")
    require(3 * len(signers) >= 2 * len(voters), "BLK-07", f"{len(signers)} of {len(voters)}")
    require(header.proposer in signers, "BLK-13", "the proposer did not sign")
    check_vote_time(state.time, header.timestamp, [vote.time for vote in block.signatures])
    ids = [tx_id(tx) for tx in block.transactions]
    require(header.tx_root == merkle_root(ids), "BLK-08")


@implements("BLK-12", "BLK-14")
def apply_block(state: State, block_bytes: bytes) -> tuple[State, BlockReceipt]:
    """Apply a whole block, or nothing of it; an accepted block's receipt carries its
    settlement records."""
    receipts: list[Receipt] = []
    try:
        block = decode_block(block_bytes)
        check_header(state, block)
        after, settlement = advance_clock_settling(state, block.header.timestamp)
        for index, tx in enumerate(block.transactions):
            after, receipt = apply_transaction(after, tx)
            receipts.append(receipt)
            require(receipt.accepted, "BLK-09", f"transaction {index}: {receipt.rule_id}")
        after = end_block(replace(after, height=block.header.height))
        require(state_root(after) == block.header.state_root, "BLK-10")
        require(settlement_root(settlement) == block.header.settlement_root, "BLK-15")
    except Rejected as rejection:
        return state, BlockReceipt(
            rejection.code, rejection.rule.id, tuple(receipts), rejection.detail
        )
    accepted = BlockReceipt(0, None, tuple(receipts), settlement=settlement)
    return replace(after, tip_hash=block.header.hash()), accepted


def build_block(
    state: State,
    transactions: list[bytes],
    timestamp: int,
    proposer_seed: bytes,
    validator_seeds: list[bytes],
) -> tuple[bytes, State]:
    """Make a valid block on ``state`` (a tool for nodes and tests): execute, fill roots, sign.

    Every validator votes with the block's timestamp as its clock's time (honest validators
    whose clocks agree). Raises ``Rejected`` if a transaction is rejected.
    """
    after, settlement = advance_clock_settling(state, timestamp)
    for tx in transactions:
        after, receipt = apply_transaction(after, tx)
        if not receipt.accepted:
            raise Rejected("BLK-09", f"{receipt.rule_id}: {receipt.detail}")
    after = end_block(replace(after, height=Height(state.height + 1)))
    header = Header(
        chain_id=state.params.chain_id,
        height=Height(state.height + 1),
        parent=state.tip_hash,
        timestamp=Timestamp(timestamp),
        tx_root=merkle_root([tx_id(tx) for tx in transactions]),
        state_root=state_root(after),
        proposer=public_key_of(proposer_seed),
        settlement_root=settlement_root(settlement),
    )
    votes = sorted(
        (sign_vote(seed, header, timestamp) for seed in validator_seeds),
        key=lambda vote: vote.validator,
    )
    block = encode({0: header.to_cbor(), 1: list(transactions), 2: [v.to_cbor() for v in votes]})
    return block, replace(after, tip_hash=header.hash())
