"""The node's embedded store: SQLite, one file, one transaction per block.

Tables: ``blocks`` (height, header hash, bytes), ``transactions`` (the first 8 bytes of each id
as an integer, height, position: an index into the blocks, which hold the bytes; a lookup checks
the id of each candidate, so two ids that share a prefix are told apart), ``receipts`` (per
block, the CBOR array of the receipts of every transaction the node tried when it made or applied
the block, accepted or not),
``entries`` (the state: one row per state entry, its canonical key and value encodings),
``settlements`` (per block, the settlement records it emitted, in emission order, as a CBOR array
of byte strings: the state forgets a settled slot, the store keeps what it became, so the node
can serve inclusion proofs against the header's ``settlement_root``) and ``meta`` (genesis
encoding, tip hash, LtHash lanes).

Why an entry table rather than a snapshot per block: a block rewrites only the entries it touched,
so the write cost per block follows the block, not the state; the rows are exactly the encodings
the root was computed from (no second serialisation); and a restart reads the state back without
replaying history. Committing block, transactions, receipts, changed entries and meta in one
SQLite transaction (WAL journal, ``synchronous=FULL``) makes a block all-or-nothing on disk: a kill
at any moment leaves the previous block or the new one, never a mixture.

A store refuses to lie. Every row of ``meta``, ``blocks``, ``receipts``, ``settlements`` and
``entries`` carries a
checksum of its content and its key (BLAKE2b, 16 bytes), checked whenever the row is read, so a
row edited or damaged on disk is refused rather than used. After every commit the store writes
its tip (height and header hash) to a small witness file beside it (``FILE.tip``): a database
that opens behind its witness lost committed blocks (its WAL was deleted, or an older copy was
put in its place) and is refused. A 0-byte file is refused, never taken for a new chain. Every
refusal is a ``StoreError`` with a one-line message; SQLite's own complaints about a damaged file
become one too. ``check`` (and ``kwhledger store check``) runs the checks of an opening;
``check_full`` (``--full``) also checks every stored block: its checksum, the header chain, the
transaction roots, the settlement records against each header's settlement root, and the
transaction index. ``backup`` copies a live store through SQLite's
backup API.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from reference.wire import decode_block
from reference.wire import tx_id as id_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL, sum BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    height INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, data BLOB NOT NULL,
    sum BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS transactions (
    prefix INTEGER NOT NULL, height INTEGER NOT NULL, position INTEGER NOT NULL,
    PRIMARY KEY (prefix, height, position)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS receipts (
    height INTEGER PRIMARY KEY, data BLOB NOT NULL, sum BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS settlements (
    height INTEGER PRIMARY KEY, data BLOB NOT NULL, sum BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    tbl INTEGER NOT NULL, k BLOB NOT NULL, v BLOB NOT NULL, sum BLOB NOT NULL,
    PRIMARY KEY (tbl, k)) WITHOUT ROWID;
"""

T = TypeVar("T")


class StoreError(Exception):
    """The store cannot be trusted or used; the message is one line saying why."""


def row_sum(*parts: bytes | int | str) -> bytes:
    """The checksum of a row: BLAKE2b-128 over its length-prefixed key and value parts."""
    digest = hashlib.blake2b(digest_size=16, person=b"kwhledger-row")
    for part in parts:
        if isinstance(part, int):
            part = part.to_bytes(8, "big", signed=True)
        elif isinstance(part, str):
            part = part.encode("utf-8")
        digest.update(len(part).to_bytes(4, "big"))
        digest.update(part)
    return digest.digest()


def _prefix(tx_id: bytes) -> int:
    """The index key of a transaction id: its first 8 bytes as a signed 64-bit integer."""
    return int.from_bytes(tx_id[:8], "big", signed=True)


def witness_path(path: Path) -> Path:
    """The tip witness file of a store."""
    return path.with_name(path.name + ".tip")


