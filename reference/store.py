"""The node's embedded store: SQLite, one file, one transaction per block.

Tables: ``blocks`` (height, header hash, bytes), ``transactions`` (the first 8 bytes of each id
as an integer, height, position: an index into the blocks, which hold the bytes; a lookup checks
the id of each candidate, so two ids that share a prefix are told apart), ``receipts`` (per
block, the CBOR array of the receipts of every transaction the node tried when it made or applied
the block, accepted or not),
``entries`` (the state: one row per state entry, its canonical key and value encodings) and
``meta`` (genesis encoding, tip hash, LtHash lanes).

Why an entry table rather than a snapshot per block: a block rewrites only the entries it touched,
so the write cost per block follows the block, not the state; the rows are exactly the encodings
the root was computed from (no second serialisation); and a restart reads the state back without
replaying history. Committing block, transactions, receipts, changed entries and meta in one
SQLite transaction (WAL journal, ``synchronous=FULL``) makes a block all-or-nothing on disk: a kill
at any moment leaves the previous block or the new one, never a mixture.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from reference.wire import decode_block
from reference.wire import tx_id as id_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    height INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS transactions (
    prefix INTEGER NOT NULL, height INTEGER NOT NULL, position INTEGER NOT NULL,
    PRIMARY KEY (prefix, height, position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS receipts (height INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    tbl INTEGER NOT NULL, k BLOB NOT NULL, v BLOB NOT NULL, PRIMARY KEY (tbl, k)) WITHOUT ROWID;
"""


def _prefix(tx_id: bytes) -> int:
    """The index key of a transaction id: its first 8 bytes as a signed 64-bit integer."""
    return int.from_bytes(tx_id[:8], "big", signed=True)


class Store:
    """One SQLite file holding a chain."""

    def __init__(self, path: str | Path, commit_pause_s: float = 0.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        self.commit_pause_s = commit_pause_s
        """Fault injection for the kill test: sleep between the writes of a commit."""

    def close(self) -> None:
        self.db.close()

    def meta(self, name: str) -> bytes | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def height(self) -> int:
        row = self.db.execute("SELECT max(height) FROM blocks").fetchone()
        return 0 if row[0] is None else int(row[0])

    def initialise(
        self, genesis: bytes, entries: Iterable[tuple[int, bytes, bytes]], lanes: bytes
    ) -> None:
        """Write the genesis state (in one transaction)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO meta (name, value) VALUES (?, ?)",
                [("genesis", genesis), ("tip", bytes(32)), ("lanes", lanes)],
            )
            db.executemany("INSERT INTO entries (tbl, k, v) VALUES (?, ?, ?)", entries)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def commit_block(
        self,
        height: int,
        header_hash: bytes,
        block: bytes,
        tx_ids: list[bytes],
        receipts: bytes,
        upserts: list[tuple[int, bytes, bytes]],
        deletes: list[tuple[int, bytes]],
        lanes: bytes,
    ) -> None:
        """Everything a block changes, atomically: ``upserts`` are entries written (table, key,
        value encodings), ``deletes`` entries removed (table, key)."""
        db = self.db
        pause = self.commit_pause_s
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT INTO blocks (height, hash, data) VALUES (?, ?, ?)",
                (height, header_hash, block),
            )
            if pause:
                time.sleep(pause)
            # Integer keys in key order: half the cost of 32-byte keys in arrival order (measured).
            db.executemany(
                "INSERT INTO transactions (prefix, height, position) VALUES (?, ?, ?)",
                sorted((_prefix(tx_id), height, position) for position, tx_id in enumerate(tx_ids)),
            )
            db.execute("INSERT INTO receipts (height, data) VALUES (?, ?)", (height, receipts))
            upserts.sort()
            db.executemany("INSERT OR REPLACE INTO entries (tbl, k, v) VALUES (?, ?, ?)", upserts)
            db.executemany("DELETE FROM entries WHERE tbl = ? AND k = ?", deletes)
            if pause:
                time.sleep(pause)
            db.executemany(
                "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)",
                [("tip", header_hash), ("lanes", lanes)],
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def entries(self) -> Iterator[tuple[int, bytes, bytes]]:
        for table, key, value in self.db.execute("SELECT tbl, k, v FROM entries"):
            yield int(table), bytes(key), bytes(value)

    def blocks(self) -> Iterator[tuple[int, bytes]]:
        for height, data in self.db.execute("SELECT height, data FROM blocks ORDER BY height"):
            yield int(height), bytes(data)

    def block_data(self, height: int) -> bytes | None:
        row = self.db.execute("SELECT data FROM blocks WHERE height = ?", (height,)).fetchone()
        return None if row is None else bytes(row[0])

    def block_hash(self, height: int) -> bytes | None:
        row = self.db.execute("SELECT hash FROM blocks WHERE height = ?", (height,)).fetchone()
        return None if row is None else bytes(row[0])

    def transaction_height(self, tx_id: bytes) -> int | None:
        """The height of the block holding a transaction, if one does."""
        rows = self.db.execute(
            "SELECT height, position FROM transactions WHERE prefix = ? ORDER BY height",
            (_prefix(tx_id),),
        ).fetchall()
        for height, position in rows:
            data = self.block_data(int(height))
            if data is not None and id_of(decode_block(data).txs[position]) == tx_id:
                return int(height)
        return None

    def counts(self) -> dict[str, int]:
        out: dict[str, Any] = {}
        for table in ("blocks", "transactions", "receipts", "entries"):
            out[table] = self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return out
