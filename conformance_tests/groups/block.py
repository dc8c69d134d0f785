"""The ``block`` vectors: block headers, votes and transaction lists."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from conformance_tests import edwards
from conformance_tests.scenario import key_of
from conformance_tests.suite import (
    Suite,
    block,
    craft_account,
    forge_block,
    head,
    raw_map,
    vote_of,
    with_validators,
)
from spec.blocks import MAX_BLOCK_TXS, Header, decode_block
from spec.cbor import decode, encode
from spec.crypto import merkle_root
from spec.state import (
    Role,
    state_root,
)
from spec.transactions import (
    MAX_TX_BYTES,
    Kind,
)
from spec.units import (
    Height,
    Timestamp,
)


def group_blocks(suite: Suite) -> None:
    """BLK-01 .. BLK-11 with a three-validator quorum, and block-level encoding."""
    v = with_validators("validator-1", "validator-2", "validator-3")
    t = v.state.time + 60
    body = {0: key_of("alice"), 1: 1}
    deposit = v.make("operator", Kind.DEPOSIT, body)
    two = ("validator-1", "validator-2")
    base = "block/valid/two-of-three"
    good = forge_block(v.state, [deposit], t, signers=two)
    suite.add(
        base,
        "A block with one deposit signed by two of three validators (quorum).",
        v.state,
        [block(good)],
        expect=[None],
        flags=["valid", "boundary"],
    )
    suite.add(
        "block/valid/three-of-three",
        "All three validators sign.",
        v.state,
        [block(forge_block(v.state, [deposit], t, signers=(*two, "validator-3")))],
        expect=[None],
        flags=["valid"],
    )
    suite.add(
        "block/valid/empty-same-time",
        "An empty block at the ledger's own time: time may stand still (BLK-04).",
        v.state,
        [block(forge_block(v.state, [], v.state.time, signers=two))],
        expect=[None],
        flags=["valid", "boundary", "time"],
    )

    def bad(name: str, data: bytes, rule_id: str, description: str, *flags: str) -> None:
        suite.negative(
            f"block/{rule_id}/{name}",
            description,
            v.state,
            block(data),
            None,
            rule_id,
            twin_id=base,
            flags=["block", *flags],
        )

    def forged(**changes: Any) -> bytes:
        return forge_block(v.state, [deposit], t, **{"signers": two, **changes})

    bad("other-chain", forged(chain_id="kwhledger-other"), "BLK-01", "Header of another chain.")
    bad("height-skips", forged(height=Height(v.state.height + 2)), "BLK-02", "Height + 2.")
    bad("height-repeats", forged(height=v.state.height), "BLK-02", "The ledger's own height.")
    bad(
        "wrong-parent",
        forged(parent=bytes(31) + b"\x01"),
        "BLK-03",
        "A parent that is not the tip.",
    )
    bad(
        "time-goes-back",
        forge_block(v.state, [deposit], v.state.time - 1, signers=two),
        "BLK-04",
        "Timestamp one second before the ledger's time.",
        "time",
        "boundary",
    )
    bad(
        "proposer-is-trader",
        forged(proposer="alice"),
        "BLK-05",
        "Alice proposes.",
        "authorization",
    )
    bad(
        "signer-not-validator",
        forged(signers=("validator-1", "validator-2", "alice")),
        "BLK-06",
        "Alice's valid signature among the votes.",
        "authorization",
    )
    bad(
        "signers-descending",
        forged(sort_signers=False, signers=tuple(sorted(two, key=key_of, reverse=True))),
        "BLK-06",
        "Two valid votes in descending order of validator id.",
    )
    header = _decode_header(good)
    dup = vote_of("validator-1", header)
    bad("duplicate-signer", forged(signatures=[dup, dup]), "BLK-06", "The same vote twice.")
    flipped = bytearray(vote_of("validator-2", header)[2])
    flipped[5] ^= 1
    pairs = sorted([vote_of("validator-1", header), (key_of("validator-2"), t, bytes(flipped))])
    bad(
        "bad-signature",
        forged(signatures=pairs),
        "BLK-06",
        "A vote with one bit flipped.",
        "signature",
    )
    stale = vote_of("validator-2", replace(header, timestamp=Timestamp(t + 1)), t)
    bad(
        "vote-for-other-header",
        forged(signatures=sorted([vote_of("validator-1", header), stale])),
        "BLK-06",
        "A vote for a header with another timestamp.",
        "signature",
    )
    bad(
        "one-of-three", forged(signers=("validator-1",)), "BLK-07", "One vote of three.", "boundary"
    )
    bad("no-votes", forged(signers=()), "BLK-07", "No votes at all.")
    bad("wrong-tx-root", forged(tx_root=bytes(32)), "BLK-08", "Transaction root of zeros.")
    bad(
        "tx-root-of-empty",
        forged(tx_root=merkle_root([])),
        "BLK-08",
        "Transaction root of an empty block.",
    )
    invalid_tx = v.make("operator", Kind.DEPOSIT, {0: key_of("mallory"), 1: 1})
    bad(
        "invalid-transaction",
        forge_block(v.state, [deposit, invalid_tx], t, signers=two),
        "BLK-09",
        "The second transaction deposits to an unknown account (MNY-01).",
        "atomicity",
    )
    bad(
        "non-canonical-transaction",
        forge_block(v.state, [deposit + b"\x00"], t, signers=two),
        "BLK-09",
        "The transaction has a trailing byte (ENC-08).",
        "encoding",
    )
    bad(
        "replayed-transaction",
        forge_block(v.state, [deposit, deposit], t, signers=two),
        "BLK-09",
        "The same deposit twice: the second has a stale nonce (TX-05).",
        "replay",
    )
    bad("wrong-state-root", forged(state_root=bytes(32)), "BLK-10", "State root of zeros.")
    pre_root = state_root(v.state)
    bad("state-root-before", forged(state_root=pre_root), "BLK-10", "The root before the block.")
    many = [b""] * (MAX_BLOCK_TXS + 1)
    suite.negative(
        "block/BLK-11/one-over-max-txs",
        "MAX_BLOCK_TXS + 1 (empty) transactions: the count is checked at the array's head.",
        v.state,
        block(forge_block(v.state, many, t, signers=two)),
        block(forge_block(v.state, many[:-1], t, signers=two)),
        "BLK-11",
        twin_rule="BLK-09",
        flags=["block", "boundary", "resource"],
    )
    # Small-order validator key: a forged vote verifies under the bare equation.
    weird = craft_account(v.state, edwards.IDENTITY_KEY, Role.VALIDATOR)
    votes = [vote_of(n, header) for n in ("validator-1", "validator-2", "validator-3")]
    weird_header = _decode_header(
        forge_block(weird, [deposit], t, signers=("validator-1", "validator-2", "validator-3"))
    )
    weird_votes = [vote_of(n, weird_header) for n in ("validator-1", "validator-2", "validator-3")]
    forged_vote = (edwards.IDENTITY_KEY, t, edwards.IDENTITY_KEY + edwards.ZERO_S)
    del votes
    suite.negative(
        "block/BLK-06/forged-small-order-validator",
        "A validator registered (crafted pre-state) with the identity point as key casts the "
        "vote R = identity, S = 0.",
        weird,
        block(
            forge_block(
                weird,
                [deposit],
                t,
                signatures=sorted([*weird_votes[:2], forged_vote]),
            )
        ),
        block(forge_block(weird, [deposit], t, signatures=sorted(weird_votes))),
        "BLK-06",
        crafted=True,
        flags=["block", "signature", "ed25519", "small-order-key"],
    )
    # Block-level encoding.
    block_map = _decode_block(good)
    header_entries = [(encode(k), encode(x)) for k, x in sorted(block_map[0].items())]
    height_long = [
        (k, head(0, int(block_map[0][1]), 8) if i == 1 else x)
        for i, (k, x) in enumerate(header_entries)
    ]
    tx_items = b"".join(encode(t) for t in block_map[1])
    block_entries = [(encode(k), encode(x)) for k, x in sorted(block_map.items())]
    enc_cases: list[tuple[str, bytes, str, str]] = [
        (
            "height-non-shortest",
            raw_map([(encode(0), raw_map(height_long)), *block_entries[1:]]),
            "ENC-02",
            "The header's height in an 8-byte head.",
        ),
        (
            "transactions-indefinite",
            raw_map(
                [block_entries[0], (encode(1), b"\x9f" + tx_items + b"\xff"), block_entries[2]]
            ),
            "ENC-03",
            "The transaction list as an indefinite-length array.",
        ),
        (
            "keys-unsorted",
            raw_map([block_entries[1], block_entries[0], block_entries[2]]),
            "ENC-04",
            "Block keys 1, 0, 2.",
        ),
        ("trailing-byte", good + b"\x00", "ENC-08", "A byte after the block."),
        ("truncated", good[:-1], "ENC-01", "The block's last byte is missing."),
        ("unknown-field", encode({**block_map, 3: 0}), "ENC-12", "The block has a key 3."),
        ("missing-signatures", encode({0: block_map[0], 1: block_map[1]}), "ENC-13", "No key 2."),
        ("signatures-not-array", encode({**block_map, 2: {}}), "ENC-14", "Signatures as a map."),
        (
            "header-missing-proposer",
            encode({**block_map, 0: {k: x for k, x in block_map[0].items() if k != 6}}),
            "ENC-13",
            "The header lacks key 6.",
        ),
        (
            "header-height-negative",
            encode({**block_map, 0: {**block_map[0], 1: -1}}),
            "ENC-15",
            "Height -1.",
        ),
        (
            "oversized-transaction",
            encode({**block_map, 1: [bytes(MAX_TX_BYTES + 1)]}),
            "ENC-15",
            "A transaction entry of MAX_TX_BYTES + 1 bytes.",
        ),
        (
            "vote-entry-of-four",
            encode({**block_map, 2: [[b"", 0, b"", b""]]}),
            "ENC-15",
            "A vote entry of four elements (a vote is [validator, time, signature]).",
        ),
        ("block-is-bytes", encode(good), "ENC-14", "The block wrapped in a byte string."),
        ("transaction-is-text", encode({**block_map, 1: ["x"]}), "ENC-14", "A text entry."),
        ("signature-entry-is-bytes", encode({**block_map, 2: [b"x"]}), "ENC-14", "Not a vote."),
    ]
    for name, data, rule_id, description in enc_cases:
        bad(name, data, rule_id, description, "encoding")


def _decode_block(data: bytes) -> dict[Any, Any]:
    value = decode(data, max_size=2**24)
    assert isinstance(value, dict)
    return value


def _decode_header(data: bytes) -> Header:
    return decode_block(data).header
