"""The reference node: its blocks are the spec's blocks, bad input leaves the store as it was."""

from __future__ import annotations

from pathlib import Path

import cbor2

from reference import devchain
from reference.client import TRANSFER
from reference.ledger import encode_state
from reference.node import Node, replay
from reference.wire import tx_id
from spec.blocks import apply_block
from spec.cbor import encode
from spec.state import decode_state, state_root
from spec.state import encode_state as spec_encoding


def _snapshot(node: Node) -> tuple[object, ...]:
    db = node.store.db
    return (
        node.store.counts(),
        db.execute("SELECT tbl, k, v FROM entries ORDER BY tbl, k").fetchall(),
        db.execute("SELECT name, value FROM meta ORDER BY name").fetchall(),
        node.state_root(),
    )


def test_dev_chain_blocks_are_accepted_by_the_spec(tmp_path: Path) -> None:
    node = devchain.run(str(tmp_path / "a.db"), 6, seed=3, quiet=True)
    try:
        genesis = node.store.meta("genesis")
        assert genesis is not None
        state = decode_state(cbor2.loads(genesis))
        for height, block in node.store.blocks():
            state, receipt = apply_block(state, block)
            assert receipt.accepted, (height, receipt)
        assert state_root(state) == node.state_root()
        assert encode(spec_encoding(state)) == encode_state(node.ledger)
    finally:
        node.close()


def test_malformed_forged_and_replayed_transactions_leave_the_store_unchanged(
    tmp_path: Path,
) -> None:
    node = devchain.run(str(tmp_path / "a.db"), 3, seed=5, quiet=True)
    try:
        keys = devchain.signers()
        sender = keys[devchain.TRADERS[0]]
        sender.nonce = node.ledger.accounts[sender.account][1]
        good = sender.sign(node.ledger.chain_id, TRANSFER, {0: keys["operator"].account, 1: 5})
        before = _snapshot(node)
        forged = good[:-1] + bytes([good[-1] ^ 1])
        outcomes = [node.submit(tx) for tx in (good[:-3], good + b"\x00", forged)]
        assert [r.rule_id for r in outcomes] == ["ENC-01", "ENC-08", "TX-04"]
        _, first_block = next(node.store.blocks())
        stored = cbor2.loads(first_block)[1][0]
        assert node.store.transaction_height(tx_id(stored)) == 1
        assert node.submit(stored).rule_id == "TX-05"
        other_chain = keys["operator"]
        other_chain.nonce = 0
        assert (
            node.submit(other_chain.sign("elsewhere", TRANSFER, {0: sender.account, 1: 1})).rule_id
            == "TX-01"
        )
        assert node.mempool == {}
        assert _snapshot(node) == before
        assert node.submit(good).accepted
        assert node.submit(good).rule_id == "TX-05"
    finally:
        node.close()


def test_a_second_node_validates_the_first_ones_blocks(tmp_path: Path) -> None:
    first = devchain.run(str(tmp_path / "first.db"), 5, seed=9, quiet=True)
    ledger, _ = devchain.genesis()
    second = Node.create(tmp_path / "second.db", ledger)  # type: ignore[arg-type]
    try:
        blocks = [block for _, block in first.store.blocks()]
        before = _snapshot(second)
        tampered = bytearray(blocks[0])
        tampered[-1] ^= 1  # the last validator signature
        result = second.import_block(bytes(tampered))
        assert (result.code, result.rule_id) == (706, "BLK-06")
        assert second.import_block(blocks[1]).rule_id == "BLK-02"
        assert _snapshot(second) == before
        for block in blocks:
            assert second.import_block(block).accepted
        assert second.state_root() == first.state_root()
        assert replay(second.store).state_root() == first.state_root()
        second.close()
        reopened = Node.open(tmp_path / "second.db", verify_root=True)
        assert reopened.state_root() == first.state_root()
        reopened.close()
    finally:
        first.close()


def test_signatures_checked_in_a_worker_process_give_the_same_receipts(tmp_path: Path) -> None:
    """``Node.prepare`` with a worker process: the same codes as checking in this process, for
    good, malformed, forged and repeated transactions, and the same block."""
    from reference.verifier import SignatureChecker

    keys = devchain.signers()
    sender = keys[devchain.TRADERS[0]]
    results = []
    for name, workers in (("here", 0), ("worker", 1)):
        node = devchain.run(str(tmp_path / f"{name}.db"), 2, seed=5, quiet=True)
        sender.nonce = node.ledger.accounts[sender.account][1]
        good = [
            sender.sign(node.ledger.chain_id, TRANSFER, {0: keys["operator"].account, 1: 5 + i})
            for i in range(3)
        ]
        forged = good[1][:-1] + bytes([good[1][-1] ^ 1])
        batch = [good[0], good[0][:-3], forged, good[1], good[0], good[2]]
        try:
            if workers:
                with SignatureChecker(workers) as checker:
                    receipts = node.submit_prepared(node.prepare(batch, checker))
            else:
                receipts = [node.submit(tx) for tx in batch]
            block, _ = node.produce_block(devchain.GENESIS_TIME + 600 * 3)
            results.append(([r.rule_id for r in receipts], block, node.state_root()))
        finally:
            node.close()
    assert results[0][0] == [None, "ENC-01", "TX-04", None, "TX-05", None]
    assert results[1] == results[0]


def test_a_transaction_lookup_tells_apart_ids_that_share_the_index_prefix(tmp_path: Path) -> None:
    """The index keys transactions by 8 bytes of their id; a lookup checks the whole id."""
    node = devchain.run(str(tmp_path / "a.db"), 2, seed=5, quiet=True)
    try:
        _, block = next(node.store.blocks())
        first = tx_id(cbor2.loads(block)[1][0])
        assert node.store.transaction_height(first) == 1
        twin = first[:8] + bytes(24)  # same prefix, another id
        assert node.store.transaction_height(twin) is None
        # A row for a colliding id in a later block does not hide the real one, nor match it.
        node.store.db.execute(
            "INSERT INTO transactions VALUES (?, 2, 0)",
            (int.from_bytes(first[:8], "big", signed=True),),
        )
        assert node.store.transaction_height(first) == 1
        assert node.store.transaction_height(twin) is None
    finally:
        node.close()
