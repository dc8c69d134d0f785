"""Vectors: hostile shapes whose cost must fall on the sender (ENC-16, BLK-11 at the head).

Each input is small, so the suite stays small, but has the shape of an attack that, at full size
(an 8 MiB block of empty maps or empty byte strings), made a node build millions of values before
any rule refused it. ``kwhledger bench hostile`` runs the full-size inputs.
"""

from __future__ import annotations

from typing import Any, Final

from conformance_tests.suite import Suite, block, forge_block, head, with_validators
from spec.blocks import MAX_BLOCK_BYTES, MAX_BLOCK_ITEMS, MAX_BLOCK_TXS
from spec.cbor import decode, encode
from spec.state import State

_TWO: Final = ("validator-1", "validator-2")


def count_items(value: Any) -> int:
    """The data items of a decoded value, map keys included (what ENC-16 counts)."""
    if isinstance(value, list):
        return 1 + sum(count_items(item) for item in value)
    if isinstance(value, dict):
        return 1 + sum(count_items(k) + count_items(v) for k, v in value.items())
    return 1


def with_raw_transactions(state: State, timestamp: int, raw_array: bytes) -> bytes:
    """A block whose header and quorum are valid (for no transactions) and whose transaction
    array is ``raw_array``, bytes written by hand."""
    valid: Any = decode(forge_block(state, [], timestamp, signers=_TWO), max_size=MAX_BLOCK_BYTES)
    return b"\xa3\x00" + encode(valid[0]) + b"\x01" + raw_array + b"\x02" + encode(valid[2])


def with_extra_signature_element(state: State, timestamp: int, zeros: int) -> bytes:
    """A valid empty block whose signature array ends with one more element: ``zeros`` zeros."""
    valid: Any = decode(forge_block(state, [], timestamp, signers=_TWO), max_size=MAX_BLOCK_BYTES)
    signatures = [*valid[2], [0] * zeros]
    return encode({0: valid[0], 1: valid[1], 2: signatures})


def group_hostile(suite: Suite) -> None:
    """BLK-11 when the transaction array's head is read; the block item budget (ENC-16)."""
    v = with_validators("validator-1", "validator-2", "validator-3")
    t = v.state.time + 60
    over = MAX_BLOCK_TXS + 1
    suite.add(
        "hostile/BLK-11/head-claims-one-over-nothing-follows",
        f"A valid header and quorum, and a transaction array whose head claims {over} elements "
        "although only the signatures follow: refused at the head, before the count is compared "
        "with the bytes left (ENC-01).",
        v.state,
        [block(with_raw_transactions(v.state, t, head(4, over)))],
        expect=["BLK-11"],
        flags=["block", "boundary", "resource", "truncation"],
    )
    suite.add(
        "hostile/BLK-11/empty-maps",
        f"A valid header and quorum, and {over} empty maps as transactions: refused at the "
        "array's head, before any element is read (the elements' type would be ENC-14).",
        v.state,
        [block(with_raw_transactions(v.state, t, head(4, over) + b"\xa0" * over))],
        expect=["BLK-11"],
        flags=["block", "boundary", "resource", "schema"],
    )
    suite.add(
        "hostile/BLK-11/empty-byte-strings-wrong-chain",
        f"{over} empty byte strings as transactions and a header for another chain: the count, "
        "read while decoding, is refused before the header's chain id is compared (BLK-01).",
        v.state,
        [block(forge_block(v.state, [b""] * over, t, signers=_TWO, chain_id="another-chain"))],
        expect=["BLK-11"],
        flags=["block", "boundary", "resource"],
    )
    empty: Any = decode(forge_block(v.state, [], t, signers=_TWO), max_size=MAX_BLOCK_BYTES)
    # The extra element adds its own head and its zeros to the items of the valid empty block.
    at_budget = MAX_BLOCK_ITEMS - count_items(empty) - 1
    suite.negative(
        "hostile/ENC-16/one-over-block-budget",
        f"A valid empty block whose signature array ends with an array of {at_budget + 1} zeros: "
        f"{MAX_BLOCK_ITEMS + 1} data items, one over MAX_BLOCK_ITEMS. Refused at the first item "
        "over the budget.",
        v.state,
        block(with_extra_signature_element(v.state, t, at_budget + 1)),
        block(with_extra_signature_element(v.state, t, at_budget)),
        "ENC-16",
        twin_rule="ENC-15",
        flags=["block", "boundary", "resource"],
    )