def _witness_bytes(height: int, header_hash: bytes) -> bytes:
    body = height.to_bytes(8, "big") + header_hash
    return body + row_sum("tip", body)


def read_witness(path: Path) -> tuple[int, bytes] | None:
    """(height, header hash) the store's witness file says was committed, if it is readable."""
    try:
        data = witness_path(path).read_bytes()
    except OSError:
        return None
    if len(data) != 56 or row_sum("tip", data[:40]) != data[40:]:
        return None
    return int.from_bytes(data[:8], "big"), data[8:40]


def write_witness(path: Path, height: int, header_hash: bytes) -> None:
    """Record the committed tip beside the store (written whole, then renamed into place)."""
    target = witness_path(path)
    scratch = target.with_name(target.name + ".new")
    scratch.write_bytes(_witness_bytes(height, header_hash))
    os.replace(scratch, target)


class Store:
    """One SQLite file holding a chain."""

    def __init__(self, path: str | Path, commit_pause_s: float = 0.0, create: bool = True) -> None:
        """Open the store at ``path``; ``create``: make the file and its tables if missing (an
        existing store is used as it is; without ``create`` nothing is ever written here)."""
        self.path = Path(path)
        if self.path.exists():
            if self.path.stat().st_size == 0:
                raise StoreError(f"{self.path}: a 0-byte file is not a store (refusing to use it)")
        elif not create:
            raise StoreError(f"{self.path}: no such store")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), isolation_level=None)
        try:
            if create:
                self._sql(lambda: self.db.execute("PRAGMA journal_mode=WAL"))
                self._sql(lambda: self.db.executescript(SCHEMA))
            columns = self._sql(lambda: self.db.execute("PRAGMA table_info(meta)").fetchall())
            if not columns:
                witness = read_witness(self.path)
                if witness is not None:
                    raise StoreError(
                        f"{self.path}: holds no chain but block {witness[0]} was committed: its "
                        "WAL file is missing, or an older copy replaced it"
                    )
                raise StoreError(f"{self.path}: not a kwhledger store (it has no meta table)")
            if "sum" not in {column[1] for column in columns}:
                raise StoreError(
                    f"{self.path}: a store without row checksums (written by an older node): "
                    "re-create it from its chain"
                )
            self._sql(lambda: self.db.execute("PRAGMA journal_mode=WAL"))
            self._sql(lambda: self.db.execute("PRAGMA synchronous=FULL"))
        except StoreError:
            self.db.close()
            raise
        self.commit_pause_s = commit_pause_s
        """Fault injection for the kill test: sleep between the writes of a commit."""

    def _sql(self, action: Callable[[], T]) -> T:
        """Run ``action``; SQLite's complaint about the file becomes a one-line StoreError."""
        try:
            return action()
        except (sqlite3.Error, ValueError) as problem:  # ValueError: text that is not UTF-8
            raise StoreError(f"{self.path}: SQLite refuses the file: {problem!r}") from None

    def close(self) -> None:
        self.db.close()

    def meta(self, name: str) -> bytes | None:
        row = self._sql(
            lambda: self.db.execute(
                "SELECT value, sum FROM meta WHERE name = ?", (name,)
            ).fetchone()
        )
        if row is None:
            return None
        value = bytes(row[0])
        if row_sum("meta", name, value) != bytes(row[1]):
            raise StoreError(f"{self.path}: meta row {name!r} fails its checksum")
        return value

    def height(self) -> int:
        row = self._sql(lambda: self.db.execute("SELECT max(height) FROM blocks").fetchone())
        return 0 if row[0] is None else int(row[0])

    def initialise(
        self, genesis: bytes, entries: Iterable[tuple[int, bytes, bytes]], lanes: bytes
    ) -> None:
        """Write the genesis state (in one transaction)."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO meta (name, value, sum) VALUES (?, ?, ?)",
                [_meta_row(n, v) for n, v in (("genesis", genesis), ("tip", bytes(32)))]
                + [_meta_row("lanes", lanes)],
            )
            db.executemany(
                "INSERT INTO entries (tbl, k, v, sum) VALUES (?, ?, ?, ?)",
                [(t, k, v, row_sum(t, k, v)) for t, k, v in entries],
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        write_witness(self.path, 0, bytes(32))

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
        settlement: list[bytes] | None = None,
    ) -> None:
        """Everything a block changes, atomically: ``upserts`` are entries written (table, key,
        value encodings), ``deletes`` entries removed (table, key), ``settlement`` the encoded
        settlement records the block emitted. On any failure, the COMMIT itself included,
        nothing is written and the exception propagates."""
        records = encode_records(settlement or [])
        db = self.db
        pause = self.commit_pause_s
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT INTO blocks (height, hash, data, sum) VALUES (?, ?, ?, ?)",
                (height, header_hash, block, row_sum(height, header_hash, block)),
            )
            if pause:
                time.sleep(pause)
            # Integer keys in key order: half the cost of 32-byte keys in arrival order (measured).
            db.executemany(
                "INSERT INTO transactions (prefix, height, position) VALUES (?, ?, ?)",
                sorted((_prefix(tx_id), height, position) for position, tx_id in enumerate(tx_ids)),
            )
            db.execute(
                "INSERT INTO receipts (height, data, sum) VALUES (?, ?, ?)",
                (height, receipts, row_sum(height, receipts)),
            )
            db.execute(
                "INSERT INTO settlements (height, data, sum) VALUES (?, ?, ?)",
                (height, records, row_sum("settlement", height, records)),
            )
            upserts.sort()
            db.executemany(
                "INSERT OR REPLACE INTO entries (tbl, k, v, sum) VALUES (?, ?, ?, ?)",
                [(t, k, v, row_sum(t, k, v)) for t, k, v in upserts],
            )
            db.executemany("DELETE FROM entries WHERE tbl = ? AND k = ?", deletes)
            if pause:
                time.sleep(pause)
            db.executemany(
                "INSERT OR REPLACE INTO meta (name, value, sum) VALUES (?, ?, ?)",
                [_meta_row("tip", header_hash), _meta_row("lanes", lanes)],
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        write_witness(self.path, height, header_hash)

    def entries(self) -> Iterator[tuple[int, bytes, bytes]]:
        """Every state entry, each checked against its row checksum."""
        rows = self._sql(lambda: self.db.execute("SELECT tbl, k, v, sum FROM entries").fetchall())
        for table, key, value, checksum in rows:
            table, key, value = int(table), bytes(key), bytes(value)
            if row_sum(table, key, value) != bytes(checksum):
                raise StoreError(f"{self.path}: entry ({table}, {key.hex()}) fails its checksum")
            yield table, key, value

    def blocks(self) -> Iterator[tuple[int, bytes]]:
        """Every stored block in height order, each checked against its row checksum."""
        query = "SELECT height, hash, data, sum FROM blocks ORDER BY height"
        for height, header_hash, data, checksum in self._sql(
            lambda: self.db.execute(query).fetchall()
        ):
            yield int(height), self._checked_block(height, header_hash, data, checksum)

    def _checked_block(self, height: Any, header_hash: Any, data: Any, checksum: Any) -> bytes:
        if row_sum(int(height), bytes(header_hash), bytes(data)) != bytes(checksum):
            raise StoreError(f"{self.path}: block {height} fails its checksum")
        return bytes(data)

    def block_data(self, height: int) -> bytes | None:
        row = self._sql(
            lambda: self.db.execute(
                "SELECT height, hash, data, sum FROM blocks WHERE height = ?", (height,)
            ).fetchone()
        )
        return None if row is None else self._checked_block(*row)

    def block_hash(self, height: int) -> bytes | None:
        row = self._sql(
            lambda: self.db.execute(
                "SELECT height, hash, data, sum FROM blocks WHERE height = ?", (height,)
            ).fetchone()
        )
        if row is None:
            return None
        self._checked_block(*row)
        return bytes(row[1])

    def receipts(self, height: int) -> bytes | None:
        row = self._sql(
            lambda: self.db.execute(
                "SELECT data, sum FROM receipts WHERE height = ?", (height,)
            ).fetchone()
        )
        if row is None:
            return None
        if row_sum(height, bytes(row[0])) != bytes(row[1]):
            raise StoreError(f"{self.path}: receipts of block {height} fail their checksum")
        return bytes(row[0])

    def settlement(self, height: int) -> list[bytes] | None:
        """The settlement records block ``height`` emitted (checked against the row checksum),
        or None if the store has no row for it."""
        row = self._sql(
            lambda: self.db.execute(
                "SELECT data, sum FROM settlements WHERE height = ?", (height,)
            ).fetchone()
        )
        if row is None:
            return None
        data = bytes(row[0])
        if row_sum("settlement", height, data) != bytes(row[1]):
            raise StoreError(
                f"{self.path}: settlement records of block {height} fail their checksum"
            )
        try:
            return decode_records(data)
        except ValueError as problem:
            raise StoreError(
                f"{self.path}: settlement records of block {height} do not parse ({problem})"
            ) from None

    def settlements(self) -> Iterator[tuple[int, list[bytes]]]:
        """Every block's settlement records in height order, each row checked."""
        query = "SELECT height FROM settlements ORDER BY height"
        for (height,) in self._sql(lambda: self.db.execute(query).fetchall()):
            records = self.settlement(int(height))
            assert records is not None
            yield int(height), records

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
        for table in ("blocks", "transactions", "receipts", "settlements", "entries"):
            out[table] = self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return out

    def check_witness(self) -> None:
        """Refuse a store that holds fewer blocks than its witness says were committed."""
        witness = read_witness(self.path)
        if witness is None:
            return
        height, header_hash = witness
        stored = self.height()
        if self.meta("genesis") is None or stored < height:
            raise StoreError(
                f"{self.path}: holds blocks up to {stored} (or no chain) but block {height} was "
                "committed: its WAL file is missing, or an older copy replaced it"
            )
        if height and self.block_hash(height) != header_hash:
            raise StoreError(f"{self.path}: block {height} differs from the one committed")

    def backup(self, destination: str | Path) -> None:
        """Copy the store, consistent as of its last commit, through SQLite's backup API."""
        target = Path(destination)
        if target.exists():
            raise StoreError(f"{target}: exists already (a backup never overwrites)")
        copy = sqlite3.connect(str(target))
        try:
            self._sql(lambda: self.db.backup(copy))
        finally:
            copy.close()
        tip = self.meta("tip")
        write_witness(target, self.height(), tip if tip is not None else bytes(32))


def encode_records(records: list[bytes]) -> bytes:
    """A CBOR array of byte strings (each an encoded settlement record)."""
    from reference.cbor import bstr, uint_bytes

    return uint_bytes(len(records), 4) + b"".join(bstr(r) for r in records)


def decode_records(data: bytes) -> list[bytes]:
    """The byte strings of ``encode_records``; ``ValueError`` for anything else."""
    from reference.cbor import decode_fast, decode_strict
    from reference.errors import Rejected

    value = decode_fast(data)
    if value is None:
        try:
            value = decode_strict(data, len(data) + 1, max_items=len(data) + 1)
        except Rejected as rejection:
            raise ValueError(str(rejection)) from None
    if not isinstance(value, list) or not all(isinstance(r, bytes) for r in value):
        raise ValueError("not an array of byte strings")
    return list(value)


def _meta_row(name: str, value: bytes) -> tuple[str, bytes, bytes]:
    return name, value, row_sum("meta", name, value)
