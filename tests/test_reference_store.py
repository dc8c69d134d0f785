"""A store that refuses to lie: each corruption class is refused with a one-line ``StoreError``,
or provably changes nothing; a failed commit leaves memory at the store's height; the backup is
a full, checked copy; the mempool admits only what the state can accept."""

from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import cbor2
import pytest

from kwhledger.cli import main
from reference import devchain
from reference.client import TRANSFER
from reference.node import MAX_MEMPOOL, Node, check_store, replay
from reference.store import StoreError, row_sum, witness_path


def chain(tmp_path: Path, blocks: int = 5, name: str = "chain.db") -> Path:
    """A closed dev chain of ``blocks`` blocks (its WAL checkpointed into the file)."""
    path = tmp_path / name
    devchain.run(str(path), blocks, seed=11, quiet=True).close()
    return path


def copy_store(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    shutil.copyfile(witness_path(source), witness_path(target))
    return target


def refusal(call: Any) -> str:
    with pytest.raises(StoreError) as refused:
        call()
    message = str(refused.value)
    assert "\n" not in message and message
    return message


def content(path: Path) -> tuple[Any, ...]:
    """Everything a store says: its state root, blocks, receipts, index and meta rows."""
    node = Node.open(path)
    try:
        db = node.store.db
        return (
            node.state_root(),
            list(node.store.blocks()),
            db.execute("SELECT height, data FROM receipts ORDER BY height").fetchall(),
            db.execute("SELECT * FROM transactions ORDER BY prefix, height").fetchall(),
            db.execute("SELECT name, value FROM meta ORDER BY name").fetchall(),
        )
    finally:
        node.close()


def test_a_healthy_store_passes_both_checks(tmp_path: Path) -> None:
    path = chain(tmp_path)
    assert "ok, height 5" in check_store(path)
    assert "5 blocks checked" in check_store(path, full=True)


def test_an_edited_balance_is_refused(tmp_path: Path) -> None:
    path = chain(tmp_path)
    db = sqlite3.connect(path)
    table, key, value = db.execute("SELECT tbl, k, v FROM entries WHERE tbl = 1").fetchone()
    account = cbor2.loads(value)
    account[2] += 10**12  # ten million yen more, in milli-sen
    edited = cbor2.dumps(account, canonical=True)
    db.execute("UPDATE entries SET v = ? WHERE tbl = ? AND k = ?", (edited, table, key))
    db.commit()
    db.close()
    assert "fails its checksum" in refusal(lambda: Node.open(path))
    # Whoever also rewrites the row's checksum still meets the root of the last header.
    db = sqlite3.connect(path)
    checksum = row_sum(table, key, edited)
    db.execute("UPDATE entries SET sum = ? WHERE tbl = ? AND k = ?", (checksum, table, key))
    db.commit()
    db.close()
    assert "state root differs" in refusal(lambda: Node.open(path))
    assert Node.open(path, verify_root=False).close() is None  # the plain open is fooled


def test_random_overwrites_are_refused_or_change_nothing(tmp_path: Path) -> None:
    path = chain(tmp_path, blocks=8)
    original = content(path)
    size = path.stat().st_size
    rng = random.Random(15)
    refused = unaffected = 0
    for copy_number in range(40):
        target = copy_store(path, tmp_path / f"copy-{copy_number}.db")
        with target.open("r+b") as handle:
            for _ in range(16):
                handle.seek(rng.randrange(size))
                handle.write(bytes([rng.randrange(256)]))
        try:
            check_store(target, full=True)
        except StoreError as problem:
            assert "\n" not in str(problem)
            refused += 1
            continue
        assert content(target) == original  # opened: then it says exactly what the original says
        unaffected += 1
    assert refused + unaffected == 40 and refused > 0


def test_a_missing_wal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    node = devchain.run(str(path), 4, seed=2, quiet=True)  # open: its last blocks are in the WAL
    try:
        assert Path(f"{path}-wal").stat().st_size > 0
        without_wal = copy_store(path, tmp_path / "without-wal.db")
        message = refusal(lambda: Node.open(without_wal))
        assert "WAL file is missing" in message
    finally:
        node.close()


def test_a_zero_byte_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    genesis, _ = devchain.genesis()
    assert "0-byte" in refusal(lambda: Node.open_or_create(path, genesis))
    assert "0-byte" in refusal(lambda: Node.open(path))
    assert path.stat().st_size == 0


class FailingCommit:
    """A connection whose next COMMIT fails, as a full disk or an I/O error would make it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT":
            raise sqlite3.OperationalError("disk I/O error (injected)")
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


def test_a_failed_commit_leaves_memory_at_the_stores_height(tmp_path: Path) -> None:
    path = tmp_path / "commit.db"
    node = devchain.run(str(path), 2, seed=4, quiet=True)
    try:
        keys = devchain.signers()
        operator = keys["operator"]
        operator.nonce = node.ledger.accounts[operator.account][1]
        deposit = operator.sign(
            node.ledger.chain_id, 8, {0: keys[devchain.TRADERS[0]].account, 1: 7}
        )
        assert node.submit(deposit).accepted
        height, root = node.store.height(), node.state_root()
        real = node.store.db
        node.store.db = FailingCommit(real)  # type: ignore[assignment]
        with pytest.raises(sqlite3.OperationalError):
            node.produce_block(devchain.GENESIS_TIME + 600 * (height + 1))
        node.store.db = real
        assert (node.ledger.height, node.state_root()) == (height, root)
        assert node.store.height() == height and not real.in_transaction
        _, receipts = node.produce_block(devchain.GENESIS_TIME + 600 * (height + 1))
        assert [r.code for r in receipts] == [0] and node.store.height() == height + 1
        after = node.state_root()
    finally:
        node.close()
    reopened = Node.open(path)
    try:
        assert reopened.state_root() == after
        assert replay(reopened.store).state_root() == after
    finally:
        reopened.close()


def test_backup_makes_a_checked_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = chain(tmp_path)
    destination = tmp_path / "backup.db"
    assert main(["store", "backup", str(path), str(destination)]) == 0
    assert content(destination) == content(path)
    assert main(["store", "backup", str(path), str(destination)]) == 1  # never overwrites
    assert main(["store", "check", str(destination), "--full"]) == 0
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert main(["store", "check", str(empty)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("kwhledger store check: refused:") and "0-byte" in err[-1]


def test_the_mempool_admits_only_registered_senders_and_stores_included_receipts(
    tmp_path: Path,
) -> None:
    from reference.client import Signer

    node = devchain.run(str(tmp_path / "pool.db"), 2, seed=6, quiet=True)
    try:
        stranger = Signer(bytes(range(32)))
        transfers = [
            stranger.sign(node.ledger.chain_id, TRANSFER, {0: stranger.account, 1: 1})
            for _ in range(3)
        ]
        assert {node.submit(tx).rule_id for tx in transfers} == {"TX-03"}
        assert node.mempool == {}
        keys = devchain.signers()
        sender = keys[devchain.TRADERS[0]]
        sender.nonce = node.ledger.accounts[sender.account][1] + 5000
        ahead = sender.sign(node.ledger.chain_id, TRANSFER, {0: keys["operator"].account, 1: 1})
        assert node.submit(ahead).rule_id == "TX-05"
        sender.nonce = node.ledger.accounts[sender.account][1]
        too_much = sender.sign(
            node.ledger.chain_id, TRANSFER, {0: keys["operator"].account, 1: 10**15}
        )
        assert node.submit(too_much).accepted  # its balance is a block's business (MNY-03)
        _, receipts = node.produce_block(devchain.GENESIS_TIME + 600 * 3)
        assert [r.rule_id for r in receipts] == ["MNY-03"]
        stored = node.store.receipts(node.store.height())
        assert stored == b"\x80"  # an empty array: no receipt for what was left out
        assert MAX_MEMPOOL >= 4096
    finally:
        node.close()


def test_a_full_mempool_refuses_more(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import reference.node

    node = devchain.run(str(tmp_path / "full.db"), 2, seed=8, quiet=True)
    monkeypatch.setattr(reference.node, "MAX_MEMPOOL", 2)
    try:
        keys = devchain.signers()
        sender = keys[devchain.TRADERS[1]]
        sender.nonce = node.ledger.accounts[sender.account][1]
        txs = [
            sender.sign(node.ledger.chain_id, TRANSFER, {0: keys["operator"].account, 1: 1})
            for _ in range(3)
        ]
        assert node.submit(txs[0]).accepted and node.submit(txs[1]).accepted
        with pytest.raises(reference.node.MempoolFull):
            node.submit(txs[2])
        assert len(node.mempool) == 2
    finally:
        node.close()


def test_a_foreign_or_older_sqlite_file_is_refused_and_not_written(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.db"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE notes (text TEXT)")
    db.commit()
    db.close()
    before = foreign.read_bytes()
    assert "not a kwhledger store" in refusal(lambda: Node.open(foreign))
    genesis, _ = devchain.genesis()
    assert "not a kwhledger store" in refusal(lambda: Node.open_or_create(foreign, genesis))
    assert foreign.read_bytes() == before
    older = tmp_path / "older.db"
    db = sqlite3.connect(older)
    db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)")
    db.commit()
    db.close()
    assert "without row checksums" in refusal(lambda: Node.open(older))
